package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
)

// retryPolicy is how [Engine.Run] retries a pair that failed, and a
// watcher that stopped.
type retryPolicy struct {
	// first is the wait after the first failure; it doubles after each
	// further one, up to attempts failures in a row.
	first    time.Duration
	attempts int
	// slow is the wait once the pair is past attempts failures: it is
	// marked failed and retried this often (and on any hint of its
	// watcher).
	slow time.Duration
	// poll is how often a tree whose watcher stopped is rescanned.
	poll time.Duration
}

var defaultRetry = retryPolicy{first: time.Second, attempts: 5, slow: 5 * time.Minute, poll: 10 * time.Second}

// delay returns the wait after n failures in a row (n >= 1), and whether
// that many failures mark the pair failed.
func (r retryPolicy) delay(n int) (time.Duration, bool) {
	if n > r.attempts {
		return r.slow, true
	}
	d := r.first
	for i := 1; i < n && d < r.slow; i++ {
		d *= 2
	}
	return min(d, r.slow), false
}

// WithRetry sets how [Engine.Run] supervises each peer: a pair whose sync
// fails for a reason retrying may mend (the host unreachable, its agent
// gone) waits first, doubling after each further failure, while the other
// pairs go on syncing every cycle; after attempts failures in a row it is
// marked failed ([PeerStatus].Failed) and retried every slow, and whenever
// the peer's watcher reports a change. The default is 1 s, 5 attempts,
// 5 min.
func WithRetry(first time.Duration, attempts int, slow time.Duration) Option {
	return func(e *Engine) error {
		if first <= 0 || attempts < 1 || slow < first {
			return fmt.Errorf("retry first %v, %d attempts, slow %v out of range", first, attempts, slow)
		}
		e.retry.first, e.retry.attempts, e.retry.slow = first, attempts, slow
		return nil
	}
}

// WithPollInterval sets how often [Engine.Run] rescans a tree whose
// watcher stopped with an error, while it tries to start the watcher again
// (10 s by default).
func WithPollInterval(d time.Duration) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return fmt.Errorf("poll interval %v out of range", d)
		}
		e.retry.poll = d
		return nil
	}
}

// supervision is how the pairs' retries stand, under Engine.mu.
type supervision struct {
	// now: the next cycle tries every pair, waiting or not (a flush, a
	// resume).
	now bool
}

// retryAll lets the next cycle try every pair, however long it was to
// wait.
func (e *Engine) retryAll() {
	e.mu.Lock()
	e.sup.now = true
	e.mu.Unlock()
}

// takeRetryAll reports, once, whether the cycle starting tries every pair.
func (e *Engine) takeRetryAll() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.sup.now
	e.sup.now = false
	return now
}

// waiting reports whether pair p waits for its next retry at now, and
// has no hint from its watcher to cut the wait short.
func (e *Engine) waiting(p *pair, now time.Time) bool {
	hinted := p.peer.takeHinted()
	e.mu.Lock()
	defer e.mu.Unlock()
	return p.stat.failures > 0 && now.Before(p.stat.next) && !hinted
}

// supervise records how syncing p went in a cycle: err is what stopped
// it (nil when it synced). A failure sets when the pair is tried next.
func (e *Engine) supervise(ctx context.Context, p *pair, err error) {
	now := time.Now()
	e.mu.Lock()
	st := &p.stat
	if err == nil {
		was := st.failures
		st.failures, st.failed, st.next = 0, false, time.Time{}
		e.mu.Unlock()
		if was > 0 {
			e.log.InfoContext(ctx, "peer recovered", "peer", p.peer.Name, "failures", was)
		}
		return
	}
	st.failures++
	st.lastErr = err
	d, failed := e.retry.delay(st.failures)
	became := failed && !st.failed
	st.failed = failed
	st.next = now.Add(d)
	n := st.failures
	e.mu.Unlock()
	if became {
		e.log.ErrorContext(ctx, "peer failed; retrying it slowly", "peer", p.peer.Name, "failures", n, "retry_in", d, "err", err)
	} else {
		e.log.WarnContext(ctx, "peer sync failed; retrying", "peer", p.peer.Name, "failures", n, "retry_in", d, "err", err)
	}
}

// nextRetry returns when the earliest waiting pair is due; zero when none
// waits.
func (e *Engine) nextRetry() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	var at time.Time
	for _, p := range e.pairs {
		if _, halted := e.halted[p.peer.Name]; halted || p.stat.failures == 0 {
			continue
		}
		if at.IsZero() || p.stat.next.Before(at) {
			at = p.stat.next
		}
	}
	return at
}

// watchSupervised runs w for tree t until ctx ends. When the watcher stops
// with an error, the tree is polled every poll interval (a full rescan),
// said once in the log and as an EventError, and the watcher is started
// again after the retry policy's wait; polling goes on until a watcher
// reports it is ready.
func (e *Engine) watchSupervised(ctx context.Context, t *tree, w zerosync.Watcher) {
	failures := 0
	var tick *time.Ticker
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		started := time.Now()
		err := w.Watch(ctx, func(h zerosync.Hint) {
			if h.Reason == "ready" {
				t.setPolled(false)
			}
			t.hint(h)
			t.poke()
			e.kick()
		})
		t.unwatch()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("the watcher stopped")
		}
		if errors.Is(err, errors.ErrUnsupported) {
			e.log.DebugContext(ctx, "tree cannot be watched", "tree", t.Name, "err", err)
			return
		}
		if time.Since(started) > e.retry.slow {
			failures = 0 // it had worked for a while
		}
		failures++
		d, _ := e.retry.delay(failures)
		if !t.isPolled() {
			werr := fmt.Errorf("watcher of %s failed; polling it every %v: %w", t.Name, e.retry.poll, err)
			e.log.WarnContext(ctx, "watcher failed; polling instead", "tree", t.Name, "every", e.retry.poll, "err", err)
			e.emit(zerosync.Event{Kind: zerosync.EventError, Peer: t.Name, Err: werr})
			t.setPolled(true)
		} else {
			e.log.DebugContext(ctx, "watcher failed again", "tree", t.Name, "failures", failures, "err", err)
		}
		if tick == nil {
			tick = time.NewTicker(e.retry.poll)
		}
		if !e.poll(ctx, t, tick, d) {
			return
		}
	}
}

// poll asks for a full rescan of t at each tick for d, and reports
// whether ctx is still alive at the end.
func (e *Engine) poll(ctx context.Context, t *tree, tick *time.Ticker, d time.Duration) bool {
	end := time.NewTimer(d)
	defer end.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-end.C:
			return true
		case <-tick.C:
			t.hint(zerosync.Hint{Full: true, Reason: "poll"})
			e.kick()
		}
	}
}

// hintState is what a tree's watcher said beside the paths: a hint cuts a
// failed pair's wait short; polled is set while the tree is polled because
// its watcher failed.
type hintState struct {
	mu     sync.Mutex
	hinted bool
	polled bool
}

func (t *tree) poke() {
	t.hs.mu.Lock()
	t.hs.hinted = true
	t.hs.mu.Unlock()
}

func (t *tree) takeHinted() bool {
	t.hs.mu.Lock()
	defer t.hs.mu.Unlock()
	h := t.hs.hinted
	t.hs.hinted = false
	return h
}

func (t *tree) setPolled(on bool) {
	t.hs.mu.Lock()
	t.hs.polled = on
	t.hs.mu.Unlock()
}

func (t *tree) isPolled() bool {
	t.hs.mu.Lock()
	defer t.hs.mu.Unlock()
	return t.hs.polled
}
