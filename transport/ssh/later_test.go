package ssh

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConnectLaterReachable: with WithConnectLater, Endpoint returns
// before the connection is made; the calls that follow use the one
// connection and agent the background made, however many come at once.
func TestConnectLaterReachable(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	server := newDir(t, "server")
	if err := os.WriteFile(filepath.Join(server, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := f.transport(t, WithConnectLater())
	ep, err := tr.Endpoint(ctx, f.target(), server)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			snap, _, err := ep.Scan(ctx)
			if err == nil && snap["a.txt"].Size != 1 {
				err = errors.New("a.txt is missing from the scan")
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := tr.Stats(); st.Dials != 1 || st.Agents != 1 {
		t.Errorf("one connection and one agent were wanted: %+v", st)
	}
}

// TestConnectLaterUnreachable: a host that refuses the connection does not
// fail Endpoint; the first call fails with the connection's own error
// (not a note of the backoff), the next one too, and Close returns.
func TestConnectLaterUnreachable(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: the connection is refused
	f := newFixture(t)
	tr := f.transport(t, WithConnectLater(), WithBackoff(time.Hour, time.Hour))
	ep, err := tr.Endpoint(ctx, "nobody@"+addr, "/srv")
	if err != nil {
		t.Fatalf("Endpoint failed for a host that cannot be reached: %v", err)
	}
	_, _, err = ep.Scan(ctx)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("the first call: %v, want the refused connection", err)
	}
	if strings.Contains(err.Error(), "next attempt") {
		t.Errorf("the first call got the backoff's note, not the connection's error: %v", err)
	}
	_, _, err = ep.Scan(ctx)
	if err == nil || !strings.Contains(err.Error(), "next attempt") {
		t.Errorf("a call within the backoff: %v, want the last error and when the next attempt is", err)
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ep.Scan(ctx); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("a call after Close: %v", err)
	}
}

// TestConnectLaterCloseWhileConnecting: a host that accepts the TCP
// connection and never answers does not hold up Close, which stops the
// background connection; a call waiting for it ends with its own context.
func TestConnectLaterCloseWhileConnecting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, silent
		}
	}()
	defer func() {
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	}()
	f := newFixture(t)
	tr := f.transport(t, WithConnectLater(), WithDialTimeout(time.Hour))
	ep, err := tr.Endpoint(context.Background(), "nobody@"+l.Addr().String(), "/srv")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		accepted <- c
	case <-time.After(time.Minute):
		t.Fatal("the background connection never reached the host")
	}
	ctx, cancel := context.WithCancel(context.Background())
	scanned := make(chan error, 1)
	go func() {
		_, _, err := ep.Scan(ctx)
		scanned <- err
	}()
	cancel()
	select {
	case err := <-scanned:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a call that gave up waiting: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a call waiting for the connection did not end with its context")
	}
	closed := make(chan error, 1)
	go func() { closed <- ep.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close waited for a host that never answers")
	}
}

// TestConnectLaterHostComesBack: an endpoint made while its host was down
// reaches it once it is up, at a later call, with no new endpoint: the
// engine's retries are enough for a peer that was off when it started.
func TestConnectLaterHostComesBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	server := newDir(t, "server")
	if err := os.WriteFile(filepath.Join(server, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // down for now
	f.trust(t, addr)
	tr := f.transport(t, WithConnectLater(), WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	ep, err := tr.Endpoint(ctx, f.srv.User+"@"+addr, server)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if _, _, err := ep.Scan(ctx); err == nil {
		t.Fatal("a scan of a host that is down succeeded")
	}

	// The host comes up: its port forwards to the sshd.
	startProxyAt(t, addr, f.srv.Addr)
	waitFor(t, "a scan once the host is up", func() bool {
		snap, _, err := ep.Scan(ctx)
		return err == nil && snap["a.txt"].Size == 1
	})
}
