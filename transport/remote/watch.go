package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zerosync/zerosync"
)

// maxPendingPaths bounds the paths the agent holds for a client that does
// not keep up with its watcher; beyond it the paths are dropped and the
// client is told to rescan everything.
const maxPendingPaths = 8192

// hintQueue gathers the hints of a watcher until they are sent. put never
// blocks (a watcher's notify must not), and hints merge while the
// connection is busy.
type hintQueue struct {
	mu      sync.Mutex
	seen    map[string]struct{}
	paths   []string
	full    bool
	reason  string
	pending bool
	closed  bool
	wake    chan struct{}
}

func newHintQueue() *hintQueue {
	return &hintQueue{seen: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

func (q *hintQueue) put(h zerosync.Hint) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = true
	if q.reason == "" || h.Full {
		q.reason = h.Reason
	}
	if h.Full || q.full {
		q.setFull(q.reason)
		signal(q.wake)
		return
	}
	for _, p := range h.Paths {
		if len(p) > maxWirePath {
			continue
		}
		if _, ok := q.seen[p]; !ok {
			q.seen[p] = struct{}{}
			q.paths = append(q.paths, p)
		}
	}
	if len(q.paths) > maxPendingPaths {
		q.setFull("overflow")
	}
	signal(q.wake)
}

func (q *hintQueue) setFull(reason string) {
	q.full, q.reason = true, reason
	q.paths = nil
	clear(q.seen)
}

func (q *hintQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.wake)
}

// take returns the hints gathered since the last take, waiting for some;
// false when the queue is closed and empty, or ctx is done.
func (q *hintQueue) take(ctx context.Context) (zerosync.Hint, bool) {
	for {
		q.mu.Lock()
		if q.pending {
			h := zerosync.Hint{Paths: q.paths, Full: q.full, Reason: q.reason}
			q.paths, q.full, q.reason, q.pending = nil, false, "", false
			clear(q.seen)
			q.mu.Unlock()
			return h, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return zerosync.Hint{}, false
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return zerosync.Hint{}, false
		}
	}
}

// splitHint cuts a hint into pieces that each fit one frame.
func splitHint(h zerosync.Hint) []zerosync.Hint {
	if len(h.Paths) == 0 {
		return []zerosync.Hint{h}
	}
	var out []zerosync.Hint
	start, size := 0, 0
	for i, p := range h.Paths {
		if i > start && (i-start == maxHintPaths || size+len(p) > hintBudget) {
			out = append(out, zerosync.Hint{Paths: h.Paths[start:i], Full: h.Full, Reason: h.Reason})
			start, size = i, 0
		}
		size += len(p)
	}
	return append(out, zerosync.Hint{Paths: h.Paths[start:], Full: h.Full, Reason: h.Reason})
}

// watch runs the endpoint's watcher and forwards its hints until the
// client cancels the stream or the watcher fails.
func (s *server) watch(ctx context.Context, st *stream, r *served) error {
	w, ok := r.ep.(zerosync.Watcher)
	if !ok {
		return fmt.Errorf("watch: %w", errors.ErrUnsupported)
	}
	q := newHintQueue()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- w.Watch(wctx, q.put)
		q.close()
	}()
	for {
		h, ok := q.take(ctx)
		if !ok {
			break
		}
		for _, part := range splitHint(h) {
			if err := st.send(ctx, tHint, encodeHint(part), false); err != nil {
				cancel()
				<-errc
				return err
			}
		}
	}
	cancel()
	err := <-errc
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = errors.New("the watcher stopped")
	}
	return err
}

// Watch reports changes of the agent's tree, as the agent's endpoint
// watches them on its own host, until ctx is done; see [zerosync.Source].
// It returns ctx.Err() after cancellation, an error wrapping
// [errors.ErrUnsupported] when the agent's endpoint cannot watch, and an
// error when the watcher or the connection fails. Hints naming an invalid
// path are a protocol violation; reserved paths are dropped.
func (e *Endpoint) Watch(ctx context.Context, notify func(zerosync.Hint)) error {
	if err := e.usable(ctx); err != nil {
		return e.perr("watch", ".", err)
	}
	if e.abl&ablWatcher == 0 {
		return e.perr("watch", ".", fmt.Errorf("the agent's endpoint does not watch: %w", errors.ErrUnsupported))
	}
	st, err := e.c.start(ctx, tWatch, request{handle: e.handle})
	if err != nil {
		return e.perr("watch", ".", err)
	}
	defer e.c.finish(st)
	for {
		f, err := st.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return e.perr("watch", ".", err)
		}
		switch f.typ {
		case tHint:
			h, err := decodeHint(f.payload)
			if err != nil {
				return e.perr("watch", ".", e.c.violation(err))
			}
			kept := h.Paths[:0]
			for _, p := range h.Paths {
				if err := zerosync.ValidPath(p); err != nil {
					return e.perr("watch", ".", e.c.violation(protoErr("hint: %v", err)))
				}
				if !zerosync.IsReserved(p) {
					kept = append(kept, p)
				}
			}
			if len(h.Paths) > 0 && len(kept) == 0 && !h.Full {
				continue // only reserved names changed
			}
			h.Paths = kept
			notify(h)
		case tError:
			return e.perr("watch", ".", e.c.remoteErr(f))
		default:
			return e.perr("watch", ".", e.c.violation(protoErr("%s frame on a watch", f.typ)))
		}
	}
}
