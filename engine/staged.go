package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/internal/state"
)

// stagedHoldMax is the largest file whose content the staging area holds;
// a larger one is read from the peer when it is applied, and applied only
// if the peer still has that very version.
const stagedHoldMax = 16 << 20

// WithStaged marks peers as staged, by name: what such a peer changes is
// not written into our tree but held in a staging area, where
// [Engine.Staged] lists it, until a person applies it ([Engine.ApplyStaged])
// or rejects it ([Engine.RejectStaged]). Changes from our tree to the peer
// flow as usual.
//
// Every change a cycle would make to our tree because of the peer (a
// creation, an update, a removal, a mode change) is held, and so is every
// conflict with the peer: the peer's version is not merged until a person
// applies it. A held item keeps the peer's entry and content (up to 16 MiB;
// a larger file is read from the peer when applied), the common entry and
// ours as they were when it was staged, in the state database, so it
// survives restarts. The common state of a held path does not move, so
// later cycles neither redo nor lose it; a newer version from the peer
// replaces the held one, under a new ID, and an item whose change the peer
// undid, or that our tree now matches, is dropped.
func WithStaged(peers ...string) Option {
	return func(e *Engine) error {
		if e.staged == nil {
			e.staged = map[string]bool{}
		}
		for _, p := range peers {
			if p == "" {
				return errors.New("engine: empty staged peer name")
			}
			e.staged[p] = true
		}
		return nil
	}
}

// StagedItem is a change from a staged peer waiting for a person (see
// [WithStaged]).
type StagedItem struct {
	// ID names the item: unique among the items of every peer, never
	// reused; a newer version of the same path gets a new one.
	ID   uint64
	Peer string
	// Time is when the item was staged.
	Time time.Time
	Path string
	// Base is the common entry, Ours our entry and Theirs the peer's when
	// the item was staged; nil is absent (Theirs nil: the peer removed
	// the path).
	Base, Ours, Theirs *zerosync.Entry
	// Conflict says both sides had changed the path when it was staged:
	// applying it asks the resolver chain.
	Conflict bool
	// Note says what the peer did: "modified on theirs".
	Note string
}

// ErrNotStaged: no staged change has the ID given (it was applied,
// rejected, or replaced by a newer version with a new ID).
var ErrNotStaged = errors.New("no such staged change")

func stagedItem(peer string, it state.StagedItem) StagedItem {
	return StagedItem{ID: it.ID, Peer: peer, Time: it.Time, Path: it.Path, Base: it.Base, Ours: it.Ours,
		Theirs: it.Theirs, Conflict: it.Conflict, Note: it.Note}
}

// Staged returns the changes waiting in the staging area, of every peer,
// by peer then path.
func (e *Engine) Staged(ctx context.Context) ([]StagedItem, error) {
	var out []StagedItem
	for _, p := range e.pairList() {
		items, err := p.store.Staged(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out = append(out, stagedItem(p.peer.Name, it))
		}
	}
	return out, nil
}

// StagedContent returns, for showing a diff, the content of staged change
// id and that of the file in our tree now: nil for a side that is not a
// file (absent, a folder, a symlink). Either larger than 16 MiB is an error
// wrapping [zerosync.ErrTooLarge].
func (e *Engine) StagedContent(ctx context.Context, id uint64) (staged, ours []byte, err error) {
	byPair, err := e.stagedByID(ctx, []uint64{id})
	if err != nil {
		return nil, nil, err
	}
	for p, items := range byPair {
		it := items[0]
		if it.Theirs != nil && it.Theirs.Kind == zerosync.KindFile {
			if it.Theirs.Size > stagedHoldMax {
				return nil, nil, fmt.Errorf("engine: staged version of %q is %d bytes: %w", it.Path, it.Theirs.Size, zerosync.ErrTooLarge)
			}
			src := &stagedSource{e: e, p: p, items: map[string]state.StagedItem{it.Path: it}}
			if staged, err = src.content(ctx, it); err != nil {
				return nil, nil, err
			}
		}
		cur, err := e.localEntry(ctx, it.Path)
		if err != nil || cur == nil || cur.Kind != zerosync.KindFile {
			return staged, nil, err
		}
		if cur.Size > stagedHoldMax {
			return nil, nil, fmt.Errorf("engine: %q is %d bytes here: %w", it.Path, cur.Size, zerosync.ErrTooLarge)
		}
		rc, err := e.local.Endpoint.Open(ctx, it.Path)
		if err != nil {
			return nil, nil, err
		}
		defer rc.Close()
		if ours, err = io.ReadAll(io.LimitReader(rc, stagedHoldMax+1)); err != nil {
			return nil, nil, err
		}
		if len(ours) > stagedHoldMax {
			return nil, nil, fmt.Errorf("engine: %q grew past %d bytes: %w", it.Path, stagedHoldMax, zerosync.ErrTooLarge)
		}
	}
	return staged, ours, nil
}

// stagedByID finds the staged items with the given IDs, by pair; an ID
// that names none is an error wrapping [ErrNotStaged].
func (e *Engine) stagedByID(ctx context.Context, ids []uint64) (map[*pair][]state.StagedItem, error) {
	want := map[uint64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[*pair][]state.StagedItem{}
	for _, p := range e.pairs {
		if len(want) == 0 {
			break
		}
		items, err := p.store.Staged(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if want[it.ID] {
				out[p] = append(out[p], it)
				delete(want, it.ID)
			}
		}
	}
	if len(want) > 0 {
		missing := slices.Sorted(func(yield func(uint64) bool) {
			for id := range want {
				if !yield(id) {
					return
				}
			}
		})
		return nil, fmt.Errorf("engine: staged change %d: %w (applied, rejected, or replaced by a newer version with a new ID)", missing[0], ErrNotStaged)
	}
	return out, nil
}

// stage holds back what a cycle of a staged pair would do to our tree:
// every action on our side and every conflict becomes a staged item (or
// stays one, when the peer's version is the one already held). It returns
// the plan left to carry out (the changes to the peer), the paths to try
// again next cycle, and the paths held.
func (e *Engine) stage(ctx context.Context, p *pair, pt *pairTrees, plan zerosync.Plan, rep *zerosync.Report) (zerosync.Plan, []string, map[string]bool, error) {
	items, err := p.store.Staged(ctx)
	if err != nil {
		return plan, nil, nil, fmt.Errorf("read the staging area: %w", err)
	}
	have := make(map[string]state.StagedItem, len(items))
	for _, it := range items {
		have[it.Path] = it
	}
	want := map[string]*state.StagedItem{}
	var paths []string
	add := func(it state.StagedItem) {
		if want[it.Path] == nil { // a change of kind is two actions
			want[it.Path] = &it
			paths = append(paths, it.Path)
		}
	}
	var rest []zerosync.Action
	for _, a := range plan.Actions {
		if a.Side != zerosync.Ours {
			rest = append(rest, a)
			continue
		}
		add(state.StagedItem{Path: a.Path, Base: pt.base.Get(a.Path), Ours: pt.snaps[0].Get(a.Path), Theirs: pt.snaps[1].Get(a.Path), Note: a.Reason})
	}
	for _, c := range plan.Conflicts {
		add(state.StagedItem{Path: c.Path, Base: c.Base, Ours: c.Ours, Theirs: c.Theirs, Conflict: true, Note: "changed on both sides"})
	}
	var retry []string
	now := time.Now()
	for _, path := range paths {
		it := want[path]
		if old, ok := have[path]; ok && old.Theirs.Same(it.Theirs) {
			continue // held already, with our version as it was then
		}
		it.Time = now
		content, err := e.stagedFromPeer(ctx, p, it)
		var id uint64
		if err == nil {
			id, err = p.store.Stage(ctx, *it, content)
		}
		switch {
		case err == nil:
			e.log.InfoContext(ctx, "change staged", "peer", p.peer.Name, "path", path, "id", id, "note", it.Note)
			continue
		case ctx.Err() != nil:
			return plan, nil, nil, ctx.Err()
		case errors.Is(err, zerosync.ErrDigestMismatch):
			// Changed on the peer since the scan: look again at once.
			e.log.InfoContext(ctx, "changed since scan; rescanning", "peer", p.peer.Name, "path", path)
			p.peer.hint(zerosync.Hint{Paths: []string{path}, Reason: "changed"})
			e.kick()
		default:
			e.problem(rep, p.peer.Name, zerosync.Problem{Path: path, Side: zerosync.Theirs, Err: fmt.Errorf("not staged: %w", err)})
		}
		retry = append(retry, path)
	}
	held := make(map[string]bool, len(paths))
	for _, path := range paths {
		held[path] = true // an item that could not be restaged stays
	}
	return zerosync.Plan{Actions: rest}, retry, held, nil
}

// stagedFromPeer reads the peer's content of a file to stage, or returns
// nil when the staging area does not hold it (not a file, or too large).
// Content that does not match the scan is an error wrapping
// [zerosync.ErrDigestMismatch].
func (e *Engine) stagedFromPeer(ctx context.Context, p *pair, it *state.StagedItem) ([]byte, error) {
	t := it.Theirs
	if t == nil || t.Kind != zerosync.KindFile || t.Size > stagedHoldMax {
		return nil, nil
	}
	rc, err := p.peer.Endpoint.Open(ctx, it.Path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, t.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != t.Size || digest.Sum(b) != t.Digest {
		return nil, fmt.Errorf("%s of %s: %w", it.Path, p.peer.Name, zerosync.ErrDigestMismatch)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// dropStale removes the staged items of pair p that the cycle just done
// looked at and did not hold: the peer undid its change, our tree now
// matches it, or (for a pair no longer staged) it was applied. held are
// the paths the cycle staged or means to stage.
func (e *Engine) dropStale(ctx context.Context, p *pair, pt *pairTrees, held map[string]bool) error {
	if p.noneStaged {
		return nil
	}
	items, err := p.store.Staged(ctx)
	if err != nil {
		return fmt.Errorf("read the staging area: %w", err)
	}
	if len(items) == 0 && !p.staged {
		p.noneStaged = true
	}
	for _, it := range items {
		if held[it.Path] || !(pt.full || pt.scope[it.Path]) {
			continue
		}
		if err := p.store.Unstage(ctx, it.Path, it.ID); err != nil {
			return fmt.Errorf("staging area: %w", err)
		}
		e.log.InfoContext(ctx, "staged change dropped: no longer a change", "peer", p.peer.Name, "path", it.Path, "id", it.ID)
	}
	return nil
}

// ApplyStaged writes staged changes into our tree and returns what it did.
// Each path is checked again first: when our version is still the one it
// was staged with (and the item is no conflict), the peer's version
// replaces it (what it replaces is archived, as versioning says);
// otherwise our version moved since, and the two are a conflict, settled
// by the resolver chain as a cycle settles one (merged, or both kept and
// queued for review) in our tree. Either way the peer's version becomes
// the common one, so the next cycle carries our tree's result to the peer,
// when it differs. An item that could not be applied stays staged; its
// problem is in the report, and the error says how many failed.
func (e *Engine) ApplyStaged(ctx context.Context, ids ...uint64) (zerosync.Report, error) {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	rep := zerosync.Report{Start: time.Now()}
	byPair, err := e.stagedByID(ctx, ids)
	if err != nil || len(byPair) == 0 {
		return rep, err
	}
	snap, probs, err := e.local.Endpoint.Scan(ctx)
	if err != nil {
		return rep, fmt.Errorf("engine: scan %s: %w", e.local.Name, err)
	}
	unsure := map[string]bool{}
	for _, pr := range probs {
		unsure[pr.Path] = true
	}
	failed, total := 0, 0
	for _, p := range e.pairs {
		if items := byPair[p]; len(items) > 0 {
			n, err := e.applyStaged(ctx, p, items, snap, unsure, &rep)
			failed, total = failed+n, total+len(items)
			if err != nil {
				rep.End = time.Now()
				return rep, err
			}
		}
	}
	rep.End = time.Now()
	if failed > 0 {
		return rep, fmt.Errorf("engine: %d of %d staged change(s) not applied; see the problems", failed, total)
	}
	return rep, nil
}

// applyStaged applies the staged items of one pair to our tree, whose
// snapshot is snap, and returns how many failed.
func (e *Engine) applyStaged(ctx context.Context, p *pair, items []state.StagedItem, snap zerosync.Snapshot, unsure map[string]bool, rep *zerosync.Report) (int, error) {
	src := &stagedSource{e: e, p: p, items: map[string]state.StagedItem{}}
	theirs := zerosync.Snapshot{}
	for _, it := range items {
		src.items[it.Path] = it
		if it.Theirs != nil {
			theirs[it.Path] = *it.Theirs
		}
	}
	run := &applyRun{e: e, p: p, snaps: [2]zerosync.Snapshot{snap, theirs}, names: [2]string{e.local.Name, p.peer.Name},
		rep: rep, merged: map[string][]byte{}, bodies: map[zerosync.Digest][]byte{}, theirs: src}
	// Removals deepest first, then the rest shallowest first, as actions
	// are ordered.
	slices.SortFunc(items, func(a, b state.StagedItem) int {
		switch ar, br := a.Theirs == nil, b.Theirs == nil; {
		case ar && !br:
			return -1
		case !ar && br:
			return 1
		case ar:
			return strings.Compare(b.Path, a.Path)
		}
		return strings.Compare(a.Path, b.Path)
	})
	bad := map[string]bool{}
	fail := func(path string, err error) {
		bad[path] = true
		e.problem(rep, p.peer.Name, zerosync.Problem{Path: path, Side: zerosync.Ours, Err: fmt.Errorf("staged change not applied: %w", err)})
	}
	var acts []zerosync.Action
	creating := map[string]bool{}
	var made []string
	for _, it := range items {
		cur := snap.Get(it.Path)
		if hidden(it.Path, unsure) {
			fail(it.Path, errors.New("it cannot be read here"))
			continue
		}
		var mine []zerosync.Action
		switch {
		case cur.Same(it.Theirs), cur != nil && it.Theirs != nil && cur.Kind == zerosync.KindDir && it.Theirs.Kind == zerosync.KindDir:
			// Nothing to write: the same already, or folders, whose bits
			// carry no data (ours stay, and reach the peer).
		case !it.Conflict && cur.Same(it.Ours), cur == nil:
			// Ours is as it was staged, or gone since: a removal loses
			// no edit, and a modification survives a removal.
			d := &decision{merged: it.Theirs, from: zerosync.Theirs, reason: "staged: " + it.Note}
			mine = appendOps(nil, zerosync.Ours, d, it.Path, it.Base, cur)
		case it.Theirs == nil:
			// Removed on the peer, changed here since: our version
			// survives the removal, and reaches the peer again.
		default:
			// Our version moved since the change was staged (or both had
			// moved already): a conflict for the chain.
			more, err := run.settle(ctx, zerosync.Conflict{Path: it.Path, Base: it.Base, Ours: cur, Theirs: it.Theirs})
			if err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				fail(it.Path, fmt.Errorf("conflict not settled: %w", err))
				continue
			}
			for _, a := range more {
				if a.Side == zerosync.Ours {
					mine = append(mine, a)
				}
			}
		}
		if len(mine) > 0 && mine[len(mine)-1].New != nil {
			dirs, err := e.stagedParents(ctx, p, snap, it.Path, creating)
			made = append(made, dirs...)
			if err != nil {
				fail(it.Path, err)
				continue
			}
			if n := mine[len(mine)-1].New; n.Kind == zerosync.KindDir {
				creating[it.Path] = true
			}
		}
		acts = append(acts, mine...)
	}
	SortActions(acts)
	run.apply(ctx, acts)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	reported := map[string]bool{}
	for _, pr := range rep.Problems {
		reported[pr.Path] = true
	}
	for _, path := range run.failed {
		bad[path] = true
		if !reported[path] {
			fail(path, errors.New("it changed while being applied; look again and retry"))
			reported[path] = true
		}
	}
	var done []state.StagedItem
	c := commit{Base: map[string]*zerosync.Entry{}, Bodies: run.bodies, Journal: run.journal}
	for _, it := range items {
		if bad[it.Path] {
			continue
		}
		done = append(done, it)
		c.Base[it.Path] = it.Theirs
		e.keepBody(ctx, src, it, c.Bodies)
	}
	if err := e.settleStaged(ctx, p, done, c); err != nil {
		return 0, err
	}
	paths := made
	for _, it := range done {
		paths = append(paths, it.Path)
		e.log.InfoContext(ctx, "staged change applied", "peer", p.peer.Name, "path", it.Path, "id", it.ID)
	}
	e.ours.hint(zerosync.Hint{Paths: paths, Reason: "staged"})
	return len(items) - len(done), nil
}

// hidden reports whether path or a folder above it is in set.
func hidden(path string, set map[string]bool) bool {
	for q := path; q != ""; q = zerosync.Parent(q) {
		if set[q] {
			return true
		}
	}
	return false
}

// stagedParents makes the folders above path that our tree lacks and no
// staged item being applied makes, with the peer's bits where it has the
// folder, and returns them. A parent that is not a folder is an error.
func (e *Engine) stagedParents(ctx context.Context, p *pair, snap zerosync.Snapshot, path string, creating map[string]bool) ([]string, error) {
	var missing []string
	for dir := zerosync.Parent(path); dir != "" && !creating[dir]; dir = zerosync.Parent(dir) {
		if pe := snap.Get(dir); pe != nil {
			if pe.Kind != zerosync.KindDir {
				return nil, fmt.Errorf("%q is a %s here", dir, pe.Kind)
			}
			break
		}
		missing = append([]string{dir}, missing...)
	}
	for i, dir := range missing {
		mode := fs.FileMode(0o755)
		if pe, ok := p.peer.snap.Get(dir); ok && pe.Kind == zerosync.KindDir {
			mode = pe.Mode.Perm()
		}
		en := zerosync.Entry{Kind: zerosync.KindDir, Mode: mode, ModTime: time.Now()}
		if err := e.local.Endpoint.Apply(ctx, zerosync.Op{Path: dir, New: &en}, nil); err != nil {
			return missing[:i], err
		}
		snap[dir] = en
	}
	return missing, nil
}

// keepBody adds the staged content of it to bodies as the merge base of
// later conflicts, when the peer's version is small text the staging area
// holds.
func (e *Engine) keepBody(ctx context.Context, src *stagedSource, it state.StagedItem, bodies map[zerosync.Digest][]byte) {
	t := it.Theirs
	if t == nil || t.Kind != zerosync.KindFile || !it.Held || t.Size > e.bodyLimit {
		return
	}
	if _, ok := bodies[t.Digest]; ok {
		return
	}
	if b, err := src.content(ctx, it); err == nil && looksText(b) {
		bodies[t.Digest] = b
	}
}

// settleStaged commits the common state of staged items a person decided
// and removes them from the staging area; the pair looks at their paths
// again next cycle.
func (e *Engine) settleStaged(ctx context.Context, p *pair, items []state.StagedItem, c commit) error {
	if len(items) == 0 && len(c.Journal) == 0 {
		return nil
	}
	if err := p.store.Commit(ctx, c); err != nil {
		p.base = nil // reload what the store holds
		return fmt.Errorf("engine: save state: %w", err)
	}
	if p.base != nil {
		for path, en := range c.Base {
			if en == nil {
				p.base.Delete(path)
			} else {
				p.base.Set(path, *en)
			}
		}
	}
	var paths []string
	for _, it := range items {
		// A crash before this leaves an item whose change is now common:
		// the next cycle drops it.
		if err := p.store.Unstage(ctx, it.Path, it.ID); err != nil {
			return fmt.Errorf("engine: staging area: %w", err)
		}
		paths = append(paths, it.Path)
	}
	p.note(paths, false)
	e.kick()
	return nil
}

// RejectStaged drops staged changes: our version of each path stays as it
// is and becomes the decided one. The peer's staged version is recorded
// as the common one, so the next cycle carries our version to the peer,
// replacing (and, with versioning, archiving there) the peer's: a rejected
// creation is removed from the peer, a rejected removal brings our file
// back there. A version the peer made after the staged one meets ours as a
// conflict, staged again.
func (e *Engine) RejectStaged(ctx context.Context, ids ...uint64) error {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	byPair, err := e.stagedByID(ctx, ids)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, p := range e.pairs {
		items := byPair[p]
		if len(items) == 0 {
			continue
		}
		src := &stagedSource{e: e, p: p, items: map[string]state.StagedItem{}}
		c := commit{Base: map[string]*zerosync.Entry{}, Bodies: map[zerosync.Digest][]byte{}}
		for _, it := range items {
			src.items[it.Path] = it
			c.Base[it.Path] = it.Theirs
			e.keepBody(ctx, src, it, c.Bodies)
			rec := Record{Time: now, Path: it.Path, Side: zerosync.Theirs, Op: "reject", Note: "staged change rejected: " + it.Note}
			if it.Theirs != nil {
				rec.Digest = it.Theirs.Digest
			}
			c.Journal = append(c.Journal, rec)
		}
		if err := e.settleStaged(ctx, p, items, c); err != nil {
			return err
		}
		for _, it := range items {
			e.log.InfoContext(ctx, "staged change rejected", "peer", p.peer.Name, "path", it.Path, "id", it.ID)
		}
	}
	return nil
}

// stagedSource is the staging area of a pair seen as the peer's endpoint,
// for reading only: the versions of the items being applied. Content held
// in the staging area is read from there; a file too large to hold is read
// from the peer, where the endpoint applying it checks it against the
// staged digest.
type stagedSource struct {
	e     *Engine
	p     *pair
	items map[string]state.StagedItem

	mu    sync.Mutex
	cache map[string][]byte
}

var _ zerosync.Endpoint = (*stagedSource)(nil)

func (s *stagedSource) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	return nil, nil, errors.New("engine: the staging area is not scanned")
}

func (s *stagedSource) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	it, ok := s.items[path]
	if !ok || it.Theirs == nil || it.Theirs.Kind != zerosync.KindFile {
		return nil, fmt.Errorf("engine: no staged file %q: %w", path, fs.ErrNotExist)
	}
	if !it.Held {
		return s.p.peer.Endpoint.Open(ctx, path)
	}
	b, err := s.content(ctx, it)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// content returns the staged version of a file, checked against its
// digest: held, or read from the peer.
func (s *stagedSource) content(ctx context.Context, it state.StagedItem) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.cache[it.Path]; ok {
		return b, nil
	}
	var b []byte
	if it.Held {
		var ok bool
		var err error
		if b, ok, err = s.p.store.StagedContent(ctx, it.Path, it.ID); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("engine: staged change %d: %w", it.ID, ErrNotStaged)
		}
	} else {
		var err error
		if b, err = s.e.stagedFromPeer(ctx, s.p, &it); err != nil {
			return nil, fmt.Errorf("engine: %s's version of %q changed since it was staged (the next sync stages the new one): %w", s.p.peer.Name, it.Path, err)
		}
		if b == nil {
			return nil, fmt.Errorf("engine: staged version of %q is %d bytes: %w", it.Path, it.Theirs.Size, zerosync.ErrTooLarge)
		}
	}
	if s.cache == nil {
		s.cache = map[string][]byte{}
	}
	s.cache[it.Path] = b
	return b, nil
}

func (s *stagedSource) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	return errors.New("engine: the staging area is read-only")
}

func (s *stagedSource) Close() error { return nil }
