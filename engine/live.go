package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/zerosync/zerosync"
)

// live is the part of an engine that a controller changes or watches
// while the engine runs: the event subscribers, the flush requests waiting
// for a cycle, and the watchers of the trees.
type live struct {
	subs subscribers
	// flushes wait for the next cycle's report (under Engine.mu).
	flushes []chan flushResult
	// watchTree starts watching a tree for Run; nil while Run is not
	// active. It is called with Engine.mu held.
	watchTree func(t *tree)
	// watchers stop the watcher of each watched tree and wait for it to
	// return (under Engine.mu).
	watchers map[*tree]func()
	// storeFor returns the durable state of the pair with a peer.
	storeFor func(peer string) store
}

// ErrPeerExists: a peer of that name is already synced.
var ErrPeerExists = errors.New("a peer of that name is already synced")

// ErrUnknownPeer: the engine syncs with no peer of that name.
var ErrUnknownPeer = errors.New("no peer of that name")

// ErrLastPeer: the engine's last peer cannot be removed.
var ErrLastPeer = errors.New("the last peer cannot be removed")

// Name returns the engine's name ([WithName]).
func (e *Engine) Name() string { return e.name }

// Local returns the engine's own tree.
func (e *Engine) Local() Peer { return e.local }

// AddPeer starts syncing with p, between cycles, as if it had been given to
// [New]: its name must be new, and its root apart from the other roots; it
// is staged if [WithStaged] named it. Its
// pair's state is the one the state database holds for that name, if any
// (a peer removed and added again goes on where it stopped; a root that is
// not the tree the pair synced halts the pair until it is adopted). When
// [Engine.Run] is active, the peer's watcher starts and a cycle syncs it
// soon; otherwise the next cycle does. AddPeer waits for a cycle under way
// to finish. The engine does not close p's endpoint, now or later.
func (e *Engine) AddPeer(ctx context.Context, p Peer) error {
	if p.Endpoint == nil {
		return errors.New("engine: add peer: nil endpoint")
	}
	if p.Name == "" {
		return errors.New("engine: add peer: empty name")
	}
	if err := lockCtx(ctx, &e.cycle); err != nil {
		return err
	}
	defer e.cycle.Unlock()
	all := []Peer{e.local}
	for _, q := range e.pairs {
		all = append(all, q.peer.Peer)
	}
	for _, q := range all {
		if q.Name == p.Name {
			return fmt.Errorf("engine: add peer %q: %w", p.Name, ErrPeerExists)
		}
	}
	if err := e.checkRootsApart(append(all, p)); err != nil {
		return err
	}
	np := &pair{peer: &tree{Peer: p}, store: e.live.storeFor(p.Name), full: true, staged: e.staged[p.Name]}
	e.mu.Lock()
	e.pairs = append(slices.Clip(e.pairs), np)
	if e.live.watchTree != nil {
		e.live.watchTree(np.peer)
	}
	e.mu.Unlock()
	e.log.InfoContext(ctx, "peer added", "peer", p.Name)
	e.kick()
	return nil
}

// RemovePeer stops syncing with the peer named name, between cycles: its
// watcher is stopped (and has returned when RemovePeer does), it leaves
// [Engine.Status] and the cycles, and a halt of its pair is forgotten. The
// pair's state stays in the state database, so adding the peer again goes
// on where it stopped. The last peer cannot be removed ([ErrLastPeer]).
// The engine does not close the peer's endpoint. RemovePeer waits for a
// cycle under way to finish.
func (e *Engine) RemovePeer(ctx context.Context, name string) error {
	if err := lockCtx(ctx, &e.cycle); err != nil {
		return err
	}
	defer e.cycle.Unlock()
	i := slices.IndexFunc(e.pairs, func(p *pair) bool { return p.peer.Name == name })
	if i < 0 {
		return fmt.Errorf("engine: remove peer %q: %w", name, ErrUnknownPeer)
	}
	if len(e.pairs) == 1 {
		return fmt.Errorf("engine: remove peer %q: %w", name, ErrLastPeer)
	}
	t := e.pairs[i].peer
	e.mu.Lock()
	e.pairs = slices.Delete(slices.Clone(e.pairs), i, i+1)
	delete(e.halted, name)
	stop := e.live.watchers[t]
	delete(e.live.watchers, t)
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
	e.log.InfoContext(ctx, "peer removed", "peer", name)
	return nil
}

// lockCtx takes mu, giving up when ctx ends first.
func lockCtx(ctx context.Context, mu *sync.Mutex) error {
	if mu.TryLock() {
		return nil
	}
	got := make(chan struct{})
	go func() {
		mu.Lock()
		close(got)
	}()
	select {
	case <-got:
		return nil
	case <-ctx.Done():
		// The lock is released as soon as the goroutine gets it.
		go func() {
			<-got
			mu.Unlock()
		}()
		return ctx.Err()
	}
}

// pairList returns the pairs. A caller holding the cycle lock may read
// e.pairs directly: it changes only under both locks, by copy.
func (e *Engine) pairList() []*pair {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pairs
}

// trees returns our tree and every peer's.
func (e *Engine) trees() []*tree {
	ps := e.pairList()
	ts := make([]*tree, 0, len(ps)+1)
	ts = append(ts, e.ours)
	for _, p := range ps {
		ts = append(ts, p.peer)
	}
	return ts
}

// startWatching watches every tree that can watch until ctx ends, and
// lets AddPeer watch the trees it adds, until stopWatching.
func (e *Engine) startWatching(ctx context.Context, wg *sync.WaitGroup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.live.watchers = map[*tree]func(){}
	e.live.watchTree = func(t *tree) {
		w, ok := zerosync.As[zerosync.Watcher](t.Endpoint)
		if !ok {
			return
		}
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		e.live.watchers[t] = func() {
			cancel()
			<-done
		}
		wg.Go(func() {
			defer close(done)
			defer cancel()
			e.watchSupervised(wctx, t, w)
		})
	}
	e.live.watchTree(e.ours)
	for _, p := range e.pairs {
		e.live.watchTree(p.peer)
	}
}

// stopWatching keeps AddPeer from starting watchers; Run then stops those
// running by cancelling their context.
func (e *Engine) stopWatching() {
	e.mu.Lock()
	e.live.watchTree, e.live.watchers = nil, nil
	e.mu.Unlock()
}

// sourceStopped reports a source or watcher that stopped before ctx
// ended.
func (e *Engine) sourceStopped(ctx context.Context, err error) {
	if err != nil && ctx.Err() == nil {
		e.log.ErrorContext(ctx, "source stopped", "err", err)
		e.emit(zerosync.Event{Kind: zerosync.EventError, Err: err})
	}
}

// runEnded records that Run returned, and fails the flushes still
// waiting for a cycle.
func (e *Engine) runEnded() {
	e.mu.Lock()
	e.status.Running = false
	flushes := e.live.flushes
	e.live.flushes = nil
	e.mu.Unlock()
	answerFlushes(flushes, zerosync.Report{}, errRunEnded)
}
