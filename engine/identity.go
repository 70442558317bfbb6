package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/zerosync/zerosync"
)

// metaBinding is the pair metadata key holding the pair's [binding].
const metaBinding = "binding"

// rootRecord is what a pair remembers of one root.
type rootRecord struct {
	Replica    string `json:"replica,omitempty"`
	Filesystem string `json:"filesystem,omitempty"`
	Location   string `json:"location,omitempty"`
}

// binding ties a pair's state to its two roots, ours first.
type binding struct {
	Roots [2]rootRecord `json:"roots"`
}

// rootState is what a cycle learnt of one root before planning: its
// identity (nil when the endpoint cannot tell) and its location.
type rootState struct {
	id  *zerosync.RootID
	loc string
}

// RootChangedError says that a root of a pair is not the tree the pair last
// synced, or that the pair's stored state was made for other roots. The
// pair halts, deleting nothing, until the root is adopted ([Engine.Adopt]).
// It wraps [zerosync.ErrRootChanged] or, when the state belongs to another
// pair of roots, [zerosync.ErrForeignState].
type RootChangedError struct {
	// Peer is the pair's peer.
	Peer string
	// Trees names the trees whose roots differ, with their locations.
	Trees []string
	// What says what differs, for people.
	What string
	// Foreign is set when the stored state belongs to another pair.
	Foreign bool
}

func (e *RootChangedError) Error() string {
	if e.Foreign {
		return fmt.Sprintf("%s: the stored state of pair %q was made for other roots (%s); nothing was synced. To sync these roots as a new pair, adopt them: the first sync then has no ancestor (differences become conflicts, nothing is deleted)",
			zerosync.ErrForeignState, e.Peer, e.What)
	}
	return fmt.Sprintf("%s: %s: %s; nothing was synced. If this is the tree to sync from now on, adopt it: the pair then syncs with no ancestor (differences become conflicts, nothing is deleted)",
		zerosync.ErrRootChanged, strings.Join(e.Trees, " and "), e.What)
}

// Unwrap returns [zerosync.ErrForeignState] or [zerosync.ErrRootChanged].
func (e *RootChangedError) Unwrap() error {
	if e.Foreign {
		return zerosync.ErrForeignState
	}
	return zerosync.ErrRootChanged
}

// identify reads the identity of t's root. An endpoint without the ability
// (or a remote one whose agent lacks it) gives a nil identity: the pair is
// then guarded by the emptied-root and deletion checks alone.
func (e *Engine) identify(ctx context.Context, t *tree) (rootState, error) {
	st := rootState{loc: t.Name}
	if l, ok := zerosync.As[zerosync.Locator](t.Endpoint); ok {
		st.loc = l.Location().String()
	}
	idr, ok := zerosync.As[zerosync.Identifier](t.Endpoint)
	if !ok {
		return st, nil
	}
	id, err := idr.RootID(ctx)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("identify the root of %s: %w", t.Name, err)
	}
	st.id = &id
	return st, nil
}

// loadBinding returns the pair's binding, and false when it has none.
func (p *pair) loadBinding(ctx context.Context) (binding, bool, error) {
	v, ok, err := p.store.Meta(ctx, metaBinding)
	if err != nil || !ok || v == "" {
		return binding{}, false, err
	}
	var b binding
	if err := json.Unmarshal([]byte(v), &b); err != nil {
		return binding{}, false, fmt.Errorf("stored binding of pair %q: %w", p.peer.Name, err)
	}
	return b, true, nil
}

// checkRoots makes sure both roots of p are the trees the pair last synced
// before anything is planned. A pair with no binding yet (its first sync)
// is bound: roots without a marker get one, and both identities are stored.
// A bound pair whose roots differ from the binding halts with a
// *[RootChangedError], unless it never synced anything (then it is bound
// anew: there is nothing it could delete). With dry, nothing is written:
// the check only says whether the pair would halt.
func (e *Engine) checkRoots(ctx context.Context, p *pair, roots [2]rootState, dry bool) error {
	b, bound, err := p.loadBinding(ctx)
	if err != nil {
		return err
	}
	trees := [2]*tree{e.ours, p.peer}
	if bound {
		var bad []int
		var what []string
		for side, st := range roots {
			rec := b.Roots[side]
			if st.id == nil || rec.Replica == "" {
				continue
			}
			switch {
			case st.id.Replica == "":
				what = append(what, fmt.Sprintf("%s has no marker (%s) any more", trees[side].Name, zerosync.MarkerPath))
			case st.id.Replica != rec.Replica:
				what = append(what, fmt.Sprintf("%s holds replica %s, but the pair synced replica %s", trees[side].Name, st.id.Replica, rec.Replica))
			case rec.Filesystem != "" && st.id.Filesystem != "" && st.id.Filesystem != rec.Filesystem:
				what = append(what, fmt.Sprintf("%s is on another file system or is another directory (%s, was %s)", trees[side].Name, st.id.Filesystem, rec.Filesystem))
			default:
				continue
			}
			bad = append(bad, side)
		}
		if len(bad) == 0 {
			if dry {
				return nil
			}
			return e.updateLocations(ctx, p, b, roots)
		}
		if p.base.Len() > 0 {
			rc := &RootChangedError{Peer: p.peer.Name, What: strings.Join(what, "; ")}
			moved := false
			for _, side := range bad {
				rc.Trees = append(rc.Trees, fmt.Sprintf("the root of %s (%s)", trees[side].Name, roots[side].loc))
				moved = moved || (b.Roots[side].Location != "" && b.Roots[side].Location != roots[side].loc)
			}
			if moved || len(bad) == 2 {
				rc.Foreign = true
				rc.What = fmt.Sprintf("it synced %s with %s; now %s with %s: %s",
					b.Roots[0].Location, b.Roots[1].Location, roots[0].loc, roots[1].loc, rc.What)
			}
			return rc
		}
		if !dry {
			e.log.InfoContext(ctx, "pair bound anew: it had synced nothing", "peer", p.peer.Name, "change", strings.Join(what, "; "))
		}
	}
	if dry {
		return nil
	}
	return e.bind(ctx, p, trees, roots)
}

// bind marks the roots that have no marker and stores both identities.
func (e *Engine) bind(ctx context.Context, p *pair, trees [2]*tree, roots [2]rootState) error {
	var b binding
	for side, st := range roots {
		b.Roots[side].Location = st.loc
		if st.id == nil {
			continue
		}
		id := *st.id
		if id.Replica == "" {
			idr, _ := zerosync.As[zerosync.Identifier](trees[side].Endpoint)
			var err error
			if id, err = idr.MarkRoot(ctx); err != nil {
				return fmt.Errorf("mark the root of %s: %w", trees[side].Name, err)
			}
			if err := zerosync.CheckReplicaID(id.Replica); err != nil {
				return fmt.Errorf("mark the root of %s: %w", trees[side].Name, err)
			}
		}
		b.Roots[side].Replica, b.Roots[side].Filesystem = id.Replica, id.Filesystem
	}
	if err := p.saveBinding(ctx, b); err != nil {
		return err
	}
	e.log.InfoContext(ctx, "pair bound to its roots", "peer", p.peer.Name,
		"ours", b.Roots[0].Location, "ours_replica", b.Roots[0].Replica,
		"theirs", b.Roots[1].Location, "theirs_replica", b.Roots[1].Replica)
	return nil
}

// updateLocations records roots that moved without changing identity (the
// same marker and file system reached by another path).
func (e *Engine) updateLocations(ctx context.Context, p *pair, b binding, roots [2]rootState) error {
	changed := false
	for side, st := range roots {
		if b.Roots[side].Location != st.loc {
			e.log.InfoContext(ctx, "root reached at a new location", "peer", p.peer.Name, "was", b.Roots[side].Location, "now", st.loc)
			b.Roots[side].Location, changed = st.loc, true
		}
	}
	if !changed {
		return nil
	}
	return p.saveBinding(ctx, b)
}

func (p *pair) saveBinding(ctx context.Context, b binding) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if err := p.store.SetMeta(ctx, metaBinding, string(v)); err != nil {
		return fmt.Errorf("save the binding of pair %q: %w", p.peer.Name, err)
	}
	return nil
}

// Adopt accepts the roots of the pair with peer as they are now, after a
// cycle halted because a root changed ([RootChangedError]) or the state
// belonged to other roots: the pair forgets its common state and its
// binding, and its next sync has no ancestor, so differences become
// conflicts (both versions kept) and nothing is deleted. An empty peer
// adopts every pair (after our own root changed). The journal and the
// review queue are kept.
func (e *Engine) Adopt(ctx context.Context, peer string) error {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	var pairs []*pair
	if peer == "" {
		pairs = e.pairs
	} else {
		p, err := e.pairNamed(peer)
		if err != nil {
			return err
		}
		pairs = []*pair{p}
	}
	for _, p := range pairs {
		if err := p.store.ResetBase(ctx); err != nil {
			return fmt.Errorf("adopt %s: %w", p.peer.Name, err)
		}
		if err := p.store.SetMeta(ctx, metaBinding, ""); err != nil {
			return fmt.Errorf("adopt %s: %w", p.peer.Name, err)
		}
		p.base, p.full, p.pending = nil, true, nil
		e.unhalt(p.peer.Name)
		e.log.InfoContext(ctx, "roots adopted", "peer", p.peer.Name)
	}
	e.kick()
	return nil
}
