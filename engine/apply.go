package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// applyRun carries one pair's plan through conflict settlement and apply.
type applyRun struct {
	e      *Engine
	p      *pair
	snaps  [2]zerosync.Snapshot
	names  [2]string
	rep    *zerosync.Report
	merged map[string][]byte // content of merged files, by path
	mu     sync.Mutex        // guards bodies while a batch runs
	bodies map[zerosync.Digest][]byte
	// journal and failed are filled by apply.
	journal []Record
	failed  []string
	// again: something changed under our feet; another cycle should follow.
	again bool
	// after are creations, by side and path, that must follow the
	// removals ([folded]).
	after map[[2]string]bool
	// reviews is the pair's review queue, read once per run when a
	// conflict needs it.
	reviews      []ReviewItem
	reviewsKnown bool
	// theirs, when set, stands for the peer's endpoint as the source of
	// its versions: the staging area, when a staged change is applied.
	theirs zerosync.Endpoint
}

func (r *applyRun) tree(s zerosync.Side) *tree {
	if s == zerosync.Ours {
		return r.e.ours
	}
	return r.p.peer
}

func (r *applyRun) endpoint(s zerosync.Side) zerosync.Endpoint {
	if s == zerosync.Ours {
		return r.e.local.Endpoint
	}
	if r.theirs != nil {
		return r.theirs
	}
	return r.p.peer.Endpoint
}

// settle resolves one conflict and returns the actions that carry out the
// resolution. The version that is not kept is saved first (conflict copy and
// archive); if that fails, nothing is changed for the path.
//
// A version that changed since the scan while the chain read it (another
// writer, such as the daemon of the other host syncing the same two
// trees) leaves the conflict unsettled this cycle: what the chain decided
// was about a version that is gone, so nothing is written, no conflict
// copy is made, and the path is looked at again at once, as an action
// whose target changed is.
func (r *applyRun) settle(ctx context.Context, c zerosync.Conflict) ([]zerosync.Action, error) {
	c.Hosts = r.names
	cc := &conflictContent{r: r, c: c}
	c.Content = cc
	var (
		res zerosync.Resolution
		err error
	)
	if c.Ours != nil && c.Theirs != nil && c.Ours.Kind == zerosync.KindFile && c.Theirs.Kind == zerosync.KindFile {
		res, err = r.e.resolver.Resolve(ctx, c)
		if cc.moved.Load() && ctx.Err() == nil {
			r.e.log.InfoContext(ctx, "conflicted file changed since scan; rescanning", "peer", r.p.peer.Name, "path", c.Path)
			for _, s := range []zerosync.Side{zerosync.Ours, zerosync.Theirs} {
				r.tree(s).hint(zerosync.Hint{Paths: []string{c.Path}, Reason: "changed"})
			}
			r.failed = append(r.failed, c.Path)
			r.again = true
			return nil, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.e.log.WarnContext(ctx, "resolver chain failed; keeping both", "path", c.Path, "err", err)
			res = zerosync.Resolution{Keep: zerosync.VersionOurs, KeepOther: true, By: "keep-both", Note: "resolvers failed: " + err.Error()}
		}
	} else {
		res = structural(c)
	}
	// A conflict already queued for review with these very versions (the
	// actions that settle it failed last time, on a full disk or a failing
	// archive) is carried out again as it was decided: no second conflict
	// copy, no second review item, not reported again.
	queued, err := r.queued(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("read the review queue: %w", err)
	}
	if queued != nil && res.Merged == nil {
		res.Keep = zerosync.VersionOurs
		if queued.Archive["kept"] == zerosync.Theirs.String() {
			res.Keep = zerosync.VersionTheirs
		}
	}

	var want *zerosync.Entry
	keep := zerosync.Ours
	if res.Keep == zerosync.VersionTheirs {
		keep = zerosync.Theirs
	}
	sides := [2]*zerosync.Entry{c.Ours, c.Theirs}
	if res.Merged != nil {
		mode := res.Mode.Perm()
		if mode == 0 {
			mode = 0o644
			if c.Ours != nil {
				mode = c.Ours.Mode.Perm()
			}
		}
		want = &zerosync.Entry{Kind: zerosync.KindFile, Mode: mode, Size: int64(len(res.Merged)), Digest: digest.Sum(res.Merged), ModTime: time.Now()}
		r.merged[c.Path] = res.Merged
		if int64(len(res.Merged)) <= r.e.bodyLimit {
			r.bodies[want.Digest] = res.Merged
		}
	} else {
		want = sides[keep]
		if want == nil {
			keep = keep.Other()
			want = sides[keep]
		}
	}

	cr := zerosync.ConflictReport{Conflict: c, Resolution: res}
	if queued != nil {
		cr.CopyPath = queued.CopyPath
		r.e.log.InfoContext(ctx, "conflict already queued for review; applying it again", "path", c.Path, "id", queued.ID)
	} else {
		if res.KeepOther && res.Merged == nil {
			if lose := sides[keep.Other()]; lose != nil && lose.Kind != zerosync.KindDir && !lose.SameContent(want) {
				cp, err := r.keepCopy(ctx, c.Path, keep.Other(), *lose)
				if err != nil {
					return nil, fmt.Errorf("keeping the %s version: %w", r.names[keep.Other()], err)
				}
				cr.CopyPath = cp
			}
		}
		if res.KeepOther {
			if err := r.queue(ctx, c, res, keep, cr.CopyPath); err != nil {
				return nil, err
			}
		}
		r.rep.Conflicts = append(r.rep.Conflicts, cr)
		r.e.emit(zerosync.Event{Kind: zerosync.EventConflict, Peer: r.p.peer.Name, Conflict: &cr})
		r.journal = append(r.journal, Record{Time: time.Now(), Path: c.Path, Op: "conflict", Digest: want.Digest, By: res.By, Note: res.Note})
	}

	var acts []zerosync.Action
	d := &decision{merged: want, from: keep, reason: "conflict settled by " + res.By}
	for _, side := range []zerosync.Side{zerosync.Ours, zerosync.Theirs} {
		acts = appendOps(acts, side, d, c.Path, c.Base, sides[side])
	}
	// Whatever is replaced here was never seen by the other side.
	for i := range acts {
		if acts[i].Old != nil && acts[i].Old.Kind != zerosync.KindDir {
			acts[i].Archive = true
		}
	}
	return acts, nil
}

// queued returns the conflict waiting for review that has c's path and
// versions, or nil.
func (r *applyRun) queued(ctx context.Context, c zerosync.Conflict) (*ReviewItem, error) {
	if !r.reviewsKnown {
		items, err := r.p.store.Reviews(ctx)
		if err != nil {
			return nil, err
		}
		r.reviews, r.reviewsKnown = items, true
	}
	for i := range r.reviews {
		it := &r.reviews[i]
		if it.Path == c.Path && it.Ours.Same(c.Ours) && it.Theirs.Same(c.Theirs) {
			return it, nil
		}
	}
	return nil, nil
}

// queue enters a conflict in the review queue. When that fails, the
// conflict copy just made is taken back (its content stays in the archive),
// so that the retry next cycle does not leave a second one.
func (r *applyRun) queue(ctx context.Context, c zerosync.Conflict, res zerosync.Resolution, keep zerosync.Side, copyPath string) error {
	it := ReviewItem{Time: time.Now(), Path: c.Path, Base: c.Base, Ours: c.Ours, Theirs: c.Theirs,
		Hosts: r.names, CopyPath: copyPath, Note: res.Note, Archive: map[string]string{"kept": keep.String()}}
	if b, err := c.Content.ReadVersion(ctx, zerosync.VersionBase, r.e.bodyLimit); err == nil {
		it.BaseBody = b
	}
	id, err := r.p.store.AddReview(ctx, it)
	if err != nil {
		if cs, ok := zerosync.As[zerosync.ConflictStore](r.e.local.Endpoint); ok && copyPath != "" {
			if rerr := cs.RemoveConflict(ctx, copyPath); rerr != nil {
				r.e.log.WarnContext(ctx, "conflict copy left without a review item", "path", c.Path, "copy", copyPath, "err", rerr)
			}
		}
		return fmt.Errorf("queue for review: %w", err)
	}
	it.ID = id
	r.reviews = append(r.reviews, it)
	r.e.log.InfoContext(ctx, "conflict queued for review", "path", c.Path, "id", id, "copy", copyPath)
	return nil
}

// structural settles a conflict between different kinds of entry, or between
// symlinks: a directory wins (what it holds may be new), otherwise ours; the
// other version is kept beside it.
func structural(c zerosync.Conflict) zerosync.Resolution {
	keep := zerosync.VersionOurs
	if c.Theirs != nil && c.Theirs.Kind == zerosync.KindDir && (c.Ours == nil || c.Ours.Kind != zerosync.KindDir) {
		keep = zerosync.VersionTheirs
	}
	return zerosync.Resolution{Keep: keep, KeepOther: true, By: "structure", Note: "different kinds of entry; both kept"}
}

// keepCopy saves side's version of path as a conflict copy on our side.
func (r *applyRun) keepCopy(ctx context.Context, path string, side zerosync.Side, e zerosync.Entry) (string, error) {
	ar, ok := zerosync.As[zerosync.Archiver](r.e.local.Endpoint)
	if !ok {
		return "", nil // the archive flag on the overwrite keeps it instead
	}
	var content io.Reader
	if e.Kind == zerosync.KindFile {
		rc, err := r.endpoint(side).Open(ctx, path)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		content = rc
	}
	return ar.KeepConflict(ctx, path, e, content, r.names[side])
}

// apply runs the actions in order and returns both sides as they now are.
// A failed action is a problem; actions beneath a path that failed are still
// tried, and fail on their own.
func (r *applyRun) apply(ctx context.Context, acts []zerosync.Action) [2]zerosync.Snapshot {
	// A side no action writes keeps its snapshot: final is only read
	// then, and a full cycle does not copy two whole trees for nothing.
	final := r.snaps
	for side := range final {
		if slices.ContainsFunc(acts, func(a zerosync.Action) bool { return a.Side == zerosync.Side(side) }) {
			final[side] = maps.Clone(r.snaps[side])
		}
	}
	if len(acts) == 0 {
		return final
	}
	r.e.versioned(acts)
	// Files whose bytes a side already has at another path can be copied
	// there instead of sent (a rename, a duplicate). Those copies, and the
	// new directories they need, go before the removals so that the source
	// is still there.
	byDigest := [2]map[zerosync.Digest]string{{}, {}}
	for side, s := range r.snaps {
		for p, e := range s {
			if e.Kind == zerosync.KindFile && e.Size > 0 {
				byDigest[side][e.Digest] = p
			}
		}
	}
	removed := map[[2]string]bool{}
	for _, a := range acts {
		if a.New == nil {
			removed[[2]string{a.Side.String(), a.Path}] = true
		}
	}
	var early, rest []zerosync.Action
	newDirs := [2]map[string]bool{{}, {}}
	for _, a := range acts {
		hoist := false
		if a.Old == nil && a.New != nil && !removed[[2]string{a.Side.String(), a.Path}] && !r.after[[2]string{a.Side.String(), a.Path}] {
			parent := zerosync.Parent(a.Path)
			pe := r.snaps[a.Side].Get(parent)
			parentOK := parent == "" || newDirs[a.Side][parent] || (pe != nil && pe.Kind == zerosync.KindDir && !removed[[2]string{a.Side.String(), parent}])
			switch {
			case !parentOK:
			case a.New.Kind == zerosync.KindDir:
				hoist = true
				newDirs[a.Side][a.Path] = true
			case a.New.Kind == zerosync.KindFile:
				_, hoist = byDigest[a.Side][a.New.Digest]
			}
		}
		if hoist {
			early = append(early, a)
		} else {
			rest = append(rest, a)
		}
	}
	// Consecutive actions that make or replace files and symlinks do not
	// depend on each other (the directories they need come earlier in the
	// order), so they run together: the file system commits their syncs as
	// a group, and a remote endpoint pipelines them. Consecutive new
	// directories run together a depth at a time, shallowest first: those
	// of one depth do not depend on each other. Everything else runs alone,
	// in order.
	order := append(early, rest...)
	for i := 0; i < len(order); {
		j := i + 1
		group := leaf
		if makesDir(order[i]) {
			group = makesDir
		}
		if group(order[i]) {
			for j < len(order) && group(order[j]) {
				j++
			}
		}
		for _, acts := range byDepth(order[i:j]) {
			if ctx.Err() != nil {
				return final
			}
			r.batch(ctx, acts, byDigest, final)
		}
		i = j
	}
	return final
}

// makesDir reports whether a makes a directory where there was nothing.
func makesDir(a zerosync.Action) bool {
	return a.Old == nil && a.New != nil && a.New.Kind == zerosync.KindDir
}

// byDepth cuts a run of new directories into one group per depth,
// shallowest first, each in the run's order; any other run is one group.
func byDepth(acts []zerosync.Action) [][]zerosync.Action {
	if len(acts) < 2 || !makesDir(acts[0]) {
		return [][]zerosync.Action{acts}
	}
	sorted := slices.Clone(acts)
	depth := func(a zerosync.Action) int { return strings.Count(a.Path, "/") }
	slices.SortStableFunc(sorted, func(a, b zerosync.Action) int { return depth(a) - depth(b) })
	var out [][]zerosync.Action
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && depth(sorted[j]) == depth(sorted[i]) {
			j++
		}
		out = append(out, sorted[i:j])
		i = j
	}
	return out
}

// leaf reports whether a makes or replaces a file or a symlink.
func leaf(a zerosync.Action) bool {
	return a.New != nil && a.New.Kind != zerosync.KindDir && (a.Old == nil || a.Old.Kind == a.New.Kind)
}

// batch applies independent actions, in batches on an endpoint that takes
// them ([zerosync.BatchApplier]), otherwise up to the engine's parallelism
// at once, then records their outcomes in order.
func (r *applyRun) batch(ctx context.Context, acts []zerosync.Action, byDigest [2]map[zerosync.Digest]string, final [2]zerosync.Snapshot) {
	results := make([]batchResult, len(acts))
	// The actions on a side whose endpoint takes batches go to it in
	// batches; the others are applied one by one, several at once.
	var single []int
	var batched [2][]int
	var bas [2]zerosync.BatchApplier
	for side := range bas {
		if len(acts) > 1 {
			bas[side], _ = zerosync.As[zerosync.BatchApplier](r.endpoint(zerosync.Side(side)))
		}
	}
	for i, a := range acts {
		if bas[a.Side] != nil {
			batched[a.Side] = append(batched[a.Side], i)
		} else {
			single = append(single, i)
		}
	}
	for side, idx := range batched {
		if len(idx) > 0 {
			r.applyBatched(ctx, bas[side], acts, idx, byDigest[side], results)
		}
	}
	r.parallelDo(ctx, single, func(i int) {
		a := acts[i]
		results[i].n, results[i].err = r.applyOne(ctx, a, byDigest[a.Side])
	})
	for i, a := range acts {
		n, err := results[i].n, results[i].err
		r.rep.Bytes += n
		if err != nil {
			r.failed = append(r.failed, a.Path)
			if errors.Is(err, zerosync.ErrChanged) {
				// Changed under our feet after the scan: nothing was
				// written; look again at once.
				r.e.log.InfoContext(ctx, "changed since scan; rescanning", "peer", r.p.peer.Name, "path", a.Path, "side", a.Side)
				r.tree(a.Side).hint(zerosync.Hint{Paths: []string{a.Path}, Reason: "changed"})
				r.again = true
				continue
			}
			if r.tornRead(ctx, a, err) {
				continue
			}
			r.e.problem(r.rep, r.p.peer.Name, zerosync.Problem{Path: a.Path, Side: a.Side, Err: err})
			continue
		}
		if a.New == nil {
			delete(final[a.Side], a.Path)
		} else {
			final[a.Side][a.Path] = *a.New
		}
		r.rep.Applied = append(r.rep.Applied, a)
		r.e.emit(zerosync.Event{Kind: zerosync.EventApplied, Peer: r.p.peer.Name, Action: &a})
		rec := Record{Time: time.Now(), Path: a.Path, Side: a.Side, Note: a.Reason}
		switch {
		case a.New == nil:
			rec.Op = "remove"
		case a.Old == nil:
			rec.Op, rec.Digest = "create", a.New.Digest
		default:
			rec.Op, rec.Digest = "update", a.New.Digest
		}
		r.journal = append(r.journal, rec)
	}
}

// tornRead takes a file whose content did not match the size or digest its
// side declared, and reports whether it was a file still being written
// when it was scanned: its side, asked again, no longer declares what was
// planned. Both sides then look at the path again next cycle, and nothing
// is reported. A side that still declares what it did not send (a peer
// that lies, or content damaged on the way) is a problem, reported by the
// caller.
func (r *applyRun) tornRead(ctx context.Context, a zerosync.Action, err error) bool {
	if !errors.Is(err, zerosync.ErrDigestMismatch) || a.New == nil || a.New.Kind != zerosync.KindFile || a.From == a.Side {
		return false
	}
	ps, ok := zerosync.As[zerosync.PathScanner](r.endpoint(a.From))
	if !ok {
		return false
	}
	s, _, serr := ps.ScanPaths(ctx, []string{a.Path})
	if serr != nil {
		return false
	}
	if now, ok := s[a.Path]; ok && now.Same(a.New) && now.Size == a.New.Size {
		return false
	}
	r.e.log.InfoContext(ctx, "changed while being read; rescanning", "peer", r.p.peer.Name, "path", a.Path, "side", a.Side, "err", err)
	for _, side := range []zerosync.Side{zerosync.Ours, zerosync.Theirs} {
		r.tree(side).hint(zerosync.Hint{Paths: []string{a.Path}, Reason: "changed"})
	}
	return true
}

// applyOne carries out one action and returns the bytes it moved.
func (r *applyRun) applyOne(ctx context.Context, a zerosync.Action, have map[zerosync.Digest]string) (int64, error) {
	target := r.endpoint(a.Side)
	if a.New == nil || a.New.Kind != zerosync.KindFile {
		return 0, target.Apply(ctx, a.Op, nil)
	}
	if m, ok := r.merged[a.Path]; ok {
		return 0, target.Apply(ctx, a.Op, bytes.NewReader(m))
	}
	if src, ok := have[a.New.Digest]; ok && src != a.Path {
		if cp, ok := zerosync.As[zerosync.Copier](target); ok {
			err := cp.Copy(ctx, src, a.Op)
			if err == nil {
				return 0, nil
			}
			if errors.Is(err, zerosync.ErrChanged) {
				return 0, err
			}
			r.e.log.DebugContext(ctx, "local copy failed; sending", "path", a.Path, "src", src, "err", err)
		}
	}
	rc, err := r.open(ctx, a)
	if err != nil {
		return 0, fmt.Errorf("read from %s: %w", r.names[a.From], err)
	}
	defer rc.Close()
	cr := &countReader{r: rc}
	var in io.Reader = cr
	var body *bytes.Buffer
	if a.New.Size <= r.e.bodyLimit {
		body = bytes.NewBuffer(make([]byte, 0, a.New.Size))
		in = io.TeeReader(cr, body)
	}
	if err := target.Apply(ctx, a.Op, in); err != nil {
		return cr.n, err
	}
	if body != nil && looksText(body.Bytes()) {
		r.mu.Lock()
		r.bodies[a.New.Digest] = body.Bytes()
		r.mu.Unlock()
	}
	return cr.n, nil
}

// open returns the content a file action copies from its source side: as a
// delta against what the target side holds (deltaBase) when the source can
// send one (it decides whether that is large enough to be worth it).
func (r *applyRun) open(ctx context.Context, a zerosync.Action) (io.ReadCloser, error) {
	src := r.endpoint(a.From)
	do, ok := zerosync.As[zerosync.DeltaOpener](src)
	if !ok {
		return src.Open(ctx, a.Path)
	}
	base, release := r.deltaBase(ctx, a)
	if base.Size() == 0 {
		release()
		return src.Open(ctx, a.Path)
	}
	rc, err := do.OpenDelta(ctx, a.Path, base, base.Size())
	if err != nil {
		release()
		r.e.log.DebugContext(ctx, "delta refused; sending whole", "path", a.Path, "err", err)
		return src.Open(ctx, a.Path)
	}
	return &closeBoth{ReadCloser: rc, also: closerFunc(release)}, nil
}

// closeBoth is a reader that closes a second thing with itself.
type closeBoth struct {
	io.ReadCloser
	also io.Closer
}

func (c *closeBoth) Close() error {
	err := c.ReadCloser.Close()
	c.also.Close()
	return err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// looksText reports whether b is worth keeping as a merge base: valid UTF-8
// with no NUL byte in its first 8 KiB.
func looksText(b []byte) bool {
	head := b[:min(len(b), 8<<10)]
	return bytes.IndexByte(head, 0) < 0 && utf8.Valid(head[:len(head)-utf8Incomplete(head)])
}

// utf8Incomplete returns how many trailing bytes of b form an incomplete
// rune, cut by the 8 KiB window.
func utf8Incomplete(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}

// conflictContent reads the versions of a conflicted file. moved is set
// when ours or theirs no longer holds the version scanned; resolvers may
// read from several goroutines.
type conflictContent struct {
	r     *applyRun
	c     zerosync.Conflict
	moved atomic.Bool
}

func (cc *conflictContent) ReadVersion(ctx context.Context, v zerosync.Version, limit int64) ([]byte, error) {
	var (
		e    *zerosync.Entry
		side zerosync.Side
	)
	switch v {
	case zerosync.VersionBase:
		e = cc.c.Base
		if e == nil || e.Kind != zerosync.KindFile {
			return nil, zerosync.ErrNoBase
		}
		if e.Size > limit {
			return nil, fmt.Errorf("%w: base of %s is %d bytes", zerosync.ErrTooLarge, cc.c.Path, e.Size)
		}
		b, ok, err := cc.r.p.store.Body(ctx, e.Digest)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, zerosync.ErrNoBase
		}
		return b, nil
	case zerosync.VersionOurs:
		e, side = cc.c.Ours, zerosync.Ours
	case zerosync.VersionTheirs:
		e, side = cc.c.Theirs, zerosync.Theirs
	default:
		return nil, fmt.Errorf("unknown version %d", v)
	}
	if e == nil || e.Kind != zerosync.KindFile {
		return nil, fmt.Errorf("%s version of %s is not a file", side, cc.c.Path)
	}
	if e.Size > limit {
		return nil, fmt.Errorf("%w: %s version of %s is %d bytes", zerosync.ErrTooLarge, side, cc.c.Path, e.Size)
	}
	rc, err := cc.r.endpoint(side).Open(ctx, cc.c.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			cc.moved.Store(true)
		}
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s version of %s grew past %d bytes", zerosync.ErrTooLarge, side, cc.c.Path, limit)
	}
	if digest.Sum(b) != e.Digest {
		cc.moved.Store(true)
		return nil, fmt.Errorf("%s version of %s: %w (changed since scan)", side, cc.c.Path, zerosync.ErrDigestMismatch)
	}
	return b, nil
}
