package control_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
)

// TestSocketPath: under XDG_RUNTIME_DIR, else in a directory of the user
// under the temp directory; names that are not one file name refused.
func TestSocketPath(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	p, err := control.SocketPath("environment")
	require.NoError(t, err)
	assert.Equal(t, "/run/user/1000/zerosync/environment.sock", p)
	t.Setenv("XDG_RUNTIME_DIR", "")
	p, err = control.SocketPath("environment")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(os.TempDir(), "zerosync-"+strconv.Itoa(os.Getuid()), "environment.sock"), p)
	for _, bad := range []string{"", ".", "..", "a/b", "a\x00b"} {
		_, err := control.SocketPath(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// TestListenMakesPrivateSocket: the directory is made 0700 and the
// socket 0600.
func TestListenMakesPrivateSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zerosync")
	l, err := control.Listen(filepath.Join(dir, "x.sock"))
	require.NoError(t, err)
	defer l.Close()
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	fi, err = os.Lstat(filepath.Join(dir, "x.sock"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeSocket, fi.Mode().Type())
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	assert.Equal(t, []string{"x.lock", "x.sock"}, got, "the name the socket was made under is gone")
	require.NoError(t, l.Close())
	_, err = os.Lstat(filepath.Join(dir, "x.sock"))
	assert.ErrorIs(t, err, os.ErrNotExist, "closing removes the socket")
	require.NoError(t, l.Close(), "a second close")
}

// TestListenRefusesBadDirectory: a socket directory that others can
// enter, that another user owns, or that is a symlink is refused.
func TestListenRefusesBadDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zerosync")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chmod(dir, 0o755))
	_, err := control.Listen(filepath.Join(dir, "x.sock"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "other users can reach it")
	assert.Contains(t, err.Error(), "chmod 700")

	require.NoError(t, os.Chmod(dir, 0o700))
	err = control.CheckDir(dir, os.Getuid()+1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "belongs to user")
	if os.Getuid() == 0 {
		// The same through Listen, with a directory really owned by
		// another user.
		require.NoError(t, os.Chown(dir, 65534, 65534))
		_, err = control.Listen(filepath.Join(dir, "x.sock"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "belongs to user 65534")
	}

	real := filepath.Join(t.TempDir(), "real")
	require.NoError(t, os.Mkdir(real, 0o700))
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(real, link))
	_, err = control.Listen(filepath.Join(link, "x.sock"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a directory")
}

// TestListenReplacesStaleSocket: a socket nobody listens on any more is
// replaced; a file that is not a socket is not.
func TestListenReplacesStaleSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zerosync")
	require.NoError(t, os.Mkdir(dir, 0o700))
	path := filepath.Join(dir, "x.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	old.SetUnlinkOnClose(false)
	require.NoError(t, old.Close())
	_, err = os.Lstat(path)
	require.NoError(t, err, "the stale socket is there")

	// A daemon that died while it made its socket left it half made.
	half, err := net.ListenUnix("unix", &net.UnixAddr{Name: path + ".new", Net: "unix"})
	require.NoError(t, err)
	half.SetUnlinkOnClose(false)
	require.NoError(t, half.Close())

	l, err := control.Listen(path)
	require.NoError(t, err)
	c, err := net.Dial("unix", path)
	require.NoError(t, err, "the new socket answers")
	c.Close()
	_, err = os.Lstat(path + ".new")
	assert.ErrorIs(t, err, os.ErrNotExist, "the half-made socket is gone")
	require.NoError(t, l.Close())

	require.NoError(t, os.WriteFile(path, []byte("mine"), 0o600))
	_, err = control.Listen(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a socket")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "mine", string(b))
}

// TestListenRefusesSecondServer: a second daemon of the same engine is
// refused while the first runs, whether it holds the lock or only
// answers on the socket.
func TestListenRefusesSecondServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zerosync")
	path := filepath.Join(dir, "x.sock")
	l, err := control.Listen(path)
	require.NoError(t, err)
	_, err = control.Listen(path)
	require.ErrorIs(t, err, control.ErrRunning)
	assert.Contains(t, err.Error(), "already running")
	require.NoError(t, l.Close())

	// Something else answers on the socket, without the lock.
	other, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer other.Close()
	_, err = control.Listen(path)
	require.ErrorIs(t, err, control.ErrRunning)

	l2, err := control.Listen(filepath.Join(dir, "y.sock"))
	require.NoError(t, err, "another engine's socket is another matter")
	l2.Close()
}

// TestListenRefusesLongPath: a path too long for a UNIX socket says so.
func TestListenRefusesLongPath(t *testing.T) {
	_, err := control.Listen(filepath.Join(t.TempDir(), strings.Repeat("d", 120), "x.sock"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "XDG_RUNTIME_DIR")
}
