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
	// LastSync is when the pair last finished a sync in a cycle, whether
	// it succeeded or not; zero before the first.
	LastSync time.Time
	// Duration is how long that sync took (both passes of a cycle that
	// synced the pair twice).
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
}

// pairStat is how a pair's last sync went.
type pairStat struct {
	end time.Time
	dur time.Duration
	err error
}

// notePair records how syncing p went in pass pass of a cycle.
func (e *Engine) notePair(p *pair, pass int, start time.Time, err error) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if pass == 0 {
		p.stat = pairStat{end: now, dur: now.Sub(start), err: err}
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
		out[i] = PeerStatus{Name: p.peer.Name, LastSync: p.stat.end, Duration: p.stat.dur, Err: p.stat.err, Halted: e.halted[p.peer.Name]}
	}
	e.mu.Unlock()
	for i, p := range pairs {
		if l, ok := zerosync.As[zerosync.Locator](p.peer.Endpoint); ok {
			out[i].Location = l.Location()
		}
		p.peer.mu.Lock()
		out[i].Watched = p.peer.watched
		p.peer.mu.Unlock()
		items, err := p.store.Reviews(ctx)
		if err != nil {
			return nil, fmt.Errorf("engine: conflicts waiting with %s: %w", p.peer.Name, err)
		}
		out[i].Review = len(items)
	}
	return out, nil
}
