package ssh

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// echo serves a connection by sending back each line it reads.
func echo(ctx context.Context, c net.Conn) error {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil
		}
		if _, err := io.WriteString(c, line); err != nil {
			return err
		}
	}
}

// offering runs Offer in the background until the test ends and returns
// a channel with its result.
func offering(t *testing.T, tr *Transport, target, socket string) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Offer(ctx, target, socket, echo) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Offer did not return within 30s of its context's end")
		}
	})
	return done
}

// roundTrip connects to socket, as a process on the host would, and checks
// that what it sends comes back; it retries until the offer is up, for at
// most 30s.
func roundTrip(t *testing.T, socket string, offer <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-offer:
			t.Fatalf("Offer returned: %v", err)
		default:
		}
		c, err := net.Dial("unix", socket)
		if err != nil {
			last = err
			time.Sleep(20 * time.Millisecond)
			continue
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.WriteString(c, "ping\n")
		var got string
		if err == nil {
			got, err = bufio.NewReader(c).ReadString('\n')
		}
		c.Close()
		if err != nil {
			// sshd accepted, but the connection it carries died: the
			// old one, going away.
			last = err
			time.Sleep(20 * time.Millisecond)
			continue
		}
		require.Equal(t, "ping\n", got)
		return
	}
	t.Fatalf("nothing answered on %s within 30s: %v", socket, last)
}

// socketDir returns a directory for sockets with a short path.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "zs-offer-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// staleSocket leaves a socket file at path that nothing accepts on, as a
// killed sshd session does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	l.SetUnlinkOnClose(false)
	require.NoError(t, l.Close())
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, os.ModeSocket, fi.Mode().Type())
}

// TestOffer serves connections made to a socket on the host, through a
// real sshd's remote stream-local forwarding, and closes the forwarding
// when its context ends.
func TestOffer(t *testing.T) {
	f := newFixture(t)
	tr := f.transport(t)
	socket := filepath.Join(socketDir(t), "spoke.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Offer(ctx, f.target(), socket, echo) }()
	roundTrip(t, socket, done)
	roundTrip(t, socket, done) // one connection after another
	// Many at once.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { roundTrip(t, socket, done) })
	}
	wg.Wait()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("Offer did not return within 30s of its context's end")
	}
	// sshd closes the socket but leaves the file (OpenSSH 9.2), so the
	// next offer finds a stale socket in its way.
	_, err := net.Dial("unix", socket)
	require.Error(t, err, "the socket still accepts after the offer ended")
}

// TestOfferRemovesStaleSocket: a socket left behind by a killed session is
// in the way of sshd (without StreamLocalBindUnlink); Offer removes it.
func TestOfferRemovesStaleSocket(t *testing.T) {
	f := newFixture(t)
	tr := f.transport(t)
	socket := filepath.Join(socketDir(t), "spoke.sock")
	staleSocket(t, socket)
	roundTrip(t, socket, offering(t, tr, f.target(), socket))
}

// TestOfferLeavesLiveSocket: a socket something accepts on is another
// offer's: Offer says so and retries, and never removes it.
func TestOfferLeavesLiveSocket(t *testing.T) {
	f := newFixture(t)
	logs := &logSink{said: make(chan string, 100)}
	tr := f.transport(t, WithLogger(slog.New(logs)))
	socket := filepath.Join(socketDir(t), "spoke.sock")
	l, err := net.Listen("unix", socket)
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	offering(t, tr, f.target(), socket)
	// Twice: it retried, and still left the socket alone.
	for range 2 {
		logs.await(t, "another process accepts connections on it already")
	}
	c, err := net.Dial("unix", socket)
	require.NoError(t, err, "the live socket was removed")
	c.Close()
}

// TestOfferReconnects: when the connection dies (its sshd session is
// killed), Offer connects again, clears the stale socket the session
// left, and serves again.
func TestOfferReconnects(t *testing.T) {
	f := newFixture(t)
	tr := f.transport(t)
	socket := filepath.Join(socketDir(t), "spoke.sock")
	done := offering(t, tr, f.target(), socket)
	roundTrip(t, socket, done)
	before := tr.Stats().Dials
	require.NotZero(t, killSessions(t, f.srv), "no sshd session to kill")
	roundTrip(t, socket, done)
	require.Greater(t, tr.Stats().Dials, before, "served again without a new connection")
}

// TestOfferRefusesUnknownHost: an unknown host key ends Offer at once,
// with the fingerprint, and nothing is retried.
func TestOfferRefusesUnknownHost(t *testing.T) {
	f := newFixture(t)
	empty := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	tr := f.transport(t, WithKnownHosts(empty))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := tr.Offer(ctx, f.target(), filepath.Join(socketDir(t), "spoke.sock"), echo)
	var hk *HostKeyError
	require.ErrorAs(t, err, &hk)
	require.Contains(t, err.Error(), hk.Fingerprint())
}

func TestOfferRefusesBadSocket(t *testing.T) {
	tr, err := New(WithConfigFile("none"), WithKnownHosts(filepath.Join(t.TempDir(), "kh")), WithAgentSocket(""))
	require.NoError(t, err)
	for _, s := range []string{"", "rel/spoke.sock", "/a/../b.sock", "/a\nb.sock", "/" + strings.Repeat("x", 200)} {
		err := tr.Offer(t.Context(), "localhost", s, echo)
		require.Error(t, err, "socket %q", s)
	}
	require.Error(t, tr.Offer(t.Context(), "localhost", "/tmp/x.sock", nil))
}

// killSessions kills, by pid, every process the server forked (the
// sessions it serves), and returns how many.
func killSessions(t *testing.T, srv *sshtest.Server) int {
	t.Helper()
	var kids []int
	var walk func(pid int)
	walk = func(pid int) {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
		if err != nil {
			return
		}
		for _, f := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(f); err == nil {
				kids = append(kids, k)
				walk(k)
			}
		}
	}
	walk(srv.PID())
	for _, k := range kids {
		if err := syscall.Kill(k, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Fatal(err)
		}
	}
	return len(kids)
}

// logSink is a slog handler that passes each message with its attributes
// to said.
type logSink struct {
	said chan string
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	select {
	case l.said <- b.String():
	default:
	}
	return nil
}
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }

// await waits, 30s at most, for a message that holds s.
func (l *logSink) await(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-l.said:
			if strings.Contains(m, s) {
				return
			}
		case <-timeout:
			t.Fatalf("no log message with %q within 30s", s)
		}
	}
}
