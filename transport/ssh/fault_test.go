package ssh

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// proxied is a fixture whose connections go through a proxy the test
// controls.
func proxied(t *testing.T, opts ...Option) (*fixture, *proxy, *Transport, string) {
	t.Helper()
	f := newFixture(t)
	p := startProxy(t, f.srv.Addr)
	f.trust(t, p.Addr())
	tr := f.transport(t, opts...)
	return f, p, tr, f.srv.User + "@" + p.Addr()
}

// assertWhole checks that path under root is absent or holds exactly want:
// never a torn file.
func assertWhole(t *testing.T, root, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(root, path))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is torn: %d bytes, want %d", path, len(got), len(want))
	}
}

// failedCycle runs a cycle that must notice a fault.
func failedCycle(t *testing.T, ctx context.Context, sync func(context.Context) (zerosync.Report, error)) {
	t.Helper()
	rep, err := sync(ctx)
	if err == nil && len(rep.Problems) == 0 {
		t.Fatal("the cycle went through the fault without noticing")
	}
	t.Logf("cycle during the fault: err=%v problems=%v", err, rep.Problems)
}

// TestCutDuringTransfer: the TCP connection dies in the middle of a large
// file, in each direction. Neither side ends with a torn file, and the
// next cycle reconnects and converges.
func TestCutDuringTransfer(t *testing.T) {
	for _, up := range []bool{true, false} {
		name := "download"
		if up {
			name = "upload"
		}
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			_, p, tr, target := proxied(t)
			laptop, server := newDir(t, "laptop"), newDir(t, "server")
			big := randomBytes(t, 32<<20)
			src, dst := laptop, server
			if !up {
				src, dst = server, laptop
			}
			writeFile(t, src, "big.bin", big)
			ep, err := tr.Endpoint(ctx, target, server)
			if err != nil {
				t.Fatal(err)
			}
			e := syncPair(t, laptop, ep, filepath.Join(t.TempDir(), "state.db"))
			p.CutAfter(up, 8<<20)
			failedCycle(t, ctx, e.SyncOnce)
			assertWhole(t, dst, "big.bin", big)

			syncOnce(t, ctx, e)
			sameTrees(t, laptop, server)
			assertWhole(t, dst, "big.bin", big)
			if _, err := os.Stat(filepath.Join(dst, "big.bin")); err != nil {
				t.Fatal(err)
			}
			if temps := tempFiles(dst); len(temps) > 0 {
				t.Errorf("temp files left: %v", temps)
			}
			if st := tr.Stats(); st.Dials != 2 || st.Reconnects != 1 || st.Uploads != 1 {
				t.Errorf("stats %+v, want two dials, one reconnect, one upload", st)
			}
		})
	}
}

// TestAgentKilledMidApply: the agent dies while it writes a large file.
// The file on the host is whole or absent, the connection survives, a new
// agent starts over it, and the next cycle converges.
func TestAgentKilledMidApply(t *testing.T) {
	ctx := testContext(t)
	f, p, tr, target := proxied(t)
	laptop, server := newDir(t, "laptop"), newDir(t, "server")
	ep, err := tr.Endpoint(ctx, target, server)
	if err != nil {
		t.Fatal(err)
	}
	e := syncPair(t, laptop, ep, filepath.Join(t.TempDir(), "state.db"))
	syncOnce(t, ctx, e)
	big := randomBytes(t, 32<<20)
	writeFile(t, laptop, "big.bin", big)

	// Slow the wire so the apply is surely under way when the agent dies.
	p.rate.Store(8 << 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		failedCycle(t, ctx, e.SyncOnce)
	}()
	waitFor(t, "the agent to start writing", func() bool { return len(tempFiles(server)) > 0 })
	if n := f.killAgents(t); n != 1 {
		t.Fatalf("killed %d agents, want 1", n)
	}
	<-done
	p.rate.Store(0)
	assertWhole(t, server, "big.bin", big)

	syncOnce(t, ctx, e)
	sameTrees(t, laptop, server)
	if temps := tempFiles(server); len(temps) > 0 {
		t.Errorf("temp files left: %v", temps)
	}
	if st := tr.Stats(); st.Dials != 1 || st.Agents != 2 || st.Reconnects != 1 {
		t.Errorf("stats %+v, want one dial and a second agent", st)
	}
}

// TestInFlightCallFails: a read under way when the connection dies fails
// with ErrDisconnected; the next call reconnects.
func TestInFlightCallFails(t *testing.T) {
	ctx := testContext(t)
	_, p, tr, target := proxied(t)
	server := newDir(t, "server")
	big := randomBytes(t, 16<<20)
	writeFile(t, server, "big.bin", big)
	ep, err := tr.Endpoint(ctx, target, server)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ep.Open(ctx, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	_, err = io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("reading across the cut: %v, want ErrDisconnected", err)
	}
	snap, _, err := ep.Scan(ctx)
	if err != nil || snap.Get("big.bin") == nil {
		t.Fatalf("scan after the cut: %v", err)
	}
	if st := tr.Stats(); st.Dials != 2 || st.Reconnects != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestKeepaliveNoticesDeadConnection: a connection that stops answering
// (frozen, not closed) is noticed by keepalives and replaced by the next
// call.
func TestKeepaliveNoticesDeadConnection(t *testing.T) {
	ctx := testContext(t)
	f, p, _, target := proxied(t)
	server := newDir(t, "server")
	// Install the agent first, with the default keepalives.
	if _, err := f.transport(t).Endpoint(ctx, target, server); err != nil {
		t.Fatal(err)
	}
	tr := f.transport(t, WithKeepalive(50*time.Millisecond, 2))
	ep, err := tr.Endpoint(ctx, target, server)
	if err != nil {
		t.Fatal(err)
	}
	p.frozen.Store(true)
	waitFor(t, "keepalives to give up", func() bool {
		ep.h.mu.Lock()
		defer ep.h.mu.Unlock()
		return ep.h.conn.dead()
	})
	p.frozen.Store(false)
	if _, _, err := ep.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Dials != 2 || st.Reconnects != 1 || st.Uploads != 0 {
		t.Errorf("stats %+v, want a second dial", st)
	}
}

// TestKeepaliveKeepsLiveConnection: keepalives on a working connection
// are answered (sshd refuses the request, which still proves it alive)
// and never close it.
func TestKeepaliveKeepsLiveConnection(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	server := newDir(t, "server")
	// Install the agent first: a large upload may delay the answers.
	if _, err := f.transport(t).Endpoint(ctx, f.target(), server); err != nil {
		t.Fatal(err)
	}
	tr := f.transport(t, WithKeepalive(100*time.Millisecond, 3))
	ep, err := tr.Endpoint(ctx, f.target(), server)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three keepalives answered", func() bool {
		if _, _, err := ep.Scan(ctx); err != nil {
			t.Fatal(err)
		}
		return tr.stats.keepalives.Load() >= 3
	})
	if st := tr.Stats(); st.Dials != 1 || st.Reconnects != 0 {
		t.Errorf("a live connection was replaced: %+v", st)
	}
}

// TestWatchAcrossReconnect: Watch carries on after the connection dies,
// says at once that it died (so the engine tries the host and shows it
// unreachable), and asks for a full rescan once it is back.
func TestWatchAcrossReconnect(t *testing.T) {
	ctx := testContext(t)
	_, p, tr, target := proxied(t)
	server := newDir(t, "server")
	ep, err := tr.Endpoint(ctx, target, server)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hints []zerosync.Hint
	seen := func(match func(zerosync.Hint) bool) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, h := range hints {
			if match(h) {
				return true
			}
		}
		return false
	}
	hasPath := func(p string) func(zerosync.Hint) bool {
		return func(h zerosync.Hint) bool {
			for _, q := range h.Paths {
				if q == p || strings.HasPrefix(p, q+"/") {
					return true
				}
			}
			return h.Full
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	werr := make(chan error, 1)
	go func() {
		werr <- ep.Watch(wctx, func(h zerosync.Hint) {
			mu.Lock()
			hints = append(hints, h)
			mu.Unlock()
		})
	}()
	// The watcher starts asynchronously: write until it reports.
	n := 0
	waitFor(t, "a hint for a new file", func() bool {
		n++
		writeFile(t, server, "a.txt", []byte{byte(n)})
		time.Sleep(20 * time.Millisecond)
		return seen(hasPath("a.txt"))
	})
	p.Cut()
	waitFor(t, "a hint that the connection died", func() bool {
		return seen(func(h zerosync.Hint) bool { return h.Full && h.Reason == "disconnected" })
	})
	waitFor(t, "a full rescan after the reconnect", func() bool {
		return seen(func(h zerosync.Hint) bool { return h.Full && h.Reason == "reconnect" })
	})
	mu.Lock()
	hints = nil
	mu.Unlock()
	waitFor(t, "a hint after the reconnect", func() bool {
		n++
		writeFile(t, server, "b.txt", []byte{byte(n)})
		time.Sleep(20 * time.Millisecond)
		return seen(hasPath("b.txt"))
	})
	cancel()
	if err := <-werr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v", err)
	}
	if st := tr.Stats(); st.Reconnects != 1 {
		t.Errorf("stats %+v", st)
	}
}
