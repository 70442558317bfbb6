package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/zerosync/zerosync"
)

// PeerStatus is what the engine knows of one peer, for people and for
// monitoring.
type PeerStatus struct {
	Name string
	// Location is where the peer's root is, when its endpoint tells
	// ([zerosync.Locator]); zero otherwise.
	Location zerosync.Location
	// Replica is the replica ID of the peer's root as the pair last
	// synced it ([zerosync.RootID]); empty before the first sync, or when
	// the endpoint cannot tell.
	Replica string
	// LastSync is when the pair last finished a sync in a cycle, whether
	// it succeeded or not; zero before the first.
	LastSync time.Time
	// Duration is how long that sync took (every pass of a cycle that
	// synced the pair more than once, because another pair changed our
	// tree after it).
	Duration time.Duration
	// Err is what stopped the pair in that sync (the peer unreachable,
	// its root missing, our own tree unreadable); nil when it synced.
	Err error
	// Halted is why [Engine.Run] halted the pair until a person acts; nil
	// when it is not halted.
	Halted error
	// Review is the number of conflicts with the peer waiting for a
	// person.
	Review int
	// Watched is set while a live watcher reports the changes of the
	// peer's tree (under [Engine.Run]); otherwise it is scanned whole.
	Watched bool
	// Polled is set while the peer's watcher failed and [Engine.Run]
	// rescans its tree on a schedule instead ([WithPollInterval]).
	Polled bool
	// Failures counts the syncs with the peer that failed in a row
	// (under [Engine.Run]); 0 once one succeeds.
	Failures int
	// Failed is set once Failures passed the retry policy's attempts
	// ([WithRetry]): the peer is retried slowly.
	Failed bool
	// NextRetry is when a failing peer is tried again; zero when it is
	// not failing.
	NextRetry time.Time
	// LastError is the last failure's error, kept after the peer
	// recovered; nil when it never failed.
	LastError error
}

// pairStat is how a pair's last sync went, and how its retries stand.
type pairStat struct {
	end time.Time
	dur time.Duration
	err error
	// failures counts the syncs that failed in a row, failed is set past
	// the retry policy's attempts, next is when the pair is tried again,
	// lastErr the last failure's error (kept after a recovery).
	failures int
	failed   bool
	next     time.Time
	lastErr  error
}

// notePair records how syncing p went in pass pass of a cycle.
func (e *Engine) notePair(p *pair, pass int, start time.Time, err error) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if pass == 0 {
		p.stat.end, p.stat.dur, p.stat.err = now, now.Sub(start), err
		return
	}
	p.stat.end = now
	p.stat.dur += now.Sub(start)
	if err != nil {
		p.stat.err = err
	}
}

// Peers returns the state of every peer, in the engine's order. A review
// queue that cannot be read is an error.
func (e *Engine) Peers(ctx context.Context) ([]PeerStatus, error) {
	e.mu.Lock()
	pairs := e.pairs
	out := make([]PeerStatus, len(pairs))
	for i, p := range pairs {
		out[i] = PeerStatus{Name: p.peer.Name, LastSync: p.stat.end, Duration: p.stat.dur, Err: p.stat.err, Halted: e.halted[p.peer.Name],
			Failures: p.stat.failures, Failed: p.stat.failed, NextRetry: p.stat.next, LastError: p.stat.lastErr}
	}
	e.mu.Unlock()
	for i, p := range pairs {
		if l, ok := zerosync.As[zerosync.Locator](p.peer.Endpoint); ok {
			out[i].Location = l.Location()
		}
		p.peer.mu.Lock()
		out[i].Watched = p.peer.watched
		p.peer.mu.Unlock()
		out[i].Polled = p.peer.isPolled()
		if b, ok, err := p.loadBinding(ctx); err == nil && ok {
			out[i].Replica = b.Roots[1].Replica
		}
		items, err := p.store.Reviews(ctx)
		if err != nil {
			return nil, fmt.Errorf("engine: conflicts waiting with %s: %w", p.peer.Name, err)
		}
		out[i].Review = len(items)
	}
	return out, nil
}

// Replica returns the replica ID of our root ([zerosync.RootID]), as the
// endpoint tells it now; empty when it cannot tell, or before the root was
// marked (its first sync).
func (e *Engine) Replica(ctx context.Context) string {
	st, err := e.identify(ctx, e.ours)
	if err != nil || st.id == nil {
		return ""
	}
	return st.id.Replica
}

// PeerEndpoint returns the endpoint of the peer called name, for a
// controller that reaches the peer's host another way (its daemon); false
// when the engine has no such peer. The engine still owns the endpoint.
func (e *Engine) PeerEndpoint(name string) (zerosync.Endpoint, bool) {
	for _, p := range e.pairList() {
		if p.peer.Name == name {
			return p.peer.Endpoint, true
		}
	}
	return nil, false
}
