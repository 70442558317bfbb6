package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
)

// TestServe: one call serves a running engine on its socket: status names
// the peers as given, a peer attached through the socket syncs and is
// detached, stop ends Run, and the socket goes with the server.
func TestServe(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	root, peer, extra := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer"), filepath.Join(tmp, "extra")
	for _, d := range []string{root, peer, extra} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "first"), []byte("1"), 0o644))
	env := &Env{App: &App{Name: "servetest"}, Root: root, Peers: []Peer{{Name: "p", Location: peer}},
		State: filepath.Join(tmp, "state", "servetest.db"), StateDir: filepath.Join(tmp, "state"),
		Streams: Streams{In: strings.NewReader(""), Out: os.Stdout, Err: os.Stderr}, Log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	e, closeAll, err := env.Engine(ctx)
	require.NoError(t, err)
	defer closeAll()

	runCtx, stop, err := Serve(ctx, env, e)
	require.NoError(t, err)
	defer stop()
	_, _, err = Serve(ctx, env, e)
	require.ErrorIs(t, err, control.ErrRunning, "one daemon per engine")
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()

	path, err := control.SocketPath("servetest")
	require.NoError(t, err)
	c, err := control.Dial(ctx, path)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Flush(ctx)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(peer, "first"))
	require.NoError(t, err)
	assert.Equal(t, "1", string(b))
	st, err := c.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st.Peers, 1)
	assert.Equal(t, peer, st.Peers[0].Location)

	_, err = c.Attach(ctx, "x", extra)
	require.NoError(t, err)
	_, err = c.Flush(ctx)
	require.NoError(t, err)
	b, err = os.ReadFile(filepath.Join(extra, "first"))
	require.NoError(t, err)
	assert.Equal(t, "1", string(b))
	require.NoError(t, c.Detach(ctx, "x"))

	require.NoError(t, c.Stop(ctx))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after stop")
	}
	stop()
	_, err = os.Lstat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "the socket is removed")
	assert.False(t, control.Running(ctx, "servetest"))
}
