package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/merge"
	"github.com/zerosync/zerosync/transport/memory"
)

// stagedPair is pairOf with peer b staged, after a first sync of f (text
// of three lines) and keep.
func stagedPair(t *testing.T, opts ...engine.Option) (*engine.Engine, *memory.Endpoint, *memory.Endpoint) {
	t.Helper()
	e, a, b := pairOf(t, append([]engine.Option{engine.WithStaged("b")}, opts...)...)
	require.NoError(t, a.WriteFile("f", []byte("one\ntwo\nthree\n"), 0o644))
	require.NoError(t, a.WriteFile("keep", []byte("so the tree is never empty"), 0o644))
	syncOK(t, e)
	require.Equal(t, a.Contents(), b.Contents())
	return e, a, b
}

func stagedItems(t *testing.T, e *engine.Engine) []engine.StagedItem {
	t.Helper()
	items, err := e.Staged(context.Background())
	require.NoError(t, err)
	return items
}

func read(t *testing.T, m *memory.Endpoint, p string) string {
	t.Helper()
	b, err := m.ReadFile(p)
	if err != nil {
		return "<absent>"
	}
	return string(b)
}

// TestStagedHoldsIncoming: what the staged peer changes waits in the
// staging area, cycle after cycle, while our changes reach the peer.
func TestStagedHoldsIncoming(t *testing.T) {
	ctx := context.Background()
	e, a, b := stagedPair(t)
	require.NoError(t, b.WriteFile("f", []byte("one\nTWO\nthree\n"), 0o644))
	require.NoError(t, b.WriteFile("new/n", []byte("new"), 0o600))
	require.NoError(t, b.Remove("keep"))
	require.NoError(t, a.WriteFile("g", []byte("ours"), 0o644))
	rep := syncOK(t, e)
	for _, act := range rep.Applied {
		assert.Equal(t, zerosync.Theirs, act.Side, "only the peer is written: %v", act)
	}
	assert.Equal(t, "one\ntwo\nthree\n", read(t, a, "f"))
	assert.Equal(t, "<absent>", read(t, a, "new/n"))
	assert.Equal(t, "so the tree is never empty", read(t, a, "keep"))
	assert.Equal(t, "ours", read(t, b, "g"), "our change flows to the staged peer")

	items := stagedItems(t, e)
	require.Len(t, items, 4)
	byPath := map[string]engine.StagedItem{}
	for _, it := range items {
		byPath[it.Path] = it
		assert.Equal(t, "b", it.Peer)
		assert.False(t, it.Conflict)
	}
	assert.Nil(t, byPath["keep"].Theirs, "a removal")
	assert.Equal(t, "deleted on theirs", byPath["keep"].Note)
	assert.Equal(t, zerosync.KindDir, byPath["new"].Theirs.Kind)
	assert.Nil(t, byPath["new/n"].Ours)
	f := byPath["f"]
	assert.Equal(t, f.Base.Digest, f.Ours.Digest)
	assert.NotEqual(t, f.Base.Digest, f.Theirs.Digest)
	staged, ours, err := e.StagedContent(ctx, f.ID)
	require.NoError(t, err)
	assert.Equal(t, "one\nTWO\nthree\n", string(staged))
	assert.Equal(t, "one\ntwo\nthree\n", string(ours))

	// Later cycles keep the same items, and the common state stays.
	rep = syncOK(t, e)
	assert.False(t, rep.Changed())
	assert.Equal(t, items, stagedItems(t, e))
	assert.Equal(t, "one\ntwo\nthree\n", read(t, a, "f"))
}

// TestStagedSurvivesRestart: a new engine on the same state file lists the
// staged change, shows its content and applies it, though the peer
// changed its file again meanwhile.
func TestStagedSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	a, b := memory.New(), memory.New()
	open := func() *engine.Engine {
		e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
			engine.WithStatePath(path), engine.WithStaged("b"))
		require.NoError(t, err)
		return e
	}
	e := open()
	require.NoError(t, a.WriteFile("f", []byte("v1"), 0o644))
	require.NoError(t, a.WriteFile("keep", []byte("k"), 0o644))
	syncOK(t, e)
	require.NoError(t, b.WriteFile("f", []byte("v2"), 0o644))
	syncOK(t, e)
	before := stagedItems(t, e)
	require.Len(t, before, 1)
	require.NoError(t, e.Close())

	e = open()
	defer e.Close()
	after := stagedItems(t, e)
	require.Len(t, after, 1)
	assert.Equal(t, before[0].ID, after[0].ID)
	assert.Equal(t, before[0].Path, after[0].Path)
	assert.True(t, before[0].Theirs.Same(after[0].Theirs))
	assert.True(t, before[0].Base.Same(after[0].Base))
	// The staging area holds the content: the peer's file may change.
	require.NoError(t, b.WriteFile("f", []byte("v3, not yet synced"), 0o644))
	staged, _, err := e.StagedContent(ctx, after[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "v2", string(staged))
	_, err = e.ApplyStaged(ctx, after[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "v2", read(t, a, "f"))
	assert.Empty(t, stagedItems(t, e))
	// The peer's newer version is the next staged change, over v2.
	syncOK(t, e)
	items := stagedItems(t, e)
	require.Len(t, items, 1)
	assert.False(t, items[0].Conflict)
	staged, ours, err := e.StagedContent(ctx, items[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "v3, not yet synced", string(staged))
	assert.Equal(t, "v2", string(ours))
}

// TestApplyStaged: applied changes land in our tree (what they replace is
// archived), and the next cycle has nothing to do.
func TestApplyStaged(t *testing.T) {
	ctx := context.Background()
	e, a, b := stagedPair(t)
	require.NoError(t, b.WriteFile("f", []byte("one\nTWO\nthree\n"), 0o600))
	require.NoError(t, b.WriteFile("new/deeper/n", []byte("new"), 0o600))
	require.NoError(t, b.Remove("keep"))
	require.NoError(t, b.WriteFile("keep2", []byte("so the tree is never empty"), 0o644))
	syncOK(t, e)
	var ids []uint64
	for _, it := range stagedItems(t, e) {
		ids = append(ids, it.ID)
	}
	require.Len(t, ids, 6) // f, keep, keep2, new, new/deeper, new/deeper/n
	rep, err := e.ApplyStaged(ctx, ids...)
	require.NoError(t, err)
	assert.Empty(t, rep.Problems)
	assert.Len(t, rep.Applied, 6)
	assert.Equal(t, b.Contents(), a.Contents())
	assert.Equal(t, 0o600, int(a.Lstat("f").Mode.Perm()))
	assert.ElementsMatch(t, []string{"one\ntwo\nthree\n", "so the tree is never empty"}, archivedData(a), "the replaced and the removed versions are kept")
	assert.Empty(t, stagedItems(t, e))
	rep = syncOK(t, e)
	assert.False(t, rep.Changed())
	assert.Empty(t, stagedItems(t, e))
	_, err = e.ApplyStaged(ctx, ids[0])
	assert.ErrorIs(t, err, engine.ErrNotStaged)
}

// TestApplyStagedOneChildMakesItsFolder: applying a file whose new folder
// is staged too, but not applied, makes the folder.
func TestApplyStagedOneChildMakesItsFolder(t *testing.T) {
	ctx := context.Background()
	e, a, b := stagedPair(t)
	require.NoError(t, b.WriteFile("d/n", []byte("new"), 0o644))
	require.NoError(t, b.Chmod("d", 0o700))
	syncOK(t, e)
	for _, it := range stagedItems(t, e) {
		if it.Path == "d/n" {
			_, err := e.ApplyStaged(ctx, it.ID)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, "new", read(t, a, "d/n"))
	assert.Equal(t, 0o700, int(a.Lstat("d").Mode.Perm()), "the peer's bits")
	syncOK(t, e)
	assert.Empty(t, stagedItems(t, e), "the folder's item is no longer a change")
	assert.Equal(t, b.Contents(), a.Contents())
}

// TestApplyStagedAfterLocalEdit: a file edited here after its change was
// staged is a conflict for the chain: merged when the edits do not
// overlap, kept both ways when they do; either way the peer ends with our
// result.
func TestApplyStagedAfterLocalEdit(t *testing.T) {
	ctx := context.Background()
	diff3, err := merge.Diff3()
	require.NoError(t, err)
	e, a, b := stagedPair(t, engine.WithResolvers(diff3))
	require.NoError(t, b.WriteFile("f", []byte("ONE\ntwo\nthree\n"), 0o644))
	syncOK(t, e)
	items := stagedItems(t, e)
	require.Len(t, items, 1)
	require.NoError(t, a.WriteFile("f", []byte("one\ntwo\nTHREE\n"), 0o644))

	rep, err := e.ApplyStaged(ctx, items[0].ID)
	require.NoError(t, err)
	require.Len(t, rep.Conflicts, 1)
	assert.Equal(t, "diff3", rep.Conflicts[0].Resolution.By)
	assert.Equal(t, "ONE\ntwo\nTHREE\n", read(t, a, "f"))
	assert.Contains(t, archivedData(a), "one\ntwo\nTHREE\n", "our edit is archived before the merge replaces it")
	assert.Equal(t, "ONE\ntwo\nthree\n", read(t, b, "f"), "the peer is not written by apply")
	syncOK(t, e)
	assert.Equal(t, "ONE\ntwo\nTHREE\n", read(t, b, "f"), "the merge reaches the peer")
	assert.Empty(t, stagedItems(t, e))

	// The same line edited on both: both versions are kept.
	require.NoError(t, b.WriteFile("f", []byte("ONE\ntwo\nTHREE\nfour (theirs)\n"), 0o644))
	syncOK(t, e)
	items = stagedItems(t, e)
	require.Len(t, items, 1)
	require.NoError(t, a.WriteFile("f", []byte("ONE\ntwo\nTHREE\nfour (ours)\n"), 0o644))
	rep, err = e.ApplyStaged(ctx, items[0].ID)
	require.NoError(t, err)
	require.Len(t, rep.Conflicts, 1)
	cr := rep.Conflicts[0]
	assert.True(t, cr.Resolution.KeepOther)
	assert.Equal(t, "ONE\ntwo\nTHREE\nfour (ours)\n", read(t, a, "f"))
	assert.Equal(t, "ONE\ntwo\nTHREE\nfour (theirs)\n", read(t, a, cr.CopyPath))
	reviews, err := e.Reviews(ctx)
	require.NoError(t, err)
	require.Len(t, reviews["b"], 1)
	syncOK(t, e)
	assert.Equal(t, "ONE\ntwo\nTHREE\nfour (ours)\n", read(t, b, "f"))
	assert.Contains(t, archivedData(b), "ONE\ntwo\nTHREE\nfour (theirs)\n", "the peer keeps its version in its archive")
	assert.Empty(t, stagedItems(t, e))
}

// TestStagedConflict: both sides changed the file: the conflict is staged,
// not settled, and settled by the chain when applied.
func TestStagedConflict(t *testing.T) {
	ctx := context.Background()
	e, a, b := stagedPair(t)
	require.NoError(t, a.WriteFile("f", []byte("ours\n"), 0o644))
	require.NoError(t, b.WriteFile("f", []byte("theirs\n"), 0o644))
	rep := syncOK(t, e)
	assert.Empty(t, rep.Conflicts)
	assert.Equal(t, "theirs\n", read(t, b, "f"), "held both ways")
	items := stagedItems(t, e)
	require.Len(t, items, 1)
	assert.True(t, items[0].Conflict)
	rep, err := e.ApplyStaged(ctx, items[0].ID)
	require.NoError(t, err)
	require.Len(t, rep.Conflicts, 1)
	assert.Equal(t, "theirs\n", read(t, a, rep.Conflicts[0].CopyPath))
	assert.Equal(t, "ours\n", read(t, a, "f"))
	syncOK(t, e)
	assert.Equal(t, "ours\n", read(t, b, "f"))
}

// TestRejectStaged: a rejected change leaves our tree as it is, and the
// next cycle carries our version to the peer, whose own is archived there:
// an update is undone, a creation removed, a removal undone.
func TestRejectStaged(t *testing.T) {
	ctx := context.Background()
	e, a, b := stagedPair(t)
	require.NoError(t, b.WriteFile("f", []byte("theirs\n"), 0o644))
	require.NoError(t, b.WriteFile("created", []byte("c"), 0o644))
	require.NoError(t, b.Remove("keep"))
	syncOK(t, e)
	var ids []uint64
	for _, it := range stagedItems(t, e) {
		ids = append(ids, it.ID)
	}
	require.Len(t, ids, 3)
	ours := a.Contents()
	require.NoError(t, e.RejectStaged(ctx, ids...))
	assert.Equal(t, ours, a.Contents())
	assert.Empty(t, stagedItems(t, e))
	syncOK(t, e)
	assert.Equal(t, ours, b.Contents())
	assert.ElementsMatch(t, []string{"theirs\n", "c"}, archivedData(b))
	rep := syncOK(t, e)
	assert.False(t, rep.Changed())
	assert.ErrorIs(t, e.RejectStaged(ctx, ids[0]), engine.ErrNotStaged)
}

// TestStagedNewerReplaces: a newer version from the peer replaces the
// staged one under a new ID; a change the peer undoes is dropped.
func TestStagedNewerReplaces(t *testing.T) {
	ctx := context.Background()
	e, a, b := stagedPair(t)
	require.NoError(t, b.WriteFile("f", []byte("v2"), 0o644))
	syncOK(t, e)
	first := stagedItems(t, e)
	require.Len(t, first, 1)
	require.NoError(t, b.WriteFile("f", []byte("v3"), 0o644))
	syncOK(t, e)
	second := stagedItems(t, e)
	require.Len(t, second, 1)
	assert.Greater(t, second[0].ID, first[0].ID)
	staged, _, err := e.StagedContent(ctx, second[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "v3", string(staged))
	_, err = e.ApplyStaged(ctx, first[0].ID)
	assert.ErrorIs(t, err, engine.ErrNotStaged, "the version a person saw is not the one applied")
	assert.Equal(t, "one\ntwo\nthree\n", read(t, a, "f"))

	// The peer goes back to the common version: nothing is staged.
	require.NoError(t, b.WriteFile("f", []byte("one\ntwo\nthree\n"), 0o644))
	syncOK(t, e)
	assert.Empty(t, stagedItems(t, e))
}

// TestStagedRunWatches: under Run, with watchers, a change of the staged
// peer is staged by a partial cycle, and a newer one replaces it.
func TestStagedRunWatches(t *testing.T) {
	e, _, b := stagedPair(t)
	stop := engine.StartSourcesForTest(e)
	defer stop()
	require.NoError(t, b.WriteFile("f", []byte("v2"), 0o644))
	syncOK(t, e)
	items := stagedItems(t, e)
	require.Len(t, items, 1)
	require.NoError(t, b.WriteFile("other", []byte("x"), 0o644))
	syncOK(t, e)
	require.Len(t, stagedItems(t, e), 2)
	assert.Contains(t, stagedItems(t, e), items[0], "a partial cycle that did not look at f keeps it")
	require.NoError(t, b.WriteFile("f", []byte("v3"), 0o644))
	syncOK(t, e)
	now := stagedItems(t, e)
	require.Len(t, now, 2)
	assert.NotContains(t, now, items[0])
}

func TestWithStagedValidates(t *testing.T) {
	a, b := memory.New(), memory.New()
	_, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		engine.WithVolatileState(), engine.WithStaged("c"))
	assert.ErrorContains(t, err, `staged peer "c"`)
	_, err = engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		engine.WithVolatileState(), engine.WithStaged("a"))
	assert.Error(t, err)
	_, err = engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		engine.WithVolatileState(), engine.WithStaged(""))
	assert.Error(t, err)
}
