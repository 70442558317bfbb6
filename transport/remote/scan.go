package remote

import (
	"maps"
	"slices"
	"strings"

	"github.com/zerosync/zerosync"
)

// Incremental scans. The agent numbers the snapshots it sends for a root
// (generations 1, 2, ...) and keeps the last one. A client that holds
// generation G asks for the changes since G; when G is the agent's last,
// the answer is a diff (changed and added entries, removed paths), so a
// scan that finds nothing new costs a few dozen bytes whatever the size of
// the tree. Otherwise (a first scan, a cancelled one, a new connection) the
// answer is the whole tree. Either way the client ends with the same
// snapshot and the new generation.

// scanState is what the agent keeps per open root.
type scanState struct {
	gen  uint64
	last zerosync.Snapshot
}

// sameOnWire reports whether two entries encode the same: every field the
// wire carries, modification time to the nanosecond included.
func sameOnWire(a, b *zerosync.Entry) bool {
	if a.Kind != b.Kind || a.ModTime.Unix() != b.ModTime.Unix() || a.ModTime.Nanosecond() != b.ModTime.Nanosecond() {
		return false
	}
	switch a.Kind {
	case zerosync.KindFile:
		return a.Mode.Perm() == b.Mode.Perm() && a.Size == b.Size && a.Digest == b.Digest
	case zerosync.KindDir:
		return a.Mode.Perm() == b.Mode.Perm()
	}
	return a.Target == b.Target
}

// diffSnap returns the changes that turn old into cur, sorted by path.
func diffSnap(old, cur zerosync.Snapshot) []change {
	var out []change
	for p, e := range cur {
		if o, ok := old[p]; ok && sameOnWire(&o, &e) {
			continue
		}
		out = append(out, change{path: p, entry: &e})
	}
	for p := range old {
		if _, ok := cur[p]; !ok {
			out = append(out, change{path: p})
		}
	}
	slices.SortFunc(out, func(a, b change) int { return strings.Compare(a.path, b.path) })
	return out
}

// allChanges returns the whole of s as changes, sorted by path.
func allChanges(s zerosync.Snapshot) []change {
	out := make([]change, 0, len(s))
	for _, p := range s.Paths() {
		e := s[p]
		out = append(out, change{path: p, entry: &e})
	}
	return out
}

// snapBuilder turns the changes of one scan response into a snapshot, on
// top of the client's last one for a diff. It copies the last snapshot on
// the first change only: the last snapshot was handed to a caller, who may
// still hold it.
type snapBuilder struct {
	base   zerosync.Snapshot // the last snapshot, for a diff; nil for a whole tree
	out    zerosync.Snapshot
	copied bool
}

func newSnapBuilder(base zerosync.Snapshot, diff bool) *snapBuilder {
	if !diff {
		return &snapBuilder{out: zerosync.Snapshot{}, copied: true}
	}
	return &snapBuilder{base: base, out: base}
}

func (b *snapBuilder) apply(c change) error {
	if !b.copied {
		b.out = maps.Clone(b.base)
		if b.out == nil {
			b.out = zerosync.Snapshot{}
		}
		b.copied = true
	}
	if c.entry != nil {
		b.out[c.path] = *c.entry
		return nil
	}
	if b.base == nil {
		return protoErr("a whole-tree scan removes %q", cut(c.path, 256))
	}
	if _, ok := b.out[c.path]; !ok {
		return protoErr("a scan diff removes %q, which the last snapshot does not hold", cut(c.path, 256))
	}
	delete(b.out, c.path)
	return nil
}

// changed reports whether the result differs from the base.
func (b *snapBuilder) changed() bool { return b.copied }
