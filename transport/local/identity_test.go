//go:build linux

package local_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/local"
)

func TestMarkRootOnceAndStable(t *testing.T) {
	dir := t.TempDir()
	ep, err := local.New(dir)
	require.NoError(t, err)
	defer ep.Close()
	ctx := context.Background()

	id, err := ep.RootID(ctx)
	require.NoError(t, err)
	assert.Empty(t, id.Replica)
	assert.NotEmpty(t, id.Filesystem)

	// Many processes marking at once agree on one ID.
	var wg sync.WaitGroup
	ids := make([]zerosync.RootID, 8)
	for i := range ids {
		wg.Go(func() {
			other, err := local.New(dir)
			require.NoError(t, err)
			defer other.Close()
			ids[i], err = other.MarkRoot(ctx)
			require.NoError(t, err)
		})
	}
	wg.Wait()
	for _, got := range ids {
		assert.Equal(t, ids[0], got)
	}
	require.NoError(t, zerosync.CheckReplicaID(ids[0].Replica))
	again, err := ep.RootID(ctx)
	require.NoError(t, err)
	assert.Equal(t, ids[0], again)

	// The state folder tells git to keep out of it.
	out, err := exec.Command("git", "-C", dir, "init", "-q").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=all").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, string(out), "git sees the marker")
	leftovers, _ := filepath.Glob(filepath.Join(dir, zerosync.StateDirName, zerosync.TempPrefix+"*"))
	assert.Empty(t, leftovers)
}

func TestRootIDChangesWithTheDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "root")
	require.NoError(t, os.Mkdir(dir, 0o755))
	ep, err := local.New(dir)
	require.NoError(t, err)
	first, err := ep.MarkRoot(context.Background())
	require.NoError(t, err)
	ep.Close()

	// The same tree moved elsewhere keeps its identity.
	moved := filepath.Join(parent, "moved")
	require.NoError(t, os.Rename(dir, moved))
	ep, err = local.New(moved)
	require.NoError(t, err)
	id, err := ep.RootID(context.Background())
	require.NoError(t, err)
	assert.Equal(t, first, id)
	ep.Close()

	// Another directory at the old path: no marker, another inode.
	require.NoError(t, os.Mkdir(dir, 0o755))
	ep, err = local.New(dir)
	require.NoError(t, err)
	defer ep.Close()
	id, err = ep.RootID(context.Background())
	require.NoError(t, err)
	assert.Empty(t, id.Replica)
	assert.NotEqual(t, first.Filesystem, id.Filesystem)
}

func TestDamagedMarkerIsAnError(t *testing.T) {
	for name, content := range map[string]string{
		"bad characters": "../../etc\n",
		"empty":          "",
		"too long":       string(make([]byte, 300)),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(dir, zerosync.StateDirName), 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(dir, zerosync.MarkerPath), []byte(content), 0o600))
			ep, err := local.New(dir)
			require.NoError(t, err)
			defer ep.Close()
			_, err = ep.RootID(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), "marker")
			_, err = ep.MarkRoot(context.Background())
			require.Error(t, err, "a damaged marker is never replaced silently")
		})
	}
	t.Run("a symlink", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, zerosync.StateDirName), 0o700))
		require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(dir, zerosync.MarkerPath)))
		ep, err := local.New(dir)
		require.NoError(t, err)
		defer ep.Close()
		_, err = ep.RootID(context.Background())
		require.Error(t, err)
	})
}
