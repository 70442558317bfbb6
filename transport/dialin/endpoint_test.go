package dialin

import (
	"bufio"
	"context"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/transport/remote"
	"github.com/zerosync/zerosync/transport/transporttest"
)

// newEndpoint returns the hub's endpoint for spoke "laptop" at socket,
// closed when the test ends, with short backoffs.
func newEndpoint(t testing.TB, socket string, opts ...Option) *Endpoint {
	t.Helper()
	ep, err := New("laptop", socket, append([]Option{WithBackoff(10*time.Millisecond, 100*time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { ep.Close() })
	return ep
}

// The hub's endpoint, through a socket to a spoke's Server, passes the
// whole conformance suite.
func TestConformance(t *testing.T) {
	t.Run("kind=dialin", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) transporttest.Harness {
			root := filepath.Join(t.TempDir(), "root")
			require.NoError(t, os.Mkdir(root, 0o755))
			socket := filepath.Join(shortDir(t), "laptop.sock")
			newFakeSpoke(t, root, socket).up()
			return transporttest.DirHarness(newEndpoint(t, socket), root)
		})
	})
}

// TestAway: a spoke that has not dialed in is an error naming it, never
// an empty tree, whether its socket is missing or stale.
func TestAway(t *testing.T) {
	ctx := t.Context()
	socket := filepath.Join(shortDir(t), "laptop.sock")
	check := func(ep *Endpoint) {
		t.Helper()
		snap, probs, err := ep.Scan(ctx)
		require.ErrorIs(t, err, ErrAway)
		require.Nil(t, snap)
		require.Nil(t, probs)
		var away *AwayError
		require.ErrorAs(t, err, &away)
		require.Equal(t, "laptop", away.Spoke)
		require.Contains(t, err.Error(), "spoke laptop has not dialed in")
		_, err = ep.RootID(ctx)
		require.ErrorIs(t, err, ErrAway)
		_, err = ep.Open(ctx, "a.txt")
		require.ErrorIs(t, err, ErrAway)
	}
	ep := newEndpoint(t, socket)
	check(ep)
	// A socket left behind, which nothing accepts on.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	require.NoError(t, err)
	l.SetUnlinkOnClose(false)
	l.Close()
	check(newEndpoint(t, socket))
	require.Equal(t, zerosync.Location{Host: "dialin", Path: "laptop"}, ep.Location())
	require.Equal(t, "dialin:laptop", ep.Location().String())
}

// TestSpokeComesBack: the endpoint follows the spoke through going away
// and coming back; a watch asks for a full rescan when it is back.
func TestSpokeComesBack(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "a.txt"), []byte("one"), 0o644))
	socket := filepath.Join(shortDir(t), "laptop.sock")
	spoke := newFakeSpoke(t, root, socket)
	ep := newEndpoint(t, socket)

	hints := make(chan zerosync.Hint, 100)
	wctx, stop := context.WithCancel(ctx)
	watched := make(chan error, 1)
	go func() { watched <- ep.Watch(wctx, func(h zerosync.Hint) { hints <- h }) }()
	defer func() {
		stop()
		require.ErrorIs(t, <-watched, context.Canceled)
	}()
	awaitHint := func(reason string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case h := <-hints:
				if h.Full && h.Reason == reason {
					return
				}
			case <-timeout:
				t.Fatalf("no full rescan hint %q within 30s", reason)
			}
		}
	}

	_, _, err := ep.Scan(ctx)
	require.ErrorIs(t, err, ErrAway)
	spoke.up()
	awaitHint("reconnect")
	eventually(t, "scan after the spoke dialed in", func() bool {
		snap, _, err := ep.Scan(ctx)
		return err == nil && snap.Get("a.txt") != nil
	})

	spoke.down()
	_, _, err = ep.Scan(ctx)
	require.ErrorIs(t, err, ErrAway)
	require.NoError(t, os.WriteFile(filepath.Join(root, "b.txt"), []byte("two"), 0o644))

	spoke.up()
	awaitHint("reconnect")
	eventually(t, "scan after the spoke came back", func() bool {
		snap, _, err := ep.Scan(ctx)
		return err == nil && snap.Get("b.txt") != nil
	})
}

// TestSpokeOffersOneTree: the hub can open the tree the spoke offers and
// no other path of the spoke.
func TestSpokeOffersOneTree(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	socket := filepath.Join(shortDir(t), "laptop.sock")
	newFakeSpoke(t, root, socket).up()
	nc, err := net.Dial("unix", socket)
	require.NoError(t, err)
	cl, err := remote.Dial(ctx, nc)
	require.NoError(t, err)
	defer cl.Close()
	for _, other := range []string{"/", "/etc", filepath.Dir(root), root, "~"} {
		_, err := cl.Endpoint(ctx, other)
		require.ErrorIs(t, err, fs.ErrPermission, "root %q", other)
	}
	ep, err := cl.Endpoint(ctx, agent.OnlyRoot)
	require.NoError(t, err)
	ep.Close()
}

// TestSocketDirectory: New makes the socket's directory owner-only, and
// refuses one that others may use, that is another user's, or that is a
// symbolic link.
func TestSocketDirectory(t *testing.T) {
	base := shortDir(t)
	fresh := filepath.Join(base, "a", "b", "laptop.sock")
	newEndpoint(t, fresh)
	fi, err := os.Stat(filepath.Dir(fresh))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())

	open := filepath.Join(base, "open")
	require.NoError(t, os.Mkdir(open, 0o755))
	_, err = New("laptop", filepath.Join(open, "laptop.sock"))
	require.ErrorContains(t, err, "lets other users in")

	link := filepath.Join(base, "link")
	require.NoError(t, os.Symlink(filepath.Dir(fresh), link))
	_, err = New("laptop", filepath.Join(link, "laptop.sock"))
	require.ErrorContains(t, err, "symbolic link")

	theirs := filepath.Join(base, "theirs")
	require.NoError(t, os.Mkdir(theirs, 0o700))
	require.NoError(t, os.Chown(theirs, 65534, 65534))
	_, err = New("laptop", filepath.Join(theirs, "laptop.sock"))
	require.ErrorContains(t, err, "belongs to user id 65534")

	for _, bad := range []string{"", "rel.sock", "/a/../b.sock", "/" + strings.Repeat("x", 120)} {
		_, err := New("laptop", bad)
		require.Error(t, err, "socket %q", bad)
	}
	for _, bad := range []string{"", ".hidden", "-x", "a/b", "a b", strings.Repeat("x", 65), "é"} {
		_, err := New(bad, filepath.Join(base, "a", "b", "x.sock"))
		require.Error(t, err, "name %q", bad)
	}
}

// listenEnv makes the test binary a listener on the socket bound at file
// descriptor 3, running as another user (see TestOtherUsersSocket).
const listenEnv = "ZEROSYNC_DIALIN_TEST_LISTEN"

// runListener listens on descriptor 3, says so, and accepts until killed.
func runListener() int {
	if err := syscall.Listen(3, 8); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("listening\n")
	for {
		nfd, _, err := syscall.Accept(3)
		if err == nil {
			syscall.Close(nfd)
		}
	}
}

// TestOtherUsersSocket: a socket on which a process of another user
// accepts is refused, though it sits in the hub's own directory.
func TestOtherUsersSocket(t *testing.T) {
	socket := filepath.Join(shortDir(t), "laptop.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "socket")
	defer f.Close()
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrUnix{Name: socket}))

	// The other user may not run this binary where the build left it:
	// a copy goes where it may.
	exe, err := os.Executable()
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "zs-dialin-exe-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	body, err := os.ReadFile(exe)
	require.NoError(t, err)
	copied := filepath.Join(dir, "listener")
	require.NoError(t, os.WriteFile(copied, body, 0o755))

	cmd := exec.Command(copied, "-test.run=^$")
	cmd.Env = append(os.Environ(), listenEnv+"=1")
	cmd.ExtraFiles = []*os.File{f}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "the listener did not start")
	require.Equal(t, "listening\n", line)

	ep := newEndpoint(t, socket)
	_, _, err = ep.Scan(t.Context())
	require.ErrorContains(t, err, "runs as user id 65534")
	require.NotErrorIs(t, err, ErrAway)
	require.Contains(t, err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid))
}

// TestServerChecksRoot: the spoke's root must be a directory.
func TestServerChecksRoot(t *testing.T) {
	dir := t.TempDir()
	_, err := Server(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = Server(file)
	require.Error(t, err)
	_, err = Server("")
	require.Error(t, err)
}
