package ssh

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeConn answers keepalives when the test says so.
type fakeConn struct {
	mu      sync.Mutex
	replies chan error // what the next SendRequest returns, when it comes
	sent    int
	closed  atomic.Bool
}

func newFakeConn() *fakeConn { return &fakeConn{replies: make(chan error, 100)} }

func (c *fakeConn) SendRequest(name string, wantReply bool, _ []byte) (bool, []byte, error) {
	c.mu.Lock()
	c.sent++
	c.mu.Unlock()
	if name != "keepalive@openssh.com" || !wantReply {
		return false, nil, errors.New("unexpected request")
	}
	return false, nil, <-c.replies
}

func (c *fakeConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		close(c.replies) // a request in flight fails, as on a real connection
	}
	return nil
}

// runKeepalive runs keepalive over c until it returns or done is closed.
func runKeepalive(c *fakeConn, moved func() int64, done chan struct{}) (answered *atomic.Int64, dead *atomic.Bool, finished chan struct{}) {
	answered, dead, finished = &atomic.Int64{}, &atomic.Bool{}, make(chan struct{})
	go func() {
		defer close(finished)
		keepalive(c, time.Second, 3, done, moved, func() { answered.Add(1) }, func(string) { dead.Store(true) })
	}()
	return answered, dead, finished
}

// TestKeepaliveAnswered: a peer that answers keeps the connection, and
// every answer is counted.
func TestKeepaliveAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeConn()
		done := make(chan struct{})
		answered, dead, finished := runKeepalive(c, func() int64 { return 0 }, done)
		for range 5 {
			time.Sleep(time.Second)
			synctest.Wait()
			c.replies <- nil // a refusal is an answer
			synctest.Wait()
		}
		if answered.Load() != 5 || dead.Load() || c.closed.Load() {
			t.Fatalf("answered %d, dead %v, closed %v", answered.Load(), dead.Load(), c.closed.Load())
		}
		close(done)
		<-finished
	})
}

// TestKeepaliveSilence: with no answer and no byte moving, the connection
// is closed after interval*(max+1), not before.
func TestKeepaliveSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeConn()
		start := time.Now()
		_, dead, finished := runKeepalive(c, func() int64 { return 0 }, make(chan struct{}))
		time.Sleep(3900 * time.Millisecond)
		synctest.Wait()
		if c.closed.Load() {
			t.Fatal("closed before the limit")
		}
		<-finished
		if !dead.Load() || !c.closed.Load() {
			t.Fatal("a silent connection was kept")
		}
		if got := time.Since(start); got != 4*time.Second {
			t.Fatalf("closed after %v, want 4s", got)
		}
	})
}

// TestKeepaliveLateAnswer: an answer late behind a transfer that keeps
// moving bytes does not close the connection; once the bytes stop, the
// limit counts from then.
func TestKeepaliveLateAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeConn()
		var moved atomic.Int64
		done := make(chan struct{})
		answered, dead, finished := runKeepalive(c, moved.Load, done)
		for range 10 {
			time.Sleep(time.Second)
			moved.Add(32 << 10)
		}
		synctest.Wait()
		if dead.Load() {
			t.Fatal("closed while bytes were moving")
		}
		c.replies <- nil
		synctest.Wait()
		if answered.Load() != 1 {
			t.Fatalf("answered %d", answered.Load())
		}
		// Silence from now on: the next request goes unanswered.
		start := time.Now()
		<-finished
		if !dead.Load() {
			t.Fatal("not closed after the bytes stopped")
		}
		if got := time.Since(start); got > 5*time.Second {
			t.Fatalf("closed %v after the bytes stopped", got)
		}
	})
}

// TestKeepaliveClosedConnection: a request failing because the connection
// closed ends the loop without calling it dead.
func TestKeepaliveClosedConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeConn()
		_, dead, finished := runKeepalive(c, func() int64 { return 0 }, make(chan struct{}))
		time.Sleep(time.Second)
		synctest.Wait()
		c.replies <- errors.New("closed")
		<-finished
		if dead.Load() {
			t.Fatal("a closed connection was reported dead by keepalives")
		}
	})
}
