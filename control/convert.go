package control

import (
	"fmt"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// This file turns the engine's values into the API's.

func entryOf(e *zerosync.Entry) *Entry {
	if e == nil {
		return nil
	}
	out := &Entry{Kind: e.Kind.String(), Size: e.Size, ModTime: e.ModTime, Target: Path(e.Target)}
	if e.Kind != zerosync.KindSymlink {
		out.Mode = fmt.Sprintf("%04o", e.Mode.Perm())
	}
	if !e.Digest.IsZero() {
		out.Digest = e.Digest.String()
	}
	return out
}

func opOf(old, new *zerosync.Entry) string {
	switch {
	case old == nil:
		return "create"
	case new == nil:
		return "remove"
	}
	return "update"
}

func actionOf(a zerosync.Action) Action {
	return Action{Op: opOf(a.Old, a.New), Path: Path(a.Path), Side: a.Side.String(), Old: entryOf(a.Old), New: entryOf(a.New), Reason: a.Reason}
}

func conflictOf(c zerosync.Conflict) Conflict {
	return Conflict{Path: Path(c.Path), Base: entryOf(c.Base), Ours: entryOf(c.Ours), Theirs: entryOf(c.Theirs)}
}

func settledOf(cr zerosync.ConflictReport) SettledConflict {
	kept := "ours"
	switch {
	case cr.Resolution.Merged != nil:
		kept = "merged"
	case cr.Resolution.Keep == zerosync.VersionTheirs:
		kept = "theirs"
	}
	return SettledConflict{Conflict: conflictOf(cr.Conflict), Peer: cr.Hosts[1], By: cr.Resolution.By, Note: cr.Resolution.Note,
		Kept: kept, Review: cr.Resolution.KeepOther, CopyPath: Path(cr.CopyPath)}
}

func problemOf(p zerosync.Problem) Problem {
	return Problem{Path: Path(p.Path), Side: p.Side.String(), Error: errText(p.Err)}
}

func reportOf(r zerosync.Report) Report {
	out := Report{Start: r.Start, End: r.End, Bytes: r.Bytes,
		Applied: []Action{}, Conflicts: []SettledConflict{}, Problems: []Problem{}}
	if !r.End.IsZero() {
		out.Seconds = r.End.Sub(r.Start).Seconds()
	}
	for _, a := range r.Applied {
		out.Applied = append(out.Applied, actionOf(a))
	}
	for _, c := range r.Conflicts {
		out.Conflicts = append(out.Conflicts, settledOf(c))
	}
	for _, p := range r.Problems {
		out.Problems = append(out.Problems, problemOf(p))
	}
	return out
}

var eventKinds = map[zerosync.EventKind]string{
	zerosync.EventCycleStart: EventCycleStart,
	zerosync.EventApplied:    EventApplied,
	zerosync.EventConflict:   EventConflict,
	zerosync.EventProblem:    EventProblem,
	zerosync.EventCycleEnd:   EventCycleEnd,
	zerosync.EventError:      EventError,
	zerosync.EventPlanned:    EventPlanned,
}

func eventOf(ev zerosync.Event) Event {
	kind, ok := eventKinds[ev.Kind]
	if !ok {
		kind = fmt.Sprintf("kind-%d", ev.Kind)
	}
	out := Event{Kind: kind, Time: ev.Time, Peer: ev.Peer, Error: errText(ev.Err)}
	if ev.Action != nil {
		a := actionOf(*ev.Action)
		out.Action = &a
	}
	if ev.Conflict != nil {
		c := settledOf(*ev.Conflict)
		out.Conflict = &c
	}
	if ev.Problem != nil {
		p := problemOf(*ev.Problem)
		out.Problem = &p
	}
	if ev.Report != nil {
		r := reportOf(*ev.Report)
		out.Report = &r
	}
	for _, a := range ev.Planned {
		out.Planned = append(out.Planned, actionOf(a))
	}
	return out
}

func versionOf(v zerosync.FileVersion) Version {
	out := Version{ID: v.ID, Path: Path(v.Path), Time: v.Time, Size: v.Size, Reason: string(v.Reason)}
	if v.Mode != 0 {
		out.Mode = fmt.Sprintf("%04o", v.Mode.Perm())
	}
	if !v.Digest.IsZero() {
		out.Digest = v.Digest.String()
	}
	return out
}

func stagedItemOf(it engine.StagedItem) StagedItem {
	return StagedItem{ID: it.ID, Peer: it.Peer, Time: it.Time, Path: Path(it.Path), Base: entryOf(it.Base),
		Ours: entryOf(it.Ours), Theirs: entryOf(it.Theirs), Conflict: it.Conflict, Note: it.Note}
}

func conflictItemOf(peer string, it engine.ReviewItem) ConflictItem {
	kept := it.Archive["kept"]
	if kept == "" {
		kept = zerosync.Ours.String()
	}
	return ConflictItem{ID: fmt.Sprintf("%s#%d", peer, it.ID), Peer: peer, Number: it.ID, Path: Path(it.Path),
		Queued: it.Time, Kept: kept, CopyPath: Path(it.CopyPath), Hosts: it.Hosts, Note: it.Note,
		Base: entryOf(it.Base), Ours: entryOf(it.Ours), Theirs: entryOf(it.Theirs)}
}

// errText returns err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
