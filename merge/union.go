package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/zerosync/zerosync"
)

// Union returns a resolver for append-only files such as shell history.
// Both sides get the result, with By "union"; no line of either version is
// dropped.
//
// With a base, when both sides only added to the end of it, both additions
// are kept, ours first, then theirs. Identical additions are kept once.
// Union then passes when a side did anything but append (the base is not a
// prefix of both versions), when the base does not end with a line break
// (an addition would continue its last line), and when two additions both
// lack a final line break (they would run together; an addition without
// one goes last).
//
// Without a base (the first sync of a file both hosts already had, or an
// ancestor body that was not kept), the result is the union of the two
// versions' lines in a stable order: the lines both share, found as a
// longest common subsequence, are written once, and each run of lines
// between them holds ours' lines, then theirs'. Every line of each version
// is in the result, in that version's order, so a version that is the
// other with lines added at either end (a history another host appended
// to, or one whose oldest lines were trimmed) merges to the longer one.
// When the versions differ in more than 1,024 lines past their
// common beginning and end, the lines in between are written ours' first,
// then theirs', without looking for common lines. Without a base, Union
// passes when a version does not end with a line break (its last line
// could run into another).
//
// Union also passes when either version is not a regular file and when a
// version is over [DefaultMaxSize]. It reads the base through [StoredBase].
func Union() zerosync.Resolver {
	return unionResolver{base: StoredBase(DefaultMaxSize), max: DefaultMaxSize, edits: unionEdits, work: diffWork}
}

// unionEdits bounds the lines the two versions may differ in, past their
// common beginning and end, for a union without a base to look for the
// lines they share. The search keeps about four bytes per edit squared (4
// MiB at the bound) and costs about the lines of both versions times the
// edits in steps; [diffWork] bounds that too.
const unionEdits = 1024

type unionResolver struct {
	base  zerosync.BaseProvider
	max   int64
	edits int // see unionEdits
	work  int // see diffWork
}

func (u unionResolver) Resolve(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
	const by = "union"
	if !isFile(c.Ours) || !isFile(c.Theirs) {
		return zerosync.Resolution{}, pass(by, "not two files")
	}
	if c.Content == nil {
		return zerosync.Resolution{}, pass(by, "no content reader")
	}
	var versions [2][]byte
	for i, v := range []zerosync.Version{zerosync.VersionOurs, zerosync.VersionTheirs} {
		b, err := c.Content.ReadVersion(ctx, v, u.max)
		switch {
		case errors.Is(err, zerosync.ErrTooLarge):
			return zerosync.Resolution{}, passErr(by, err)
		case err != nil:
			return zerosync.Resolution{}, fmt.Errorf("union: read %s: %w", c.Path, err)
		}
		versions[i] = b
	}
	base, err := u.base.Base(ctx, c)
	switch {
	case errors.Is(err, zerosync.ErrNoBase):
		for i, b := range versions {
			if len(b) > 0 && !endsLine(b) {
				return zerosync.Resolution{}, pass(by, "no base, and %s does not end with a line break", zerosync.Side(i))
			}
		}
		merged, err := unionLines(ctx, versions[0], versions[1], u.edits, u.work)
		if err != nil {
			return zerosync.Resolution{}, err
		}
		return zerosync.Resolution{Merged: merged, Mode: mergeMode(c), By: by,
			Note: "no common ancestor: the lines of both sides kept"}, nil
	case errors.Is(err, zerosync.ErrTooLarge):
		return zerosync.Resolution{}, passErr(by, err)
	case err != nil:
		return zerosync.Resolution{}, fmt.Errorf("union: base of %s: %w", c.Path, err)
	}
	var adds [2][]byte
	for i, b := range versions {
		if !bytes.HasPrefix(b, base) {
			return zerosync.Resolution{}, pass(by, "%s did not only append", zerosync.Side(i))
		}
		adds[i] = b[len(base):]
	}
	if len(base) > 0 && base[len(base)-1] != '\n' {
		return zerosync.Resolution{}, pass(by, "base does not end with a line break")
	}
	ours, theirs := adds[0], adds[1]
	switch {
	case bytes.Equal(ours, theirs):
		theirs = nil
	case len(ours) == 0 || len(theirs) == 0:
	case !endsLine(ours) && !endsLine(theirs):
		return zerosync.Resolution{}, pass(by, "both additions end without a line break")
	case !endsLine(ours):
		ours, theirs = theirs, ours
	}
	merged := make([]byte, 0, len(base)+len(ours)+len(theirs))
	merged = append(append(append(merged, base...), ours...), theirs...)
	return zerosync.Resolution{Merged: merged, Mode: mergeMode(c), By: by,
		Note: "additions of both sides kept"}, nil
}

func endsLine(b []byte) bool { return len(b) > 0 && b[len(b)-1] == '\n' }

// unionLines merges two versions with no known ancestor as the union of
// their lines (see [Union]): both versions are subsequences of the result,
// their common lines written once. Lines are compared with their
// terminators. When the versions differ in more than maxEdits lines (or
// more than work steps would find), the differing middle is written ours'
// first. It fails only when ctx ends. The result is never nil.
func unionLines(ctx context.Context, ours, theirs []byte, maxEdits, work int) ([]byte, error) {
	o, t := splitLines(ours), splitLines(theirs)
	ids := map[string]int32{}
	intern := func(ls [][]byte) []int32 {
		out := make([]int32, len(ls))
		for i, l := range ls {
			id, ok := ids[string(l)]
			if !ok {
				id = int32(len(ids))
				ids[string(l)] = id
			}
			out[i] = id
		}
		return out
	}
	a, b := intern(o), intern(t)
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	merged := make([]byte, 0, len(ours)+len(theirs))
	for _, l := range o[:pre] {
		merged = append(merged, l...)
	}
	om, tm := o[pre:len(o)-suf], t[pre:len(t)-suf]
	n := len(om) + len(tm)
	script, err := shortestEdit(ctx, a[pre:len(a)-suf], b[pre:len(b)-suf], min(maxEdits, work/max(n, 1)))
	if err != nil {
		return nil, err
	}
	if script == nil && n > 0 {
		// Too far apart to look for common lines: ours' middle, then
		// theirs'.
		script = make([]lineEdit, 0, n)
		for range om {
			script = append(script, editOurs)
		}
		for range tm {
			script = append(script, editTheirs)
		}
	}
	var oursRun, theirsRun [][]byte
	flush := func() {
		for _, l := range oursRun {
			merged = append(merged, l...)
		}
		for _, l := range theirsRun {
			merged = append(merged, l...)
		}
		oursRun, theirsRun = oursRun[:0], theirsRun[:0]
	}
	i, j := 0, 0
	for _, e := range script {
		switch e {
		case editOurs:
			oursRun = append(oursRun, om[i])
			i++
		case editTheirs:
			theirsRun = append(theirsRun, tm[j])
			j++
		case editCommon:
			flush()
			merged = append(merged, om[i]...)
			i++
			j++
		}
	}
	flush()
	for _, l := range o[len(o)-suf:] {
		merged = append(merged, l...)
	}
	return merged, nil
}

// lineEdit is one step of an edit script between two line sequences.
type lineEdit uint8

const (
	editCommon lineEdit = iota // a line of both
	editOurs                   // a line only the first sequence has
	editTheirs                 // a line only the second sequence has
)

// shortestEdit returns a shortest edit script turning a into b, each line
// of both once in order, when one of at most maxD insertions and deletions
// exists, and nil otherwise (or for two empty sequences). It is Myers'
// O(ND) algorithm with the path kept: the state of each round, about 4·D²
// bytes in all. It checks ctx between rounds.
func shortestEdit(ctx context.Context, a, b []int32, maxD int) ([]lineEdit, error) {
	n, m := len(a), len(b)
	if n+m == 0 || maxD < 0 {
		return nil, nil
	}
	off := maxD + 1
	v := make([]int32, 2*maxD+3) // v[off+k]: furthest x on diagonal k = x-y
	var trace [][]int32          // trace[d]: v[k] for k in [-d-1, d+1] before round d
	for d := 0; d <= maxD; d++ {
		if d%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		trace = append(trace, slices.Clone(v[off-d-1:off+d+2]))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = int(v[off+k+1])
			} else {
				x = int(v[off+k-1]) + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = int32(x)
			if x >= n && y >= m {
				return backtrack(trace, d, n, m), nil
			}
		}
	}
	return nil, nil
}

// backtrack walks the rounds of [shortestEdit] back from (n, m), which
// round d reached, and returns the script in order.
func backtrack(trace [][]int32, d, n, m int) []lineEdit {
	script := make([]lineEdit, 0, n+m)
	x, y := n, m
	for ; d > 0; d-- {
		w := trace[d]
		at := func(k int) int { return int(w[k+d+1]) }
		k := x - y
		prev := k - 1
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prev = k + 1
		}
		px := at(prev)
		py := px - prev
		for x > px && y > py {
			script = append(script, editCommon)
			x--
			y--
		}
		if x == px {
			script = append(script, editTheirs)
		} else {
			script = append(script, editOurs)
		}
		x, y = px, py
	}
	for ; x > 0; x-- {
		script = append(script, editCommon)
	}
	slices.Reverse(script)
	return script
}
