package remote

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
)

// The deadlines of these tests, in the fake time of synctest bubbles.
const (
	testInterval = time.Second
	testTimeout  = 5 * time.Second
)

// stallOpts are the client's options in the tests of stalled agents.
func stallOpts() []Option {
	return []Option{WithKeepalive(testInterval, testTimeout), WithName("server1")}
}

// pipeAgent is a hand-written agent on a net.Pipe, for use inside a
// synctest bubble: it answers the handshake with caps, grants handle 1 to
// the first open-root (with every ability), answers pings on stream 0 when
// pong is set, and then runs agent. It returns the client's endpoint; the
// client and the pipe are closed when the test ends.
func pipeAgent(t *testing.T, caps uint64, pong bool, agent func(p *rawPeer), opts ...Option) (*Client, *Endpoint) {
	t.Helper()
	a, b := net.Pipe()
	p := newRawPeer(t, b)
	go func() {
		if err := readMagic(b, "client"); err != nil {
			t.Error(err)
			return
		}
		if _, err := readHandshakeFrame(b, tHello, "client"); err != nil {
			t.Error(err)
			return
		}
		b.Write(appendFrame([]byte(magic), tHelloReply, 0, helloReply{version: 1, min: 1, max: 1, agent: "fake", caps: caps}.encode()))
		p.pong = pong
		p.start()
		f := p.next()
		if f.typ != tOpenRoot {
			t.Errorf("first request %s", f.typ)
			return
		}
		p.send(tResult, f.id, openRootResult{handle: 1, abilities: ablCopier | ablArchiver | ablWatcher | ablIdentity}.encode())
		agent(p)
	}()
	c, err := Dial(t.Context(), a, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ep, err := c.Endpoint(t.Context(), "/srv")
	if err != nil {
		t.Fatal(err)
	}
	return c, ep
}

// expectStall checks that err is the stall of a call: it wraps ErrStalled
// and ErrClosed, names the host and the operation, and came within the
// timeout of the start of the wait.
func expectStall(t *testing.T, err error, elapsed time.Duration, prefix string) {
	t.Helper()
	if !errors.Is(err, ErrStalled) || !errors.Is(err, ErrClosed) || !strings.HasPrefix(err.Error(), prefix+": no progress for 5s") {
		t.Fatalf("error %v; want a stall wrapping ErrStalled and ErrClosed, starting %q", err, prefix+": no progress for 5s")
	}
	if elapsed > testTimeout {
		t.Fatalf("the stall was noticed after %v, beyond the timeout of %v", elapsed, testTimeout)
	}
	t.Logf("noticed after %v: %v", elapsed, err)
}

// TestStalledAgent: an agent that stops mid-reply, one that trickles its
// reply a byte a second, one that answers pings but not the request, and
// one that stops reading: each call fails within the timeout with an error
// naming the host and the operation, and the connection is dropped.
func TestStalledAgent(t *testing.T) {
	file := fileEntry([]byte("x"), 0o644)
	t.Run("stops-mid-reply", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, ep := pipeAgent(t, capAll, false, func(p *rawPeer) {
				f := p.next()
				p.send(tOpenOK, f.id, encodeOpenOK(1000))
				p.send(tData, f.id, make([]byte, 100))
				p.c.Write([]byte{0, 0}) // half a frame header, then silence
			}, stallOpts()...)
			rc, err := ep.Open(t.Context(), "f")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if _, err := io.ReadFull(rc, make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = io.ReadAll(rc)
			expectStall(t, err, time.Since(start), "read server1:f")
			<-c.Done()
		})
	})
	t.Run("trickles", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, ep := pipeAgent(t, capAll, false, func(p *rawPeer) {
				f := p.next()
				reply := appendFrame(nil, tScanChunk, f.id, encodeChanges(0, []change{{"a", file}})[0])
				for _, b := range reply {
					if !p.sleep(time.Second) {
						return
					}
					if _, err := p.c.Write([]byte{b}); err != nil {
						return
					}
				}
			}, stallOpts()...)
			start := time.Now()
			_, _, err := ep.Scan(t.Context())
			expectStall(t, err, time.Since(start), "scan server1:.")
		})
	})
	t.Run("trickles-answering-pings", func(t *testing.T) {
		// Pongs keep the connection alive, but the request itself gets
		// no whole frame: it fails on its own deadline.
		synctest.Test(t, func(t *testing.T) {
			_, ep := pipeAgent(t, capAll, true, func(p *rawPeer) { p.next() }, stallOpts()...)
			start := time.Now()
			_, err := ep.RootID(t.Context())
			expectStall(t, err, time.Since(start), "identify server1:.")
			if !strings.Contains(err.Error(), "the agent sent nothing for this request") {
				t.Fatalf("not the request's own deadline: %v", err)
			}
		})
	})
	t.Run("stops-reading", func(t *testing.T) {
		// The agent pings but reads nothing: the client's write of a
		// large file does not move, and the connection is dropped.
		synctest.Test(t, func(t *testing.T) {
			stopped := make(chan struct{})
			c, ep := pipeAgent(t, capAll, false, func(p *rawPeer) {
				p.stop()
				close(stopped)
				for p.sleep(testInterval) {
					if err := p.send(tPing, 0, nil); err != nil {
						return
					}
				}
			}, append(stallOpts(), WithCompression(false))...)
			// The peer's reader runs already and takes whatever comes
			// until it sees the stop (and then the one frame it is
			// reading): an agent goroutine that is slow to stop, as under
			// load, would let the whole upload through, and the call would
			// wait for a result instead. Start only once it has stopped.
			select {
			case <-stopped:
			case <-time.After(30 * time.Second):
				t.Fatal("the agent did not stop reading")
			}
			data := pattern(600<<10, 1)
			start := time.Now()
			applied := make(chan error, 1)
			go func() {
				applied <- ep.Apply(t.Context(), zerosync.Op{Path: "big", New: fileEntry(data, 0o644)}, newBytes(data))
			}()
			var err error
			select {
			case err = <-applied:
			case <-time.After(10 * testTimeout):
				t.Fatalf("Apply to an agent that does not read still waits after %v", 10*testTimeout)
			}
			elapsed := time.Since(start)
			if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "apply server1:big: ") || !strings.Contains(err.Error(), "the agent takes nothing this side sends") {
				t.Fatalf("Apply to an agent that does not read: %v", err)
			}
			if elapsed > testTimeout+testInterval {
				t.Fatalf("noticed after %v", elapsed)
			}
			t.Logf("noticed after %v: %v", elapsed, err)
			<-c.Done()
		})
	})
}

// TestKeepaliveOlderAgent: an agent that does not offer keepalives gets no
// ping, and a request to it waits as long as the caller's context allows.
func TestKeepaliveOlderAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer := make(chan *rawPeer, 1)
		_, ep := pipeAgent(t, capZstd|capDelta, false, func(p *rawPeer) { peer <- p }, stallOpts()...)
		p := <-peer
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		if _, _, err := ep.Scan(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Scan: %v", err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, f := range p.got {
			if f.typ == tPing || f.typ == tPong {
				t.Fatalf("the older agent got a %s frame", f.typ)
			}
		}
		if len(p.got) == 0 || p.got[0].typ != tScan {
			t.Fatalf("the agent got %d frames", len(p.got))
		}
	})
}

// slowScan is an agent endpoint whose scans take a while.
type slowScan struct {
	*memory.Endpoint
	delay time.Duration
}

func (s *slowScan) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	time.Sleep(s.delay)
	return s.Endpoint.Scan(ctx)
}

// servePipe serves ep over net.Pipe inside a synctest bubble and dials it
// with copts. stop closes the client and returns Serve's result.
func servePipe(t *testing.T, ep zerosync.Endpoint, sopts []Option, copts ...Option) (c *Client, rep *Endpoint, stop func() error) {
	t.Helper()
	a, b := net.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- Serve(t.Context(), b, func(context.Context, string) (zerosync.Endpoint, error) { return ep, nil }, sopts...)
	}()
	c, err := Dial(t.Context(), a, copts...)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = c.Endpoint(t.Context(), "/mem")
	if err != nil {
		t.Fatal(err)
	}
	return c, rep, func() error {
		c.Close()
		return <-served
	}
}

// TestKeepaliveHealthy: deadlines never drop a healthy connection: an idle
// one (pings), a request the agent works on for longer than the timeout
// (pings of the request's stream), and a caller that reads slowly.
func TestKeepaliveHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tree := memory.New()
		big := pattern(3<<20, 2)
		tree.WriteFile("big", big, 0o644)
		slow := &slowScan{Endpoint: tree}
		opts := []Option{WithKeepalive(testInterval, testTimeout)}
		c, ep, stop := servePipe(t, slow, opts, opts...)

		time.Sleep(10 * testTimeout) // idle
		if err := c.Err(); err != nil {
			t.Fatalf("an idle connection was dropped: %v", err)
		}
		slow.delay = 3 * testTimeout
		start := time.Now()
		if _, _, err := ep.Scan(t.Context()); err != nil {
			t.Fatalf("a scan taking %v: %v", slow.delay, err)
		}
		if took := time.Since(start); took < slow.delay {
			t.Fatalf("the scan took %v", took)
		}
		rc, err := ep.Open(t.Context(), "big")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rc, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * testTimeout) // the caller does something else
		rest, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || len(rest) != len(big)-1 {
			t.Fatalf("slow reader: %d bytes, %v", len(rest), err)
		}
		if err := c.Err(); err != nil {
			t.Fatalf("connection dropped: %v", err)
		}
		if err := stop(); err != nil {
			t.Fatalf("Serve: %v", err)
		}
	})
}

// TestStalledClient: the agent drops a client that goes silent after the
// handshake, and one that takes nothing the agent sends.
func TestStalledClient(t *testing.T) {
	start := func(t *testing.T, read bool) (*rawPeer, chan error) {
		tree := memory.New()
		tree.WriteFile("big", pattern(2<<20, 3), 0o644)
		a, b := net.Pipe()
		served := make(chan error, 1)
		go func() {
			served <- Serve(t.Context(), b, func(context.Context, string) (zerosync.Endpoint, error) { return tree, nil },
				WithKeepalive(testInterval, testTimeout), WithCompression(false))
		}()
		p := newRawPeer(t, a)
		go a.Write(appendFrame([]byte(magic), tHello, 0, hello{min: 1, max: 1, version: "fake", caps: capAll}.encode()))
		if err := readMagic(a, "agent"); err != nil {
			t.Fatal(err)
		}
		if _, err := readHandshakeFrame(a, tHelloReply, "agent"); err != nil {
			t.Fatal(err)
		}
		if read {
			p.start()
		}
		return p, served
	}
	t.Run("silent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, served := start(t, true)
			begin := time.Now()
			err := <-served
			elapsed := time.Since(begin)
			if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "no progress for 5s: the client sent nothing") {
				t.Fatalf("Serve: %v", err)
			}
			if elapsed > testTimeout {
				t.Fatalf("dropped after %v", elapsed)
			}
		})
	})
	t.Run("does-not-read", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, served := start(t, false)
			go func() {
				p.send(tOpenRoot, 1, request{typ: tOpenRoot, root: "/mem"}.encode())
				p.send(tOpen, 3, request{typ: tOpen, handle: 1, path: "big"}.encode())
				for p.sleep(testInterval) { // alive, but reads nothing
					if p.send(tPing, 0, nil) != nil {
						return
					}
				}
			}()
			err := <-served
			if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "no progress for 5s: the client takes nothing this side sends") {
				t.Fatalf("Serve: %v", err)
			}
		})
	})
}

// TestHandshakeTimeout: a peer that does not complete the handshake in
// time is dropped, on either side, even when it trickles its greeting.
func TestHandshakeTimeout(t *testing.T) {
	t.Run("client-default", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			start := time.Now()
			_, err := Dial(context.Background(), a)
			if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "the agent did not complete the handshake within 30s") {
				t.Fatalf("Dial to a silent peer: %v", err)
			}
			if took := time.Since(start); took != DefaultHandshakeTimeout {
				t.Fatalf("gave up after %v", took)
			}
		})
	})
	t.Run("server-trickled-greeting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			served := make(chan error, 1)
			go func() { served <- Serve(t.Context(), b, openLocal, WithHandshakeTimeout(3*time.Second)) }()
			go io.Copy(io.Discard, a)
			ended := make(chan struct{})
			defer close(ended)
			go func() {
				for _, c := range appendFrame([]byte(magic), tHello, 0, hello{min: 1, max: 1}.encode()) {
					select {
					case <-time.After(time.Second):
					case <-ended:
						return
					}
					if _, err := a.Write([]byte{c}); err != nil {
						return
					}
				}
			}()
			start := time.Now()
			err := <-served
			if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "the client did not complete the handshake within 3s") {
				t.Fatalf("Serve: %v", err)
			}
			if took := time.Since(start); took != 3*time.Second {
				t.Fatalf("gave up after %v", took)
			}
		})
	})
}

// TestKeepaliveOff: without deadlines an idle connection lives on, and a
// slow agent is waited for as long as the caller's context allows.
func TestKeepaliveOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &slowScan{Endpoint: memory.New(), delay: time.Hour}
		opts := []Option{WithKeepalive(0, 0)}
		c, ep, stop := servePipe(t, slow, opts, opts...)
		if _, _, err := ep.Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := c.Err(); err != nil {
			t.Fatal(err)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}
