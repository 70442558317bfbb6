package gitaware

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/zerosync/zerosync"
)

// View is the [zerosync.View] of a [Project] for one engine: each cycle it
// reads the repositories of both trees of a pair and lets through only what
// the project's mode syncs and git's state allows. Get one with
// [Project.View] and pass it to [engine.WithView].
//
// For every path, the same answer holds on both sides and in the common
// state, so a path the view hides is never taken for a deletion:
//   - .git (a directory, or a worktree's or submodule's file) and
//     everything beneath it is never synced;
//   - nothing in a submodule is synced: git carries it;
//   - a file or symlink tracked on either side (in the index) is synced in
//     [ModeGitOnly] and [ModeAll];
//   - any other path is synced in [ModeUntracked] and [ModeAll], unless it
//     is ignored on either side ([WithIgnore] overrules git's rules); paths
//     outside every repository count as untracked and are never ignored;
//   - a directory inside a repository is synced when something synced lies
//     beneath it (git does not keep empty directories);
//   - nothing in a held-back repository ([HoldError]) is synced.
//
// A path the view does not let through is left alone by the cycle: never
// created, changed or deleted on either side, and its common state is
// kept. (The view shows the engine such a path, if the pair synced it
// before, on both sides with its common entry; see the engine's
// empty-root check. A tree that is empty shows nothing.)
//
// A held-back repository is also a [zerosync.Problem] of the cycle, and is
// in [Project.Status].
type View struct{ p *Project }

var _ zerosync.View = (*View)(nil)

// View returns the view for one engine.
func (p *Project) View() *View { return &View{p: p} }

// Project returns the project the view belongs to.
func (v *View) Project() *Project { return v.p }

// View implements [zerosync.View].
func (v *View) View(ctx context.Context, vp *zerosync.ViewPair) error {
	p := v.p
	mode := p.Mode()
	now := time.Now()
	var (
		sides [2]*side
		errs  [2]map[string]error
	)
	for i, snap := range [2]zerosync.Snapshot{vp.Ours, vp.Theirs} {
		root := rootOf(vp.Endpoints[i])
		p.checkRoot(ctx, root)
		locs, e, err := discover(ctx, root, snap)
		if err != nil {
			return err
		}
		sides[i], errs[i] = &side{root: root, snap: snap, locs: locs}, e
	}
	set := newRepoSet(sides[0].locs, sides[1].locs)
	for i, sd := range sides {
		if err := p.readSide(ctx, sd, set, errs[i]); err != nil {
			return err
		}
	}
	repos, err := p.judge(ctx, vp.Names, sides, set, mode)
	if err != nil {
		return err
	}

	d := &decider{mode: mode, set: set, repos: repos,
		snaps: [3]zerosync.Snapshot{vp.Base, vp.Ours, vp.Theirs},
		// An empty tree stays empty in view, so that the engine can tell
		// an emptied root.
		freeze: len(vp.Ours) > 0 && len(vp.Theirs) > 0,
		frozen: map[string]bool{}}
	keep := d.run()
	vp.Base, vp.Ours, vp.Theirs = d.pick(vp.Base, keep), d.pick(vp.Ours, keep), d.pick(vp.Theirs, keep)

	for _, dir := range set.sorted {
		if r := repos[dir]; r.hold != nil {
			vp.Problems = append(vp.Problems, zerosync.Problem{Path: dir, Side: r.holdSide, Err: r.hold})
			p.log.DebugContext(ctx, "repository held back", "ours", vp.Names[0], "theirs", vp.Names[1], "dir", dir, "reason", r.hold.Detail)
		}
	}
	p.record(vp.Names, sides, set, repos, now)
	return nil
}

// checkRoot warns, once per root, about a sync root that lies inside a
// repository below its top: that repository is not seen.
func (p *Project) checkRoot(ctx context.Context, root string) {
	if root == "" {
		return
	}
	p.mu.Lock()
	done := p.roots[root]
	p.roots[root] = true
	p.mu.Unlock()
	if done {
		return
	}
	if _, ok, _ := locate(root); ok {
		return
	}
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		if _, ok, _ := locate(dir); ok {
			p.log.WarnContext(ctx, "the sync root lies inside a repository, which git-aware sync does not see; sync the repository's top instead", "root", root, "repository", dir)
			return
		}
		if dir == filepath.Dir(dir) {
			return
		}
	}
}

// rootOf returns the local directory behind an endpoint, looking through
// decorators (Unwrap), or "" when there is none.
func rootOf(ep zerosync.Endpoint) string {
	for range 16 {
		if r, ok := ep.(interface{ Root() string }); ok {
			return r.Root()
		}
		u, ok := ep.(interface{ Unwrap() zerosync.Endpoint })
		if !ok {
			return ""
		}
		ep = u.Unwrap()
	}
	return ""
}

// repoState is what a pair does with a repository.
type repoState uint8

const (
	stateSynced    repoState = iota
	stateHeld                // HoldError says why
	stateLeftToGit           // a submodule, or inside one
	stateIgnored             // in a directory the enclosing repository ignores
)

// pairRepo is one repository of a pair, both sides together.
type pairRepo struct {
	dir      string
	sides    [2]*sideRepo // nil where the tree has none
	state    repoState
	hold     *HoldError
	holdSide zerosync.Side
	dist     distance
}

// judge decides, for every repository of the pair, whether it is synced,
// held back (and why) or left alone.
func (p *Project) judge(ctx context.Context, names [2]string, sides [2]*side, set *repoSet, mode Mode) (map[string]*pairRepo, error) {
	repos := make(map[string]*pairRepo, len(set.sorted))
	for _, dir := range set.sorted { // enclosing repositories first
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := &pairRepo{dir: dir, sides: [2]*sideRepo{sides[0].repos[dir], sides[1].repos[dir]}}
		repos[dir] = r
		if enc, ok := set.enclosing(dir); ok {
			r.state = nested(repos[enc], rel(enc, dir))
			if r.state != stateSynced {
				continue
			}
		}
		hold := func(s zerosync.Side, reason error, format string, args ...any) {
			r.state, r.holdSide = stateHeld, s
			r.hold = &HoldError{Dir: dir, Hosts: names, Reason: reason, Detail: fmt.Sprintf(format, args...)}
		}
		a, b := r.sides[0], r.sides[1]
		switch {
		case sides[0].root == "" || sides[1].root == "":
			s := zerosync.Ours
			if sides[0].root != "" {
				s = zerosync.Theirs
			}
			hold(s, ErrNoDirectory, "git-aware sync needs a local directory on %s, whose endpoint has none", names[s])
		case a == nil || b == nil:
			s := zerosync.Theirs
			if a == nil {
				s = zerosync.Ours
			}
			hold(s, ErrNoRepository, "it exists on %s only; clone it on %s and the next cycle syncs it", names[s.Other()], names[s])
		case a.err != nil || b.err != nil:
			s, e := zerosync.Ours, a.err
			if e == nil {
				s, e = zerosync.Theirs, b.err
			}
			hold(s, ErrUnreadable, "cannot read it on %s: %v", names[s], e)
		case a.op != "" || b.op != "":
			s, sr := zerosync.Ours, a
			if sr.op == "" {
				s, sr = zerosync.Theirs, b
			}
			hold(s, ErrInProgress, "a %s is in progress on %s; finish it (%s) and the next cycle syncs it", sr.op, names[s], sr.finish)
		case mode.tracked() && a.head.hash != b.head.hash:
			d, err := p.distance(a, b)
			if err != nil {
				hold(zerosync.Ours, ErrUnreadable, "cannot compare the histories of %s and %s: %v", names[0], names[1], err)
				break
			}
			r.dist = d
			s := zerosync.Ours // the side that has to catch up
			if d.behind == 0 && d.ahead > 0 {
				s = zerosync.Theirs
			}
			hold(s, ErrDiverged, "HEADs differ (%s: %s, %s: %s): %s; bring one side up to date (git pull, or commit and push) and the next cycle syncs it",
				names[0], a.head, names[1], b.head, describeDistance(names, a.head, b.head, d))
		}
	}
	return repos, nil
}

// nested decides what becomes of a repository at rel inside enclosing.
func nested(enc *pairRepo, rel string) repoState {
	switch enc.state {
	case stateLeftToGit, stateIgnored:
		return enc.state
	}
	for _, sr := range enc.sides {
		if sr != nil && sr.err == nil && sr.idx != nil && sr.idx.inGitlink(rel) {
			return stateLeftToGit
		}
	}
	for _, sr := range enc.sides {
		if sr != nil && sr.err == nil && sr.rules != nil && sr.rules.ignored(rel, true) {
			return stateIgnored
		}
	}
	return stateSynced
}

// describeDistance says how two HEADs differ, naming hosts and branches.
func describeDistance(names [2]string, a, b head, d distance) string {
	approx := ""
	if d.approx {
		approx = " at least"
	}
	plural := func(n int) string {
		if n == 1 {
			return "1 commit"
		}
		return fmt.Sprintf("%d commits", n)
	}
	branch := "on branch " + branchName(a)
	if a.branch != b.branch {
		branch = fmt.Sprintf("on branches %s (%s) and %s (%s)", branchName(a), names[0], branchName(b), names[1])
	}
	switch {
	case d.behind == 0:
		return fmt.Sprintf("%s is%s %s ahead of %s %s", names[0], approx, plural(d.ahead), names[1], branch)
	case d.ahead == 0:
		return fmt.Sprintf("%s is%s %s behind %s %s", names[0], approx, plural(d.behind), names[1], branch)
	}
	return fmt.Sprintf("%s and %s have diverged %s: %s is%s %s ahead and %s behind", names[0], names[1], branch, names[0], approx, plural(d.ahead), plural(d.behind))
}

// branchName names the branch of h for messages.
func branchName(h head) string {
	if h.branch == "" {
		return "(detached HEAD)"
	}
	return h.branch
}

// decider answers, for each path of a pair, whether the cycle sees it.
type decider struct {
	mode  Mode
	set   *repoSet
	repos map[string]*pairRepo
	snaps [3]zerosync.Snapshot // base, ours, theirs
	// freeze asks for hidden paths of the common state to be frozen: seen
	// on both sides with their common entry.
	freeze bool
	frozen map[string]bool
}

// run returns the paths the cycle sees, the same set for the three
// snapshots: every path let through for itself, and its directories.
//
// A hidden path that the pair synced before is frozen, when d.freeze is
// set: seen on both sides with its common entry, so the cycle neither
// changes nor forgets it. (Merely hidden, it would look to the engine as if
// the tree had lost it; a tree whose paths were all hidden would look
// emptied.) Its directories stay in view too, frozen unless they are
// directories in all three snapshots.
func (d *decider) run() map[string]bool {
	keep := make(map[string]bool, len(d.snaps[1]))
	for i, s := range d.snaps {
		for p := range s {
			if hasGitComponent(p) || i > 0 && hasKey(d.snaps[0], p) || i > 1 && hasKey(d.snaps[1], p) {
				continue // hidden, or decided already
			}
			if d.include(p) {
				keep[p] = true
			}
		}
	}
	if d.freeze {
		for p := range d.snaps[0] {
			if !keep[p] {
				d.frozen[p] = true
			}
		}
		for p := range d.frozen {
			for dir := zerosync.Parent(p); dir != "" && !d.frozen[dir]; dir = zerosync.Parent(dir) {
				if d.dirEverywhere(dir) {
					keep[dir] = true
					break
				}
				d.frozen[dir] = true
			}
		}
		for p := range d.frozen {
			keep[p] = true
		}
	}
	for p := range keep {
		for dir := zerosync.Parent(p); dir != "" && !keep[dir]; dir = zerosync.Parent(dir) {
			keep[dir] = true
		}
	}
	return keep
}

func hasKey(s zerosync.Snapshot, p string) bool {
	_, ok := s[p]
	return ok
}

// dirEverywhere reports whether p is a directory in the common state and
// on both sides.
func (d *decider) dirEverywhere(p string) bool {
	for _, s := range d.snaps {
		if e, ok := s[p]; !ok || e.Kind != zerosync.KindDir {
			return false
		}
	}
	return true
}

// kinds returns the kind of p in base, ours and theirs (0: absent).
func (d *decider) kinds(p string) (k [3]zerosync.Kind) {
	for i, s := range d.snaps {
		if e, ok := s[p]; ok {
			k[i] = e.Kind
		}
	}
	return k
}

// include reports whether p is synced for itself.
func (d *decider) include(p string) bool {
	if hasGitComponent(p) {
		return false
	}
	dir, inRepo := d.set.of(p)
	if !inRepo {
		// Outside every repository; a repository's own directory is
		// synced for what it holds.
		return !d.set.dirs[p] && d.mode.untracked()
	}
	r := d.repos[dir]
	switch r.state {
	case stateHeld, stateLeftToGit, stateIgnored:
		return false
	}
	if d.set.dirs[p] {
		return false // a nested repository, synced for what it holds
	}
	rp := rel(dir, p)
	for _, sr := range r.sides {
		if sr.idx.inGitlink(rp) {
			return false
		}
	}
	if r.sides[0].idx.has(rp) || r.sides[1].idx.has(rp) {
		return d.mode.tracked() // the index holds files, never directories
	}
	if !d.mode.untracked() {
		return false
	}
	k := d.kinds(p)
	onlyDir := true
	for _, kind := range k {
		if kind != 0 && kind != zerosync.KindDir {
			onlyDir = false
		}
	}
	if onlyDir {
		return false // synced for what it holds
	}
	for i, sr := range r.sides {
		kind := k[i+1]
		if kind == 0 {
			kind = k[2-i]
		}
		if kind == 0 {
			kind = k[0]
		}
		if sr.rules.ignored(rp, kind == zerosync.KindDir) {
			return false
		}
	}
	return true
}

// pick returns the part of s in keep, frozen paths with their common entry.
func (d *decider) pick(s zerosync.Snapshot, keep map[string]bool) zerosync.Snapshot {
	out := make(zerosync.Snapshot, min(len(s), len(keep)))
	for p := range keep {
		if e, ok := s[p]; ok && !d.frozen[p] {
			out[p] = e
		}
	}
	for p := range d.frozen {
		out[p] = d.snaps[0][p]
	}
	return out
}

// pairInfo is what the last cycle of a pair found, for status and for the
// merge base.
type pairInfo struct {
	repos []RepoStatus
	// dirs are all the repository directories of the pair.
	dirs map[string]bool
	// synced are the repositories whose tracked files the pair synced,
	// with the same HEAD on both sides, by directory.
	synced map[string]*baseRepo
}

// baseRepo is a synced repository, as [Project.Base] needs it.
type baseRepo struct {
	dir  string
	locs [2]location
	head plumbing.Hash
	// prev is the HEAD of the last earlier cycle that synced the
	// repository; zero when unknown.
	prev plumbing.Hash
}

// record keeps what a cycle found.
func (p *Project) record(names [2]string, sides [2]*side, set *repoSet, repos map[string]*pairRepo, now time.Time) {
	info := &pairInfo{dirs: set.dirs, synced: map[string]*baseRepo{}}
	p.mu.Lock()
	defer p.mu.Unlock()
	last := p.synced[names]
	if last == nil {
		last = map[string]plumbing.Hash{}
		p.synced[names] = last
	}
	for _, dir := range set.sorted {
		r := repos[dir]
		if r.state == stateIgnored {
			continue
		}
		rs := RepoStatus{Hosts: names, Dir: dir, Time: now, Held: r.hold, LeftToGit: r.state == stateLeftToGit}
		for i, sr := range r.sides {
			if sr == nil {
				continue
			}
			ss := SideStatus{Present: true, Kind: KindRepository, Head: sr.head.public(), Operation: sr.op}
			if sr.loc.worktree {
				ss.Kind = KindWorktree
			}
			if r.state == stateLeftToGit {
				ss.Kind = KindSubmodule
			}
			if i == 0 {
				ss.Ahead, ss.Behind = r.dist.ahead, r.dist.behind
			} else {
				ss.Ahead, ss.Behind = r.dist.behind, r.dist.ahead
			}
			ss.Approx = r.dist.approx
			rs.Sides[i] = ss
		}
		info.repos = append(info.repos, rs)
		if r.state != stateSynced {
			continue
		}
		a, b := r.sides[0], r.sides[1]
		if a.head.hash != b.head.hash || a.head.hash.IsZero() {
			continue
		}
		info.synced[dir] = &baseRepo{dir: dir, locs: [2]location{a.loc, b.loc}, head: a.head.hash, prev: last[dir]}
		last[dir] = a.head.hash
	}
	p.pairs[names] = info
}
