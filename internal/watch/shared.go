package watch

import (
	"context"
	"errors"
	"sync"

	"github.com/zerosync/zerosync"
)

// Shared watches one root for any number of concurrent callers of
// [Shared.Watch] with one watcher, as [Run] does: one inotify instance, one
// set of watches, one echo check per path, whatever the number of callers.
// The kernel limits inotify instances per user (128 by default), so a
// process that serves many watch streams of one tree must not open one per
// stream. Build one with [NewShared]; the zero value is not usable. All
// methods are safe for concurrent use.
//
// The watcher starts with the first Watch call and stops when the last
// returns: the last call returns only after its inotify instance is
// released. A watcher started while the previous one is stopping waits for
// it, so a Shared never holds more than one instance.
type Shared struct {
	root string
	opts Options

	mu sync.Mutex
	// cur is the running watcher that new callers join; nil when none runs
	// or the last one failed.
	cur *group
	// last is closed once the most recently started watcher has stopped.
	last chan struct{}
}

// group is one run of the shared watcher and its callers.
type group struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's result, set before done is closed

	mu    sync.Mutex
	ready bool
	subs  map[*queue]struct{}
}

// NewShared returns a Shared watcher of root with opts, which are as for
// [Run] except that Ready must be nil: every caller of [Shared.Watch] gets
// a "ready" hint instead. Echo, when set, is asked once per ready path,
// whatever the number of callers. The root is checked by each watcher
// start, not here.
func NewShared(root string, opts Options) (*Shared, error) {
	if opts.Ready != nil {
		return nil, errors.New("watch: Ready is set for a shared watcher")
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	return &Shared{root: root, opts: opts}, nil
}

// Watch reports changes beneath the root until ctx is done, as a
// [zerosync.Watcher]: once the shared watcher is in place it calls notify
// with Hint{Full: true, Reason: "ready"} (at once when it already is), and
// from then on with the hints [Run] delivers. notify is called from the
// goroutine that called Watch, one hint at a time; hints that come while
// notify runs are merged (paths deduplicated, and a full hint when too many
// paths wait), so a slow caller delays no one else.
//
// Watch returns ctx.Err() after cancellation, and the watcher's error
// (see [Run]) when it stops by itself; every caller then gets that error,
// and a later call starts a new watcher.
func (s *Shared) Watch(ctx context.Context, notify func(zerosync.Hint)) error {
	if notify == nil {
		return errors.New("watch: nil notify")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	q := newQueue()
	g := s.join(ctx, q)
	defer s.leave(g, q)
	for {
		h, ok := q.take(ctx, g.done)
		if !ok {
			break
		}
		notify(h)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if g.err == nil {
		return errors.New("watch: the shared watcher stopped")
	}
	return g.err
}

// join adds q to the running watcher, starting one when none runs. The new
// watcher's context carries ctx's values but not its cancellation: it
// outlives the caller that started it while others remain.
func (s *Shared) join(ctx context.Context, q *queue) *group {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.cur
	if g == nil {
		gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		g = &group{cancel: cancel, done: make(chan struct{}), subs: make(map[*queue]struct{})}
		prev := s.last
		s.cur, s.last = g, g.done
		opts := s.opts
		opts.Ready = g.setReady
		go func() {
			if prev != nil {
				<-prev
			}
			err := Run(gctx, s.root, opts, g.notify)
			s.mu.Lock()
			if s.cur == g {
				s.cur = nil
			}
			s.mu.Unlock()
			g.err = err
			close(g.done)
		}()
	}
	g.mu.Lock()
	g.subs[q] = struct{}{}
	if g.ready {
		q.put(zerosync.Hint{Full: true, Reason: "ready"})
	}
	g.mu.Unlock()
	return g
}

// leave removes q from g; the last caller to leave stops g and waits until
// it has stopped.
func (s *Shared) leave(g *group, q *queue) {
	s.mu.Lock()
	g.mu.Lock()
	delete(g.subs, q)
	last := len(g.subs) == 0
	g.mu.Unlock()
	if last && s.cur == g {
		s.cur = nil
	}
	s.mu.Unlock()
	if last {
		g.cancel()
		<-g.done
	}
}

// setReady is the watcher's Ready: every caller, and every later one, gets
// a "ready" hint before any other.
func (g *group) setReady() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ready = true
	for q := range g.subs {
		q.put(zerosync.Hint{Full: true, Reason: "ready"})
	}
}

// notify hands h to every caller.
func (g *group) notify(h zerosync.Hint) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for q := range g.subs {
		q.put(h)
	}
}
