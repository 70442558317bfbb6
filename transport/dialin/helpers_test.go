package dialin

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/agent"
)

// TestMain lets the test binary run as a spoke process (netns_test.go)
// or as a listener of another user (endpoint_test.go).
func TestMain(m *testing.M) {
	if os.Getenv(spokeEnv) != "" {
		os.Exit(runSpoke())
	}
	if os.Getenv(listenEnv) != "" {
		os.Exit(runListener())
	}
	os.Exit(m.Run())
}

// shortDir returns an owner-only directory with a short path, for
// sockets, removed when the test ends.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "zs-dialin-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// fakeSpoke stands in for sshd and a spoke's Offer on one host: it
// listens on the socket and serves each connection with Server, as the
// connections forwarded from the hub are.
type fakeSpoke struct {
	t      testing.TB
	socket string
	serve  func(context.Context, net.Conn) error

	mu  sync.Mutex
	cur *spokeRun // nil while down
	wg  sync.WaitGroup
}

// spokeRun is one period during which the spoke is up.
type spokeRun struct {
	ln     net.Listener
	conns  map[net.Conn]bool
	closed bool
	cancel context.CancelFunc
}

// newFakeSpoke returns a spoke offering root at socket, not yet up.
func newFakeSpoke(t testing.TB, root, socket string) *fakeSpoke {
	t.Helper()
	serve, err := Server(root, agent.WithCacheDir(filepath.Join(t.TempDir(), "cache")))
	require.NoError(t, err)
	s := &fakeSpoke{t: t, socket: socket, serve: serve}
	t.Cleanup(s.down)
	return s
}

// up starts listening.
func (s *fakeSpoke) up() {
	s.t.Helper()
	os.Remove(s.socket)
	ln, err := net.Listen("unix", s.socket)
	require.NoError(s.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &spokeRun{ln: ln, conns: map[net.Conn]bool{}, cancel: cancel}
	s.mu.Lock()
	s.cur = r
	s.mu.Unlock()
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if r.closed {
				s.mu.Unlock()
				c.Close()
				return
			}
			r.conns[c] = true
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(ctx, c) })
		}
	})
}

// down stops listening and drops every connection, as a spoke that lost
// its link does.
func (s *fakeSpoke) down() {
	s.mu.Lock()
	r := s.cur
	s.cur = nil
	if r != nil {
		r.closed = true
	}
	s.mu.Unlock()
	if r == nil {
		return
	}
	r.ln.Close()
	for c := range r.conns {
		c.Close()
	}
	r.cancel()
	s.wg.Wait()
}

// eventually calls f until it returns true, for at most 30s.
func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
