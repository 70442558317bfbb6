package app

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// op names what an action does: create, update or remove.
func op(a zerosync.Action) string {
	switch {
	case a.Old == nil:
		return "create"
	case a.New == nil:
		return "remove"
	}
	return "update"
}

// describe says what an action does, for people; the path and the peer
// are printed as a [Name].
func describe(a zerosync.Action, peer string) string {
	host := "here"
	if a.Side == zerosync.Theirs {
		host = "on " + Name(peer)
	}
	return fmt.Sprintf("%-6s %-12s %s  (%s)", op(a), host, Name(a.Path), Text(a.Reason))
}

// conflictLine says how a conflict was settled, for people.
func conflictLine(c zerosync.ConflictReport) string {
	s := fmt.Sprintf("conflict %s: %s", Name(c.Path), Text(c.Resolution.By))
	if c.CopyPath != "" {
		s += fmt.Sprintf(" (other version kept as %s)", Name(c.CopyPath))
	}
	return s
}

// problemLine says what went wrong with a path, for people.
func problemLine(p zerosync.Problem) string {
	return fmt.Sprintf("problem %s (%s): %s", Name(p.Path), p.Side, Text(fmt.Sprint(p.Err)))
}

// appliedPeers records, from the engine's events, which peer each applied
// action of a cycle belongs to: a [zerosync.Report] lists the actions of
// every pair together.
type appliedPeers []string

func (ap *appliedPeers) observe(ev zerosync.Event) {
	switch ev.Kind {
	case zerosync.EventCycleStart:
		*ap = (*ap)[:0]
	case zerosync.EventApplied:
		*ap = append(*ap, ev.Peer)
	}
}

// peer returns the peer of the report's i-th applied action.
func (ap appliedPeers) peer(i int) string {
	if i < len(ap) {
		return ap[i]
	}
	return "peer"
}

// printReport prints what a cycle did, one line each, every name from the
// tree as a [Name] and every message as [Text].
func printReport(w io.Writer, rep zerosync.Report, peers appliedPeers) {
	for i, a := range rep.Applied {
		fmt.Fprintf(w, "%s\n", describe(a, peers.peer(i)))
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintln(w, conflictLine(c))
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(w, problemLine(p))
	}
	fmt.Fprintf(w, "%d change(s), %d conflict(s), %d problem(s), %d bytes in %v\n", len(rep.Applied), len(rep.Conflicts), len(rep.Problems), rep.Bytes, rep.End.Sub(rep.Start).Round(time.Millisecond))
}

// reportJSON is rep as once --json prints it.
func reportJSON(rep zerosync.Report, peers appliedPeers, waiting int, err error) onceJSON {
	out := onceJSON{Start: rep.Start, End: rep.End, Bytes: rep.Bytes, ConflictsWaiting: waiting,
		Applied: []changeJSON{}, Conflicts: []conflictJSON{}, Problems: []problemJSON{}}
	for i, a := range rep.Applied {
		out.Applied = append(out.Applied, newChangeJSON(a, peers.peer(i)))
	}
	for _, c := range rep.Conflicts {
		out.Conflicts = append(out.Conflicts, conflictJSON{Peer: c.Hosts[1], Path: c.Path, ResolvedBy: c.Resolution.By, Note: c.Resolution.Note, CopyPath: c.CopyPath})
	}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, newProblemJSON(p))
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

// waiting counts the conflicts waiting for review, for every peer.
func waiting(ctx context.Context, e *engine.Engine) (int, map[string][]engine.ReviewItem, error) {
	reviews, err := e.Reviews(ctx)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	for _, items := range reviews {
		n += len(items)
	}
	return n, reviews, nil
}

// once syncs every pair once and prints what happened; it returns an
// [ErrAttention] error when the sync left problems or conflicts waiting for
// review. peers is fed the engine's events.
func (env *Env) once(ctx context.Context, e *engine.Engine, peers *appliedPeers, confirm, asJSON bool) error {
	if confirm {
		e.ConfirmDeletions()
	}
	rep, err := e.SyncOnce(ctx)
	n, _, werr := waiting(ctx, e)
	if asJSON {
		if jerr := writeJSON(env.Streams.Out, reportJSON(rep, *peers, n, err)); jerr != nil {
			return jerr
		}
	} else {
		printReport(env.Streams.Out, rep, *peers)
	}
	if err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	return attention(len(rep.Problems), n)
}

// plan prints what a sync would do, changing nothing.
func (env *Env) plan(ctx context.Context, e *engine.Engine, asJSON bool) error {
	plans, err := e.Plan(ctx)
	if plans == nil {
		return err
	}
	if asJSON {
		out := planJSON{Peers: []pairPlanJSON{}}
		for _, p := range env.Peers {
			plan := plans[p.Name]
			pj := pairPlanJSON{Peer: p.Name, Changes: []changeJSON{}, Conflicts: []plannedConflictJSON{}, Problems: []problemJSON{}}
			for _, a := range plan.Actions {
				pj.Changes = append(pj.Changes, newChangeJSON(a, p.Name))
			}
			for _, c := range plan.Conflicts {
				pj.Conflicts = append(pj.Conflicts, plannedConflictJSON{Path: c.Path, Ours: newEntryJSON(c.Ours), Theirs: newEntryJSON(c.Theirs)})
			}
			for _, pr := range plan.Problems {
				pj.Problems = append(pj.Problems, newProblemJSON(pr))
			}
			if plan.Err != nil {
				pj.Error = plan.Err.Error()
			}
			out.Peers = append(out.Peers, pj)
		}
		if jerr := writeJSON(env.Streams.Out, out); jerr != nil {
			return jerr
		}
		return err
	}
	w := env.Streams.Out
	for _, p := range env.Peers {
		plan := plans[p.Name]
		fmt.Fprintf(w, "with %s: %d change(s), %d conflict(s)\n", Name(p.Name), len(plan.Actions), len(plan.Conflicts))
		for _, a := range plan.Actions {
			fmt.Fprintf(w, "  %s\n", describe(a, p.Name))
		}
		for _, c := range plan.Conflicts {
			fmt.Fprintf(w, "  conflict %s (ours %s, theirs %s)\n", Name(c.Path), entry(c.Ours), entry(c.Theirs))
		}
	}
	for _, p := range env.Peers {
		for _, pr := range plans[p.Name].Problems {
			fmt.Fprintf(w, "  problem with %s: %s\n", Name(p.Name), Text(pr.Error()))
		}
	}
	return err
}

// status prints the engine's state: paused or not, and for each peer the
// conflicts waiting for review and whether the pair is halted.
func (env *Env) status(ctx context.Context, e *engine.Engine, asJSON bool) error {
	n, reviews, err := waiting(ctx, e)
	if err != nil {
		return err
	}
	st := e.Status()
	halted := func(peer string) string {
		if err := st.Halted[peer]; err != nil {
			return err.Error()
		}
		return ""
	}
	if asJSON {
		out := statusJSON{Engine: env.App.Name, Root: env.Root, Paused: env.paused(), ConflictsWaiting: n, Peers: []peerJSON{}}
		for _, p := range env.Peers {
			out.Peers = append(out.Peers, peerJSON{Name: p.Name, Location: p.Location, ConflictsWaiting: len(reviews[p.Name]), Halted: halted(p.Name)})
		}
		return writeJSON(env.Streams.Out, out)
	}
	w := env.Streams.Out
	fmt.Fprintf(w, "engine %s: tree %s\n", env.App.Name, Name(env.Root))
	fmt.Fprintf(w, "paused: %v\n", env.paused())
	for _, p := range env.Peers {
		fmt.Fprintf(w, "peer %s (%s): %d conflict(s) waiting for review\n", Name(p.Name), Name(p.Location), len(reviews[p.Name]))
		if h := halted(p.Name); h != "" {
			fmt.Fprintf(w, "  halted until a person acts: %s\n", Text(h))
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "review them with: %s conflicts list\n", env.App.Name)
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
