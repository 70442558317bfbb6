package engine

import (
	"context"
	"fmt"

	"github.com/zerosync/zerosync"
)

// Plan scans every pair and returns, by peer, what a cycle would do,
// without changing anything: the dry run of a deploy. Conflicts are listed,
// not settled. It does not move the common state.
func (e *Engine) Plan(ctx context.Context) (map[string]zerosync.Plan, error) {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	var rep zerosync.Report
	ours, err := e.scan(ctx, e.ours, zerosync.Ours, &rep)
	if err != nil {
		return nil, err
	}
	out := map[string]zerosync.Plan{}
	for _, p := range e.pairs {
		theirs, err := e.scan(ctx, p.peer, zerosync.Theirs, &rep)
		if err != nil {
			return nil, fmt.Errorf("peer %s: %w", p.peer.Name, err)
		}
		base, err := p.store.Base(ctx)
		if err != nil {
			return nil, err
		}
		hidden := [2]map[string]bool{e.ours.unsure, p.peer.unsure}
		base, o, t := hide(applyFilter(base, e.filter), hidden[:]...), hide(applyFilter(ours, e.filter), hidden[:]...), hide(applyFilter(theirs, e.filter), hidden[:]...)
		for _, v := range e.views {
			vp := &ViewPair{Names: [2]string{e.local.Name, p.peer.Name}, Endpoints: [2]zerosync.Endpoint{e.local.Endpoint, p.peer.Endpoint}, Base: base, Ours: o, Theirs: t}
			if err := v.View(ctx, vp); err != nil {
				return nil, fmt.Errorf("view: %w", err)
			}
			base, o, t = vp.Base, vp.Ours, vp.Theirs
		}
		out[p.peer.Name] = e.differ.Reconcile(base, o, t)
	}
	return out, nil
}
