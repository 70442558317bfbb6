package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
)

// SyncOnce runs one cycle over every pair and returns what it did. Per-path
// failures are Problems in the report; the error reports what stopped a pair
// (a missing root, a mass deletion, a hostile snapshot), naming the peer.
// Other pairs go on. The pairs sync at once ([WithConcurrentPairs]); a pair
// whose sync changed our tree makes the others sync those paths again in
// the same cycle, so the report lists each pair's actions in the order that
// pair applied them, and the pairs' in the order they ended.
//
// A tree whose live watcher reported its changes (while [Engine.Run] runs)
// is rescanned only where it changed, and a pair reconciles only those
// paths; otherwise, and whenever a watcher may have missed something, the
// tree is scanned and reconciled whole.
func (e *Engine) SyncOnce(ctx context.Context) (zerosync.Report, error) {
	return e.syncOnce(ctx, false)
}

// syncOnce is SyncOnce; with halting (under Run) a pair stopped by an error
// that needs a person ([haltable]) is halted: later cycles skip it until the
// person acts.
func (e *Engine) syncOnce(ctx context.Context, halting bool) (zerosync.Report, error) {
	rep, err, _ := e.runCycle(ctx, halting)
	return rep, err
}

// runCycle is syncOnce; own reports that the cycle failed before any pair
// (our own tree could not be read), which [Engine.Run] retries with a
// backoff of its own. Under Run (halting), a pair that failed for a reason
// retrying may mend waits for its retry (supervise.go), unless a person
// asked for a sync now.
func (e *Engine) runCycle(ctx context.Context, halting bool) (rep zerosync.Report, err error, own bool) {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	defer e.dropWhole()
	rep = zerosync.Report{Start: time.Now()}
	e.mu.Lock()
	paused, confirm := e.status.Paused, e.confirm
	e.confirm = false
	rep.Problems, e.notices = e.notices, nil
	e.mu.Unlock()
	if paused {
		return rep, zerosync.ErrPaused, false
	}
	retryAll := e.takeRetryAll()
	e.emit(zerosync.Event{Kind: zerosync.EventCycleStart, Time: rep.Start})
	for i := range rep.Problems {
		e.emit(zerosync.Event{Kind: zerosync.EventProblem, Problem: &rep.Problems[i]})
	}

	for _, p := range e.pairs {
		if halting && !retryAll && e.waiting(p, rep.Start) {
			p.skip = true
		}
	}
	defer e.clearSkips()
	e.dropLost()
	e.scanEarly(ctx)
	defer e.dropEarly()
	changed, all, err := e.ours.refresh(ctx, e, zerosync.Ours, &rep)
	if err == nil && all {
		e.mem.scanned.Store(true)
	}
	if err != nil {
		for _, p := range e.pairs {
			p.full = true
			e.notePair(p, 0, rep.Start, err)
			if halting && haltable(err) {
				e.halt(ctx, p.peer.Name, err)
			}
		}
		rep, err = e.finish(rep, err)
		return rep, err, true
	}
	e.notes(func() {
		for _, p := range e.pairs {
			p.note(changed, all)
		}
	})
	run := e.syncPairs(ctx, confirm, halting, &rep)
	if run.cancelled {
		rep, err = e.finish(rep, ctx.Err())
		return rep, err, false
	}
	var errs []error
	for _, p := range e.pairs {
		if err := run.failed[p]; err != nil {
			errs = append(errs, fmt.Errorf("peer %s: %w", p.peer.Name, err))
		}
	}
	for _, p := range e.pairs {
		if !run.tried[p] {
			continue
		}
		if err := run.failed[p]; err == nil || !haltable(err) {
			e.supervise(ctx, p, err)
		}
	}
	rep, err = e.finish(rep, errors.Join(errs...))
	return rep, err, false
}

// clearSkips forgets which pairs this cycle left waiting.
func (e *Engine) clearSkips() {
	for _, p := range e.pairs {
		p.skip = false
	}
}

// ourRoot reads our root's identity once, when a pair first needs it;
// a cycle calls it once per pass.
func (e *Engine) ourRoot(ctx context.Context) func() (rootState, error) {
	return sync.OnceValues(func() (rootState, error) { return e.identify(ctx, e.ours) })
}

// note records that our tree changed at paths (or everywhere) since this pair
// last looked.
func (p *pair) note(paths []string, all bool) {
	if all {
		p.full = true
		return
	}
	if len(paths) > 0 && p.pending == nil {
		p.pending = map[string]bool{}
	}
	for _, q := range paths {
		p.pending[q] = true
	}
}

func (e *Engine) finish(rep zerosync.Report, err error) (zerosync.Report, error) {
	rep.End = time.Now()
	e.mu.Lock()
	e.status.LastCycle = rep.End
	e.status.LastError = err
	e.status.Cycles++
	e.mu.Unlock()
	if err != nil {
		e.emit(zerosync.Event{Kind: zerosync.EventError, Err: err})
	}
	e.emit(zerosync.Event{Kind: zerosync.EventCycleEnd, Report: &rep, Err: err})
	return rep, err
}

// scan reads one side and checks what it says.
func (e *Engine) scan(ctx context.Context, t *tree, side zerosync.Side, rep *zerosync.Report) (zerosync.Snapshot, error) {
	s, probs, err := t.Endpoint.Scan(ctx)
	return e.scanned(t, side, rep, s, probs, err)
}

// scanned checks what a scan of t returned.
func (e *Engine) scanned(t *tree, side zerosync.Side, rep *zerosync.Report, s zerosync.Snapshot, probs []zerosync.Problem, err error) (zerosync.Snapshot, error) {
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", t.Name, err)
	}
	t.unsure = map[string]bool{}
	e.scanProblems(t, side, probs, rep)
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("refusing the tree reported by %s: %w", t.Name, err)
	}
	return s, nil
}

// scanProblems reports what a scan could not read, and remembers those
// paths: a path missing from a scan because it could not be read is not a
// deletion.
func (e *Engine) scanProblems(t *tree, side zerosync.Side, probs []zerosync.Problem, rep *zerosync.Report) {
	for _, pr := range probs {
		pr.Side = side
		e.problem(rep, t.Name, pr)
		if pr.Path != "" && pr.Path != "." {
			t.unsure[pr.Path] = true
		}
	}
}

func (e *Engine) problem(rep *zerosync.Report, peer string, pr zerosync.Problem) {
	rep.Problems = append(rep.Problems, pr)
	e.log.Warn("problem", "peer", peer, "path", pr.Path, "side", pr.Side, "err", pr.Err)
	e.emit(zerosync.Event{Kind: zerosync.EventProblem, Peer: peer, Problem: &pr})
}

// syncPair runs one pass of pair p: it syncs our tree with the peer, the
// whole trees or only the paths that changed on either side since the pair
// last synced. Its steps are the ones [Engine.Plan] takes, in the same
// order, up to the plan. It runs beside the passes of other pairs, as
// [concurrency] says: it reads our tree under the read lock, and applies
// under the write lock when the plan writes our tree.
func (e *Engine) syncPair(ctx context.Context, p *pair, confirm bool, rep *zerosync.Report) error {
	changed, all, err := p.peer.refresh(ctx, e, zerosync.Theirs, rep)
	if err != nil {
		return err
	}
	if all {
		e.mem.scanned.Store(true)
	}
	e.notes(func() { p.note(changed, all) })
	loaded := p.takeBase()
	if err := commitFailure(p.store); err != nil {
		// A change committed behind an earlier cycle failed: the common
		// state is read again from the database.
		p.base = nil
		return fmt.Errorf("save state: %w", err)
	}
	if p.base == nil {
		var b zerosync.Snapshot
		if loaded != nil {
			b, err = loaded.v, loaded.err
		} else {
			b, err = p.store.Base(ctx)
		}
		if err != nil {
			return fmt.Errorf("load state: %w", err)
		}
		p.base = hold(b)
		e.notes(func() { p.full = true })
	}
	if e.ours.snap == nil {
		return fmt.Errorf("our tree %s is not scanned", e.local.Name)
	}
	if !e.hasWork(p) {
		return nil
	}
	full := e.hasFull(p)
	if full {
		// A full reconcile may plan deletions anywhere: first make sure
		// both roots are the trees the pair synced. (Between full cycles
		// an endpoint notices its root replaced by itself.)
		if err := e.checkRootsNow(ctx, p); err != nil {
			return err
		}
	}
	// Plan on what our tree holds now, without keeping others from it.
	e.conc.ours.RLock()
	w := e.takeWork(p)
	ours := e.oursView(w)
	var pt *pairTrees
	if !w.full {
		// Narrowing copies what it keeps; a full pass holds our tree
		// whole as it was (a map nobody writes) and may run views, so it
		// narrows after the lock.
		pt, err = e.narrow(ctx, p, p.base, ours, p.peer.snap, false, w.pending)
	}
	e.conc.ours.RUnlock()
	if w.full {
		pt, err = e.narrow(ctx, p, p.base, ours, p.peer.snap, true, nil)
	}
	if err != nil {
		return err
	}
	pt.seen = w.seen
	plan, err := e.decide(pt, confirm)
	if err != nil {
		return err
	}
	if !writesOurs(plan) {
		// Only pushes: beside the other pairs, unless what it sends was
		// written since (then it is planned again, under the lock).
		err = e.applyPlan(ctx, p, pt, plan, rep, nil, nil)
		if !errors.Is(err, errStale) {
			e.pairProblems(p, pt, rep)
			return err
		}
	}
	// The plan writes our tree: the peer's content is read first, then
	// one pair at a time writes, on what our tree holds now.
	pre := e.prefetch(ctx, p, pt, plan)
	e.conc.ours.Lock()
	unlock := sync.OnceFunc(e.conc.ours.Unlock)
	defer unlock()
	if e.conc.gen != w.seen {
		// Another pair wrote our tree since: reconcile again, with what
		// it wrote, before writing anything.
		again := e.takeWork(p)
		if !w.full && !again.full {
			pending := maps.Clone(w.pending)
			maps.Copy(pending, again.pending)
			pt, err = e.narrow(ctx, p, p.base, e.ours.snap, p.peer.snap, false, pending)
		} else {
			pt, err = e.narrow(ctx, p, p.base, e.ours.snap, p.peer.snap, true, nil)
		}
		if err != nil {
			return err
		}
		if plan, err = e.decide(pt, confirm); err != nil {
			return err
		}
	}
	e.pairProblems(p, pt, rep)
	return e.applyPlan(ctx, p, pt, plan, rep, unlock, pre)
}

// hasFull reports whether pair p's next pass reconciles everything.
func (e *Engine) hasFull(p *pair) bool {
	e.conc.mu.Lock()
	defer e.conc.mu.Unlock()
	return p.full || len(e.views) > 0
}

// pairProblems reports what the views of a pass said.
func (e *Engine) pairProblems(p *pair, pt *pairTrees, rep *zerosync.Report) {
	for _, pr := range pt.problems {
		e.problem(rep, p.peer.Name, pr)
	}
}

// pairTrees is one pair's three trees as a cycle reconciles them: narrowed
// to what changed (in a partial cycle), to what both sides could read, by
// the filter and by the views.
type pairTrees struct {
	full bool
	// scope is what a partial cycle reconciles (see scope); nil in a full
	// one.
	scope map[string]bool
	names [2]string
	base  zerosync.Snapshot
	snaps [2]zerosync.Snapshot
	// sizes and synced are what the guards compare: in a full cycle what
	// the filter and the views let through, in a partial one the whole
	// trees.
	sizes  [2]int
	synced int
	// problems are what the views reported.
	problems []zerosync.Problem
	// seen is how many passes had written our tree when the pass read it
	// ([concurrency]).
	seen uint64
}

// checkPairRoots identifies the peer's root and checks both roots against
// the pair's binding; dry only checks, binding nothing.
func (e *Engine) checkPairRoots(ctx context.Context, p *pair, ourRoot func() (rootState, error), dry bool) error {
	ours, err := ourRoot()
	if err != nil {
		return err
	}
	theirs, err := e.identify(ctx, p.peer)
	if err != nil {
		return err
	}
	return e.checkRoots(ctx, p, [2]rootState{ours, theirs}, dry)
}

// narrow prepares the trees of pair p for reconciling: the paths in
// pending and what they touch (unless full), minus what either side could
// not read, through the filter and the views.
func (e *Engine) narrow(ctx context.Context, p *pair, hb, ho, ht *held, full bool, pending map[string]bool) (*pairTrees, error) {
	pt := &pairTrees{full: full, names: [2]string{e.local.Name, p.peer.Name},
		sizes: [2]int{ho.Len(), ht.Len()}, synced: hb.Len()}
	var base, ours, theirs zerosync.Snapshot
	if full {
		base, ours, theirs = hb.Map(), ho.Map(), ht.Map()
	} else {
		in := scope(slices.Collect(maps.Keys(pending)), hb, ho, ht)
		base, ours, theirs = restrict(hb, in), restrict(ho, in), restrict(ht, in)
		pt.scope = in
	}
	if unsure := [2]map[string]bool{e.ours.unsure, p.peer.unsure}; len(unsure[0])+len(unsure[1]) > 0 {
		// What a side could not read stays as it was, on both sides.
		base, ours, theirs = hide(base, unsure[:]...), hide(ours, unsure[:]...), hide(theirs, unsure[:]...)
	}
	if sys := systemDirs(ours, theirs); sys != nil {
		base, ours, theirs = hide(base, sys), hide(ours, sys), hide(theirs, sys)
	}
	base = applyFilter(base, e.filter)
	snaps := [2]zerosync.Snapshot{applyFilter(ours, e.filter), applyFilter(theirs, e.filter)}
	for _, v := range e.views {
		vp := &zerosync.ViewPair{Names: pt.names, Endpoints: [2]zerosync.Endpoint{e.local.Endpoint, p.peer.Endpoint}, Base: base, Ours: snaps[0], Theirs: snaps[1]}
		if err := v.View(ctx, vp); err != nil {
			return nil, fmt.Errorf("view: %w", err)
		}
		base, snaps[0], snaps[1] = vp.Base, vp.Ours, vp.Theirs
		pt.problems = append(pt.problems, vp.Problems...)
	}
	if hb.lost() || ho.lost() || ht.lost() {
		// What was read of them may be wrong: nothing is decided on it.
		e.kick()
		return nil, errHeldLost
	}
	pt.base, pt.snaps = base, snaps
	if full {
		pt.sizes, pt.synced = [2]int{len(snaps[0]), len(snaps[1])}, len(base)
	}
	return pt, nil
}

// lostFound is the folder fsck keeps at the top of a file system.
const lostFound = "lost+found"

// systemDirs returns the folders at the top of a root that belong to the
// file system, not to the tree (lost+found), when either side has one.
func systemDirs(snaps ...zerosync.Snapshot) map[string]bool {
	for _, s := range snaps {
		if e, ok := s[lostFound]; ok && e.Kind == zerosync.KindDir {
			return map[string]bool{lostFound: true}
		}
	}
	return nil
}

// decide reconciles the narrowed trees and applies the guards: an emptied
// root, a root showing none of what was synced, a plan deleting too much.
// confirm lifts the guards.
func (e *Engine) decide(pt *pairTrees, confirm bool) (zerosync.Plan, error) {
	if !confirm {
		for side, n := range pt.sizes {
			if n == 0 && pt.synced > 0 {
				return zerosync.Plan{}, fmt.Errorf("%w: %s has no files, but %d paths were synced before; if it was emptied on purpose, confirm the deletions and sync again",
					zerosync.ErrRootEmpty, pt.names[side], pt.synced)
			}
		}
		if pt.full {
			if err := checkEmptied(pt.base, pt.snaps, pt.names); err != nil {
				return zerosync.Plan{}, err
			}
		}
	}
	plan := e.differ.Reconcile(pt.base, pt.snaps[0], pt.snaps[1])
	if !confirm {
		if err := e.checkDeletions(plan, pt.synced, pt.names); err != nil {
			return zerosync.Plan{}, err
		}
	}
	return plan, nil
}

// applyPlan settles the plan's conflicts, applies its actions, commits the
// common state both sides now agree on, and tells the other pairs what
// changed in our tree.
//
// unlock is nil when the plan writes only the peer's tree (no action on our
// side, no conflict): its pushes claim what they read from our tree, and
// it returns [errStale], applying nothing, when a pass wrote that since
// the plan read it. Otherwise the caller holds our tree's write lock, and
// applyPlan calls unlock once it has written our tree, before it pushes to
// the peer. pre is the peer's content read beforehand, by path.
func (e *Engine) applyPlan(ctx context.Context, p *pair, pt *pairTrees, plan zerosync.Plan, rep *zerosync.Report, unlock func(), pre fetched) error {
	base, snaps := pt.base, pt.snaps
	run := &applyRun{e: e, p: p, snaps: snaps, names: pt.names, rep: rep, merged: map[string][]byte{}, bodies: map[zerosync.Digest][]byte{}}
	var retry []string
	var held map[string]bool
	if p.staged {
		var err error
		if plan, retry, held, err = e.stage(ctx, p, pt, plan, rep); err != nil {
			return err
		}
	}
	if len(pre) > 0 {
		run.theirs = &fetchedPeer{Endpoint: p.peer.Endpoint, files: pre}
	}
	acts := plan.Actions
	for _, c := range plan.Conflicts {
		more, err := run.settle(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			e.problem(rep, p.peer.Name, zerosync.Problem{Path: c.Path, Side: zerosync.Theirs, Err: fmt.Errorf("conflict not settled: %w", err)})
			retry = append(retry, c.Path)
			continue
		}
		acts = append(acts, more...)
	}
	SortActions(acts)
	locked := unlock != nil
	if !locked {
		e.conc.ours.RLock() // collisions look at our whole tree
	}
	acts = run.holdCollisions(ctx, acts)
	if !locked {
		e.conc.ours.RUnlock()
	}
	var final [2]zerosync.Snapshot
	if !locked {
		release, err := e.claimReads(pushReads(acts), pt.seen)
		if err != nil {
			return err
		}
		defer release()
		// Observers and subscribers get a copy: the actions are marked
		// for the archive as they are applied.
		e.emit(zerosync.Event{Kind: zerosync.EventPlanned, Peer: p.peer.Name, Planned: slices.Clone(acts)})
		final = run.apply(ctx, acts)
	} else {
		e.emit(zerosync.Event{Kind: zerosync.EventPlanned, Peer: p.peer.Name, Planned: slices.Clone(acts)})
		// Our side first, under the lock; the snapshot and the other
		// pairs learn what was written before anyone reads it. Then the
		// pushes, without the lock, claiming what they send.
		var mine, theirs []zerosync.Action
		for _, a := range acts {
			if a.Side == zerosync.Ours {
				mine = append(mine, a)
			} else {
				theirs = append(theirs, a)
			}
		}
		release := e.claimWrites(oursWrites(mine))
		final[0] = run.apply(ctx, mine)[0]
		if wrote := patch(e.ours.snap, snaps[0], final[0]); len(wrote) > 0 {
			e.wroteOurs(p, wrote)
		}
		release()
		reads, err := e.claimReads(pushReads(theirs), e.conc.gen)
		if err != nil {
			return err // not reached: nothing writes our tree while we hold it
		}
		defer reads()
		unlock()
		final[1] = run.apply(ctx, theirs)[1]
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	retry = append(retry, run.failed...)
	if err := e.commitPair(ctx, p, base, final, run); err != nil {
		return err
	}
	if err := e.dropStale(ctx, p, pt, held); err != nil {
		return err
	}
	// Their tree now holds what was written (ours was patched above; the
	// paths the filter or a view hid are left as they were). No action on
	// their side left final[1] the very map it was (see [applyRun.apply]).
	if slices.ContainsFunc(acts, func(a zerosync.Action) bool { return a.Side == zerosync.Theirs }) {
		patch(p.peer.snap, snaps[1], final[1])
	}
	if len(retry) > 0 {
		// Failed paths are retried next cycle even if nothing hints them.
		e.notes(func() { p.note(retry, false) })
	}
	if run.again {
		e.kick()
	}
	return nil
}

// commitPair moves the common state to whatever both sides now agree on.
func (e *Engine) commitPair(ctx context.Context, p *pair, base zerosync.Snapshot, final [2]zerosync.Snapshot, run *applyRun) error {
	c := commit{Base: map[string]*zerosync.Entry{}, Bodies: run.bodies, Journal: run.journal}
	if p.base.Len() == 0 && len(final[0]) > 0 && agree(final[0], final[1]) {
		// The first sync of trees that now agree everywhere: the common
		// state is our tree, given and then held as the map it is (nobody
		// writes it), where a copy of every entry would be made twice,
		// for the commit and for the held state: 30 MB of a first sync
		// of 100k files.
		c.Set = final[0]
		if err := p.store.Commit(ctx, c); err != nil {
			p.base = nil // reload what the store holds
			return fmt.Errorf("save state: %w", err)
		}
		p.base = hold(final[0])
		return nil
	}
	// record decides a path from its entries on our side, theirs and in
	// the common state (pointers to the callers' copies: a pointer of its
	// own is made only for an entry that joins the common state, not for
	// every path of a full cycle).
	record := func(path string, a *zerosync.Entry, inA bool, b *zerosync.Entry, inB bool, o *zerosync.Entry, inO bool) {
		if inA != inB || inA && !a.Same(b) {
			return
		}
		if inO == inA && (!inA || o.Same(a)) {
			return
		}
		if !inA {
			c.Base[path] = nil
			return
		}
		en := *a
		c.Base[path] = &en
	}
	// Every path of our side, with the other two looked up once; the
	// paths only they hold are looked for only when some are left (none
	// in a cycle with nothing to do: two lookups a path, not five).
	inB, inO := 0, 0
	for path, a := range final[0] {
		b, okB := final[1][path]
		o, okO := base[path]
		if okB {
			inB++
		}
		if okO {
			inO++
		}
		record(path, &a, true, &b, okB, &o, okO)
	}
	absent := func(path string) {
		b, okB := final[1][path]
		o, okO := base[path]
		record(path, nil, false, &b, okB, &o, okO)
	}
	if inB < len(final[1]) {
		for path := range final[1] {
			if _, ok := final[0][path]; !ok {
				absent(path)
			}
		}
	}
	if inO < len(base) {
		for path := range base {
			if _, ok := final[0][path]; !ok {
				if _, ok := final[1][path]; !ok { // or already decided above
					absent(path)
				}
			}
		}
	}
	if len(c.Base) == 0 && len(c.Journal) == 0 {
		return nil
	}
	if err := p.store.Commit(ctx, c); err != nil {
		p.base = nil // reload what the store holds
		return fmt.Errorf("save state: %w", err)
	}
	for path, en := range c.Base {
		if en == nil {
			p.base.Delete(path)
		} else {
			p.base.Set(path, *en)
		}
	}
	return nil
}

// agree reports whether a and b hold the same paths, each the same.
func agree(a, b zerosync.Snapshot) bool {
	if len(a) != len(b) {
		return false
	}
	for path, ea := range a {
		if eb, ok := b[path]; !ok || !ea.Same(&eb) {
			return false
		}
	}
	return true
}

// patch makes cache hold final where it held before, and returns the paths
// that changed.
func patch(cache *held, before, final zerosync.Snapshot) []string {
	var changed []string
	for path, old := range before {
		if now, ok := final[path]; !ok {
			cache.Delete(path)
			changed = append(changed, path)
		} else if !now.Same(&old) {
			cache.Set(path, now)
			changed = append(changed, path)
		}
	}
	for path, now := range final {
		if _, ok := before[path]; !ok {
			cache.Set(path, now)
			changed = append(changed, path)
		}
	}
	return changed
}

// checkEmptied stops a pair when a side that had at least two synced
// entries shows none of them, nor any of their content under another name
// (a rename): what a fresh file system mounted at the root looks like,
// with only lost+found or a stray file in it.
func checkEmptied(base zerosync.Snapshot, snaps [2]zerosync.Snapshot, names [2]string) error {
	if len(base) < 2 {
		return nil
	}
	var digests map[zerosync.Digest]bool // made only when a side kept no path
	for side, s := range snaps {
		kept := false
		for path := range base {
			if _, ok := s[path]; ok {
				kept = true
				break
			}
		}
		if !kept && digests == nil {
			digests = map[zerosync.Digest]bool{}
			for _, en := range base {
				if en.Kind == zerosync.KindFile {
					digests[en.Digest] = true
				}
			}
		}
		for _, en := range s {
			if kept {
				break
			}
			kept = en.Kind == zerosync.KindFile && digests[en.Digest]
		}
		if !kept {
			return fmt.Errorf("%w: %s shows none of the %d paths synced before (it holds %d others, such as %s): another or a fresh file system mounted at the root? If the tree was emptied on purpose, confirm the deletions and sync again",
				zerosync.ErrRootEmpty, names[side], len(base), len(s), sample(s))
		}
	}
	return nil
}

// sample names a few paths of s, quoted, for a message.
func sample(s zerosync.Snapshot) string {
	var out []string
	for _, p := range s.Paths() {
		if len(out) == 3 {
			out = append(out, "...")
			break
		}
		out = append(out, strconv.Quote(p))
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, ", ")
}

// checkDeletions stops a plan that removes too much of either side.
func (e *Engine) checkDeletions(plan zerosync.Plan, synced int, names [2]string) error {
	var dels [2]int
	recreated := map[[2]string]bool{}
	for _, a := range plan.Actions {
		if a.New != nil && a.Old == nil {
			recreated[[2]string{a.Side.String(), a.Path}] = true
		}
	}
	for _, a := range plan.Actions {
		if a.New == nil && !recreated[[2]string{a.Side.String(), a.Path}] {
			dels[a.Side]++
		}
	}
	for side, n := range dels {
		if n >= e.delMin && float64(n) > e.delShare*float64(synced) {
			return fmt.Errorf("%w: %d of %d synced paths would be deleted on %s (limit %.0f%%); if that is intended, confirm the deletions and sync again",
				zerosync.ErrMassDeletion, n, synced, names[side], e.delShare*100)
		}
	}
	return nil
}
