package watch

import (
	"context"
	"sync"

	"github.com/zerosync/zerosync"
)

// maxQueuedPaths bounds the paths a [queue] holds for a caller that does
// not keep up; beyond it they are dropped for a full hint.
const maxQueuedPaths = 8192

// queue gathers the hints meant for one caller of [Shared.Watch] until
// that caller takes them. put never blocks, so a slow caller never holds
// up the watcher or the other callers: hints merge while they wait. A
// full hint absorbs the paths queued with it and keeps the reason of the
// first full hint queued, so a "ready" hint is never renamed. The zero
// value is not usable; use [newQueue]. It is safe for concurrent use.
type queue struct {
	mu      sync.Mutex
	seen    map[string]struct{}
	paths   []string
	full    bool
	reason  string
	pending bool
	wake    chan struct{} // holds a token when a hint may be pending
}

func newQueue() *queue {
	return &queue{seen: make(map[string]struct{}), wake: make(chan struct{}, 1)}
}

// put adds h to what is pending.
func (q *queue) put(h zerosync.Hint) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.full:
		// Already a full hint: it covers h.
	case h.Full || len(h.Paths) == 0:
		q.setFull(h.Reason)
	default:
		if q.reason == "" {
			q.reason = h.Reason
		}
		for _, p := range h.Paths {
			if _, ok := q.seen[p]; !ok {
				q.seen[p] = struct{}{}
				q.paths = append(q.paths, p)
			}
		}
		if len(q.paths) > maxQueuedPaths {
			q.setFull("overflow")
		}
	}
	q.pending = true
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) setFull(reason string) {
	q.full, q.reason, q.paths = true, reason, nil
	clear(q.seen)
}

// take returns what was put since the last take, waiting until something
// is, ctx is done or stop is closed. ok is false in the last two cases
// when nothing is pending.
func (q *queue) take(ctx context.Context, stop <-chan struct{}) (h zerosync.Hint, ok bool) {
	for {
		q.mu.Lock()
		if q.pending {
			h = zerosync.Hint{Paths: q.paths, Full: q.full, Reason: q.reason}
			q.paths, q.full, q.reason, q.pending = nil, false, "", false
			clear(q.seen)
			q.mu.Unlock()
			return h, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			return zerosync.Hint{}, false
		case <-stop:
			// A put before stop closed has left its token: look once more.
			select {
			case <-q.wake:
			default:
				return zerosync.Hint{}, false
			}
		}
	}
}
