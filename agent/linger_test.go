package agent

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync/internal/ctlsock"
	"github.com/zerosync/zerosync/transport/remote"
)

func TestArgDuration(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 0},
		{[]string{"--linger=10m"}, 10 * time.Minute},
		{[]string{"x", "--linger=1s"}, time.Second},
		{[]string{"--linger=-1s"}, 0},
		{[]string{"--linger=0s"}, 0},
		{[]string{"--linger=soon"}, 0},
		{[]string{"--lingerer=5s"}, 0},
	} {
		if got := argDuration(c.args, LingerArg); got != c.want {
			t.Errorf("%q: %v, want %v", c.args, got, c.want)
		}
	}
}

func TestSocketPath(t *testing.T) {
	if got, want := SocketPath("/home/u/.cache/zerosync"), "/home/u/.cache/zerosync/"+remote.AgentSocket; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got := SocketPath("/" + strings.Repeat("d", 100)); got != "" {
		t.Errorf("a path too long for a socket: %q", got)
	}
	if got := SocketPath("relative"); got != "" {
		t.Errorf("a relative folder: %q", got)
	}
}

// ownerOnly returns a new folder only this user may use, as the agent's
// cache folder is.
func ownerOnly(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestListenLinger: the agent's socket is made owner-only; one an agent
// accepts on is left to it; one left behind by an agent that is gone is
// replaced; anything else in the way is not touched.
func TestListenLinger(t *testing.T) {
	dir := ownerOnly(t)
	path := SocketPath(dir)
	if path == "" {
		t.Fatalf("the temporary folder %q is too long for a socket", dir)
	}
	l, err := ctlsock.Listen(path, owner)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the socket: %v, %v", fi, err)
	}
	if l2, err := ctlsock.Listen(path, owner); !errors.Is(err, ctlsock.ErrRunning) || !strings.Contains(err.Error(), "an agent of this version") {
		if l2 != nil {
			l2.Close()
		}
		t.Fatalf("over a live agent's socket: %v", err)
	}
	l.Close()

	// A socket left behind: nothing accepts on it, and no lock is held.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatal(err)
	}
	l, err = ctlsock.Listen(path, owner)
	if err != nil {
		t.Fatalf("over a socket left behind: %v", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the new socket: %v", err)
	}
	c.Close()
	l.Close()

	other := filepath.Join(ownerOnly(t), remote.AgentSocket)
	if err := os.WriteFile(other, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := ctlsock.Listen(other, owner); err == nil {
		l.Close()
		t.Fatal("listened over a file")
	}
	if b, err := os.ReadFile(other); err != nil || string(b) != "mine" {
		t.Fatalf("the file in the way: %q, %v", b, err)
	}
}

// TestSessionsIdle: the time runs from the end of the last session.
func TestSessionsIdle(t *testing.T) {
	s := newSessions(time.Millisecond)
	s.begin()
	s.begin()
	s.end()
	time.Sleep(5 * time.Millisecond)
	select {
	case <-s.idle:
		t.Fatal("idle with a session under way")
	default:
	}
	s.end()
	select {
	case <-s.idle:
	case <-time.After(time.Minute):
		t.Fatal("not idle a minute after the last session")
	}
}
