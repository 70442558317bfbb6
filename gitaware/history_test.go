package gitaware_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/gitaware"
)

// TestHistoryRestoresFirstEdit: three edits of a file in three cycles are
// three versions; the first is restored on a and the next cycle carries it
// to b; the history lives under the state directory, not in the user's
// repository.
func TestHistoryRestoresFirstEdit(t *testing.T) {
	a, b := tempRoots(t)
	cliRepo(t, a, map[string]string{"f.txt": "committed\n"})
	cliClone(t, a, b)
	state := t.TempDir()
	p, err := gitaware.New(gitaware.WithStateDir(state), gitaware.WithExcludesFile(""), gitaware.WithMode(gitaware.ModeAll))
	require.NoError(t, err)
	ea := localEndpoint(t, a)
	h, err := p.History(ea)
	require.NoError(t, err)
	pr := newPair(t, p, a, b, engine.WithObserver(h.Observe))
	pr.sync(t)

	ctx := context.Background()
	for _, v := range []string{"edit 1\n", "edit 2\n", "edit 3\n"} {
		write(t, b, "notes/today.md", v) // arrives on a through the sync
		pr.sync(t)
		require.Equal(t, v, read(a, "notes/today.md"))
	}
	vs, err := h.Log(ctx, "notes/today.md")
	require.NoError(t, err)
	require.Len(t, vs, 3)
	for _, v := range vs {
		assert.False(t, v.Deleted)
		assert.Equal(t, zerosync.KindFile, v.Kind)
		assert.Equal(t, int64(len("edit 1\n")), v.Size)
	}
	first := vs[2]

	path, version, err := gitaware.SplitVersion("notes/today.md@" + first.ID[:8])
	require.NoError(t, err)
	require.NoError(t, h.Restore(ctx, path, version))
	assert.Equal(t, "edit 1\n", read(a, "notes/today.md"))
	pr.sync(t)
	assert.Equal(t, "edit 1\n", read(b, "notes/today.md"), "the restore propagates")

	vs, err = h.Log(ctx, "notes/today.md")
	require.NoError(t, err)
	assert.Len(t, vs, 4, "the restore is a version too")

	// The user's repository holds none of it; the history repository is
	// under the state directory.
	assert.Equal(t, "1", gitCLI(t, a, "rev-list", "--count", "HEAD"))
	matches, err := filepath.Glob(filepath.Join(state, "history", "*.git"))
	require.NoError(t, err)
	require.Len(t, matches, 1)
	hr, err := git.PlainOpen(matches[0])
	require.NoError(t, err)
	_, err = hr.Head()
	require.NoError(t, err)
	assert.Contains(t, gitCLI(t, matches[0], "log", "--format=%s"), "sync:")

	// A deletion is a version, and restoring the one before brings the
	// file back.
	require.NoError(t, os.Remove(filepath.Join(a, "notes/today.md")))
	pr.sync(t)
	assert.False(t, exists(b, "notes/today.md"))
	vs, err = h.Log(ctx, "notes/today.md")
	require.NoError(t, err)
	require.Len(t, vs, 5)
	assert.True(t, vs[0].Deleted)
	require.NoError(t, h.Restore(ctx, "notes/today.md", vs[1].ID))
	pr.sync(t)
	assert.Equal(t, "edit 1\n", read(b, "notes/today.md"))

	// Errors.
	assert.ErrorIs(t, h.Restore(ctx, "notes/today.md", "ffffffff"), gitaware.ErrNoHistory)
	assert.ErrorIs(t, h.Restore(ctx, "notes/today.md", "ab"), gitaware.ErrNoHistory)
	_, _, err = gitaware.SplitVersion("no-version")
	assert.Error(t, err)
	vs, err = h.Log(ctx, "never/synced.txt")
	require.NoError(t, err)
	assert.Empty(t, vs)
}

// TestHistoryReopens: a new History over the same directory continues the
// old one.
func TestHistoryReopens(t *testing.T) {
	a, b := tempRoots(t)
	require.NoError(t, os.Mkdir(a, 0o755))
	require.NoError(t, os.Mkdir(b, 0o755))
	p := project(t, gitaware.WithMode(gitaware.ModeAll))
	dir := filepath.Join(t.TempDir(), "hist.git")
	ea := localEndpoint(t, a)
	h1, err := gitaware.NewHistory(dir, ea)
	require.NoError(t, err)
	pr := newPair(t, p, a, b, engine.WithObserver(h1.Observe))
	write(t, a, "x/y.txt", "one\n")
	write(t, a, "run.sh", "#!/bin/sh\n")
	require.NoError(t, os.Chmod(filepath.Join(a, "run.sh"), 0o755))
	require.NoError(t, os.Symlink("y.txt", filepath.Join(a, "x/link")))
	rep := pr.sync(t)

	h2, err := gitaware.NewHistory(dir, ea)
	require.NoError(t, err)
	write(t, a, "x/y.txt", "two\n")
	require.NoError(t, h2.Record(context.Background(), zerosync.Report{Applied: []zerosync.Action{{Op: zerosync.Op{Path: "x/y.txt"}}}}))
	vs, err := h2.Log(context.Background(), "x/y.txt")
	require.NoError(t, err)
	assert.Len(t, vs, 2)
	// The first History, used again, builds on what the second committed.
	write(t, a, "x/y.txt", "three\n")
	require.NoError(t, h1.Record(context.Background(), zerosync.Report{Applied: []zerosync.Action{{Op: zerosync.Op{Path: "x/y.txt"}}}}))
	vs, err = h2.Log(context.Background(), "x/y.txt")
	require.NoError(t, err)
	assert.Len(t, vs, 3)
	vs, err = h2.Log(context.Background(), "run.sh")
	require.NoError(t, err)
	require.Len(t, vs, 1)
	assert.True(t, vs[0].Executable)
	vs, err = h2.Log(context.Background(), "x/link")
	require.NoError(t, err)
	require.Len(t, vs, 1)
	assert.Equal(t, zerosync.KindSymlink, vs[0].Kind)
	assert.NotEmpty(t, rep.Applied)

	// A history inside the synced tree would be synced: refused.
	_, err = gitaware.NewHistory(filepath.Join(a, "hist"), ea)
	assert.Error(t, err)
	_, err = gitaware.NewHistory(filepath.Join(a, zerosync.StateDirName, "hist"), ea)
	assert.NoError(t, err)
	_, err = project(t).History(nil)
	assert.ErrorIs(t, err, gitaware.ErrNoDirectory)
}
