package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/zerosync/zerosync"
)

// Names that differ only in case (README.md, readme.md) or only in Unicode
// normalization (é precomposed or decomposed) are two entries on a Linux
// file system, but one in a directory that folds names: a Windows drive
// under WSL, exFAT, a casefolded ext4 directory. Before a cycle creates
// names on a side, it asks that side how each directory involved compares
// names ([zerosync.FoldsNames]); a new name that would be the same entry as
// another name there (one already there, or another new one) is held back,
// with what lies beneath it, and reported on every name involved. Nothing
// is overwritten or merged, and the names keep syncing everywhere else.

// folded is what [Engine.collisions] found.
type folded struct {
	// keep are the actions to apply: all but the held ones.
	keep []zerosync.Action
	// held are the paths held back, on either side.
	held []string
	// after are the creations, by side and path, that take the place of a
	// variant of their name removed in the same plan (a rename that
	// changes only case): they must wait for the removal.
	after map[[2]string]bool
	// probs say why, on every name involved.
	probs []zerosync.Problem
}

// collisions finds, among acts, the creations that would collide, on the
// side that makes them, with a name already in that side's directory
// (trees: each side's whole tree, whatever the filter hides) or with
// another name made there, and holds them back with what lies beneath them.
func (e *Engine) collisions(ctx context.Context, eps [2]zerosync.Endpoint, names [2]string, trees [2]*held, acts []zerosync.Action) folded {
	out := folded{after: map[[2]string]bool{}}
	var hold [2]map[string]bool
	for side := range eps {
		hold[side] = e.collideSide(ctx, eps[side], zerosync.Side(side), names[side], trees[side], acts, &out)
	}
	slices.SortFunc(out.probs, func(a, b zerosync.Problem) int {
		return cmp.Or(cmp.Compare(a.Side, b.Side), strings.Compare(a.Path, b.Path))
	})
	if len(hold[0])+len(hold[1]) == 0 {
		out.keep = acts
		return out
	}
	out.keep = make([]zerosync.Action, 0, len(acts))
	for _, a := range acts {
		if under(a.Path, hold[a.Side]) {
			continue
		}
		out.keep = append(out.keep, a)
	}
	for side := range hold {
		for p := range hold[side] {
			out.held = append(out.held, p)
		}
	}
	slices.Sort(out.held)
	return out
}

// holdCollisions is the cycle's step for [Engine.collisions], between the
// plan and its application: the creations held back are reported and
// retried next cycle.
func (r *applyRun) holdCollisions(ctx context.Context, acts []zerosync.Action) []zerosync.Action {
	eps := [2]zerosync.Endpoint{r.endpoint(zerosync.Ours), r.endpoint(zerosync.Theirs)}
	f := r.e.collisions(ctx, eps, r.names, [2]*held{r.e.ours.snap, r.p.peer.snap}, acts)
	for _, pr := range f.probs {
		r.e.problem(r.rep, r.p.peer.Name, pr)
	}
	r.failed = append(r.failed, f.held...)
	r.after = f.after
	return f.keep
}

// under reports whether p is one of paths or lies beneath one.
func under(p string, paths map[string]bool) bool {
	for q := p; q != ""; q = zerosync.Parent(q) {
		if paths[q] {
			return true
		}
	}
	return false
}

// collideSide finds the creations of acts on side whose names collide in a
// directory of ep that folds names.
func (e *Engine) collideSide(ctx context.Context, ep zerosync.Endpoint, side zerosync.Side, host string, tree *held, acts []zerosync.Action, out *folded) map[string]bool {
	made := map[string][]string{} // directory -> names made there
	removed := map[string]bool{}
	newDirs := map[string]bool{}
	for _, a := range acts {
		switch {
		case a.Side != side:
		case a.New == nil:
			removed[a.Path] = true
		case a.Old == nil:
			dir := zerosync.Parent(a.Path)
			made[dir] = append(made[dir], a.Path)
			if a.New.Kind == zerosync.KindDir {
				newDirs[a.Path] = true
			}
		}
	}
	if len(made) == 0 {
		return nil
	}
	// A directory this plan makes folds names as the directory it is made
	// in (a new directory inherits its parent's folding; asked of a
	// directory that does not exist, the endpoint answers for its nearest
	// existing ancestor all the same): the endpoint is asked once for each
	// directory that exists, not once for every new one, which over SSH
	// is a round trip each.
	asked := map[string]zerosync.Folding{}
	folds := map[string]zerosync.Folding{}
	for dir := range made {
		at := dir
		for at != "" && newDirs[at] {
			at = zerosync.Parent(at)
		}
		f, ok := asked[at]
		if !ok {
			var err error
			if f, err = zerosync.FoldsNames(ctx, ep, at); err != nil {
				e.log.WarnContext(ctx, "cannot tell whether a directory folds names; taking it not to", "host", host, "dir", at, "err", err)
				continue
			}
			asked[at] = f
		}
		if f.Any() {
			folds[dir] = f
		}
	}
	if len(folds) == 0 {
		return nil
	}
	// The names each folding directory holds now and keeps, and the keys
	// of those it loses.
	there := map[string][]string{}
	gone := map[string]bool{}
	for p := range tree.Paths() {
		dir := zerosync.Parent(p)
		switch f := folds[dir]; {
		case !f.Any():
		case removed[p]:
			gone[dir+"/"+foldKey(baseName(p), f)] = true
		default:
			there[dir] = append(there[dir], p)
		}
	}
	hold := map[string]bool{}
	for dir, f := range folds {
		groups := map[string][]string{}
		isNew := map[string]bool{}
		for _, p := range made[dir] {
			isNew[p] = true
		}
		for _, p := range append(there[dir], made[dir]...) {
			k := foldKey(baseName(p), f)
			if !slices.Contains(groups[k], p) {
				groups[k] = append(groups[k], p)
			}
			if isNew[p] && gone[dir+"/"+k] {
				out.after[[2]string{side.String(), p}] = true
			}
		}
		for _, g := range groups {
			if len(g) < 2 || !slices.ContainsFunc(g, func(p string) bool { return isNew[p] }) {
				continue
			}
			slices.Sort(g)
			var newNames []string
			for _, p := range g {
				if isNew[p] {
					hold[p] = true
					newNames = append(newNames, p)
				}
			}
			for _, p := range g {
				err := fmt.Errorf("%w: %s differ only in %s, which %s does not tell apart in %s; %s not written there: rename one of them",
					zerosync.ErrNameCollision, quoteAll(g, p), difference(g), host, dirName(dir), heldNames(newNames))
				out.probs = append(out.probs, zerosync.Problem{Path: p, Side: side, Err: err})
			}
		}
	}
	return hold
}

// foldKey is what a directory folding names as f compares of name: two
// names with the same key are one entry there. Case is folded fully, as
// Unicode defines it (Straße and STRASSE are one name): the widest any
// file system folds, so a collision is never missed, at the price of a
// rare warning where a file system folds less. Names that are not valid
// UTF-8 fold their ASCII letters only.
func foldKey(name string, f zerosync.Folding) string {
	if !utf8.ValidString(name) {
		if !f.Case {
			return name
		}
		b := []byte(name)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c - 'A' + 'a'
			}
		}
		return string(b)
	}
	if f.Norm {
		name = norm.NFD.String(name)
	}
	if f.Case {
		name = cases.Fold().String(name)
		if f.Norm {
			name = norm.NFD.String(name)
		}
	}
	return name
}

// difference says how colliding names differ, for people.
func difference(g []string) string {
	nfc := norm.NFC.String(baseName(g[0]))
	for _, p := range g[1:] {
		if norm.NFC.String(baseName(p)) != nfc {
			if foldKey(baseName(p), zerosync.Folding{Case: true}) == foldKey(baseName(g[0]), zerosync.Folding{Case: true}) {
				return "case"
			}
			return "case and Unicode normalization"
		}
	}
	return "Unicode normalization (the same letters, encoded differently)"
}

// baseName is the last component of a path.
func baseName(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// quoteAll quotes p first, then the other paths of g.
func quoteAll(g []string, p string) string {
	out := []string{strconv.Quote(p)}
	for _, q := range g {
		if q != p {
			out = append(out, strconv.Quote(q))
		}
	}
	if len(out) == 2 {
		return out[0] + " and " + out[1]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

// heldNames says which names are held back.
func heldNames(ps []string) string {
	q := make([]string, len(ps))
	for i, p := range ps {
		q[i] = strconv.Quote(p)
	}
	if len(q) == 1 {
		return q[0] + " is"
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1] + " are"
}

// dirName names a directory of a tree for people.
func dirName(dir string) string {
	if dir == "" {
		return "its top directory"
	}
	return "directory " + strconv.Quote(dir)
}
