package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPauseThroughDaemonStays: a pause through the daemon's socket (no
// flag changed) is not undone by run's following of the flags, two of its
// polls later; pause and resume on the command line set the flag and reach
// the daemon at once; a flag set before run starts pauses it.
func TestPauseThroughDaemonStays(t *testing.T) {
	h := newHost(t, "pz")
	h.globals = append(h.globals, "--peer", "p="+h.peer)
	d := h.run()
	c := h.client()
	ctx := context.Background()

	_, err := c.Pause(ctx)
	require.NoError(t, err)
	// run reads the flags every second; give it two reads to undo the
	// pause, which it must not.
	time.Sleep(2500 * time.Millisecond)
	st, err := c.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Paused, "the pause through the socket was undone\n%s", d.out.String())
	cycles := st.Cycles
	_, err = c.Resume(ctx)
	require.NoError(t, err)
	// Resume starts a cycle; let it end, so none is under way when the
	// pause below comes (a cycle under way finishes first, and could carry
	// the edit made after the pause).
	waitUntil(t, "the cycle after resume", func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.Cycles > cycles
	}, d.out.String)

	out := h.must("pause")
	assert.Contains(t, out, "paused (pz.paused)")
	st, err = c.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Paused, "the daemon paused at once")
	assert.FileExists(t, filepath.Join(h.dir, "state", "pz.paused"))
	write(t, h.root, "held.txt", "held\n")
	time.Sleep(2500 * time.Millisecond)
	st, err = c.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Paused)
	assert.Equal(t, "<absent>", read(h.peer, "held.txt"))

	// A restart keeps the pause: the flag lasts.
	assert.Contains(t, h.must("stop"), "stopped")
	require.NoError(t, d.wait(t))
	d = h.run()
	c = h.client()
	st, err = c.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Paused, "run started paused by the flag")

	out = h.must("resume")
	assert.Contains(t, out, "the running daemon of pz resumed")
	_, err = os.Stat(filepath.Join(h.dir, "state", "pz.paused"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	waitUntil(t, "the held edit synced", func() bool { return read(h.peer, "held.txt") == "held\n" }, d.out.String)
}

// TestPauseAllReachesEveryDaemon: pause --all pauses the daemon of another
// engine of this host through its socket, and resume --all resumes it.
func TestPauseAllReachesEveryDaemon(t *testing.T) {
	h := newHost(t, "first")
	h.globals = append(h.globals, "--peer", "p="+h.peer)
	h.run()
	other := &host{t: t, a: &App{Name: "second"}, dir: t.TempDir()}
	other.root, other.peer = filepath.Join(other.dir, "root"), filepath.Join(other.dir, "peer")
	require.NoError(t, os.Mkdir(other.root, 0o755))
	require.NoError(t, os.Mkdir(other.peer, 0o755))
	other.globals = []string{"--root", other.root, "--peer", "p=" + other.peer, "--state", filepath.Join(other.dir, "state", "second.db")}
	other.run()
	c := other.client()

	out := h.must("pause", "--all")
	assert.Contains(t, out, "the running daemon of first paused")
	assert.Contains(t, out, "the running daemon of second paused")
	st, err := c.Status(context.Background())
	require.NoError(t, err)
	assert.True(t, st.Paused)
	out = h.must("resume", "--all")
	assert.Contains(t, out, "the running daemon of second resumed")
	st, err = c.Status(context.Background())
	require.NoError(t, err)
	assert.False(t, st.Paused)
}
