package engine_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// errDown is what a host that cannot be reached answers.
var errDown = errors.New("host unreachable")

// flaky is a peer that can be taken down: while down, every call fails
// as an unreachable host's would. It counts the scans it was asked for.
// It hides the abilities of the tree it wraps (no watcher).
type flaky struct {
	zerosync.Endpoint

	mu    sync.Mutex
	down  bool
	scans int
}

func (f *flaky) setDown(on bool) {
	f.mu.Lock()
	f.down = on
	f.mu.Unlock()
}

func (f *flaky) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scans
}

func (f *flaky) check() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	return nil
}

func (f *flaky) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	f.mu.Lock()
	f.scans++
	f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, nil, err
	}
	return f.Endpoint.Scan(ctx)
}

func (f *flaky) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Endpoint.Open(ctx, p)
}

func (f *flaky) Apply(ctx context.Context, op zerosync.Op, r io.Reader) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.Endpoint.Apply(ctx, op, r)
}

// peerNamed returns the status of the peer called name.
func peerNamed(t *testing.T, e *engine.Engine, name string) engine.PeerStatus {
	t.Helper()
	ps, err := e.Peers(context.Background())
	require.NoError(t, err)
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no peer %s", name)
	return engine.PeerStatus{}
}

// TestSupervisedPeer: a peer that cannot be reached is retried on its own
// schedule (1 s doubling), then marked failed and retried slowly, while
// another peer keeps syncing in every cycle; once it can be reached again
// it catches up and is no longer failed.
func TestSupervisedPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, cm := memory.New(memory.WithName("a")), memory.New(memory.WithName("b")), memory.New(memory.WithName("c"))
		require.NoError(t, a.WriteFile("first.txt", []byte("1"), 0o644))
		c := &flaky{Endpoint: cm, down: true}
		e, err := engine.New(engine.Peer{Name: "a", Endpoint: a},
			[]engine.Peer{{Name: "b", Endpoint: b}, {Name: "c", Endpoint: c}},
			engine.WithVolatileState(), engine.WithRetry(time.Second, 3, time.Minute))
		require.NoError(t, err)
		defer e.Close()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		defer func() {
			cancel()
			<-done
		}()
		synctest.Wait()
		require.Equal(t, "1", memFile(t, b, "first.txt"), "b synced in the first cycle")
		st := peerNamed(t, e, "c")
		require.Equal(t, 1, st.Failures)
		assert.False(t, st.Failed)
		assert.ErrorIs(t, st.LastError, errDown)
		assert.Equal(t, 1, c.attempts())

		// Edits on a reach b at once; c is not tried before its retry.
		require.NoError(t, a.WriteFile("second.txt", []byte("2"), 0o644))
		synctest.Wait()
		assert.Equal(t, "2", memFile(t, b, "second.txt"))
		assert.Equal(t, 1, c.attempts(), "c tried before its retry was due")

		// Retries after 1 s, 2 s, 4 s: the third marks it failed.
		for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			time.Sleep(wait)
			synctest.Wait()
			assert.Equal(t, i+2, c.attempts(), "attempt after %v", wait)
			// b keeps syncing between c's retries.
			require.NoError(t, a.WriteFile("loop.txt", []byte{byte('a' + i)}, 0o644))
			synctest.Wait()
			assert.Equal(t, string([]byte{byte('a' + i)}), memFile(t, b, "loop.txt"))
		}
		st = peerNamed(t, e, "c")
		assert.Equal(t, 4, st.Failures)
		assert.True(t, st.Failed, "past the cap the peer is marked failed")
		assert.Equal(t, time.Now().Add(time.Minute), st.NextRetry)
		assert.False(t, peerNamed(t, e, "b").Failed)

		// Failed: retried once a minute, not sooner.
		time.Sleep(30 * time.Second)
		synctest.Wait()
		assert.Equal(t, 4, c.attempts())
		c.setDown(false)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		assert.Equal(t, 5, c.attempts())
		st = peerNamed(t, e, "c")
		assert.Equal(t, 0, st.Failures, "recovered")
		assert.False(t, st.Failed)
		assert.NoError(t, st.Err)
		assert.ErrorIs(t, st.LastError, errDown, "the last failure is kept")
		assert.Equal(t, "2", memFile(t, cm, "second.txt"), "c caught up")
		assert.Equal(t, "c", memFile(t, cm, "loop.txt"))
	})
}

// TestSupervisedPeerFlush: a flush tries a waiting peer at once.
func TestSupervisedPeerFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, cm := memory.New(), memory.New(), memory.New()
		require.NoError(t, a.WriteFile("x.txt", []byte("x"), 0o644))
		c := &flaky{Endpoint: cm, down: true}
		e, err := engine.New(engine.Peer{Name: "a", Endpoint: a},
			[]engine.Peer{{Name: "b", Endpoint: b}, {Name: "c", Endpoint: c}},
			engine.WithVolatileState(), engine.WithRetry(time.Minute, 3, time.Hour))
		require.NoError(t, err)
		defer e.Close()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		defer func() {
			cancel()
			<-done
		}()
		synctest.Wait()
		require.Equal(t, 1, c.attempts())
		c.setDown(false)
		_, err = e.Flush(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, c.attempts())
		assert.Equal(t, "x", memFile(t, cm, "x.txt"))
		assert.Equal(t, 0, peerNamed(t, e, "c").Failures)
	})
}

// failingWatcher is a tree whose watcher fails at once, every time.
type failingWatcher struct {
	*memory.Endpoint
	mu    sync.Mutex
	tries int
}

func (f *failingWatcher) Watch(ctx context.Context, notify func(zerosync.Hint)) error {
	f.mu.Lock()
	f.tries++
	f.mu.Unlock()
	return errors.New("inotify: no more watches")
}

func (f *failingWatcher) watchTries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries
}

// TestFailedWatcherPolls: a peer whose watcher fails is polled on a
// schedule, which the engine says once (an error event naming the tree);
// its edits arrive without any other source; the watcher is tried again.
func TestFailedWatcherPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := memory.New()
		b := &failingWatcher{Endpoint: memory.New()}
		var mu sync.Mutex
		var said []zerosync.Event
		e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
			engine.WithVolatileState(), engine.WithPollInterval(5*time.Second),
			engine.WithObserver(func(ev zerosync.Event) {
				if ev.Kind == zerosync.EventError {
					mu.Lock()
					said = append(said, ev)
					mu.Unlock()
				}
			}))
		require.NoError(t, err)
		defer e.Close()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		defer func() {
			cancel()
			<-done
		}()
		synctest.Wait()
		mu.Lock()
		require.Len(t, said, 1)
		assert.Equal(t, "b", said[0].Peer)
		assert.ErrorContains(t, said[0].Err, "polling it every 5s")
		mu.Unlock()
		st := peerNamed(t, e, "b")
		assert.True(t, st.Polled)
		assert.False(t, st.Watched)

		require.NoError(t, b.WriteFile("edit.txt", []byte("e"), 0o644))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, "e", memFile(t, a, "edit.txt"), "the poll found b's edit")
		assert.GreaterOrEqual(t, b.watchTries(), 2, "the watcher was tried again")
		mu.Lock()
		assert.Len(t, said, 1, "the fallback is said once")
		mu.Unlock()
	})
}
