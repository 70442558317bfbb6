package control

import (
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// The functions of this file give the engine's values as the API writes
// them, for a program that shows the same things with or without a
// daemon (the command line, when it opens the engine itself).

// ReportOf returns a cycle's report as the API writes it; the pairs of
// its changes are not named (see [NameReport]).
func ReportOf(r zerosync.Report) Report { return reportOf(r) }

// ActionOf returns a change as the API writes it.
func ActionOf(a zerosync.Action) Action { return actionOf(a) }

// ConflictOf returns a conflict as a plan lists it.
func ConflictOf(c zerosync.Conflict) Conflict { return conflictOf(c) }

// SettledConflictOf returns a conflict a cycle met, and how it was
// settled.
func SettledConflictOf(cr zerosync.ConflictReport) SettledConflict { return settledOf(cr) }

// ProblemOf returns a path a cycle could not sync.
func ProblemOf(p zerosync.Problem) Problem { return problemOf(p) }

// EventOf returns an engine event as the event stream writes it.
func EventOf(ev zerosync.Event) Event { return eventOf(ev) }

// VersionOf returns an earlier version of a file.
func VersionOf(v zerosync.FileVersion) Version { return versionOf(v) }

// ConflictItemOf returns a conflict waiting for a person with peer.
func ConflictItemOf(peer string, it engine.ReviewItem) ConflictItem { return conflictItemOf(peer, it) }

// ConflictDetailOf returns a waiting conflict with the bodies of its
// versions and their differences, as GET /v1/conflicts/{peer}/{number}
// answers.
func ConflictDetailOf(peer string, it engine.ReviewItem, base, current, other []byte) ConflictDetail {
	return ConflictDetail{ConflictItem: conflictItemOf(peer, it), BaseText: base, CurrentText: current, OtherText: other,
		Diff: conflictDiff(it, base, current, other)}
}

// StagedItemOf returns a staged change.
func StagedItemOf(it engine.StagedItem) StagedItem { return stagedItemOf(it) }
