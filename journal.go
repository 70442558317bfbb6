package zerosync

import "time"

// Record is one entry of a pair's journal: a change the engine applied.
type Record struct {
	// Seq is the record's sequence number, assigned when the record is
	// stored: 1 for a pair's first record, then increasing by one, across
	// restarts.
	Seq  uint64
	Time time.Time
	Path string
	// Side is the side that was written.
	Side Side
	// Op is a short word: "create", "update", "remove", "conflict", ...
	Op     string
	Digest Digest
	// By names the resolver or model that produced the content, if any.
	By   string
	Note string
}

// ReviewItem is a conflict waiting for a person: the versions involved and
// where the ones not kept in place were put.
type ReviewItem struct {
	// ID is assigned when the item is queued: 1 for a pair's first item,
	// then increasing, never reused.
	ID   uint64
	Time time.Time
	Path string
	// Base, Ours and Theirs are the entries of the conflict; nil is absent.
	Base, Ours, Theirs *Entry
	// Hosts names the two sides, ours first.
	Hosts [2]string
	// CopyPath is the conflict copy written next to the file, if any.
	CopyPath string
	// Archive says, in free form, where each version was archived (for
	// example "theirs" -> a path in the archive). An empty archive reads
	// back as nil.
	Archive map[string]string
	Note    string
	// BaseBody is the content of the base version, when it was known: the
	// common ancestor the three-way view of the conflict shows. The base
	// moves on when the conflict is settled in the tree, so the review
	// keeps its own copy.
	BaseBody []byte
}
