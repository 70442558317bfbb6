package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/memory"
)

// startAt builds an engine over the directories da and db with the state
// file state, as a new process would: fresh endpoints, nothing cached.
func startAt(t *testing.T, da, db, state string, opts ...engine.Option) (*engine.Engine, error) {
	t.Helper()
	a, err := local.New(da)
	if err != nil {
		return nil, err
	}
	b, err := local.New(db)
	if err != nil {
		a.Close()
		return nil, err
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		append([]engine.Option{engine.WithStatePath(state)}, opts...)...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { e.Close() })
	return e, nil
}

// syncedDirs makes two directories and a state file, syncs a few files
// between them and closes the engine.
func syncedDirs(t *testing.T, files int) (da, db, state string) {
	t.Helper()
	tmp := t.TempDir()
	da, db, state = filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "state.db")
	require.NoError(t, os.Mkdir(da, 0o755))
	require.NoError(t, os.Mkdir(db, 0o755))
	for i := range files {
		writeFile(t, da, fmt.Sprintf("f%d.txt", i), fmt.Sprintf("content %d", i))
	}
	e, err := startAt(t, da, db, state)
	require.NoError(t, err)
	syncOK(t, e)
	require.NoError(t, e.Close())
	require.Equal(t, treeOf(t, da), treeOf(t, db))
	return da, db, state
}

// mountTmpfs mounts a fresh tmpfs at dir (what a newly mounted, empty disk
// is) and unmounts it when the test ends.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mount tmpfs (the tests run as root): %s", out)
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// TestFreshFilesystemAtRootHalts: a root that becomes a fresh file system
// holding only lost+found, or one stray file, halts the pair and leaves the
// peer byte for byte as it was.
func TestFreshFilesystemAtRootHalts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fresh func(t *testing.T, root string)
	}{
		{"mounted tmpfs with lost+found", func(t *testing.T, root string) {
			mountTmpfs(t, root)
			require.NoError(t, os.Mkdir(filepath.Join(root, "lost+found"), 0o700))
		}},
		{"replaced directory with lost+found", func(t *testing.T, root string) {
			require.NoError(t, os.RemoveAll(root))
			require.NoError(t, os.Mkdir(root, 0o755))
			require.NoError(t, os.Mkdir(filepath.Join(root, "lost+found"), 0o700))
		}},
		{"replaced directory with a stray file", func(t *testing.T, root string) {
			require.NoError(t, os.RemoveAll(root))
			require.NoError(t, os.Mkdir(root, 0o755))
			writeFile(t, root, "stray.txt", "not ours")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			da, db, state := syncedDirs(t, 3)
			before := treeOf(t, db)
			tc.fresh(t, da)

			e, err := startAt(t, da, db, state)
			require.NoError(t, err)
			_, err = e.SyncOnce(context.Background())
			require.ErrorIs(t, err, zerosync.ErrRootChanged)
			var rc *engine.RootChangedError
			require.True(t, errors.As(err, &rc), "%v", err)
			assert.Contains(t, err.Error(), da, "the error names the root")
			assert.Contains(t, err.Error(), "adopt")
			assert.Equal(t, before, treeOf(t, db), "the peer is untouched")
			assert.NoDirExists(t, filepath.Join(db, zerosync.StateDirName, "archive"), "nothing was replaced on the peer")
		})
	}
}

// unmarked hides a memory endpoint's identity, as a custom endpoint
// without the ability would: only the emptied-root guard protects it.
type unmarked struct{ zerosync.Endpoint }

// TestSmallTreeEmptiedGuard: without markers, a side that synced two
// entries and now shows none of them (only lost+found, or a stray file)
// halts; a rename of everything does not.
func TestSmallTreeEmptiedGuard(t *testing.T) {
	setup := func(t *testing.T) (*engine.Engine, *memory.Endpoint, *memory.Endpoint) {
		a, b := memory.New(memory.WithName("a")), memory.New(memory.WithName("b"))
		require.NoError(t, a.WriteFile("one.txt", []byte("1"), 0o644))
		require.NoError(t, a.WriteFile("two.txt", []byte("2"), 0o644))
		e, err := engine.New(engine.Peer{Name: "a", Endpoint: unmarked{a}}, []engine.Peer{{Name: "b", Endpoint: unmarked{b}}}, engine.WithVolatileState())
		require.NoError(t, err)
		syncOK(t, e)
		return e, a, b
	}
	t.Run("lost+found only", func(t *testing.T) {
		e, a, b := setup(t)
		a.ReplaceRoot("lost+found")
		_, err := e.SyncOnce(context.Background())
		require.ErrorIs(t, err, zerosync.ErrRootEmpty)
		assert.Equal(t, map[string]string{"one.txt": "1", "two.txt": "2"}, b.Contents())
	})
	t.Run("a stray file", func(t *testing.T) {
		e, a, b := setup(t)
		a.ReplaceRoot()
		require.NoError(t, a.WriteFile("stray", []byte("?"), 0o644))
		_, err := e.SyncOnce(context.Background())
		require.ErrorIs(t, err, zerosync.ErrRootEmpty)
		assert.Equal(t, map[string]string{"one.txt": "1", "two.txt": "2"}, b.Contents())
	})
	t.Run("everything renamed", func(t *testing.T) {
		e, a, b := setup(t)
		require.NoError(t, a.Rename("one.txt", "uno.txt"))
		require.NoError(t, a.Rename("two.txt", "dos.txt"))
		syncOK(t, e)
		assert.Equal(t, map[string]string{"uno.txt": "1", "dos.txt": "2"}, b.Contents())
	})
}

// TestMemoryReplacedRootHalts: the memory transport's identity works the
// same way as a directory's.
func TestMemoryReplacedRootHalts(t *testing.T) {
	e, a, b := pairOf(t)
	require.NoError(t, a.WriteFile("x", []byte("x"), 0o644))
	syncOK(t, e)
	a.ReplaceRoot("lost+found")
	_, err := e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrRootChanged)
	assert.Equal(t, map[string]string{"x": "x"}, b.Contents())

	// Adopted on purpose: no ancestor, so nothing is deleted.
	require.NoError(t, e.Adopt(context.Background(), "b"))
	syncOK(t, e)
	assert.Equal(t, "x", b.Contents()["x"])
	assert.Equal(t, "x", a.Contents()["x"])
}

// TestForeignStateRefused: the state file of another pair (same engine
// name, other roots) copied over this pair's is refused, and so is the
// state of a pair given another root; nothing is deleted, and adopting the
// roots syncs them with no ancestor.
func TestForeignStateRefused(t *testing.T) {
	da, db, state := syncedDirs(t, 3)
	dc, dd, state2 := syncedDirs(t, 2)
	writeFile(t, dc, "only-on-c.txt", "c")
	require.NoError(t, os.Remove(filepath.Join(dd, "f1.txt"))) // deleted on d since the last sync
	beforeC, beforeD := treeOf(t, dc), treeOf(t, dd)

	// The first pair's state over the second's.
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(state2, data, 0o600))
	e, err := startAt(t, dc, dd, state2)
	require.NoError(t, err)
	_, err = e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrForeignState)
	assert.Contains(t, err.Error(), da)
	assert.Equal(t, beforeC, treeOf(t, dc))
	assert.Equal(t, beforeD, treeOf(t, dd))

	// Adopted: both files kept, nothing deleted.
	require.NoError(t, e.Adopt(context.Background(), "b"))
	syncOK(t, e)
	assert.Equal(t, "c", readFile(dd, "only-on-c.txt"))
	assert.Equal(t, "content 1", readFile(dd, "f1.txt"), "no ancestor: a one-sided file is copied, not deleted")

	// Another root under the same state (a new --root): refused too.
	other := filepath.Join(t.TempDir(), "other")
	require.NoError(t, os.Mkdir(other, 0o755))
	writeFile(t, other, "mine.txt", "mine")
	beforeB := treeOf(t, db)
	e2, err := startAt(t, other, db, state)
	require.NoError(t, err)
	_, err = e2.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrForeignState)
	assert.Equal(t, beforeB, treeOf(t, db))
	assert.Equal(t, "mine", readFile(other, "mine.txt"))
}

// TestStateOfAnotherEngineRefused: a state file names its engine.
func TestStateOfAnotherEngineRefused(t *testing.T) {
	da, db, state := syncedDirs(t, 1)
	_, err := startAt(t, da, db, state, engine.WithName("other"))
	require.ErrorIs(t, err, zerosync.ErrForeignState)
	assert.Contains(t, err.Error(), `"default"`)
}

// TestRootMovedKeepsItsIdentity: a root moved to another path (same
// marker, same file system and directory) is the same tree.
func TestRootMovedKeepsItsIdentity(t *testing.T) {
	da, db, state := syncedDirs(t, 2)
	moved := da + "-moved"
	require.NoError(t, os.Rename(da, moved))
	e, err := startAt(t, moved, db, state)
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(moved, "f0.txt")))
	syncOK(t, e)
	assert.NoFileExists(t, filepath.Join(db, "f0.txt"), "a real deletion still syncs")
}

// TestTruncatedStateMovedAside: a state file cut to half its size does not
// crash the process: it is moved aside, the report says so, and the pair
// syncs with no ancestor, deleting nothing.
func TestTruncatedStateMovedAside(t *testing.T) {
	tmp := t.TempDir()
	da, db, state := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "state.db")
	require.NoError(t, os.Mkdir(da, 0o755))
	require.NoError(t, os.Mkdir(db, 0o755))
	for i := range 400 {
		writeFile(t, da, fmt.Sprintf("d%d/f%d-%s.txt", i%7, i, strings.Repeat("n", 60)), fmt.Sprint(i))
	}
	e, err := startAt(t, da, db, state)
	require.NoError(t, err)
	syncOK(t, e)
	require.NoError(t, e.Close())

	require.NoError(t, os.Remove(filepath.Join(da, "d0/f0-"+strings.Repeat("n", 60)+".txt")))
	st, err := os.Stat(state)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(state, st.Size()/2))

	e, err = startAt(t, da, db, state)
	require.NoError(t, err)
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, rep.Problems)
	assert.Contains(t, rep.Problems[0].Error(), "moved aside")
	for _, a := range rep.Applied {
		assert.NotNil(t, a.New, "no deletion after a damaged state: %v", a)
	}
	assert.Equal(t, "0", readFile(da, "d0/f0-"+strings.Repeat("n", 60)+".txt"), "the file deleted on a came back from b")
	aside, _ := filepath.Glob(state + ".corrupt-*")
	assert.Len(t, aside, 1)
}

// TestOverlappingRootsRefused: nested roots, the same directory by two
// paths (a symlink, a bind mount), and "/" without the option.
func TestOverlappingRootsRefused(t *testing.T) {
	tmp := t.TempDir()
	outer, inner, other := filepath.Join(tmp, "outer"), filepath.Join(tmp, "outer", "inner"), filepath.Join(tmp, "other")
	require.NoError(t, os.MkdirAll(inner, 0o755))
	require.NoError(t, os.Mkdir(other, 0o755))
	require.NoError(t, os.Symlink(inner, filepath.Join(tmp, "link")))
	bind := filepath.Join(tmp, "bind")
	require.NoError(t, os.Mkdir(bind, 0o755))
	out, err := exec.Command("mount", "--bind", inner, bind).CombinedOutput()
	require.NoError(t, err, "bind mount (the tests run as root): %s", out)
	t.Cleanup(func() { exec.Command("umount", "-l", bind).Run() })

	state := filepath.Join(tmp, "state.db")
	for _, pair := range [][2]string{
		{outer, inner}, {inner, outer}, {outer, outer},
		{outer, filepath.Join(tmp, "link")}, {outer, bind}, {inner, bind},
	} {
		_, err := startAt(t, pair[0], pair[1], state)
		require.Error(t, err, "%s and %s", pair[0], pair[1])
		assert.Contains(t, err.Error(), "overlap")
	}
	_, err = startAt(t, "/", other, state)
	require.ErrorContains(t, err, "whole file system")
	e, err := startAt(t, outer, other, state)
	require.NoError(t, err)
	require.NoError(t, e.Close())
}

// TestRunHaltsWhenRootVanishes: Run stops syncing a pair whose root
// vanished, shows it halted in the status while the other peers go on, and
// returns an error once nothing is left to sync.
func TestRunHaltsWhenRootVanishes(t *testing.T) {
	tmp := t.TempDir()
	var dirs []string
	var eps []*local.Endpoint
	for _, n := range []string{"hub", "b", "c"} {
		d := filepath.Join(tmp, n)
		require.NoError(t, os.Mkdir(d, 0o755))
		ep, err := local.New(d)
		require.NoError(t, err)
		t.Cleanup(func() { ep.Close() })
		dirs, eps = append(dirs, d), append(eps, ep)
	}
	writeFile(t, dirs[0], "seed.txt", "seed")
	e, err := engine.New(engine.Peer{Name: "hub", Endpoint: eps[0]},
		[]engine.Peer{{Name: "b", Endpoint: eps[1]}, {Name: "c", Endpoint: eps[2]}},
		engine.WithStatePath(filepath.Join(tmp, "state.db")), engine.WithSource(engine.Every(20*time.Millisecond)))
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, func() bool { return readFile(dirs[2], "seed.txt") == "seed" })

	// b's root vanishes: b halts, c keeps syncing.
	require.NoError(t, os.Rename(dirs[1], dirs[1]+".away"))
	waitFor(t, func() bool { return e.Status().Halted["b"] != nil })
	assert.ErrorIs(t, e.Status().Halted["b"], zerosync.ErrRootMissing)
	writeFile(t, dirs[0], "later.txt", "later")
	waitFor(t, func() bool { return readFile(dirs[2], "later.txt") == "later" })

	// Our own root vanishes: nothing is left, Run says so.
	require.NoError(t, os.Rename(dirs[0], dirs[0]+".away"))
	select {
	case err := <-done:
		require.ErrorIs(t, err, zerosync.ErrRootMissing)
		assert.Contains(t, err.Error(), "nothing left to sync")
	case <-time.After(30 * time.Second):
		t.Fatal("Run still running 30 s after every root it syncs vanished")
	}
	assert.Len(t, e.Status().Halted, 2)
}

// TestNilCollaboratorsRefused: a nil collaborator is an error from New,
// never a panic at the first cycle.
func TestNilCollaboratorsRefused(t *testing.T) {
	for name, opt := range map[string]engine.Option{
		"differ":     engine.WithDiffer(nil),
		"filter":     engine.WithFilter(nil),
		"observer":   engine.WithObserver(nil),
		"view":       engine.WithView(nil),
		"source":     engine.WithSource(nil),
		"resolver":   engine.WithResolvers(nil),
		"logger":     engine.WithLogger(nil),
		"state path": engine.WithStatePath(""),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := engine.New(engine.Peer{Endpoint: memory.New()}, []engine.Peer{{Endpoint: memory.New()}}, engine.WithVolatileState(), opt)
			require.Error(t, err)
		})
	}
}
