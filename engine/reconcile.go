package engine

import (
	"cmp"
	"slices"
	"strings"

	"github.com/zerosync/zerosync"
)

// ThreeWay is the default [zerosync.Differ]: a pure three-way reconcile of
// two trees against their last common state. The zero value is ready to use.
type ThreeWay struct{}

var _ zerosync.Differ = ThreeWay{}

// Reconcile implements [zerosync.Differ] with [Reconcile].
func (ThreeWay) Reconcile(base, ours, theirs zerosync.Snapshot) zerosync.Plan {
	return Reconcile(base, ours, theirs)
}

// decision is what reconcile decided for one path: the entry both sides end
// with, or a conflict.
type decision struct {
	merged   *zerosync.Entry
	from     zerosync.Side
	reason   string
	conflict bool
}

// Reconcile decides, path by path, what both trees must become:
//
//   - changed on one side only: the change wins (create, modify, delete,
//     mode change, type change);
//   - changed the same way on both sides: nothing to do;
//   - deleted on one side, modified on the other: the modification survives;
//   - both directories, or the same file content, with different permission
//     bits: the side that changed the bits wins, ours when both did;
//   - anything else changed on both sides: a [zerosync.Conflict].
//
// Then it makes the outcome a valid tree: every path that survives gets
// directories for parents, so a directory deleted on one side while the
// other side added files to it is kept with the new files, and a directory
// turned into a file on one side while the other added files to it becomes a
// conflict.
//
// The actions are ordered: removals deepest first, then creations and
// updates shallowest first. A path whose kind changes is removed, then
// created. A side's entry that is replaced or removed is archived when its
// content differs from the base, that is when the other side never saw it.
//
// A path the same on both sides needs nothing, whatever the base says, so
// it costs one lookup (in theirs, from a pass over ours); theirs is walked
// only when it holds paths ours lacks (counted during that pass), and the
// base is looked up only for paths that differ. A path deleted on both
// sides needs nothing either, and is not looked at.
func Reconcile(base, ours, theirs zerosync.Snapshot) zerosync.Plan {
	decisions := make(map[string]*decision)
	inTheirs := 0 // paths of ours found in theirs
	for p, a := range ours {
		b, inB := theirs[p]
		if inB {
			inTheirs++
			if a.Same(&b) {
				continue
			}
		}
		o, inO := base[p]
		decisions[p] = decide(ptr(o, inO), ptr(a, true), ptr(b, inB))
	}
	if inTheirs < len(theirs) {
		for p, b := range theirs {
			if _, ok := ours[p]; ok {
				continue
			}
			o, inO := base[p]
			decisions[p] = decide(ptr(o, inO), nil, ptr(b, true))
		}
	}
	keepParents(decisions, base, ours, theirs)

	plan := zerosync.Plan{Actions: make([]zerosync.Action, 0, len(decisions))}
	for p, d := range decisions {
		o, a, b := base.Get(p), ours.Get(p), theirs.Get(p)
		if d.conflict {
			plan.Conflicts = append(plan.Conflicts, zerosync.Conflict{Path: p, Base: o, Ours: a, Theirs: b})
			continue
		}
		plan.Actions = appendOps(plan.Actions, zerosync.Ours, d, p, o, a)
		plan.Actions = appendOps(plan.Actions, zerosync.Theirs, d, p, o, b)
	}
	SortActions(plan.Actions)
	slices.SortFunc(plan.Conflicts, func(a, b zerosync.Conflict) int { return strings.Compare(a.Path, b.Path) })
	return plan
}

func ptr(e zerosync.Entry, ok bool) *zerosync.Entry {
	if !ok {
		return nil
	}
	return &e
}

func decide(o, a, b *zerosync.Entry) *decision {
	switch {
	case a.Same(b):
		return &decision{merged: a}
	case a.Same(o):
		return &decision{merged: b, from: zerosync.Theirs, reason: verb(o, b) + " on theirs"}
	case b.Same(o):
		return &decision{merged: a, from: zerosync.Ours, reason: verb(o, a) + " on ours"}
	}
	// Both sides changed, differently.
	switch {
	case a == nil && b.Kind == zerosync.KindDir && o != nil && o.Kind == zerosync.KindDir:
		// Deleted against a mode change: a directory's bits carry no data.
		return &decision{merged: nil, from: zerosync.Ours, reason: "deleted on ours"}
	case b == nil && a.Kind == zerosync.KindDir && o != nil && o.Kind == zerosync.KindDir:
		return &decision{merged: nil, from: zerosync.Theirs, reason: "deleted on theirs"}
	case a == nil:
		return &decision{merged: b, from: zerosync.Theirs, reason: "kept: " + verb(o, b) + " on theirs, deleted on ours"}
	case b == nil:
		return &decision{merged: a, from: zerosync.Ours, reason: "kept: " + verb(o, a) + " on ours, deleted on theirs"}
	case a.SameContent(b):
		// Same data, both changed the permission bits: the side whose bits
		// moved wins; ours when both moved.
		if o != nil && o.Kind == a.Kind && o.Mode.Perm() == a.Mode.Perm() {
			return &decision{merged: b, from: zerosync.Theirs, reason: "mode changed on theirs"}
		}
		return &decision{merged: a, from: zerosync.Ours, reason: "mode changed on both; ours kept"}
	}
	return &decision{conflict: true}
}

// verb names the change from o to n.
func verb(o, n *zerosync.Entry) string {
	switch {
	case o == nil:
		return "created"
	case n == nil:
		return "deleted"
	case o.Kind != n.Kind:
		return "changed to " + n.Kind.String()
	case o.SameContent(n):
		return "mode changed"
	}
	return "modified"
}

// keepParents makes the decided outcome a tree: the parents of every path
// that survives must survive as directories.
func keepParents(ds map[string]*decision, base, ours, theirs zerosync.Snapshot) {
	present := func(d *decision) bool { return d.conflict || d.merged != nil }
	checked := make(map[string]bool)
	for p, d := range ds {
		if !present(d) {
			continue
		}
		for dir := zerosync.Parent(p); dir != "" && !checked[dir]; dir = zerosync.Parent(dir) {
			checked[dir] = true
			pd := ds[dir]
			if pd == nil {
				// The same directory on every side: nothing to keep.
				break
			}
			switch {
			case pd.conflict:
				// A conflict between a directory and something else is
				// settled in favour of the directory.
			case pd.merged == nil:
				// Deleted on one side while the other side kept something
				// beneath it: bring the directory back.
				if e := theirs.Get(dir); e != nil && e.Kind == zerosync.KindDir {
					*pd = decision{merged: e, from: zerosync.Theirs, reason: "kept: theirs has new content inside"}
				} else if e := ours.Get(dir); e != nil && e.Kind == zerosync.KindDir {
					*pd = decision{merged: e, from: zerosync.Ours, reason: "kept: ours has new content inside"}
				}
			case pd.merged.Kind != zerosync.KindDir:
				// Turned into a file or link on one side while the other
				// kept content beneath it.
				*pd = decision{conflict: true}
			}
		}
	}
}

func appendOps(acts []zerosync.Action, side zerosync.Side, d *decision, p string, o, cur *zerosync.Entry) []zerosync.Action {
	want := d.merged
	if cur.Same(want) {
		return acts
	}
	reason := d.reason
	if reason == "" {
		reason = "converge"
	}
	archive := cur != nil && cur.Kind != zerosync.KindDir && !cur.SameContent(o)
	if cur != nil && want != nil && cur.Kind != want.Kind {
		acts = append(acts, zerosync.Action{Side: side, From: d.from, Reason: reason,
			Op: zerosync.Op{Path: p, Old: cur, Archive: archive}})
		return append(acts, zerosync.Action{Side: side, From: d.from, Reason: reason,
			Op: zerosync.Op{Path: p, New: want}})
	}
	return append(acts, zerosync.Action{Side: side, From: d.from, Reason: reason,
		Op: zerosync.Op{Path: p, Old: cur, New: want, Archive: archive}})
}

// SortActions orders actions so that applying them in sequence is valid:
// removals first, deepest first; then creations and updates, shallowest
// first. Ours comes before theirs at the same path.
func SortActions(acts []zerosync.Action) {
	slices.SortStableFunc(acts, func(x, y zerosync.Action) int {
		xr, yr := x.New == nil, y.New == nil
		switch {
		case xr && !yr:
			return -1
		case !xr && yr:
			return 1
		case xr:
			return cmp.Or(strings.Compare(y.Path, x.Path), cmp.Compare(x.Side, y.Side))
		}
		return cmp.Or(strings.Compare(x.Path, y.Path), cmp.Compare(x.Side, y.Side))
	})
}
