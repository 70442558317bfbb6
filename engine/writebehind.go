package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/state"
)

// A pair's common state is committed behind its cycle: the change is
// queued, the cycle ends, and a committer makes the queued changes durable
// in the background, in order, the changes of all pairs that queued
// meanwhile in one transaction (one write of the database, where each
// commit took two syncs of the file before).
//
// Why it is safe: the engine keeps the common state of each pair in memory
// as well, and updates it when Commit returns; the database only lags
// behind by the changes in the queue. A crash before they are durable
// leaves an older common state, exactly as a crash between applying a plan
// and committing it always could: for every path of a lost change both
// trees hold the entry the change recorded, which the next reconcile takes
// as identical. A change that fails to commit is reported on the next
// cycle of its pair (the committer wakes the engine for it), which then
// reloads its common state from the database. Every other read or write of
// the database waits until the changes queued before it are durable, so
// it sees them; [Engine.Close] waits for all.

// committer makes queued changes durable, in the order they were queued.
type committer struct {
	commitAll func(context.Context, []state.PairChange) []error
	onFail    func() // called, without blocking, when a change failed to commit

	mu      sync.Mutex
	queue   []state.PairChange
	queued  uint64        // changes ever queued
	done    uint64        // changes ever taken out of the queue and finished
	moved   chan struct{} // closed (and replaced) whenever done moves
	running bool          // a goroutine is committing
	failed  map[string]error
	closed  bool
}

func newCommitter(commitAll func(context.Context, []state.PairChange) []error, onFail func()) *committer {
	return &committer{commitAll: commitAll, onFail: onFail, moved: make(chan struct{}), failed: map[string]error{}}
}

// add queues change for pair p, unless a change of p failed to commit
// since the last report: then it returns that failure (and forgets it) and
// queues nothing, so the caller reloads its common state.
func (c *committer) add(p *state.Pair, change commit) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.takeFailure(p.ID()); err != nil {
		return err
	}
	if c.closed {
		return fmt.Errorf("state: commit %q: %w", p.ID(), state.ErrClosed)
	}
	c.queue = append(c.queue, state.PairChange{Pair: p, Change: change})
	c.queued++
	if !c.running {
		c.running = true
		go c.run()
	}
	return nil
}

// run commits until the queue is empty.
func (c *committer) run() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		errs := c.commitAll(context.Background(), batch)
		c.mu.Lock()
		failed := false
		for i, err := range errs {
			if id := batch[i].Pair.ID(); err != nil && c.failed[id] == nil {
				c.failed[id], failed = err, true
			}
		}
		if failed && c.onFail != nil {
			// Before the changes count as finished: whoever waited for
			// them finds the engine already woken for the failure.
			// onFail must not block (the engine's kick does not).
			c.onFail()
		}
		c.done += uint64(len(batch))
		close(c.moved)
		c.moved = make(chan struct{})
		c.mu.Unlock()
	}
}

// wait returns once every change queued before the call is finished
// (durable, or failed and recorded), or when ctx is done.
func (c *committer) wait(ctx context.Context) error {
	c.mu.Lock()
	target := c.queued
	for c.done < target {
		moved := c.moved
		c.mu.Unlock()
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

// takeFailure returns and forgets the failure of pair id; c.mu is held.
func (c *committer) takeFailure(id string) error {
	err := c.failed[id]
	delete(c.failed, id)
	return err
}

// failure returns and forgets the failure of pair id since the last
// report, if any.
func (c *committer) failure(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.takeFailure(id)
}

// close refuses later changes, waits for those queued and returns the
// failures not reported yet.
func (c *committer) close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wait(context.Background())
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(c.failed)) {
		errs = append(errs, fmt.Errorf("save state of peer %s: %w", id, c.failed[id]))
	}
	clear(c.failed)
	return errors.Join(errs...)
}

// behindStore is the store of one pair over the state database whose
// Commit queues the change with the engine's [committer]; every other
// method first waits for the changes queued before it.
type behindStore struct {
	p *state.Pair
	c *committer
}

var _ store = (*behindStore)(nil)

// commitFailure returns (and forgets) the failure of a change of store s
// committed behind a cycle, if any.
func commitFailure(s store) error {
	if b, ok := s.(*behindStore); ok {
		return b.c.failure(b.p.ID())
	}
	return nil
}

func (s *behindStore) Commit(ctx context.Context, c commit) error { return s.c.add(s.p, c) }

// Base returns the common state once the queued changes are durable; a
// change of this pair that failed is returned as the error.
func (s *behindStore) Base(ctx context.Context) (zerosync.Snapshot, error) {
	if err := s.c.wait(ctx); err != nil {
		return nil, err
	}
	if err := s.c.failure(s.p.ID()); err != nil {
		return nil, err
	}
	return s.p.Base(ctx)
}

func (s *behindStore) Body(ctx context.Context, d zerosync.Digest) ([]byte, bool, error) {
	if err := s.c.wait(ctx); err != nil {
		return nil, false, err
	}
	return s.p.Body(ctx, d)
}

func (s *behindStore) AddReview(ctx context.Context, it ReviewItem) (uint64, error) {
	if err := s.c.wait(ctx); err != nil {
		return 0, err
	}
	return s.p.AddReview(ctx, it)
}

func (s *behindStore) Reviews(ctx context.Context) ([]ReviewItem, error) {
	if err := s.c.wait(ctx); err != nil {
		return nil, err
	}
	return s.p.Reviews(ctx)
}

func (s *behindStore) RemoveReview(ctx context.Context, id uint64) error {
	if err := s.c.wait(ctx); err != nil {
		return err
	}
	return s.p.RemoveReview(ctx, id)
}

func (s *behindStore) Journal(ctx context.Context, after uint64, limit int) ([]Record, error) {
	if err := s.c.wait(ctx); err != nil {
		return nil, err
	}
	return s.p.Journal(ctx, after, limit)
}

func (s *behindStore) Meta(ctx context.Context, key string) (string, bool, error) {
	if err := s.c.wait(ctx); err != nil {
		return "", false, err
	}
	return s.p.Meta(ctx, key)
}

func (s *behindStore) SetMeta(ctx context.Context, key, value string) error {
	if err := s.c.wait(ctx); err != nil {
		return err
	}
	return s.p.SetMeta(ctx, key, value)
}

func (s *behindStore) ResetBase(ctx context.Context) error {
	if err := s.c.wait(ctx); err != nil {
		return err
	}
	return s.p.ResetBase(ctx)
}

func (s *behindStore) Stage(ctx context.Context, it state.StagedItem, content []byte) (uint64, error) {
	if err := s.c.wait(ctx); err != nil {
		return 0, err
	}
	return s.p.Stage(ctx, it, content)
}

func (s *behindStore) Staged(ctx context.Context) ([]state.StagedItem, error) {
	if err := s.c.wait(ctx); err != nil {
		return nil, err
	}
	return s.p.Staged(ctx)
}

func (s *behindStore) StagedContent(ctx context.Context, path string, id uint64) ([]byte, bool, error) {
	if err := s.c.wait(ctx); err != nil {
		return nil, false, err
	}
	return s.p.StagedContent(ctx, path, id)
}

func (s *behindStore) Unstage(ctx context.Context, path string, id uint64) error {
	if err := s.c.wait(ctx); err != nil {
		return err
	}
	return s.p.Unstage(ctx, path, id)
}
