package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/app"
)

// TestFreshRootHaltsUntilAdopted: through the command line, a root
// replaced by a fresh one (only lost+found) halts with advice naming a
// command; the peer keeps its files; "adopt" then syncs with nothing
// deleted.
func TestFreshRootHaltsUntilAdopted(t *testing.T) {
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	require.NoError(t, os.MkdirAll(root, 0o755))
	require.NoError(t, os.MkdirAll(peer, 0o755))
	for _, n := range []string{"a.txt", "b.txt", "c.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, n), []byte(n), 0o644))
	}
	a := &app.App{Name: "dots", Summary: "test"}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		s := app.Streams{In: strings.NewReader(""), Out: &out, Err: &out}
		all := append([]string{"--root", root, "--peer", "server=" + peer, "--state", filepath.Join(tmp, "state.db")}, args...)
		err := a.Run(context.Background(), all, s)
		return out.String(), err
	}
	_, err := run("once")
	require.NoError(t, err)

	require.NoError(t, os.RemoveAll(root))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "lost+found"), 0o700))
	out, err := run("once")
	require.ErrorIs(t, err, zerosync.ErrRootChanged, out)
	assert.Equal(t, "if these are the trees to sync from now on, run: dots adopt server", app.Advice("dots", err))
	for _, n := range []string{"a.txt", "b.txt", "c.txt"} {
		assert.FileExists(t, filepath.Join(peer, n))
	}
	out, err = run("plan")
	require.ErrorIs(t, err, zerosync.ErrRootChanged, out)

	out, err = run("adopt", "server")
	require.NoError(t, err)
	assert.Contains(t, out, "nothing is deleted")
	_, err = run("once")
	require.NoError(t, err)
	for _, n := range []string{"a.txt", "b.txt", "c.txt"} {
		assert.FileExists(t, filepath.Join(peer, n))
		assert.FileExists(t, filepath.Join(root, n), "adopting copies the peer's files back")
	}
	assert.NoDirExists(t, filepath.Join(peer, "lost+found"), "a file system's lost+found is never synced")
}
