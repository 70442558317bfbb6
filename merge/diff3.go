package merge

import (
	"context"
	"errors"
	"fmt"

	"github.com/epiclabs-io/diff3"
	"github.com/zerosync/zerosync"
)

// DefaultMaxSize is the largest version, in bytes, that [Diff3] reads unless
// [WithMaxSize] says otherwise.
const DefaultMaxSize = 1 << 20

// diffWork bounds the effort of one line diff, in steps of the diff
// algorithm (about two nanoseconds each): roughly the number of lines of
// both versions times the number of lines that differ. Versions further
// apart than that are not merged line by line; without the bound a
// rewritten file of a few thousand lines costs seconds, and one crafted by a
// peer, minutes.
const diffWork = 1 << 27

// Diff3Option configures [Diff3].
type Diff3Option func(*diff3Resolver) error

// WithBase sets where [Diff3] finds the common ancestor; the default is
// [StoredBase] with the size limit of [WithMaxSize].
func WithBase(p zerosync.BaseProvider) Diff3Option {
	return func(d *diff3Resolver) error {
		if p == nil {
			return errors.New("merge: WithBase: nil provider")
		}
		d.base = p
		return nil
	}
}

// WithMaxSize sets the largest version, in bytes, that [Diff3] merges; a
// conflict with a larger base, ours or theirs is passed on. The default is
// [DefaultMaxSize].
func WithMaxSize(n int64) Diff3Option {
	return func(d *diff3Resolver) error {
		if n <= 0 {
			return fmt.Errorf("merge: WithMaxSize(%d): size must be positive", n)
		}
		d.max = n
		return nil
	}
}

// WithEOLInsensitive makes [Diff3] take "\r\n" and "\n" for the same line
// ending: a version saved with Windows line endings merges with one saved
// with Unix ones as the same text, and the merged text ends its lines as
// ours does (as theirs does when no line of ours is terminated). A version
// of ours that mixes both endings is merged byte for byte, as without the
// option. The default keeps line endings byte for byte: a side that changed
// only the endings of a line changed that line.
func WithEOLInsensitive() Diff3Option {
	return func(d *diff3Resolver) error {
		d.eolInsensitive = true
		return nil
	}
}

// Diff3 returns a resolver that merges two text files line by line against
// their common ancestor, as diff3 and git do. It decides only when the
// changes of the two sides do not overlap: then both sides get the merged
// text, with By "diff3". Changes that touch the same lines, or lines next to
// each other, are left to the next resolver.
//
// Diff3 passes ([zerosync.ErrPass]) when either version is not a regular
// file, when any of base, ours and theirs is over the size limit or is not
// text (a NUL byte, or invalid UTF-8), when no base is known, when the
// versions are too far apart to diff cheaply, and when the merged text would
// hold a line that looks like a conflict marker (see [HasConflictMarkers]).
//
// Line endings are kept byte for byte: a line is compared together with its
// terminator ("\n" or "\r\n"), so CRLF files stay CRLF, and a last line
// without a newline stays without one unless a side changed it. A side that
// changed only the line endings of a line changed that line, unless
// [WithEOLInsensitive] says otherwise.
//
// The permission bits of the result are theirs when only theirs changed them
// since the base, ours otherwise.
//
// An invalid option is an error naming it.
func Diff3(opts ...Diff3Option) (zerosync.Resolver, error) {
	d := &diff3Resolver{max: DefaultMaxSize, work: diffWork}
	for _, o := range opts {
		if err := o(d); err != nil {
			return nil, err
		}
	}
	if d.base == nil {
		d.base = StoredBase(d.max)
	}
	return d, nil
}

type diff3Resolver struct {
	base           zerosync.BaseProvider
	max            int64
	work           int // see diffWork
	eolInsensitive bool
}

// errOverlap and errTooFar are why merge3 gives up; both lead to a pass.
var (
	errOverlap = errors.New("changes overlap")
	errTooFar  = errors.New("versions too far apart to diff")
)

func (d *diff3Resolver) Resolve(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
	const by = "diff3"
	if !isFile(c.Ours) || !isFile(c.Theirs) {
		return zerosync.Resolution{}, pass(by, "not two files")
	}
	if c.Content == nil {
		return zerosync.Resolution{}, pass(by, "no content reader")
	}
	var bodies [3][]byte
	for i, v := range []zerosync.Version{zerosync.VersionOurs, zerosync.VersionTheirs} {
		b, err := c.Content.ReadVersion(ctx, v, d.max)
		switch {
		case errors.Is(err, zerosync.ErrTooLarge):
			return zerosync.Resolution{}, passErr(by, err)
		case err != nil:
			return zerosync.Resolution{}, fmt.Errorf("diff3: read %s: %w", c.Path, err)
		}
		bodies[i+1] = b
	}
	base, err := d.base.Base(ctx, c)
	switch {
	case errors.Is(err, zerosync.ErrNoBase), errors.Is(err, zerosync.ErrTooLarge):
		return zerosync.Resolution{}, passErr(by, err)
	case err != nil:
		return zerosync.Resolution{}, fmt.Errorf("diff3: base of %s: %w", c.Path, err)
	case int64(len(base)) > d.max:
		return zerosync.Resolution{}, pass(by, "base of %s is over %d bytes", c.Path, d.max)
	}
	bodies[0] = base
	for i, b := range bodies {
		if !isText(b) {
			return zerosync.Resolution{}, pass(by, "%s version is not text", [3]string{"base", "ours", "theirs"}[i])
		}
	}
	merge := func(base, ours, theirs []byte) ([]byte, error) { return merge3(ctx, base, ours, theirs, d.work) }
	var merged []byte
	if d.eolInsensitive {
		merged, err = mergeEOL(merge, bodies[0], bodies[1], bodies[2])
	} else {
		merged, err = merge(bodies[0], bodies[1], bodies[2])
	}
	switch {
	case errors.Is(err, errOverlap), errors.Is(err, errTooFar):
		return zerosync.Resolution{}, passErr(by, err)
	case err != nil:
		return zerosync.Resolution{}, err
	case HasConflictMarkers(merged):
		return zerosync.Resolution{}, pass(by, "merged text holds conflict markers")
	}
	return zerosync.Resolution{Merged: merged, Mode: mergeMode(c), By: by,
		Note: "changes of both sides merged line by line"}, nil
}

// merge3 merges the line changes of ours and theirs against base. It returns
// errOverlap when changes of the two sides touch, errTooFar when a side is
// too far from the base to diff within work steps (see diffWork), or ctx's
// error. A clean merge is never nil, even when empty.
func merge3(ctx context.Context, base, ours, theirs []byte, work int) ([]byte, error) {
	// Lines become small integers, equal when the lines are equal byte for
	// byte (terminators included), so the diff compares numbers.
	ids := map[string]int32{}
	var lines [][]byte
	intern := func(b []byte) []int32 {
		ls := splitLines(b)
		out := make([]int32, len(ls))
		for i, l := range ls {
			id, ok := ids[string(l)]
			if !ok {
				id = int32(len(lines))
				ids[string(l)] = id
				lines = append(lines, l)
			}
			out[i] = id
		}
		return out
	}
	o, a, b := intern(base), intern(ours), intern(theirs)
	for _, side := range [][]int32{a, b} {
		n := len(o) + len(side)
		ok, err := withinEdits(ctx, o, side, min(n, work/max(n, 1)))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errTooFar
		}
	}
	blocks := diff3.Diff3MergeWithOptions(a, o, b, diff3.MergeOptions{
		Algorithm:             diff3.DiffAlgorithmMyers,
		ExcludeFalseConflicts: true,
	})
	size := 0
	for _, blk := range blocks {
		if blk.Conflict != nil {
			return nil, errOverlap
		}
		for _, id := range blk.Ok {
			size += len(lines[id])
		}
	}
	merged := make([]byte, 0, size)
	for _, blk := range blocks {
		for _, id := range blk.Ok {
			merged = append(merged, lines[id]...)
		}
	}
	return merged, nil
}

// withinEdits reports whether b can be made from a with at most maxD line
// insertions and deletions. It is the forward pass of Myers' O(ND)
// algorithm, stopped at maxD, and costs about (len(a)+len(b))·maxD steps; it
// checks ctx between rounds.
func withinEdits(ctx context.Context, a, b []int32, maxD int) (bool, error) {
	n, m := len(a), len(b)
	off := maxD + 1
	v := make([]int, 2*maxD+3) // v[off+k]: furthest x on diagonal k = x-y
	for d := 0; d <= maxD; d++ {
		if d%64 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return true, nil
			}
		}
	}
	return false, nil
}
