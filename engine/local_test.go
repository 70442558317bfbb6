package engine_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/fault"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/memory"
)

// localPair builds an engine over two fresh directories.
func localPair(t *testing.T, opts ...engine.Option) (e *engine.Engine, a, b *local.Endpoint, da, db string) {
	t.Helper()
	tmp := t.TempDir()
	da, db = filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	require.NoError(t, os.Mkdir(da, 0o755))
	require.NoError(t, os.Mkdir(db, 0o755))
	var err error
	a, err = local.New(da)
	require.NoError(t, err)
	b, err = local.New(db)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	e, err = engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		append([]engine.Option{engine.WithStatePath(filepath.Join(tmp, "state.db"))}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e, a, b, da, db
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
}

func readFile(root, p string) string {
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// TestLocalRunWatches: while Run is active, a write on one side appears on
// the other, and the engine's own writes cause no further cycle.
func TestLocalRunWatches(t *testing.T) {
	var cycles atomic.Int32
	e, _, _, da, db := localPair(t, engine.WithObserver(func(ev zerosync.Event) {
		if ev.Kind == zerosync.EventCycleStart {
			cycles.Add(1)
		}
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, func() bool { return e.Status().Cycles >= 1 })
	time.Sleep(100 * time.Millisecond) // the watchers are live

	before := cycles.Load()
	writeFile(t, da, "dir/hello.txt", "hello from a")
	waitFor(t, func() bool { return readFile(db, "dir/hello.txt") == "hello from a" })
	waitFor(t, func() bool { return e.Status().Cycles >= int(before) })

	// Wait well past the debounce window: the writes to b must not come
	// back as a change.
	time.Sleep(300 * time.Millisecond)
	after := cycles.Load()
	assert.LessOrEqual(t, after-before, int32(2), "one cycle for the edit (two if the directory and file events split)")
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, after, cycles.Load(), "the engine's own writes started another cycle")

	writeFile(t, db, "back.txt", "from b")
	waitFor(t, func() bool { return readFile(da, "back.txt") == "from b" })

	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// TestLocalHostilePeer: a peer that lies about its tree cannot make the
// engine write outside our root, through a symlink, or anywhere at all.
func TestLocalHostilePeer(t *testing.T) {
	dirE := zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
	evil := fileEntry("evil")
	cases := map[string]zerosync.Snapshot{
		"../outside/sentinel": {"../outside/sentinel": evil},
		"/etc/passwd":         {"/etc/passwd": evil},
		"a/../../b":           {"a": dirE, "a/../../b": evil},
		"a\x00b":              {"a\x00b": evil},
		"d/x":                 {"d": {Kind: zerosync.KindSymlink, Target: "../.."}, "d/x": evil},
		"out/sentinel":        {"out": dirE, "out/sentinel": evil},
		".zs-tmp-x":           {".zs-tmp-x": evil},
		"x.zs-conflict-y":     {"x.zs-conflict-y": evil},
	}
	for bad, s := range cases {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			tmp := t.TempDir()
			root := filepath.Join(tmp, "root")
			outside := filepath.Join(tmp, "outside")
			require.NoError(t, os.MkdirAll(root, 0o755))
			require.NoError(t, os.MkdirAll(outside, 0o755))
			sentinel := filepath.Join(outside, "sentinel")
			require.NoError(t, os.WriteFile(sentinel, []byte("keep me"), 0o644))
			writeFile(t, root, "mine", "mine")
			// A symlink of ours, inside the root, pointing out of it.
			require.NoError(t, os.Symlink("../outside", filepath.Join(root, "out")))

			ours, err := local.New(root)
			require.NoError(t, err)
			defer ours.Close()
			peer := &liar{Endpoint: memory.New(), snap: s, lying: map[string][]byte{}}
			for p := range s {
				peer.lying[p] = []byte("evil")
			}
			e, err := engine.New(engine.Peer{Name: "ours", Endpoint: ours}, []engine.Peer{{Name: "evil", Endpoint: peer}},
				engine.WithVolatileState())
			require.NoError(t, err)
			_, err = e.SyncOnce(context.Background())
			if bad == "out/sentinel" {
				// A valid tree: their directory "out" against our symlink
				// is a conflict the directory wins. Our link is kept as a
				// conflict copy, a real directory takes its place, and the
				// file lands inside the root.
				require.NoError(t, err)
				fi, err := os.Lstat(filepath.Join(root, "out"))
				require.NoError(t, err)
				assert.True(t, fi.IsDir())
				assert.Equal(t, "evil", readFile(root, "out/sentinel"))
			} else {
				require.Error(t, err)
				var pe *zerosync.PathError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, bad, pe.Path, "the error names the bad path")
			}
			got, err := os.ReadFile(sentinel)
			require.NoError(t, err)
			assert.Equal(t, "keep me", string(got))
			assert.Equal(t, "mine", readFile(root, "mine"))
			ents, _ := os.ReadDir(outside)
			assert.Len(t, ents, 1, "nothing new outside the root")
		})
	}
}

// TestLocalMissingRoot: a deleted or replaced root is an error, and the
// other side keeps every file.
func TestLocalMissingRoot(t *testing.T) {
	e, _, _, da, db := localPair(t)
	for i := range 5 {
		writeFile(t, da, fmt.Sprintf("f%d", i), "x")
	}
	syncOK(t, e)
	require.Equal(t, "x", readFile(db, "f4"))

	// Unmounted or deleted: the directory is gone.
	require.NoError(t, os.Rename(db, db+".away"))
	_, err := e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrRootMissing)
	assert.Contains(t, err.Error(), "peer b")
	for i := range 5 {
		assert.Equal(t, "x", readFile(da, fmt.Sprintf("f%d", i)))
	}

	// An empty directory in its place (a mount point with nothing
	// mounted): also refused.
	require.NoError(t, os.Mkdir(db, 0o755))
	_, err = e.SyncOnce(context.Background())
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), zerosync.ErrRootMissing.Error()) || strings.Contains(err.Error(), zerosync.ErrRootEmpty.Error()), err)
	for i := range 5 {
		assert.Equal(t, "x", readFile(da, fmt.Sprintf("f%d", i)))
	}
}

// TestLocalHubReachesEverySpokeOnFirstSync: on the very first cycle, which
// marks the roots, a file from the last spoke still reaches the first one
// in that cycle (the second pass must not see our root as unmarked).
func TestLocalHubReachesEverySpokeOnFirstSync(t *testing.T) {
	tmp := t.TempDir()
	var eps [3]*local.Endpoint
	dirs := [3]string{}
	for i, name := range []string{"hub", "s1", "s2"} {
		dirs[i] = filepath.Join(tmp, name)
		require.NoError(t, os.Mkdir(dirs[i], 0o755))
		var err error
		eps[i], err = local.New(dirs[i])
		require.NoError(t, err)
		t.Cleanup(func() { eps[i].Close() })
	}
	writeFile(t, dirs[0], "hub.txt", "hub\n")
	writeFile(t, dirs[2], "s2.txt", "from the last spoke\n")
	e, err := engine.New(engine.Peer{Name: "hub", Endpoint: eps[0]},
		[]engine.Peer{{Name: "s1", Endpoint: eps[1]}, {Name: "s2", Endpoint: eps[2]}},
		engine.WithStatePath(filepath.Join(tmp, "state.db")))
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	syncOK(t, e)
	assert.Equal(t, "from the last spoke\n", readFile(dirs[1], "s2.txt"), "in the first cycle")
	assert.Equal(t, "hub\n", readFile(dirs[2], "hub.txt"))
}

// TestLocalCrashMidApply cuts transfers into a directory at random points:
// no file is ever torn, and the pair converges once the faults stop.
func TestLocalCrashMidApply(t *testing.T) {
	tmp := t.TempDir()
	da, db := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	require.NoError(t, os.Mkdir(da, 0o755))
	require.NoError(t, os.Mkdir(db, 0o755))
	written := map[string]bool{}
	put := func(root, p string, n int) {
		c := strings.Repeat(fmt.Sprintf("%s-%d|", p, n), 300+n*97)
		written[c] = true
		writeFile(t, root, p, c)
	}
	for i := range 10 {
		put(da, fmt.Sprintf("d%d/f%d", i%3, i), i)
	}
	a, err := local.New(da)
	require.NoError(t, err)
	defer a.Close()
	braw, err := local.New(db)
	require.NoError(t, err)
	defer braw.Close()
	b := fault.Wrap(braw)
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		engine.WithStatePath(filepath.Join(tmp, "state.db")))
	require.NoError(t, err)
	defer e.Close()

	check := func() {
		for _, root := range []string{da, db} {
			filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				require.NoError(t, err)
				if d.IsDir() {
					if d.Name() == zerosync.StateDirName {
						return filepath.SkipDir
					}
					return nil
				}
				if zerosync.ReservedName(d.Name()) {
					return nil // a temp file left by the cut; the next scan removes it
				}
				c, err := os.ReadFile(p)
				require.NoError(t, err)
				require.True(t, written[string(c)], "torn or unknown content at %s (%d bytes)", p, len(c))
				return nil
			})
		}
	}
	for round := 1; round <= 12; round++ {
		b.CutAfter(int64(round * 3331 % 17000))
		e.SyncOnce(context.Background()) // cut part way, by design
		check()
		put(da, fmt.Sprintf("d%d/f%d", round%3, round%10), 100+round)
	}
	b.CutAfter(-1)
	syncOK(t, e)
	check()
	assert.Equal(t, treeOf(t, da), treeOf(t, db))
}

func treeOf(t *testing.T, root string) map[string]string {
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if zerosync.IsReserved(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			out[rel] = "/"
			return nil
		}
		c, _ := os.ReadFile(p)
		out[rel] = string(c)
		return nil
	})
	return out
}

// deltaSource is a source tree that can send deltas; it records what the
// engine offered as the old version and answers with the whole new file.
type deltaSource struct {
	*local.Endpoint
	haves []string
}

func (d *deltaSource) OpenDelta(ctx context.Context, p string, have io.ReaderAt, n int64) (io.ReadCloser, error) {
	b := make([]byte, n)
	if _, err := have.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	d.haves = append(d.haves, string(b))
	return d.Endpoint.Open(ctx, p)
}

func TestDeltaFromPeer(t *testing.T) {
	tmp := t.TempDir()
	da, db := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	require.NoError(t, os.Mkdir(da, 0o755))
	require.NoError(t, os.Mkdir(db, 0o755))
	a, err := local.New(da)
	require.NoError(t, err)
	defer a.Close()
	braw, err := local.New(db)
	require.NoError(t, err)
	defer braw.Close()
	b := &deltaSource{Endpoint: braw}
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	old := strings.Repeat("0123456789abcdef", 8<<10) // 128 KiB
	writeFile(t, db, "big.bin", old)
	syncOK(t, e)
	assert.Empty(t, b.haves, "a new file has nothing to diff against")

	changed := old[:60000] + "CHANGED" + old[60007:]
	writeFile(t, db, "big.bin", changed)
	syncOK(t, e)
	require.Equal(t, []string{old}, b.haves, "the engine offers its old version")
	assert.Equal(t, changed, readFile(da, "big.bin"))
}

// TestConflictChangedWhileResolving: a conflicted file that another
// writer changes while the chain reads it (as the daemon of the other
// host syncing the same two trees does) is not settled on the stale
// versions: no conflict copy, nothing queued for review, no problem; the
// next cycle sees the file as it is now (here the same on both sides, so
// there is nothing left to settle).
func TestConflictChangedWhileResolving(t *testing.T) {
	var calls atomic.Int32
	var da string
	meddle := zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		if calls.Add(1) == 1 {
			// The other writer brings ours to what theirs holds.
			require.NoError(t, os.WriteFile(filepath.Join(da, c.Path), []byte("theirs\n"), 0o644))
		}
		if _, err := c.Content.ReadVersion(ctx, zerosync.VersionOurs, 1<<20); err != nil {
			return zerosync.Resolution{}, fmt.Errorf("%w: %w", zerosync.ErrPass, err)
		}
		return zerosync.Resolution{}, zerosync.ErrPass
	})
	e, _, _, daDir, db := localPair(t, engine.WithResolvers(meddle))
	da = daDir
	writeFile(t, da, "notes.txt", "ours\n")
	writeFile(t, db, "notes.txt", "theirs\n")

	rep, err := e.SyncOnce(t.Context())
	require.NoError(t, err)
	assert.Empty(t, rep.Conflicts, "a conflict settled on a version that was gone")
	assert.Empty(t, rep.Problems)
	rep = syncOK(t, e)
	assert.Empty(t, rep.Conflicts)
	assert.Equal(t, map[string]string{"notes.txt": "theirs\n"}, treeOf(t, da), "no conflict copy")
	assert.Equal(t, map[string]string{"notes.txt": "theirs\n"}, treeOf(t, db))
	rs, err := e.Reviews(t.Context())
	require.NoError(t, err)
	for peer, items := range rs {
		assert.Empty(t, items, "review items with %s", peer)
	}
}
