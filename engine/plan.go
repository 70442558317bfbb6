package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerosync/zerosync"
)

// PairPlan is what a cycle would do for one pair.
type PairPlan struct {
	zerosync.Plan
	// Problems are what the cycle would report for the pair: paths that
	// could not be read, repositories a view holds back, names that would
	// collide in a directory that folds names.
	Problems []zerosync.Problem
	// Err is what would stop the pair before anything is applied (a
	// changed root, an emptied root, a mass deletion); nil when it would go
	// ahead.
	Err error
}

// Plan scans every pair and returns, by peer, what a full cycle would do,
// without changing anything: the dry run of a deploy. It takes the steps of
// a real cycle in the same order (root identities, what could not be read,
// the filter, the views, the guards, the differ, names that would collide),
// so it shows what [Engine.SyncOnce] would do, problems included. Conflicts
// are listed, not settled. It does not move the common state. The error
// joins what stopped pairs, as SyncOnce's does; a scan of our own tree that
// fails stops it all.
func (e *Engine) Plan(ctx context.Context) (map[string]PairPlan, error) {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	e.mu.Lock()
	confirm := e.confirm
	e.mu.Unlock()
	var rep zerosync.Report
	ours, err := e.scan(ctx, e.ours, zerosync.Ours, &rep)
	if err != nil {
		return nil, err
	}
	ourProblems := rep.Problems
	ourRoot := e.ourRoot(ctx)
	out := map[string]PairPlan{}
	var errs []error
	for _, p := range e.pairs {
		pp, err := e.planPair(ctx, p, ours, ourRoot, confirm)
		pp.Problems = append(append([]zerosync.Problem(nil), ourProblems...), pp.Problems...)
		pp.Err = err
		out[p.peer.Name] = pp
		if err != nil {
			errs = append(errs, fmt.Errorf("peer %s: %w", p.peer.Name, err))
		}
	}
	return out, errors.Join(errs...)
}

// planPair is syncPair's steps up to the plan, on a full scan.
func (e *Engine) planPair(ctx context.Context, p *pair, ours zerosync.Snapshot, ourRoot func() (rootState, error), confirm bool) (PairPlan, error) {
	var pp PairPlan
	var rep zerosync.Report
	theirs, err := e.scan(ctx, p.peer, zerosync.Theirs, &rep)
	pp.Problems = rep.Problems
	if err != nil {
		return pp, err
	}
	if p.base == nil {
		b, err := p.store.Base(ctx)
		if err != nil {
			return pp, fmt.Errorf("load state: %w", err)
		}
		p.base, p.full = hold(b), true
	}
	if err := e.checkPairRoots(ctx, p, ourRoot, true); err != nil {
		return pp, err
	}
	held := [2]*held{hold(ours), hold(theirs)}
	pt, err := e.narrow(ctx, p, p.base, held[0], held[1], true, nil)
	if err != nil {
		return pp, err
	}
	pp.Problems = append(pp.Problems, pt.problems...)
	pp.Plan, err = e.decide(pt, confirm)
	if err == nil {
		eps := [2]zerosync.Endpoint{e.local.Endpoint, p.peer.Endpoint}
		f := e.collisions(ctx, eps, pt.names, held, pp.Actions)
		pp.Actions, pp.Problems = f.keep, append(pp.Problems, f.probs...)
	}
	return pp, err
}
