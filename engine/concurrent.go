package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// Concurrent pairs
//
// A cycle syncs its pairs at once, each in a goroutine of its own (at most
// [WithConcurrentPairs] at a time): the hub's change reaches every spoke
// together, and one slow or failing peer delays no other pair. Every pair
// shares our tree ("ours"); what guards it:
//
//   - Each pair owns its peer's tree, its common state (base, bodies,
//     journal, reviews, staging area) and its store: no other pair reads or
//     writes them while the cycle runs. The stores commit concurrently (the
//     state database serialises its writers, one bucket per pair).
//   - concurrency.ours guards our tree: the engine's snapshot of it
//     (tree.snap) and every write the engine makes to our endpoint. A pass
//     of a pair reads the snapshot under the read lock and keeps a copy of
//     what it reconciles (and the write count, gen, that copy reflects).
//   - A pass whose plan writes nothing to our tree (no action on our side,
//     no conflict: the pair only pushes to its peer) applies without the
//     lock, so such passes run concurrently; what it reads from our tree
//     is claimed (below).
//   - A pass whose plan writes to our tree (an action on our side, a
//     conflict to settle) first reads the peer's content it copies into
//     our tree and the peer's conflicted versions (small files,
//     [fetched]), then takes the write lock and
//     holds it while it settles conflicts, applies the actions on our side
//     and updates the snapshot: writes to our tree never race, and no pass
//     reads the snapshot half patched. When another pair wrote our tree
//     since the pass read it (gen moved), the pass reconciles again under
//     the lock, on what our tree holds now, before it writes anything: a
//     plan never overwrites our tree from a stale view of it. It releases
//     the lock before it pushes to its peer and commits its state, so a
//     slow peer holds it only while a large file (or an update it may send
//     as a delta) is copied into our tree.
//   - A pass that wrote our tree notes the paths it wrote as pending for
//     every other pair and marks them again (under concurrency.mu); the
//     cycle then runs each of them once more as soon as its pass under way
//     ends (concurrency.rerun wakes the cycle), so the change reaches every
//     spoke in the same cycle without waiting for the slowest. A pass
//     that read our tree after the write does not need to run again: taking
//     its work clears the mark.
//   - A pass that only pushes still reads from our tree the content it
//     sends. It claims those paths for reading (concurrency.reading) while
//     it applies; a writing pass claims the paths it writes on our side
//     (concurrency.writing) before it applies and waits until no pass
//     reads them, or anything beneath them. A push whose paths a pass wrote
//     since it read our tree (concurrency.written) applies nothing: it is
//     stale, and plans again under the write lock. So content is never
//     read from our tree while the engine replaces it, and a slow push
//     delays only a write of the very paths it reads.
//   - Marking our root (the first sync) is serialised (concurrency.marking),
//     so two pairs never give it two identities.
//
// Lock order: ours, then mu; Engine.mu and the event lock are taken inside
// either, never the other way round.
type concurrency struct {
	// limit is how many pairs sync at once.
	limit int
	// ours guards our tree's snapshot and every write to our endpoint.
	ours sync.RWMutex
	// gen counts the passes that wrote our tree, under ours.
	gen uint64
	// mu guards every pair's full, pending and again while a cycle runs,
	// and the claims below; changed is signalled when a claim ends.
	mu      sync.Mutex
	changed *sync.Cond
	// reading counts the passes reading each path of our tree for a push;
	// writing are the paths a writing pass is about to write; written is
	// the gen at which a pass of this cycle last wrote each path.
	reading map[string]int
	writing map[string]bool
	written map[string]uint64
	// rerun tells the cycle that a pass wrote our tree (buffered, 1).
	rerun chan struct{}
	// marking is held while a pair reads our root's identity to mark it.
	marking sync.Mutex
	// events keeps observers called one at a time.
	events sync.Mutex
}

// defaultConcurrentPairs is how many pairs a cycle syncs at once by
// default.
const defaultConcurrentPairs = 16

// WithConcurrentPairs sets how many pairs a cycle syncs at once (16 by
// default): each pushes our changes to its peer on its own, so a slow or
// failing peer does not delay the others. Writes to our own tree are
// serialised whatever the number. 1 syncs the pairs one after another.
func WithConcurrentPairs(n int) Option {
	return func(e *Engine) error {
		if n < 1 {
			return fmt.Errorf("concurrent pairs %d out of range", n)
		}
		e.conc.limit = n
		return nil
	}
}

// work is what one pass of a pair reconciles.
type work struct {
	full    bool
	pending map[string]bool
	// seen is the count of passes that wrote our tree when the pass read
	// it.
	seen uint64
}

// notes runs f under the lock of the pairs' pending work.
func (e *Engine) notes(f func()) {
	e.conc.mu.Lock()
	defer e.conc.mu.Unlock()
	f()
}

// takeWork takes what pair p has to reconcile: everything (full, or views
// that decide from whole trees) or its pending paths. The caller holds
// conc.ours, for reading at least.
func (e *Engine) takeWork(p *pair) work {
	e.conc.mu.Lock()
	defer e.conc.mu.Unlock()
	w := work{full: p.full || len(e.views) > 0, pending: p.pending, seen: e.conc.gen}
	p.full, p.pending, p.again = false, nil, false
	return w
}

// hasWork reports whether pair p has anything to reconcile.
func (e *Engine) hasWork(p *pair) bool {
	e.conc.mu.Lock()
	defer e.conc.mu.Unlock()
	return p.full || len(e.views) > 0 || len(p.pending) > 0
}

// wroteOurs records, under the write lock of our tree, that pair p wrote
// paths of it: every other pair reconciles them, once more in this cycle.
func (e *Engine) wroteOurs(p *pair, paths []string) {
	e.conc.gen++
	e.conc.mu.Lock()
	defer e.conc.mu.Unlock()
	if e.conc.written == nil {
		e.conc.written = map[string]uint64{}
	}
	for _, q := range paths {
		e.conc.written[q] = e.conc.gen
	}
	for _, q := range e.pairs {
		if q != p {
			q.note(paths, false)
			q.again = true
		}
	}
	select {
	case e.conc.rerun <- struct{}{}:
	default:
	}
}

// writesOurs reports whether a plan may write our tree: an action on our
// side, or a conflict (settling it may keep a copy, or change our side).
func writesOurs(plan zerosync.Plan) bool {
	if len(plan.Conflicts) > 0 {
		return true
	}
	for _, a := range plan.Actions {
		if a.Side == zerosync.Ours {
			return true
		}
	}
	return false
}

// oursView returns our tree's snapshot for pass w: when the pass
// reconciles everything, our tree whole as it is now (narrow keeps the
// snapshot it is given, and other passes may change ours once the lock is
// left); the held snapshot otherwise (narrow copies the paths it
// reconciles). The caller holds conc.ours.
func (e *Engine) oursView(w work) *held {
	if w.full {
		return hold(e.ours.snap.Map())
	}
	return e.ours.snap
}

// checkRootsNow identifies both roots of p, ours read afresh (another pair
// may have marked it in this cycle), and checks them against the pair's
// binding. While our root has no marker, one pair at a time reads and
// marks it.
func (e *Engine) checkRootsNow(ctx context.Context, p *pair) error {
	ours, err := e.identify(ctx, e.ours)
	if err != nil {
		return err
	}
	if ours.id != nil && ours.id.Replica == "" {
		e.conc.marking.Lock()
		defer e.conc.marking.Unlock()
		if ours, err = e.identify(ctx, e.ours); err != nil {
			return err
		}
	}
	theirs, err := e.identify(ctx, p.peer)
	if err != nil {
		return err
	}
	return e.checkRoots(ctx, p, [2]rootState{ours, theirs}, false)
}

// queueAgain queues, in the engine's order, the eligible pairs that
// another pass's write to our tree marked again, unless they had their
// share of passes this cycle (then capped is set).
func (e *Engine) queueAgain(queue *[]*pair, queued map[*pair]bool, passes map[*pair]int, maxPasses int, eligible func(*pair) bool, capped *bool) {
	for _, q := range e.pairs {
		var again bool
		e.notes(func() { again = q.again })
		switch {
		case !again || !eligible(q):
		case passes[q] >= maxPasses:
			*capped = true
		default:
			*queue = append(*queue, q)
			queued[q] = true
		}
	}
}

// passDone is how one pass of a pair went.
type passDone struct {
	p     *pair
	pass  int
	start time.Time
	rep   zerosync.Report
	err   error
}

// pairsRun is what syncing the pairs of a cycle did.
type pairsRun struct {
	tried  map[*pair]bool
	failed map[*pair]error // a pair's error is reported once a cycle
	// cancelled: ctx ended while the pairs synced.
	cancelled bool
}

// syncPairs syncs every pair that is not halted or waiting, at most
// conc.limit at once, and runs a pair again when another one wrote our
// tree after it read it, up to once per other pair: a change from one
// spoke reaches the others in the same cycle. It returns when every pass
// ended; each pass's report is added to rep as it ends.
func (e *Engine) syncPairs(ctx context.Context, confirm, halting bool, rep *zerosync.Report) pairsRun {
	out := pairsRun{tried: map[*pair]bool{}, failed: map[*pair]error{}}
	e.resetClaims()
	results := make(chan passDone)
	passes := map[*pair]int{}
	running := map[*pair]bool{}
	queued := map[*pair]bool{}
	var queue []*pair // started in order, at most conc.limit at once
	maxPasses := len(e.pairs) + 1
	start := func() {
		for len(queue) > 0 && len(running) < e.conc.limit {
			p := queue[0]
			queue = queue[1:]
			delete(queued, p)
			pass := passes[p]
			passes[p]++
			running[p] = true
			out.tried[p] = true
			go func() {
				began := time.Now()
				var prep zerosync.Report
				err := e.syncPair(ctx, p, confirm, &prep)
				results <- passDone{p: p, pass: pass, start: began, rep: prep, err: err}
			}()
		}
	}
	eligible := func(p *pair) bool {
		return !running[p] && !queued[p] && !p.skip && out.failed[p] == nil && !e.isHalted(p.peer.Name)
	}
	for _, p := range e.pairs {
		e.notes(func() { p.again = false })
		if eligible(p) {
			queue = append(queue, p)
			queued[p] = true
		}
	}
	start()
	capped := false
	for len(running) > 0 {
		var d passDone
		select {
		case d = <-results:
		case <-e.conc.rerun:
			// A pass wrote our tree: the pairs that ended run again now,
			// not when the slowest ends.
			if !out.cancelled && ctx.Err() == nil {
				e.queueAgain(&queue, queued, passes, maxPasses, eligible, &capped)
				start()
			}
			continue
		}
		delete(running, d.p)
		rep.Applied = append(rep.Applied, d.rep.Applied...)
		rep.Conflicts = append(rep.Conflicts, d.rep.Conflicts...)
		rep.Problems = append(rep.Problems, d.rep.Problems...)
		rep.Bytes += d.rep.Bytes
		e.notePair(d.p, d.pass, d.start, d.err)
		if err := d.err; err != nil {
			e.notes(func() { d.p.full = true }) // try everything again next time
			if ctx.Err() != nil {
				out.cancelled = true
				continue
			}
			if halting && haltable(err) {
				e.halt(ctx, d.p.peer.Name, fmt.Errorf("peer %s: %w", d.p.peer.Name, err))
			}
			out.failed[d.p] = err
			e.log.WarnContext(ctx, "pair stopped", "peer", d.p.peer.Name, "err", err)
		}
		if out.cancelled {
			queue = nil
			continue
		}
		e.queueAgain(&queue, queued, passes, maxPasses, eligible, &capped)
		start()
	}
	if capped {
		// What is still pending waits for the next cycle: ask for it.
		e.kick()
	}
	return out
}

// errStale: a push would read paths of our tree that another pair wrote
// since the pass read it; nothing was applied.
var errStale = errors.New("our tree changed since the pass read it")

// pushReads returns the paths of our tree whose content acts send to the
// peer.
func pushReads(acts []zerosync.Action) []string {
	var out []string
	for _, a := range acts {
		if a.Side == zerosync.Theirs && a.From == zerosync.Ours && a.New != nil && a.New.Kind == zerosync.KindFile {
			out = append(out, a.Path)
		}
	}
	return out
}

// oursWrites returns the paths of our tree that acts write.
func oursWrites(acts []zerosync.Action) []string {
	var out []string
	for _, a := range acts {
		if a.Side == zerosync.Ours {
			out = append(out, a.Path)
		}
	}
	return out
}

// claimReads claims paths of our tree for reading by a push of a pass that
// read our tree at gen seen; it waits while a writing pass claims them.
// It returns [errStale] when a pass wrote one of them, or a directory
// above one, since seen; otherwise release ends the claim.
func (e *Engine) claimReads(paths []string, seen uint64) (release func(), err error) {
	c := &e.conc
	if len(paths) == 0 {
		return func() {}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for slices.ContainsFunc(paths, func(q string) bool { return under(q, c.writing) }) {
		c.changed.Wait()
	}
	for _, q := range paths {
		for d := q; d != ""; d = zerosync.Parent(d) {
			if c.written[d] > seen {
				return nil, errStale
			}
		}
	}
	if c.reading == nil {
		c.reading = map[string]int{}
	}
	for _, q := range paths {
		c.reading[q]++
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, q := range paths {
			if c.reading[q]--; c.reading[q] <= 0 {
				delete(c.reading, q)
			}
		}
		c.changed.Broadcast()
	}, nil
}

// claimWrites claims paths of our tree for a writing pass, which holds the
// write lock of our tree: it waits until no push reads them or anything
// beneath them. release ends the claim.
func (e *Engine) claimWrites(paths []string) (release func()) {
	c := &e.conc
	if len(paths) == 0 {
		return func() {}
	}
	set := make(map[string]bool, len(paths))
	for _, q := range paths {
		set[q] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = set
	for {
		busy := false
		for q := range c.reading {
			if under(q, set) {
				busy = true
				break
			}
		}
		if !busy {
			break
		}
		c.changed.Wait()
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.writing = nil
		c.changed.Broadcast()
	}
}

// resetClaims forgets what the passes of the last cycle wrote; no pass
// runs.
func (e *Engine) resetClaims() {
	e.conc.mu.Lock()
	e.conc.written = nil
	e.conc.mu.Unlock()
}

// The peer's content a writing pass reads before it takes our tree's
// lock: files up to fetchFileMax, up to fetchTotalMax in all. Larger ones,
// and updates a peer could send as deltas, are read under the lock.
const (
	fetchFileMax  = 1 << 20
	fetchTotalMax = 32 << 20
)

// fetched is the content of files of the peer, by path, read before a
// writing pass takes our tree's lock, so that a slow peer holds it only
// while our tree is written. Each is the version of the peer's snapshot
// the pass reconciles.
type fetched map[string]fetchedFile

type fetchedFile struct {
	digest zerosync.Digest
	data   []byte
}

// prefetch reads the content the plan copies from the peer into our
// tree, and the peer's versions of conflicted files, when our tree does not
// hold that content already. What cannot be read is left out: it is read
// again when needed, and fails there if it must.
func (e *Engine) prefetch(ctx context.Context, p *pair, pt *pairTrees, plan zerosync.Plan) fetched {
	if p.staged {
		return nil // its changes to our tree are staged, not applied
	}
	have := map[zerosync.Digest]bool{}
	for _, en := range pt.snaps[0] {
		if en.Kind == zerosync.KindFile {
			have[en.Digest] = true
		}
	}
	// A file that replaces one of ours may come as a delta against ours,
	// when the peer can send one: it is read under the lock.
	_, deltas := zerosync.As[zerosync.DeltaOpener](p.peer.Endpoint)
	var want []string
	wanted := map[string]*zerosync.Entry{}
	for _, a := range plan.Actions {
		if a.Side == zerosync.Ours && a.From == zerosync.Theirs && a.New != nil && a.New.Kind == zerosync.KindFile &&
			!have[a.New.Digest] && !(deltas && a.Old != nil && a.Old.Kind == zerosync.KindFile) {
			want, wanted[a.Path] = append(want, a.Path), a.New
		}
	}
	for _, c := range plan.Conflicts {
		if c.Theirs != nil && c.Theirs.Kind == zerosync.KindFile && !have[c.Theirs.Digest] {
			want, wanted[c.Path] = append(want, c.Path), c.Theirs
		}
	}
	out := fetched{}
	var total int64
	for _, path := range want {
		en := wanted[path]
		if en.Size > fetchFileMax || total+en.Size > fetchTotalMax || ctx.Err() != nil {
			continue
		}
		rc, err := p.peer.Endpoint.Open(ctx, path)
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(rc, en.Size+1))
		rc.Close()
		if err != nil || digest.Sum(b) != en.Digest {
			continue
		}
		out[path] = fetchedFile{digest: en.Digest, data: b}
		total += int64(len(b))
	}
	return out
}

// fetchedPeer is the peer's endpoint with files of it read beforehand
// ([Engine.prefetch]): Open serves those from memory. Its other abilities
// are the peer's own ([zerosync.As] unwraps it).
type fetchedPeer struct {
	zerosync.Endpoint
	files fetched
}

func (f *fetchedPeer) Unwrap() zerosync.Endpoint { return f.Endpoint }

func (f *fetchedPeer) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	if ff, ok := f.files[p]; ok {
		return io.NopCloser(bytes.NewReader(ff.data)), nil
	}
	return f.Endpoint.Open(ctx, p)
}
