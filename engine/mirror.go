package engine

import (
	"github.com/zerosync/zerosync"
)

// Mirror is a one-way [zerosync.Differ]: our tree is the source of truth and
// the peer's tree is made identical to it (a website deploy, a device
// configuration push). It never writes to our tree and never reports a
// conflict; a peer file that is replaced or removed while its content is not
// the last one synced (someone edited the target) is archived first.
type Mirror struct{}

var _ zerosync.Differ = Mirror{}

// Reconcile implements [zerosync.Differ].
func (Mirror) Reconcile(base, ours, theirs zerosync.Snapshot) zerosync.Plan {
	var plan zerosync.Plan
	add := func(p string) {
		want, cur := ours.Get(p), theirs.Get(p)
		if want.Same(cur) {
			return
		}
		d := &decision{merged: want, from: zerosync.Ours, reason: "mirrored from ours"}
		plan.Actions = appendOps(plan.Actions, zerosync.Theirs, d, p, base.Get(p), cur)
	}
	for p := range ours {
		add(p)
	}
	for p := range theirs {
		if _, ok := ours[p]; !ok {
			add(p)
		}
	}
	SortActions(plan.Actions)
	return plan
}
