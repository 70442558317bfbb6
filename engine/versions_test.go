package engine_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

func archivedData(m *memory.Endpoint) []string {
	var out []string
	for _, a := range m.Archive() {
		out = append(out, string(a.Data))
	}
	return out
}

// TestVersioningKeepsSyncedVersions: a version both sides knew, replaced
// by a peer's edit, is kept, listed and restored; the restore reaches the
// peer at the next cycle, and what it replaced is kept in turn.
func TestVersioningKeepsSyncedVersions(t *testing.T) {
	ctx := context.Background()
	e, a, b := pairOf(t)
	require.NoError(t, a.WriteFile("d/f", []byte("v1"), 0o600))
	require.NoError(t, a.WriteFile("keep", []byte("so the tree is never empty"), 0o644))
	syncOK(t, e)
	require.NoError(t, b.WriteFile("d/f", []byte("v2"), 0o644))
	syncOK(t, e)
	got, _ := a.ReadFile("d/f")
	require.Equal(t, "v2", string(got))

	vs, err := e.Versions(ctx, "d/f")
	require.NoError(t, err)
	require.Len(t, vs, 1, "the synced v1, replaced by the peer's edit")
	assert.Equal(t, zerosync.ReasonReplaced, vs[0].Reason)
	assert.Equal(t, int64(2), vs[0].Size)

	// The peer removes the file: v2 is kept too.
	require.NoError(t, b.Remove("d"))
	syncOK(t, e)
	assert.Nil(t, a.Lstat("d/f"))
	vs, err = e.Versions(ctx, "d/f")
	require.NoError(t, err)
	require.Len(t, vs, 2)
	assert.Equal(t, zerosync.ReasonRemoved, vs[0].Reason)

	// Restore v1, folder and all; the next cycle carries it to the peer.
	v, err := e.RestoreVersion(ctx, "d/f", vs[1].ID)
	require.NoError(t, err)
	assert.Equal(t, vs[1].ID, v.ID)
	got, _ = a.ReadFile("d/f")
	assert.Equal(t, "v1", string(got))
	assert.Equal(t, 0o600, int(a.Lstat("d/f").Mode.Perm()), "the version's own mode")
	syncOK(t, e)
	got, _ = b.ReadFile("d/f")
	assert.Equal(t, "v1", string(got))

	// Restoring over v1 keeps v1 as a version: a restore can be undone.
	_, err = e.RestoreVersion(ctx, "d/f", vs[0].ID)
	require.NoError(t, err)
	got, _ = a.ReadFile("d/f")
	assert.Equal(t, "v2", string(got))
	assert.Equal(t, []string{"v1", "v2", "v1"}, archivedData(a))
}

func TestVersioningOff(t *testing.T) {
	e, a, b := pairOf(t, engine.WithVersioning(false))
	require.NoError(t, a.WriteFile("f", []byte("v1"), 0o644))
	syncOK(t, e)
	require.NoError(t, b.WriteFile("f", []byte("v2"), 0o644))
	syncOK(t, e)
	assert.Empty(t, a.Archive(), "v1 was known to both sides: not kept with versioning off")
}

func TestRestoreVersionRefuses(t *testing.T) {
	ctx := context.Background()
	e, a, b := pairOf(t)
	require.NoError(t, a.WriteFile("f", []byte("v1"), 0o644))
	require.NoError(t, a.WriteFile("g", []byte("g1"), 0o644))
	syncOK(t, e)
	require.NoError(t, b.WriteFile("f", []byte("v2"), 0o644))
	require.NoError(t, b.WriteFile("g", []byte("g2"), 0o644))
	syncOK(t, e)
	fv, err := e.Versions(ctx, "f")
	require.NoError(t, err)
	require.Len(t, fv, 1)

	for _, c := range []struct{ path, id string }{
		{"../f", fv[0].ID}, {"f", "../../etc/passwd"}, {"f", ""}, {"f", "v999"}, {".zerosync/x", fv[0].ID},
	} {
		_, err := e.RestoreVersion(ctx, c.path, c.id)
		assert.Error(t, err, "%q %q", c.path, c.id)
	}
	// Another path's version is not this path's.
	gv, err := e.Versions(ctx, "g")
	require.NoError(t, err)
	_, err = e.RestoreVersion(ctx, "f", gv[0].ID)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	// A path that is now a folder is left alone.
	require.NoError(t, a.Remove("f"))
	require.NoError(t, a.Mkdir("f", 0o755))
	_, err = e.RestoreVersion(ctx, "f", fv[0].ID)
	assert.ErrorContains(t, err, "is now a dir")
	assert.Equal(t, zerosync.KindDir, a.Lstat("f").Kind)
}

// archiveFails is a memory endpoint whose archive fails on command: an
// apply that must archive first fails, as on a full or broken archive.
type archiveFails struct {
	*memory.Endpoint
	failing atomic.Bool
}

func (f *archiveFails) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	if op.Archive && f.failing.Load() {
		return &zerosync.PathError{Op: "apply", Path: op.Path, Err: errors.New("archive: no space left on device")}
	}
	return f.Endpoint.Apply(ctx, op, content)
}

// conflictCopies counts the conflict copies our side made.
func conflictCopies(m *memory.Endpoint) int {
	n := 0
	for _, a := range m.Archive() {
		if a.Reason == zerosync.ReasonConflict {
			n++
		}
	}
	return n
}

// TestFailingArchiveOneConflictCopy: a conflict whose apply fails because
// the peer's archive fails is retried every cycle, but it makes one
// conflict copy and one review item, however many cycles fail.
func TestFailingArchiveOneConflictCopy(t *testing.T) {
	ctx := context.Background()
	a := memory.New(memory.WithName("a"))
	b := &archiveFails{Endpoint: memory.New(memory.WithName("b"))}
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	require.NoError(t, a.WriteFile("notes.txt", []byte("base\n"), 0o644))
	syncOK(t, e)
	require.NoError(t, a.WriteFile("notes.txt", []byte("ours\n"), 0o644))
	require.NoError(t, b.WriteFile("notes.txt", []byte("theirs\n"), 0o644))

	b.failing.Store(true)
	conflicts := 0
	for i := range 5 {
		rep, err := e.SyncOnce(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, rep.Problems, "cycle %d: the failing archive is reported", i+1)
		conflicts += len(rep.Conflicts)
	}
	assert.Equal(t, 1, conflicts, "one conflict reported over five cycles")
	assert.Equal(t, 1, conflictCopies(a), "one conflict copy")
	reviews, err := e.Reviews(ctx)
	require.NoError(t, err)
	require.Len(t, reviews["b"], 1, "one review item")
	got, _ := b.ReadFile("notes.txt")
	assert.Equal(t, "theirs\n", string(got), "nothing replaced without its archive")

	// The archive works again: the conflict is carried out as decided.
	b.failing.Store(false)
	rep := syncOK(t, e)
	assert.Empty(t, rep.Conflicts)
	got, _ = b.ReadFile("notes.txt")
	assert.Equal(t, "ours\n", string(got))
	assert.Contains(t, archivedData(b.Endpoint), "theirs\n")
	assert.Equal(t, 1, conflictCopies(a))
	reviews, err = e.Reviews(ctx)
	require.NoError(t, err)
	assert.Len(t, reviews["b"], 1)
	assert.False(t, syncOK(t, e).Changed())
}

// TestLocalFailingArchiveOneConflictCopy: the same with our own archive
// broken on disk (a file where the archive folder goes: root ignores
// read-only folders): no conflict copy is made while it cannot be
// archived, and exactly one once it can.
func TestLocalFailingArchiveOneConflictCopy(t *testing.T) {
	ctx := context.Background()
	e, _, _, da, db := localPair(t)
	writeFile(t, da, "notes.txt", "base\n")
	syncOK(t, e)
	writeFile(t, da, "notes.txt", "ours\n")
	writeFile(t, db, "notes.txt", "theirs\n")
	archive := filepath.Join(da, ".zerosync", "archive")
	require.NoError(t, os.RemoveAll(archive))
	writeFile(t, da, ".zerosync/archive", "in the way")

	for i := range 5 {
		rep, err := e.SyncOnce(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, rep.Problems, "cycle %d", i+1)
	}
	copies := func() []string {
		var out []string
		names, err := os.ReadDir(da)
		require.NoError(t, err)
		for _, n := range names {
			if strings.Contains(n.Name(), zerosync.ConflictMarker) {
				out = append(out, n.Name())
			}
		}
		return out
	}
	assert.Empty(t, copies(), "no copy while the archive fails")
	reviews, err := e.Reviews(ctx)
	require.NoError(t, err)
	assert.Empty(t, reviews)
	assert.Equal(t, "ours\n", readFile(da, "notes.txt"))
	assert.Equal(t, "theirs\n", readFile(db, "notes.txt"))

	require.NoError(t, os.Remove(archive))
	for range 3 {
		_, err := e.SyncOnce(ctx)
		require.NoError(t, err)
	}
	assert.Len(t, copies(), 1, "one copy")
	reviews, err = e.Reviews(ctx)
	require.NoError(t, err)
	assert.Len(t, reviews["b"], 1, "one review item")
	assert.Equal(t, "ours\n", readFile(db, "notes.txt"))
}

// TestPruneHoldsReviewedConflicts: the engine's prune keeps what a queued
// conflict may need, and releases it once the conflict is settled.
func TestPruneHoldsReviewedConflicts(t *testing.T) {
	ctx := context.Background()
	a := memory.New(memory.WithName("a"), memory.WithRetention(zerosync.Retention{MaxPerPath: 1}))
	b := memory.New(memory.WithName("b"))
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	require.NoError(t, a.WriteFile("notes.txt", []byte("base\n"), 0o644))
	syncOK(t, e)
	require.NoError(t, a.WriteFile("notes.txt", []byte("ours\n"), 0o644))
	require.NoError(t, b.WriteFile("notes.txt", []byte("theirs\n"), 0o644))
	syncOK(t, e)
	require.Equal(t, 1, conflictCopies(a))
	// Two more versions of the file: the conflict's is no longer the
	// newest.
	for _, v := range []string{"x\n", "y\n"} {
		require.NoError(t, b.WriteFile("notes.txt", []byte(v), 0o644))
		syncOK(t, e)
	}
	_, err = e.PruneVersions(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, conflictCopies(a), "held while the conflict waits for review")

	reviews, err := e.Reviews(ctx)
	require.NoError(t, err)
	require.Len(t, reviews["b"], 1)
	require.NoError(t, e.SettleReview(ctx, "b", reviews["b"][0].ID, engine.Choice{Keep: zerosync.VersionOurs, Force: true}))
	assert.Equal(t, 0, conflictCopies(a), "released once settled")
	assert.Len(t, a.Archive(), 1, "the newest version stays")
}

// TestReviewReadsTheArchiveWhenTheCopyIsGone: a person removed the
// conflict copy by hand; the version it held is still in the archive
// (pruning holds it while the conflict waits), and settling the conflict
// with that version still works.
func TestReviewReadsTheArchiveWhenTheCopyIsGone(t *testing.T) {
	ctx := context.Background()
	a := memory.New(memory.WithName("a"), memory.WithRetention(zerosync.Retention{MaxPerPath: 1}))
	b := memory.New(memory.WithName("b"))
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	require.NoError(t, a.WriteFile("notes.txt", []byte("base\n"), 0o644))
	syncOK(t, e)
	require.NoError(t, a.WriteFile("notes.txt", []byte("ours\n"), 0o644))
	require.NoError(t, b.WriteFile("notes.txt", []byte("theirs\n"), 0o644))
	rep := syncOK(t, e)
	require.Len(t, rep.Conflicts, 1)
	require.NoError(t, a.Remove(rep.Conflicts[0].CopyPath))
	_, err = e.PruneVersions(ctx)
	require.NoError(t, err)

	reviews, err := e.Reviews(ctx)
	require.NoError(t, err)
	id := reviews["b"][0].ID
	_, _, other, err := e.ReviewContent(ctx, "b", id)
	require.NoError(t, err)
	assert.Equal(t, "theirs\n", string(other))
	require.NoError(t, e.SettleReview(ctx, "b", id, engine.Choice{Keep: zerosync.VersionTheirs}))
	syncOK(t, e)
	for _, ep := range []*memory.Endpoint{a, b} {
		got, _ := ep.ReadFile("notes.txt")
		assert.Equal(t, "theirs\n", string(got))
	}
}
