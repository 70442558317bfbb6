package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/fault"
	"github.com/zerosync/zerosync/transport/memory"
)

func pairOf(t *testing.T, opts ...engine.Option) (*engine.Engine, *memory.Endpoint, *memory.Endpoint) {
	t.Helper()
	a, b := memory.New(memory.WithName("a")), memory.New(memory.WithName("b"))
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		append([]engine.Option{engine.WithVolatileState()}, opts...)...)
	require.NoError(t, err)
	return e, a, b
}

func syncOK(t *testing.T, e *engine.Engine) zerosync.Report {
	t.Helper()
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
	return rep
}

func TestConflictKeepsBoth(t *testing.T) {
	e, a, b := pairOf(t)
	require.NoError(t, a.WriteFile("notes.txt", []byte("base\n"), 0o644))
	syncOK(t, e)
	require.NoError(t, a.WriteFile("notes.txt", []byte("ours\n"), 0o644))
	require.NoError(t, b.WriteFile("notes.txt", []byte("theirs\n"), 0o644))

	rep := syncOK(t, e)
	require.Len(t, rep.Conflicts, 1)
	cr := rep.Conflicts[0]
	assert.Equal(t, "notes.txt", cr.Path)
	assert.True(t, cr.Resolution.KeepOther)
	assert.Contains(t, cr.CopyPath, zerosync.ConflictMarker)

	// The tree keeps ours on both sides; theirs survives as a conflict copy
	// on our side and in their archive.
	for _, ep := range []*memory.Endpoint{a, b} {
		got, err := ep.ReadFile("notes.txt")
		require.NoError(t, err)
		assert.Equal(t, "ours\n", string(got))
	}
	cp, err := a.ReadFile(cr.CopyPath)
	require.NoError(t, err)
	assert.Equal(t, "theirs\n", string(cp))
	var archived []string
	for _, x := range b.Archive() {
		archived = append(archived, string(x.Data))
	}
	assert.Contains(t, archived, "theirs\n")

	reviews, err := e.Reviews(context.Background())
	require.NoError(t, err)
	require.Len(t, reviews["b"], 1)
	assert.Equal(t, "notes.txt", reviews["b"][0].Path)
	assert.Equal(t, 1, e.Status().Review)

	// Settled: the next cycle has nothing to do.
	rep = syncOK(t, e)
	assert.False(t, rep.Changed())
}

func TestMissingRootIsNotDeletion(t *testing.T) {
	e, a, b := pairOf(t)
	for i := range 5 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("f%d", i), []byte("x"), 0o644))
	}
	syncOK(t, e)
	before := a.Contents()

	b.SetMissing(true)
	_, err := e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrRootMissing)
	assert.Contains(t, err.Error(), "peer b")
	assert.Equal(t, before, a.Contents(), "a missing root must not delete anything")

	// Back again: nothing to do.
	b.SetMissing(false)
	rep := syncOK(t, e)
	assert.False(t, rep.Changed())
}

func TestEmptiedRootNeedsConfirmation(t *testing.T) {
	e, a, b := pairOf(t)
	for i := range 3 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("f%d", i), []byte("x"), 0o644))
	}
	syncOK(t, e)
	before := a.Contents()
	for p := range b.Contents() {
		require.NoError(t, b.Remove(p))
	}
	_, err := e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrRootEmpty)
	assert.Contains(t, err.Error(), "confirm the deletions")
	assert.Equal(t, before, a.Contents())

	e.ConfirmDeletions()
	syncOK(t, e)
	assert.Empty(t, a.Contents())
}

func TestMassDeletionGuard(t *testing.T) {
	e, a, b := pairOf(t)
	for i := range 20 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("f%02d", i), []byte("x"), 0o644))
	}
	syncOK(t, e)
	for i := range 15 {
		require.NoError(t, b.Remove(fmt.Sprintf("f%02d", i)))
	}
	_, err := e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrMassDeletion)
	assert.Contains(t, err.Error(), "15 of 20")
	assert.Contains(t, err.Error(), "confirm the deletions")
	assert.Len(t, a.Contents(), 20)

	// A small deletion goes through without asking.
	e2, c, d := pairOf(t)
	for i := range 20 {
		require.NoError(t, c.WriteFile(fmt.Sprintf("f%02d", i), []byte("x"), 0o644))
	}
	syncOK(t, e2)
	require.NoError(t, d.Remove("f00"))
	syncOK(t, e2)
	assert.Len(t, c.Contents(), 19)

	e.ConfirmDeletions()
	syncOK(t, e)
	assert.Len(t, a.Contents(), 5)
}

func TestPause(t *testing.T) {
	e, a, b := pairOf(t)
	require.NoError(t, a.WriteFile("x", []byte("1"), 0o644))
	e.Pause()
	_, err := e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrPaused)
	assert.True(t, e.Status().Paused)
	assert.Empty(t, b.Contents())
	e.Resume()
	syncOK(t, e)
	assert.Equal(t, a.Contents(), b.Contents())
}

func TestHubReachesEverySpokeInOneCycle(t *testing.T) {
	hub, s1, s2 := memory.New(), memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "hub", Endpoint: hub},
		[]engine.Peer{{Name: "s1", Endpoint: s1}, {Name: "s2", Endpoint: s2}}, engine.WithVolatileState())
	require.NoError(t, err)
	require.NoError(t, s2.WriteFile(".bashrc", []byte("alias ll='ls -l'\n"), 0o644))
	syncOK(t, e)
	got, err := s1.ReadFile(".bashrc")
	require.NoError(t, err, "a change from the last spoke must reach the first in the same cycle")
	assert.Equal(t, "alias ll='ls -l'\n", string(got))
}

func TestFilterHidesPaths(t *testing.T) {
	f, err := engine.NewPatterns(nil, []string{"*.log", "node_modules/"})
	require.NoError(t, err)
	e, a, b := pairOf(t, engine.WithFilter(f))
	require.NoError(t, a.WriteFile("app.js", []byte("js"), 0o644))
	require.NoError(t, a.WriteFile("debug.log", []byte("log"), 0o644))
	require.NoError(t, a.WriteFile("node_modules/x/index.js", []byte("dep"), 0o644))
	require.NoError(t, b.WriteFile("other.log", []byte("theirs"), 0o644))
	syncOK(t, e)
	assert.Equal(t, map[string]string{"app.js": "js", "other.log": "theirs"}, b.Contents())
	assert.NotContains(t, a.Contents(), "other.log")

	// Include lists: only the named dotfiles.
	f, err = engine.NewPatterns([]string{".bashrc", ".config/nvim/"}, nil)
	require.NoError(t, err)
	e, a, b = pairOf(t, engine.WithFilter(f))
	require.NoError(t, a.WriteFile(".bashrc", []byte("rc"), 0o644))
	require.NoError(t, a.WriteFile(".config/nvim/init.lua", []byte("lua"), 0o644))
	require.NoError(t, a.WriteFile(".config/other/x", []byte("no"), 0o644))
	require.NoError(t, a.WriteFile("Documents/x", []byte("no"), 0o644))
	syncOK(t, e)
	assert.Equal(t, map[string]string{".bashrc": "rc", ".config": "/", ".config/nvim": "/", ".config/nvim/init.lua": "lua"}, b.Contents())
}

func TestRenameReusesContent(t *testing.T) {
	e, a, b := pairOf(t)
	big := strings.Repeat("data ", 100_000)
	require.NoError(t, a.WriteFile("old/name.bin", []byte(big), 0o644))
	rep := syncOK(t, e)
	assert.EqualValues(t, len(big), rep.Bytes)

	require.NoError(t, a.Rename("old", "new"))
	rep = syncOK(t, e)
	assert.Zero(t, rep.Bytes, "a renamed file must not cross again")
	got, err := b.ReadFile("new/name.bin")
	require.NoError(t, err)
	assert.Equal(t, big, string(got))
	assert.NotContains(t, b.Contents(), "old/name.bin")
}

// liar is a hostile peer: a memory tree whose scans say what the test wants.
type liar struct {
	*memory.Endpoint
	snap  zerosync.Snapshot
	lying map[string][]byte // what Open returns instead
}

func (l *liar) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	return maps.Clone(l.snap), nil, nil
}

// ScanPaths tells the same lie as Scan.
func (l *liar) ScanPaths(ctx context.Context, paths []string) (zerosync.Snapshot, []zerosync.Problem, error) {
	out := zerosync.Snapshot{}
	for _, p := range paths {
		if e, ok := l.snap[p]; ok {
			out[p] = e
		}
	}
	return out, nil, nil
}

func (l *liar) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	if b, ok := l.lying[p]; ok {
		return io.NopCloser(strings.NewReader(string(b))), nil
	}
	return l.Endpoint.Open(ctx, p)
}

func fileEntry(content string) zerosync.Entry {
	return zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(content)), Digest: digest.Sum([]byte(content))}
}

func TestHostilePeerPaths(t *testing.T) {
	dirE := zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
	cases := map[string]zerosync.Snapshot{
		"../x":            {"../x": fileEntry("evil")},
		"/etc/passwd":     {"/etc/passwd": fileEntry("evil")},
		"a/../../b":       {"a": dirE, "a/../../b": fileEntry("evil")},
		"a\x00b":          {"a\x00b": fileEntry("evil")},
		"d/x":             {"d": {Kind: zerosync.KindSymlink, Target: "../.."}, "d/x": fileEntry("evil")},
		".zs-tmp-1":       {".zs-tmp-1": fileEntry("evil")},
		"a.zs-conflict-b": {"a.zs-conflict-b": fileEntry("evil")},
		".zerosync":       {".zerosync": dirE, ".zerosync/state": fileEntry("evil")},
		"x/y":             {"x/y": fileEntry("no parent")},
		"neg":             {"neg": {Kind: zerosync.KindFile, Size: -1}},
	}
	for bad, s := range cases {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			ours := memory.New()
			require.NoError(t, ours.WriteFile("keep", []byte("mine"), 0o644))
			peer := &liar{Endpoint: memory.New(), snap: s}
			e, err := engine.New(engine.Peer{Name: "ours", Endpoint: ours}, []engine.Peer{{Name: "evil", Endpoint: peer}}, engine.WithVolatileState())
			require.NoError(t, err)
			_, err = e.SyncOnce(context.Background())
			require.Error(t, err)
			var pe *zerosync.PathError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, bad, pe.Path, "the error names the bad path")
			assert.Equal(t, map[string]string{"keep": "mine"}, ours.Contents(), "nothing written")
		})
	}
}

func TestHostilePeerLyingContent(t *testing.T) {
	ours := memory.New()
	peer := &liar{Endpoint: memory.New(),
		snap: zerosync.Snapshot{
			"short": fileEntry("twelve bytes"),
			"long":  fileEntry("ok"),
			"other": fileEntry("expected"),
		},
		lying: map[string][]byte{"short": []byte("12"), "long": []byte(strings.Repeat("x", 1<<20)), "other": []byte("tampered")},
	}
	e, err := engine.New(engine.Peer{Name: "ours", Endpoint: ours}, []engine.Peer{{Name: "evil", Endpoint: peer}}, engine.WithVolatileState())
	require.NoError(t, err)
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Problems, 3)
	for _, pr := range rep.Problems {
		assert.ErrorIs(t, pr.Err, zerosync.ErrDigestMismatch, pr.Path)
		assert.Contains(t, pr.Err.Error(), pr.Path)
	}
	assert.Empty(t, ours.Contents())
}

// TestCrashMidApply cuts transfers at random points: no side ever shows a
// version nobody wrote, and once the faults stop the pair converges.
func TestCrashMidApply(t *testing.T) {
	for seed := range 200 {
		a, braw := memory.New(), memory.New()
		b := fault.Wrap(braw)
		e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
		require.NoError(t, err)
		written := map[string]bool{}
		write := func(ep *memory.Endpoint, p string, n int) {
			c := strings.Repeat(fmt.Sprintf("%s-%d-%d|", p, seed, n), 50+seed%7*100)
			written[c] = true
			require.NoError(t, ep.WriteFile(p, []byte(c), 0o644))
		}
		for i := range 8 {
			write(a, fmt.Sprintf("d%d/f%d", i%3, i), 0)
		}
		for round := 1; round <= 3; round++ {
			b.CutAfter(int64((seed*7919 + round*104729) % 20000))
			e.SyncOnce(context.Background()) // fails part way, by design
			for _, ep := range []*memory.Endpoint{a, braw} {
				for p, c := range ep.Contents() {
					if c != "/" {
						require.True(t, written[c], "seed %d: torn or unknown content at %s", seed, p)
					}
				}
			}
			write(a, fmt.Sprintf("d%d/f%d", round%3, round), round)
			write(braw, fmt.Sprintf("d%d/g%d", round%3, round), round)
		}
		b.CutAfter(-1)
		syncOK(t, e)
		require.Equal(t, a.Contents(), braw.Contents(), "seed %d", seed)
	}
}

func TestRunWatchesAndDoesNotEcho(t *testing.T) {
	var cycles, applied atomic.Int32
	e, a, b := pairOf(t, engine.WithObserver(func(ev zerosync.Event) {
		switch ev.Kind {
		case zerosync.EventCycleStart:
			cycles.Add(1)
		case zerosync.EventApplied:
			applied.Add(1)
		}
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	settled := func() int32 { // cycles, once no new one started for 100ms
		for {
			n := cycles.Load()
			time.Sleep(100 * time.Millisecond)
			if cycles.Load() == n && int(n) == e.Status().Cycles {
				return n
			}
		}
	}
	before := settled()
	require.NotZero(t, before)

	require.NoError(t, a.WriteFile("x", []byte("hello"), 0o644))
	waitFor(t, func() bool { got, err := b.ReadFile("x"); return err == nil && string(got) == "hello" })
	// The engine's write to b is not a person's edit: no further cycle.
	assert.Equal(t, before+1, settled())
	assert.EqualValues(t, 1, applied.Load())

	require.NoError(t, b.WriteFile("dir/y", []byte("back"), 0o644))
	waitFor(t, func() bool { got, err := a.ReadFile("dir/y"); return err == nil && string(got) == "back" })
	assert.LessOrEqual(t, settled(), before+3, "one cycle per edit, two at most when events split")

	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.False(t, e.Status().Running)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewValidates(t *testing.T) {
	a := memory.New()
	_, err := engine.New(engine.Peer{Endpoint: a}, nil, engine.WithVolatileState())
	assert.Error(t, err)
	_, err = engine.New(engine.Peer{Name: "x", Endpoint: a}, []engine.Peer{{Name: "x", Endpoint: memory.New()}}, engine.WithVolatileState())
	assert.ErrorContains(t, err, "two trees named")
	_, err = engine.New(engine.Peer{Endpoint: a}, []engine.Peer{{Endpoint: memory.New()}}, engine.WithDeleteLimit(2, 1))
	assert.Error(t, err)
	_, err = engine.NewPatterns([]string{""}, nil)
	assert.Error(t, err)
	assert.True(t, errors.Is(fmt.Errorf("x: %w", zerosync.ErrPass), zerosync.ErrPass))
}

func TestStatePersistsAcrossRestarts(t *testing.T) {
	path := t.TempDir() + "/state.db"
	a, b := memory.New(), memory.New()
	open := func() *engine.Engine {
		e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithStatePath(path))
		require.NoError(t, err)
		return e
	}
	e := open()
	require.NoError(t, a.WriteFile("x", []byte("1"), 0o644))
	require.NoError(t, a.WriteFile("y", []byte("2"), 0o644))
	syncOK(t, e)
	require.NoError(t, e.Close())

	// With the common state remembered, a deletion is a deletion, not a
	// file the other side "created".
	require.NoError(t, b.Remove("x"))
	e = open()
	defer e.Close()
	syncOK(t, e)
	assert.Equal(t, map[string]string{"y": "2"}, a.Contents())
	recs, err := e.Journal(context.Background(), "b", 0, 0)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, "remove", recs[2].Op)
	assert.EqualValues(t, 3, recs[2].Seq)
}

// holdBack is a View that hides one folder from both sides while held.
type holdBack struct {
	dir  string
	held bool
}

func (h *holdBack) View(ctx context.Context, p *zerosync.ViewPair) error {
	if !h.held {
		return nil
	}
	cut := func(s zerosync.Snapshot) zerosync.Snapshot {
		out := zerosync.Snapshot{}
		for k, v := range s {
			if k != h.dir && !strings.HasPrefix(k, h.dir+"/") {
				out[k] = v
			}
		}
		return out
	}
	p.Base, p.Ours, p.Theirs = cut(p.Base), cut(p.Ours), cut(p.Theirs)
	p.Problems = append(p.Problems, zerosync.Problem{Path: h.dir, Err: errors.New("held back")})
	return nil
}

func TestViewHoldsBack(t *testing.T) {
	v := &holdBack{dir: "repo", held: true}
	e, a, b := pairOf(t, engine.WithView(v))
	require.NoError(t, a.WriteFile("repo/main.go", []byte("package main"), 0o644))
	require.NoError(t, a.WriteFile("notes", []byte("n"), 0o644))
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Problems, 1)
	assert.Equal(t, map[string]string{"notes": "n"}, b.Contents())

	v.held = false
	syncOK(t, e)
	assert.Equal(t, a.Contents(), b.Contents())
}

// unreadable hides some paths from scans and reports them as problems, as
// a directory does with files it cannot read.
type unreadable struct {
	*memory.Endpoint
	paths map[string]bool
}

func (u *unreadable) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	s, _, err := u.Endpoint.Scan(ctx)
	var probs []zerosync.Problem
	for p := range s {
		for q := p; q != ""; q = zerosync.Parent(q) {
			if u.paths[q] {
				delete(s, p)
				if q == p {
					probs = append(probs, zerosync.Problem{Path: p, Err: errors.New("permission denied")})
				}
				break
			}
		}
	}
	return s, probs, err
}

func TestUnreadableIsNotDeleted(t *testing.T) {
	a, b := memory.New(), memory.New()
	u := &unreadable{Endpoint: a, paths: map[string]bool{}}
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: u}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	require.NoError(t, a.WriteFile("secret/key", []byte("k"), 0o600))
	require.NoError(t, a.WriteFile("notes", []byte("n"), 0o644))
	syncOK(t, e)
	require.Len(t, b.Contents(), 3)

	u.paths["secret"] = true // now unreadable on a
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Problems, 1)
	assert.Empty(t, rep.Applied, "an unreadable folder is not a deleted one")
	assert.Equal(t, "k", b.Contents()["secret/key"])

	delete(u.paths, "secret")
	syncOK(t, e)
	assert.Equal(t, a.Contents(), b.Contents())
}

// stale returns an old snapshot once, as a scan that raced an edit would.
type stale struct {
	*memory.Endpoint
	old zerosync.Snapshot
}

func (s *stale) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	if s.old != nil {
		old := s.old
		s.old = nil
		return old, nil, nil
	}
	return s.Endpoint.Scan(ctx)
}

func TestChangedUnderOurFeet(t *testing.T) {
	a, b := memory.New(), memory.New()
	sa := &stale{Endpoint: a}
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: sa}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	require.NoError(t, a.WriteFile("f", []byte("base"), 0o644))
	syncOK(t, e)

	sa.old, _, _ = a.Scan(context.Background())
	require.NoError(t, a.WriteFile("f", []byte("ours, after the scan"), 0o644))
	require.NoError(t, b.WriteFile("f", []byte("theirs"), 0o644))
	rep := syncOK(t, e) // sees only theirs changed; the write to a is refused
	assert.Empty(t, rep.Applied)
	got, _ := a.ReadFile("f")
	assert.Equal(t, "ours, after the scan", string(got), "never overwritten")

	rep = syncOK(t, e)
	require.Len(t, rep.Conflicts, 1, "the next cycle sees both edits")
	got, _ = b.ReadFile("f")
	assert.Equal(t, "ours, after the scan", string(got))
	assert.Contains(t, strings.Join(slices.Collect(maps.Values(a.Contents())), "|"), "ours")
}

func TestViewHidingEverythingIsNotAnEmptiedRoot(t *testing.T) {
	v := &holdBack{dir: "repo"}
	e, a, b := pairOf(t, engine.WithView(v))
	require.NoError(t, a.WriteFile("repo/main.go", []byte("package main"), 0o644))
	syncOK(t, e)
	v.held = true
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err, "a view that hides the whole tree is not an emptied root")
	assert.Empty(t, rep.Applied)
	assert.Equal(t, a.Contents(), b.Contents())
}

// TestSameChangeOnBothSidesMovesTheBase: changes both sides made alike
// (an edit, a deletion, a new file) need no action, and the common state
// moves to them, so that a later change on one side alone is no conflict.
func TestSameChangeOnBothSidesMovesTheBase(t *testing.T) {
	e, a, b := pairOf(t)
	for _, p := range []string{"x.txt", "y.txt", "z.txt"} {
		require.NoError(t, a.WriteFile(p, []byte("1\n"), 0o644))
	}
	syncOK(t, e)
	for _, ep := range []*memory.Endpoint{a, b} {
		require.NoError(t, ep.WriteFile("x.txt", []byte("2\n"), 0o644))
		require.NoError(t, ep.Remove("y.txt"))
		require.NoError(t, ep.WriteFile("w.txt", []byte("new\n"), 0o644))
	}
	rep := syncOK(t, e)
	require.Empty(t, rep.Applied)
	require.Empty(t, rep.Conflicts)

	// Against a common state that had not moved, these would go wrong:
	// x edited against the other edit is a conflict, y made again as it
	// was reads as kept on our side and deleted on theirs (so it would be
	// deleted), w changed on one side against its making on both is a
	// conflict.
	require.NoError(t, a.WriteFile("x.txt", []byte("3\n"), 0o644))
	require.NoError(t, a.WriteFile("y.txt", []byte("1\n"), 0o644))
	require.NoError(t, b.WriteFile("w.txt", []byte("b\n"), 0o644))
	rep = syncOK(t, e)
	require.Empty(t, rep.Conflicts)
	for p, want := range map[string]string{"x.txt": "3\n", "y.txt": "1\n", "w.txt": "b\n", "z.txt": "1\n"} {
		for _, ep := range []*memory.Endpoint{a, b} {
			got, err := ep.ReadFile(p)
			require.NoError(t, err)
			require.Equal(t, want, string(got), p)
		}
	}
}
