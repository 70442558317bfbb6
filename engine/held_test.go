package engine

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
)

// heldEntries are entries of every form a floor must keep exactly, and of
// the forms it must leave beside it: times in UTC, in the local zone, in
// another zone, with a monotonic reading, the zero time, times outside
// the years a nanosecond count reaches, symlinks and modes beyond 16 bits.
func heldEntries() []zerosync.Entry {
	zone := time.FixedZone("elsewhere", 3600)
	local := time.Unix(1_700_000_000, 123_456_789)
	return []zerosync.Entry{
		{Kind: zerosync.KindFile, Mode: 0o644, Size: 3, Digest: zerosync.Digest{1}, ModTime: local},
		{Kind: zerosync.KindFile, Mode: 0o600, Size: 4, Digest: zerosync.Digest{2}, ModTime: local.UTC()},
		{Kind: zerosync.KindFile, Mode: 0o644, Size: 5, Digest: zerosync.Digest{3}, ModTime: local.In(zone)},
		{Kind: zerosync.KindFile, Mode: 0o644, Size: 6, Digest: zerosync.Digest{4}, ModTime: time.Now()},
		{Kind: zerosync.KindFile, Mode: 0o644, Size: 7, Digest: zerosync.Digest{5}},
		{Kind: zerosync.KindFile, Mode: 0o644, Size: 8, Digest: zerosync.Digest{6}, ModTime: time.Date(1200, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Kind: zerosync.KindFile, Mode: 0o644, Size: 9, Digest: zerosync.Digest{7}, ModTime: time.Unix(1<<40, 999_999_999)},
		{Kind: zerosync.KindDir, Mode: 0o755, ModTime: local},
		{Kind: zerosync.KindSymlink, Target: "../elsewhere", ModTime: local},
		{Kind: zerosync.KindSymlink, Target: "x"},
		{Kind: zerosync.KindFile, Mode: 0o644 | 1<<20, Size: 1, Digest: zerosync.Digest{8}, ModTime: local},
	}
}

// exactly reports whether two entries are the same in every field, the
// time's zone and clock reading included.
func exactly(a, b zerosync.Entry) bool {
	return a.Kind == b.Kind && a.Mode == b.Mode && a.Size == b.Size && a.Digest == b.Digest &&
		a.Target == b.Target && a.ModTime == b.ModTime
}

// checkHeld compares h with want: every path, its entry exactly, the
// count, the iteration and the whole map.
func checkHeld(t *testing.T, want zerosync.Snapshot, h *held, step string) {
	t.Helper()
	require.Equal(t, len(want), h.Len(), "%s: length", step)
	seen := map[string]bool{}
	for p, e := range h.All() {
		require.False(t, seen[p], "%s: %q yielded twice", step, p)
		seen[p] = true
		w, ok := want[p]
		require.True(t, ok, "%s: %q yielded, not expected", step, p)
		require.True(t, exactly(w, e), "%s: %q is %v (%v), want %v (%v)", step, p, e, e.ModTime, w, w.ModTime)
	}
	require.Len(t, seen, len(want), "%s: paths yielded", step)
	paths := map[string]bool{}
	for p := range h.Paths() {
		require.False(t, paths[p], "%s: path %q yielded twice", step, p)
		paths[p] = true
	}
	require.Equal(t, seen, paths, "%s: Paths", step)
	for p, w := range want {
		e, ok := h.Get(p)
		require.True(t, ok && exactly(w, e), "%s: Get(%q) = %v %v, want %v", step, p, e, ok, w)
		require.True(t, h.has(p), "%s: has(%q)", step, p)
	}
	for _, p := range []string{"absent", "d9/absent"} {
		_, ok := h.Get(p)
		require.False(t, ok || h.has(p), "%s: %q present", step, p)
	}
	m := h.Map()
	require.Len(t, m, len(want), "%s: Map", step)
	for p, w := range want {
		require.True(t, exactly(w, m[p]), "%s: Map()[%q]", step, p)
	}
}

// TestHeldMatchesMap: a held snapshot, changed at random, settled (made
// into a floor), put on another's floor, its floor spilled to a file and
// read whole in between, always holds exactly what a plain map changed
// the same way holds.
func TestHeldMatchesMap(t *testing.T) {
	dir := t.TempDir()
	spill := func(h *held) {
		t.Helper()
		if h.f != nil {
			f, err := h.f.spill(dir)
			require.NoError(t, err)
			h.f = f
		}
	}
	forms := heldEntries()
	r := rand.New(rand.NewPCG(1, 2))
	randomSnap := func(n int) zerosync.Snapshot {
		s := zerosync.Snapshot{}
		for range n {
			s[fmt.Sprintf("d%d/f%d", r.IntN(4), r.IntN(40))] = forms[r.IntN(len(forms))]
		}
		return s
	}
	for round := range 30 {
		want := randomSnap(60)
		h := hold(maps.Clone(want))
		other := hold(randomSnap(60))
		other.settle(nil)
		for step := range 200 {
			name := fmt.Sprintf("round %d step %d", round, step)
			p := fmt.Sprintf("d%d/f%d", r.IntN(4), r.IntN(40))
			switch op := r.IntN(11); {
			case op < 4:
				e := forms[r.IntN(len(forms))]
				h.Set(p, e)
				want[p] = e
			case op < 7:
				h.Delete(p)
				delete(want, p)
			case op == 7:
				h.settle(other.f)
			case op == 8:
				// On the floor of a snapshot like it, or of another, or
				// a new scan of it on its own floor.
				like := hold(maps.Clone(want))
				if r.IntN(2) == 0 {
					like = other
				}
				like.settle(nil)
				switch r.IntN(3) {
				case 0:
					h.settle(nil)
					h.standOn(like.f)
				case 1:
					h.standOn(like.f)
				default:
					h = rehold(h, maps.Clone(want))
				}
			case op == 9:
				h.Map()
				if r.IntN(4) == 0 {
					h.drop()
				}
			default:
				spill(h)
				spill(other)
			}
			checkHeld(t, want, h, name)
		}
		checkHeld(t, randomSnap(0), hold(nil), "empty")
	}
}

// TestShareFloor: a snapshot that agrees with another but for a few paths
// stands on its floor, keeping only the paths that differ; one that
// differs in many keeps its own floor; neither changes what it holds.
func TestShareFloor(t *testing.T) {
	like := zerosync.Snapshot{}
	for i := range 1000 {
		like[fmt.Sprintf("f%d", i)] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: 1, Digest: zerosync.Digest{byte(i)}, ModTime: time.Unix(int64(i), 0)}
	}
	l := hold(maps.Clone(like))
	l.settle(nil)

	few := maps.Clone(like)
	few["f1"] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o600, Size: 1, Digest: zerosync.Digest{1}, ModTime: time.Unix(1, 0)}
	delete(few, "f2")
	few["new"] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
	h := hold(maps.Clone(few))
	require.True(t, h.settle(nil), "settling a fresh snapshot makes its floor")
	require.False(t, h.settle(nil), "a settled snapshot has nothing to settle")
	require.True(t, h.standOn(l.f))
	assert.Same(t, l.f, h.f)
	assert.Len(t, h.over, 3, "only the paths that differ are kept beside the floor")
	checkHeld(t, few, h, "few")
	checkHeld(t, like, l, "like")

	many := maps.Clone(like)
	for i := range 300 {
		many[fmt.Sprintf("f%d", i)] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: 1, Digest: zerosync.Digest{byte(i)}, ModTime: time.Unix(int64(i), 1)}
	}
	m := hold(maps.Clone(many))
	m.settle(nil)
	own := m.f
	require.False(t, m.standOn(l.f), "300 of 1000 paths differ")
	assert.Same(t, own, m.f)
	checkHeld(t, many, m, "many")

	// A new scan like the floor stands on it, and lends it its map.
	again := maps.Clone(like)
	l.drop() // the end of the cycle that read it whole
	r := rehold(l, again)
	assert.Same(t, l.f, r.f)
	assert.Empty(t, r.over)
	require.NotNil(t, l.f.whole.Load())
	mp := l.Map()
	assert.Equal(t, fmt.Sprintf("%p", again), fmt.Sprintf("%p", mp), "the floor's snapshot reads the scan's map")
	checkHeld(t, like, r, "rescanned")
	r.drop()
	assert.Nil(t, l.f.whole.Load(), "the map is dropped at the end of the cycle")
	// On a floor it differs from in few paths, it settles without a
	// floor of its own.
	r = rehold(l, maps.Clone(few))
	require.False(t, r.settle(nil))
	assert.Same(t, l.f, r.f)
	checkHeld(t, few, r, "rescanned, changed")
}

// TestFloorFinds: a floor finds every path it packed, with its entry and
// symlink target, among paths that are prefixes of one another or differ
// in their last byte, in folders whose names sort apart from their paths
// ("d1/" and "d1-"), and finds none of the paths it did not pack, in
// floors of every size from empty to many folders.
func TestFloorFinds(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 100, 5000} {
		s := zerosync.Snapshot{}
		for i := range n {
			p := fmt.Sprintf("d%d/f%d", i%13, i)
			switch i % 7 {
			case 1:
				p = fmt.Sprintf("d%d-/f%d", i%13, i)
			case 2:
				p = fmt.Sprintf("d%d/e/f%d", i%13, i)
			case 3:
				p = fmt.Sprintf("top%d", i)
			}
			switch i % 3 {
			case 0:
				s[p] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(i), Digest: zerosync.Digest{byte(i), byte(i >> 8)}}
			case 1:
				s[p] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
			default:
				s[p] = zerosync.Entry{Kind: zerosync.KindSymlink, Target: fmt.Sprint("target ", i)}
			}
		}
		f, over := makeFloor(s)
		require.Nil(t, over, "%d paths: everything packs", n)
		require.Equal(t, n, f.len())
		seen := map[string]bool{}
		for p, i := range f.entries() {
			require.False(t, seen[p], "%q twice", p)
			seen[p] = true
			j, ok := f.find(p)
			require.True(t, ok && i == j, "%q is entry %d, found %d", p, i, j)
		}
		require.Len(t, seen, n)
		for p, want := range s {
			got, ok := f.get(p)
			require.True(t, ok, "%d paths: %q not found", n, p)
			require.True(t, exactly(want, got), "%q: %v, want %v", p, got, want)
			require.True(t, f.holds(p, &want))
			for _, near := range []string{p + "0", p[:len(p)-1], p + "/x", "x" + p, "d1/" + p, p + "/"} {
				if _, packed := s[near]; !packed {
					_, ok := f.find(near)
					require.False(t, ok, "%d paths: %q found", n, near)
				}
			}
			other := want
			other.Size++
			require.False(t, f.holds(p, &other))
		}
		// Spilled to a file, the same entries are read back, one by one
		// and in runs.
		g, err := f.spill(t.TempDir())
		require.NoError(t, err)
		require.Equal(t, n > 0, g.spilled())
		for p, want := range s {
			got, ok := g.get(p)
			require.True(t, ok && exactly(want, got), "%d paths, spilled: %q is %v, want %v", n, p, got, want)
			require.True(t, g.holds(p, &want))
		}
		checkHeld(t, s, &held{f: g, n: g.len()}, fmt.Sprintf("%d paths, spilled", n))
		require.False(t, g.lost.Load())
	}
	// Paths no scan makes are kept exactly all the same: a folder and a
	// name are one path whatever their slashes.
	odd := zerosync.Snapshot{}
	for _, p := range []string{"", "/", "//", "/x", "x/", "x//y", "x/y", "y", "a/b/"} {
		odd[p] = zerosync.Entry{Kind: zerosync.KindFile, Size: int64(len(p))}
	}
	f, over := makeFloor(odd)
	require.Nil(t, over)
	got := map[string]int64{}
	for p, i := range f.entries() {
		got[p] = f.ents[i].size
		e, ok := f.get(p)
		require.True(t, ok, "%q not found", p)
		require.Equal(t, int64(len(p)), e.Size, "%q", p)
	}
	require.Len(t, got, len(odd))
	for _, p := range []string{"x", "a/b", "a/", "//x", "/y"} {
		_, ok := f.find(p)
		require.False(t, ok, "%q found", p)
	}
	var nilFloor *floor
	_, ok := nilFloor.get("a")
	require.False(t, ok)
	require.Zero(t, nilFloor.len())
}

// TestRunSharesFloors: between the cycles of a running engine, the common
// state and the peer's tree, which agree with ours once synced, stand on
// our tree's floor; after an edit, only its path is kept beside it, and
// the next full scan makes them share one floor again.
func TestRunSharesFloors(t *testing.T) {
	a, b, e := fiftyFiles(t, WithVolatileState())
	e.mem.release = func() {}
	ctx := context.Background()
	cycle := func() {
		t.Helper()
		_, err := e.SyncOnce(ctx)
		require.NoError(t, err)
		e.releaseAfterFull()
	}
	cycle() // a copies to b
	cycle() // both trees scanned again, as they now are
	p := e.pairs[0]
	require.NotNil(t, e.ours.snap.f)
	assert.Same(t, e.ours.snap.f, p.base.f, "the common state stands on our tree's floor")
	assert.Same(t, e.ours.snap.f, p.peer.snap.f, "the peer's tree stands on our tree's floor")
	assert.Empty(t, p.base.over)
	assert.Empty(t, p.peer.snap.over)
	assert.Equal(t, 51, e.ours.snap.Len())

	require.NoError(t, a.WriteFile("d/f1.txt", []byte("changed"), 0o644))
	cycle()
	got, err := b.ReadFile("d/f1.txt")
	require.NoError(t, err)
	assert.Equal(t, "changed", string(got))
	assert.Same(t, e.ours.snap.f, p.base.f)
	for _, h := range []*held{e.ours.snap, p.base, p.peer.snap} {
		en, ok := h.Get("d/f1.txt")
		require.True(t, ok)
		assert.Equal(t, int64(len("changed")), en.Size)
	}
}

// TestFirstSyncSharesOurTree: the first sync of two trees leaves a common
// state that is our tree's map itself, not a copy of each entry; it holds
// what the database holds, and later cycles change it as any other.
func TestFirstSyncSharesOurTree(t *testing.T) {
	for name, opt := range map[string]Option{"memory": WithVolatileState(), "database": WithStatePath(filepath.Join(t.TempDir(), "state.db"))} {
		t.Run(name, func(t *testing.T) {
			a, b, e := fiftyFiles(t, opt)
			ctx := context.Background()
			_, err := e.SyncOnce(ctx)
			require.NoError(t, err)
			p := e.pairs[0]
			require.NotNil(t, p.base.whole())
			require.Equal(t, fmt.Sprintf("%p", e.ours.snap.whole()), fmt.Sprintf("%p", p.base.whole()), "the common state is our tree's map")
			heldIsStored(t, p)

			// An edit on either side moves the common state, not our tree's map.
			require.NoError(t, b.WriteFile("d/f1.txt", []byte("edited on b"), 0o644))
			require.NoError(t, a.Remove("d/f2.txt"))
			_, err = e.SyncOnce(ctx)
			require.NoError(t, err)
			heldIsStored(t, p)
			_, ok := p.base.Get("d/f2.txt")
			require.False(t, ok)
		})
	}
}

// TestLostFloorIsReadAgain: when the file a floor's entries wait in
// cannot be read back, the pass that read it decides nothing and fails,
// and the next cycle reads the trees and the common state again and
// syncs as if nothing happened.
func TestLostFloorIsReadAgain(t *testing.T) {
	a, b, e := fiftyFiles(t, WithStatePath(filepath.Join(t.TempDir(), "state.db")))
	e.mem.release = func() {}
	ctx := context.Background()
	_, err := e.SyncOnce(ctx)
	require.NoError(t, err)
	e.releaseAfterFull()
	p := e.pairs[0]
	f := e.ours.snap.f
	require.True(t, f.spilled(), "our tree's floor waits in a file")
	require.Same(t, f, p.base.f, "the common state stands on it")

	require.NoError(t, f.file.Close()) // every read of it now fails
	require.NoError(t, b.WriteFile("d/f1.txt", []byte("edited on b"), 0o644))
	_, err = e.SyncOnce(ctx)
	require.ErrorIs(t, err, errHeldLost)
	got, err := a.ReadFile("d/f1.txt")
	require.NoError(t, err)
	require.Equal(t, "file 1", string(got), "nothing was decided on what could not be read")

	rep, err := e.SyncOnce(ctx)
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
	got, err = a.ReadFile("d/f1.txt")
	require.NoError(t, err)
	require.Equal(t, "edited on b", string(got))
	for i := range 50 {
		_, err := a.ReadFile(fmt.Sprintf("d/f%d.txt", i))
		require.NoError(t, err, "nothing was deleted")
		_, err = b.ReadFile(fmt.Sprintf("d/f%d.txt", i))
		require.NoError(t, err, "nothing was deleted")
	}
}

// fiftyFiles returns an engine made with opts that syncs a, holding fifty
// files, with b, empty; it is closed when the test ends.
func fiftyFiles(t *testing.T, opts ...Option) (a, b *memory.Endpoint, e *Engine) {
	t.Helper()
	a, b = memory.New(), memory.New()
	for i := range 50 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("d/f%d.txt", i), fmt.Appendf(nil, "file %d", i), 0o644))
	}
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: b}}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return a, b, e
}

// heldIsStored checks that p's held common state is what its store holds.
func heldIsStored(t *testing.T, p *pair) {
	t.Helper()
	stored, err := p.store.Base(context.Background())
	require.NoError(t, err)
	require.Equal(t, len(stored), p.base.Len())
	for path, want := range stored {
		got, ok := p.base.Get(path)
		require.True(t, ok, path)
		// The database gives times back in the local zone.
		require.True(t, got.ModTime.Equal(want.ModTime), "%s: held %v, stored %v", path, got.ModTime, want.ModTime)
		got.ModTime = want.ModTime
		require.True(t, exactly(want, got), "%s: held %v, stored %v", path, got, want)
	}
}
