package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zerosync/zerosync/control"
)

// The printers of this file take the values of package control, which
// the daemon sends and [direct] gives alike: a command prints the same
// whether it went through the daemon or opened the engine itself.

// describe says what a change does, for people; the path and the peer
// are printed as a [Name].
func describe(a control.Action) string {
	host := "here"
	if a.Side == "theirs" {
		host = "on " + Name(orWord(a.Peer, "peer"))
	}
	return fmt.Sprintf("%-6s %-12s %s  (%s)", a.Op, host, Name(string(a.Path)), Text(a.Reason))
}

// orWord returns s, or def for "".
func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// conflictLine says how a conflict was settled, for people.
func conflictLine(c control.SettledConflict) string {
	s := fmt.Sprintf("conflict %s: %s", Name(string(c.Path)), Text(c.By))
	if c.CopyPath != "" {
		s += fmt.Sprintf(" (other version kept as %s)", Name(string(c.CopyPath)))
	}
	return s
}

// problemLine says what went wrong with a path, for people.
func problemLine(p control.Problem) string {
	return fmt.Sprintf("problem %s (%s): %s", Name(string(p.Path)), p.Side, Text(p.Error))
}

// entry describes an entry for people, with a symlink's target as a
// [Name]; nil is "absent".
func entry(e *control.Entry) string {
	if e == nil {
		return "absent"
	}
	mode := e.Mode
	if m, err := strconv.ParseUint(e.Mode, 8, 32); err == nil {
		mode = strconv.FormatUint(m, 8)
	}
	switch e.Kind {
	case "file":
		return fmt.Sprintf("file %s %d %s", mode, e.Size, e.Digest[:min(12, len(e.Digest))])
	case "dir":
		return "dir " + mode
	case "symlink":
		return "symlink -> " + Name(string(e.Target))
	}
	return Text(e.Kind)
}

// eventLine says what an event of the engine's work is, for people: the
// line run prints for it on a terminal, and monitor elsewhere; "" for an
// event that has no line of its own.
func eventLine(ev control.Event) string {
	switch {
	case ev.Kind == control.EventApplied && ev.Action != nil:
		a := *ev.Action
		a.Peer = orWord(a.Peer, ev.Peer)
		return describe(a)
	case ev.Kind == control.EventConflict && ev.Conflict != nil:
		return conflictLine(*ev.Conflict)
	case ev.Kind == control.EventProblem && ev.Problem != nil:
		return problemLine(*ev.Problem)
	}
	return ""
}

// summary is the last line of a report.
func summary(rep control.Report) string {
	return fmt.Sprintf("%d change(s), %d conflict(s), %d problem(s), %d bytes in %v", len(rep.Applied), len(rep.Conflicts), len(rep.Problems), rep.Bytes, rep.End.Sub(rep.Start).Round(time.Millisecond))
}

// printReport prints what a cycle did, one line each, every name from the
// tree as a [Name] and every message as [Text].
func printReport(w io.Writer, rep control.Report) {
	for _, a := range rep.Applied {
		fmt.Fprintln(w, describe(a))
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintln(w, conflictLine(c))
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(w, problemLine(p))
	}
	fmt.Fprintln(w, summary(rep))
}

// reportJSON is rep as once --json prints it.
func reportJSON(rep control.Report, waiting int, err error) onceJSON {
	out := onceJSON{Start: rep.Start, End: rep.End, Bytes: rep.Bytes, ConflictsWaiting: waiting,
		Applied: []changeJSON{}, Conflicts: []conflictJSON{}, Problems: []problemJSON{}}
	for _, a := range rep.Applied {
		out.Applied = append(out.Applied, newChangeJSON(a))
	}
	for _, c := range rep.Conflicts {
		out.Conflicts = append(out.Conflicts, conflictJSON{Peer: c.Peer, Path: string(c.Path), ResolvedBy: c.By, Note: c.Note, CopyPath: string(c.CopyPath)})
	}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, newProblemJSON(p))
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

// once syncs every pair once (through the daemon: a flush) and prints what
// happened; it returns an [ErrAttention] error when the sync left problems
// or conflicts waiting for review.
func (env *Env) once(ctx context.Context, b backend, confirm, asJSON bool) error {
	if confirm {
		if err := b.ConfirmDeletions(ctx); err != nil {
			return err
		}
	}
	rep, err := b.Flush(ctx)
	if errors.Is(err, context.Canceled) || isPaused(err) {
		return err
	}
	st, werr := b.Status(ctx)
	if asJSON {
		if jerr := writeJSON(env.Streams.Out, reportJSON(rep, st.Conflicts, err)); jerr != nil {
			return jerr
		}
	} else {
		printReport(env.Streams.Out, rep)
	}
	if err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	return attention(len(rep.Problems), st.Conflicts)
}

// isPaused says whether err is the daemon's refusal to flush while paused.
func isPaused(err error) bool {
	var ce *control.Error
	return errors.As(err, &ce) && ce.Code == control.CodePaused
}

// plan prints what a sync would do, changing nothing; what would stop a
// pair is the error, once the plan is printed (b's own error when it
// gives one with the plan, as the engine does).
func (env *Env) plan(ctx context.Context, b backend, asJSON bool) error {
	p, err := b.Plan(ctx)
	if err != nil && p.Peers == nil {
		return err
	}
	if err == nil {
		err = planError(p)
	}
	if asJSON {
		out := planJSON{Peers: []pairPlanJSON{}}
		for _, pp := range p.Peers {
			pj := pairPlanJSON{Peer: pp.Peer, Changes: []changeJSON{}, Conflicts: []plannedConflictJSON{}, Problems: []problemJSON{}, Error: pp.Error}
			for _, a := range pp.Actions {
				pj.Changes = append(pj.Changes, newChangeJSON(a))
			}
			for _, c := range pp.Conflicts {
				pj.Conflicts = append(pj.Conflicts, plannedConflictJSON{Path: string(c.Path), Ours: newEntryJSON(c.Ours), Theirs: newEntryJSON(c.Theirs)})
			}
			for _, pr := range pp.Problems {
				pj.Problems = append(pj.Problems, newProblemJSON(pr))
			}
			out.Peers = append(out.Peers, pj)
		}
		if jerr := writeJSON(env.Streams.Out, out); jerr != nil {
			return jerr
		}
		return err
	}
	w := env.Streams.Out
	for _, pp := range p.Peers {
		fmt.Fprintf(w, "with %s: %d change(s), %d conflict(s)\n", Name(pp.Peer), len(pp.Actions), len(pp.Conflicts))
		for _, a := range pp.Actions {
			fmt.Fprintf(w, "  %s\n", describe(a))
		}
		for _, c := range pp.Conflicts {
			fmt.Fprintf(w, "  conflict %s (ours %s, theirs %s)\n", Name(string(c.Path)), entry(c.Ours), entry(c.Theirs))
		}
	}
	for _, pp := range p.Peers {
		for _, pr := range pp.Problems {
			fmt.Fprintf(w, "  problem with %s: %s\n", Name(pp.Peer), Text(problemText(pr)))
		}
	}
	return err
}

// problemText is a problem as one phrase: the path, the side, the error.
func problemText(p control.Problem) string {
	return fmt.Sprintf("%s (%s): %s", string(p.Path), p.Side, p.Error)
}

// planError is what would stop the pairs of a plan, with the advice of the
// first, or nil.
func planError(p control.Plan) error {
	var msgs []string
	advice := ""
	for _, pp := range p.Peers {
		if pp.Error != "" {
			msgs = append(msgs, pp.Error)
			advice = cmpOr(advice, pp.Advice)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &control.Error{Code: control.CodeInternal, Message: strings.Join(msgs, "; "), Advice: advice}
}

// cmpOr returns a, or b when a is "".
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// status prints the engine's state: paused or not, and for each peer the
// conflicts waiting for review and whether the pair is halted; with a
// daemon, how each pair last synced too.
func (env *Env) status(ctx context.Context, b backend, asJSON bool) error {
	status := b.Status
	if c, ok := b.(*control.Client); ok {
		status = c.StatusWithHosts // the daemon asks its peers' daemons: every host is listed
	}
	st, err := status(ctx)
	if err != nil {
		return err
	}
	return printStatus(env.Streams.Out, env.App.Name, st, asJSON)
}

// printStatus prints st, the status of the engine called name.
func printStatus(w io.Writer, name string, st control.Status, asJSON bool) error {
	if asJSON {
		return writeJSON(w, newStatusJSON(st))
	}
	fmt.Fprintf(w, "engine %s: tree %s\n", orWord(st.Engine, name), Name(st.Root))
	fmt.Fprintf(w, "paused: %v\n", st.Paused)
	if st.Running {
		last := "none yet"
		if !st.LastCycle.IsZero() {
			last = st.LastCycle.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(w, "running: %d cycle(s), the last at %s\n", st.Cycles, last)
		if st.LastError != "" {
			fmt.Fprintf(w, "  the last cycle failed: %s\n", Text(st.LastError))
		}
	}
	for _, p := range st.Peers {
		fmt.Fprintf(w, "peer %s (%s): %d conflict(s) waiting for review\n", Name(p.Name), Name(p.Location), p.Conflicts)
		if st.Running {
			fmt.Fprintf(w, "  %s", p.State)
			if !p.LastSync.IsZero() {
				word := "last sync" // the time of the pair's last sync, or of its last failed one
				if p.Error != "" {
					word = "last attempt"
				}
				fmt.Fprintf(w, ", %s %s (%s)", word, p.LastSync.Local().Format("2006-01-02 15:04:05"), seconds(p.LastDuration))
			}
			fmt.Fprintln(w)
			if p.Error != "" && p.Halted == "" {
				fmt.Fprintf(w, "  failed: %s\n", Text(p.Error))
			}
			if !p.NextRetry.IsZero() && p.Halted == "" { // supervision
				fmt.Fprintf(w, "  %d failure(s) in a row; next try at %s\n", p.Failures, p.NextRetry.Local().Format("2006-01-02 15:04:05"))
			}
		}
		if p.Halted != "" {
			fmt.Fprintf(w, "  halted until a person acts: %s\n", Text(p.Halted))
		}
		if p.Advice != "" && (p.Halted != "" || p.Error != "") {
			fmt.Fprintf(w, "  %s\n", Text(p.Advice))
		}
	}
	for _, h := range st.Hosts {
		if h.Via == "" {
			continue // this host, and its peers above
		}
		fmt.Fprintf(w, "host %s (a peer of %s): %s", Name(h.Name), Name(h.Via), h.State)
		if !h.LastSync.IsZero() {
			fmt.Fprintf(w, ", last synced with %s %s", Name(h.Via), h.LastSync.Local().Format("2006-01-02 15:04:05"))
		}
		fmt.Fprintln(w)
	}
	for _, s := range st.Everywhere { // settings for every host: everywhere.go
		fmt.Fprintf(w, "on every host: %s=%s (setting %d, from %s)\n", Name(s.Key), Name(s.Value), s.Gen, Name(s.Host))
		for _, line := range everywhereLines(s) {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if st.Conflicts > 0 {
		fmt.Fprintf(w, "review them with: %s conflicts list\n", name)
	}
	return nil
}

// seconds writes a duration in seconds as people read it.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
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
