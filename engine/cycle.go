package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/zerosync/zerosync"
)

// SyncOnce runs one cycle over every pair and returns what it did. Per-path
// failures are Problems in the report; the error reports what stopped a pair
// (a missing root, a mass deletion, a hostile snapshot), naming the peer.
// Other pairs go on.
func (e *Engine) SyncOnce(ctx context.Context) (zerosync.Report, error) {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	rep := zerosync.Report{Start: time.Now()}
	e.mu.Lock()
	paused, confirm := e.status.Paused, e.confirm
	e.confirm = false
	e.mu.Unlock()
	if paused {
		return rep, zerosync.ErrPaused
	}
	e.emit(zerosync.Event{Kind: zerosync.EventCycleStart, Time: rep.Start})

	var (
		local zerosync.Snapshot
		errs  []error
		todo  = e.pairs
	)
	for pass := 0; pass < 2 && len(todo) > 0; pass++ {
		last := -1
		for i, p := range todo {
			changed, err := e.syncPair(ctx, p, &local, confirm, &rep)
			if err != nil {
				if ctx.Err() != nil {
					return e.finish(rep, ctx.Err())
				}
				errs = append(errs, fmt.Errorf("peer %s: %w", p.peer.Name, err))
				e.log.WarnContext(ctx, "pair stopped", "peer", p.peer.Name, "err", err)
			}
			if changed {
				last = i
			}
		}
		// Pairs before the last one that changed our tree have not seen
		// that change yet.
		todo = todo[:max(last, 0)]
	}
	return e.finish(rep, errors.Join(errs...))
}

func (e *Engine) finish(rep zerosync.Report, err error) (zerosync.Report, error) {
	rep.End = time.Now()
	e.mu.Lock()
	e.status.LastCycle = rep.End
	e.status.LastError = err
	e.status.Cycles++
	e.mu.Unlock()
	if err != nil {
		e.emit(zerosync.Event{Kind: zerosync.EventError, Err: err})
	}
	e.emit(zerosync.Event{Kind: zerosync.EventCycleEnd, Report: &rep})
	return rep, err
}

// scan reads one side and checks what it says.
func (e *Engine) scan(ctx context.Context, t Peer, side zerosync.Side, rep *zerosync.Report) (zerosync.Snapshot, error) {
	s, probs, err := t.Endpoint.Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", t.Name, err)
	}
	for _, pr := range probs {
		pr.Side = side
		e.problem(rep, t.Name, pr)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("refusing the tree reported by %s: %w", t.Name, err)
	}
	return s, nil
}

func (e *Engine) problem(rep *zerosync.Report, peer string, pr zerosync.Problem) {
	rep.Problems = append(rep.Problems, pr)
	e.log.Warn("problem", "peer", peer, "path", pr.Path, "side", pr.Side, "err", pr.Err)
	e.emit(zerosync.Event{Kind: zerosync.EventProblem, Peer: peer, Problem: &pr})
}

// syncPair syncs our tree with one peer. local is our tree's snapshot, scanned
// on first use and kept up to date with what this pair wrote to it.
func (e *Engine) syncPair(ctx context.Context, p *pair, local *zerosync.Snapshot, confirm bool, rep *zerosync.Report) (changedOurs bool, err error) {
	if *local == nil {
		s, err := e.scan(ctx, e.local, zerosync.Ours, rep)
		if err != nil {
			return false, err
		}
		*local = s
	}
	theirsAll, err := e.scan(ctx, p.peer, zerosync.Theirs, rep)
	if err != nil {
		return false, err
	}
	if p.base == nil {
		b, err := p.store.Base(ctx)
		if err != nil {
			return false, fmt.Errorf("load state: %w", err)
		}
		p.base = b
	}
	base := applyFilter(p.base, e.filter)
	snaps := [2]zerosync.Snapshot{applyFilter(*local, e.filter), applyFilter(theirsAll, e.filter)}
	names := [2]string{e.local.Name, p.peer.Name}
	for _, v := range e.views {
		vp := &ViewPair{Names: names, Endpoints: [2]zerosync.Endpoint{e.local.Endpoint, p.peer.Endpoint}, Base: base, Ours: snaps[0], Theirs: snaps[1]}
		if err := v.View(ctx, vp); err != nil {
			return false, fmt.Errorf("view: %w", err)
		}
		base, snaps[0], snaps[1] = vp.Base, vp.Ours, vp.Theirs
		for _, pr := range vp.Problems {
			e.problem(rep, p.peer.Name, pr)
		}
	}

	if !confirm {
		for side, s := range snaps {
			if len(s) == 0 && len(base) > 0 {
				return false, fmt.Errorf("%w: %s has no files, but %d paths were synced before; if it was emptied on purpose, confirm the deletions (Engine.ConfirmDeletions) and sync again",
					zerosync.ErrRootEmpty, names[side], len(base))
			}
		}
	}

	plan := e.differ.Reconcile(base, snaps[0], snaps[1])
	if !confirm {
		if err := e.checkDeletions(plan, len(base), names); err != nil {
			return false, err
		}
	}

	run := &applyRun{e: e, p: p, snaps: snaps, names: names, rep: rep, merged: map[string][]byte{}, bodies: map[zerosync.Digest][]byte{}}
	acts := plan.Actions
	for _, c := range plan.Conflicts {
		more, err := run.settle(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			e.problem(rep, p.peer.Name, zerosync.Problem{Path: c.Path, Side: zerosync.Theirs, Err: fmt.Errorf("conflict not settled: %w", err)})
			continue
		}
		acts = append(acts, more...)
	}
	SortActions(acts)
	final := run.apply(ctx, acts)
	if err := ctx.Err(); err != nil {
		return false, err
	}

	// The common state moves to whatever both sides now agree on.
	c := commit{Base: map[string]*zerosync.Entry{}, Bodies: run.bodies, Journal: run.journal}
	check := func(path string) {
		a, b := final[0].Get(path), final[1].Get(path)
		if !a.Same(b) {
			return
		}
		if o := base.Get(path); !o.Same(a) {
			c.Base[path] = a
		}
	}
	for path := range final[0] {
		check(path)
	}
	for path := range final[1] {
		if _, ok := final[0][path]; !ok {
			check(path)
		}
	}
	for path := range base {
		if _, ok := final[0][path]; !ok {
			check(path)
		}
	}
	if len(c.Base) > 0 || len(c.Journal) > 0 {
		if err := p.store.Commit(ctx, c); err != nil {
			return false, fmt.Errorf("save state: %w", err)
		}
		nb := maps.Clone(p.base)
		for path, en := range c.Base {
			if en == nil {
				delete(nb, path)
			} else {
				nb[path] = *en
			}
		}
		p.base = nb
	}
	if run.changed[zerosync.Ours] {
		// Keep the paths the filter hid, and take what we wrote.
		nl := maps.Clone(*local)
		for path := range snaps[0] {
			if _, ok := final[0][path]; !ok {
				delete(nl, path)
			}
		}
		maps.Copy(nl, final[0])
		*local = nl
	}
	return run.changed[zerosync.Ours], nil
}

// checkDeletions stops a plan that removes too much of either side.
func (e *Engine) checkDeletions(plan zerosync.Plan, synced int, names [2]string) error {
	var dels [2]int
	recreated := map[[2]string]bool{}
	for _, a := range plan.Actions {
		if a.New != nil && a.Old == nil {
			recreated[[2]string{a.Side.String(), a.Path}] = true
		}
	}
	for _, a := range plan.Actions {
		if a.New == nil && !recreated[[2]string{a.Side.String(), a.Path}] {
			dels[a.Side]++
		}
	}
	for side, n := range dels {
		if n >= e.delMin && float64(n) > e.delShare*float64(synced) {
			return fmt.Errorf("%w: %d of %d synced paths would be deleted on %s (limit %.0f%%); if that is intended, confirm the deletions (Engine.ConfirmDeletions) and sync again",
				zerosync.ErrMassDeletion, n, synced, names[side], e.delShare*100)
		}
	}
	return nil
}
