package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/zerosync/zerosync"
)

// tree is the engine's knowledge of one endpoint's tree between cycles: the
// last snapshot, and what a live watcher said changed since.
type tree struct {
	Peer
	snap *held // nil until the first scan
	// unsure are paths the last scans could not read: they are neither
	// present nor deleted.
	unsure map[string]bool

	mu      sync.Mutex
	watched bool            // a live watcher reports every change
	full    bool            // the next scan must be a full one
	dirty   map[string]bool // paths hinted since the last scan
	early   *earlyScan      // a whole scan started early, for refresh

	hs hintState // supervise.go
}

// hint records what a source said about this tree.
func (t *tree) hint(h zerosync.Hint) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h.Full || len(h.Paths) == 0 {
		t.full = true
		if h.Reason == "ready" {
			t.watched = true
		}
		return
	}
	if t.dirty == nil {
		t.dirty = map[string]bool{}
	}
	for _, p := range h.Paths {
		t.dirty[p] = true
	}
}

// unwatch records that the tree's watcher stopped.
func (t *tree) unwatch() {
	t.mu.Lock()
	t.watched, t.full = false, true
	t.mu.Unlock()
}

// markFull asks for a full scan next time.
func (t *tree) markFull() {
	t.mu.Lock()
	t.full = true
	t.mu.Unlock()
}

// scansWhole reports whether t's next refresh scans the tree whole: asked
// to, never scanned, without a live watcher, or an endpoint that cannot
// scan some paths only. t.mu is held.
func (t *tree) scansWhole() bool {
	_, canPartial := zerosync.As[zerosync.PathScanner](t.Endpoint)
	return t.full || t.snap == nil || !t.watched || !canPartial
}

// refresh brings t.snap up to date. It returns the paths that may have
// changed, or all=true after a full scan.
func (t *tree) refresh(ctx context.Context, e *Engine, side zerosync.Side, rep *zerosync.Report) (changed []string, all bool, err error) {
	if es := t.takeEarly(); es != nil {
		// The whole scan this refresh would make, started beside our
		// tree's; what was hinted since stays for the next cycle.
		s, err := e.scanned(t, side, rep, es.v.s, es.v.probs, es.err)
		if err != nil {
			t.markFull()
			return nil, false, err
		}
		t.snap = rehold(t.snap, s)
		return nil, true, nil
	}
	t.mu.Lock()
	full := t.scansWhole()
	dirty := t.dirty
	t.full, t.dirty = false, nil
	t.mu.Unlock()

	if full {
		s, err := e.scan(ctx, t, side, rep)
		if err != nil {
			t.markFull()
			return nil, false, err
		}
		t.snap = rehold(t.snap, s)
		return nil, true, nil
	}
	if len(dirty) == 0 {
		return nil, false, nil
	}
	paths := slices.Sorted(maps.Keys(dirty))
	// A hinted path under another hinted directory is covered by it.
	paths = slices.DeleteFunc(paths, func(p string) bool {
		for d := zerosync.Parent(p); d != ""; d = zerosync.Parent(d) {
			if dirty[d] {
				return true
			}
		}
		return false
	})
	for _, p := range paths {
		if err := zerosync.ValidPath(p); err != nil {
			t.markFull()
			return nil, false, fmt.Errorf("watcher of %s: %w", t.Name, err)
		}
	}
	ps, _ := zerosync.As[zerosync.PathScanner](t.Endpoint) // scansWhole said it can
	sub, probs, err := ps.ScanPaths(ctx, paths)
	if err != nil {
		t.markFull()
		return nil, false, fmt.Errorf("scan %s: %w", t.Name, err)
	}
	touched := make(map[string]bool, len(paths)+len(sub))
	var dirs []string
	for _, p := range paths {
		touched[p] = true
		if old, ok := t.snap.Get(p); ok && old.Kind == zerosync.KindDir {
			dirs = append(dirs, p)
		}
	}
	beneath(t.snap, dirs, func(q string) { touched[q] = true })
	for p := range sub {
		touched[p] = true
	}
	for p := range t.unsure {
		if touched[p] {
			delete(t.unsure, p)
		}
	}
	e.scanProblems(t, side, probs, rep)
	for p := range touched {
		if e, ok := sub[p]; ok {
			t.snap.Set(p, e)
		} else {
			t.snap.Delete(p)
		}
	}
	changed = slices.Sorted(maps.Keys(touched))
	present := make([]string, 0, len(sub))
	var gone []string
	for _, p := range changed {
		if t.snap.has(p) {
			present = append(present, p)
		} else {
			gone = append(gone, p)
		}
	}
	// Whatever is left beneath a path that is gone is checked too: it has
	// no parent.
	beneath(t.snap, gone, func(q string) { present = append(present, q) })
	if err := validatePaths(t.snap, present); err != nil {
		// The hints and the tree disagree (events raced, or one was
		// lost): scan it whole, now.
		e.log.DebugContext(ctx, "partial scan inconsistent; scanning in full", "tree", t.Name, "err", err)
		s, err := e.scan(ctx, t, side, rep)
		if err != nil {
			t.snap = nil
			t.markFull()
			return nil, false, err
		}
		t.snap = rehold(t.snap, s)
		return nil, true, nil
	}
	return changed, false, nil
}

// validatePaths is [zerosync.Snapshot.ValidatePaths] for a held snapshot:
// the paths, each in h, and their parents, looked up in h.
func validatePaths(h *held, paths []string) error {
	part := make(zerosync.Snapshot, 2*len(paths))
	for _, p := range paths {
		for _, q := range [2]string{p, zerosync.Parent(p)} {
			if e, ok := h.Get(q); ok {
				part[q] = e
			}
		}
	}
	return part.ValidatePaths(paths)
}

// beneath calls fn for every path of s strictly beneath one of dirs, in one
// pass over s whatever the number of dirs (a snapshot has no index by
// folder).
func beneath(s *held, dirs []string, fn func(string)) {
	switch {
	case len(dirs) == 0:
		return
	case len(dirs) <= 16:
		// A few folders: compare prefixes, which fail at the first byte
		// that differs.
		for p := range s.Paths() {
			for _, d := range dirs {
				if len(p) > len(d) && p[len(d)] == '/' && p[:len(d)] == d {
					fn(p)
					break
				}
			}
		}
		return
	}
	set := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		set[d] = true
	}
	for p := range s.Paths() {
		for q := zerosync.Parent(p); q != ""; q = zerosync.Parent(q) {
			if set[q] {
				fn(p)
				break
			}
		}
	}
}

// scope is the part of three snapshots that a cycle reconciles: the given
// paths, their ancestors, and everything beneath those of them that are
// directories on any side.
func scope(paths []string, snaps ...*held) map[string]bool {
	in := make(map[string]bool, len(paths)*2)
	dirs := make([][]string, len(snaps))
	for _, p := range paths {
		if !in[p] {
			in[p] = true
			for d := zerosync.Parent(p); d != "" && !in[d]; d = zerosync.Parent(d) {
				in[d] = true
			}
		}
		// Even when p is in already, as the parent of another path, what
		// lies beneath it is.
		for i, s := range snaps {
			if e, ok := s.Get(p); ok && e.Kind == zerosync.KindDir {
				dirs[i] = append(dirs[i], p)
			}
		}
	}
	for i, s := range snaps {
		beneath(s, dirs[i], func(q string) { in[q] = true })
	}
	return in
}

// restrict returns the entries of s within in.
func restrict(s *held, in map[string]bool) zerosync.Snapshot {
	out := make(zerosync.Snapshot, len(in))
	for p := range in {
		if e, ok := s.Get(p); ok {
			out[p] = e
		}
	}
	return out
}

// hide returns s without the paths in any of the sets, and what lies
// beneath them. A few paths are compared as prefixes; many are gathered in
// one set that each path's ancestors are looked up in.
func hide(s zerosync.Snapshot, sets ...map[string]bool) zerosync.Snapshot {
	var few []string
	n := 0
	for _, set := range sets {
		n += len(set)
	}
	var all map[string]bool
	if n <= 16 {
		for _, set := range sets {
			for p := range set {
				few = append(few, p)
			}
		}
	} else {
		all = make(map[string]bool, n)
		for _, set := range sets {
			for p := range set {
				all[p] = true
			}
		}
	}
	hidden := func(p string) bool {
		if all == nil {
			for _, d := range few {
				if p == d || len(p) > len(d) && p[len(d)] == '/' && p[:len(d)] == d {
					return true
				}
			}
			return false
		}
		for q := p; q != ""; q = zerosync.Parent(q) {
			if all[q] {
				return true
			}
		}
		return false
	}
	out := make(zerosync.Snapshot, len(s))
	for p, e := range s {
		if !hidden(p) {
			out[p] = e
		}
	}
	return out
}

// early is work a cycle started ahead of the pass that takes its result
// (see [Engine.scanEarly]).
type early[T any] struct {
	done chan struct{}
	v    T
	err  error
}

// startEarly runs f in the background.
func startEarly[T any](f func() (T, error)) *early[T] {
	w := &early[T]{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.v, w.err = f()
	}()
	return w
}

// wait returns w once its work ended; nil for a nil w.
func (w *early[T]) wait() *early[T] {
	if w != nil {
		<-w.done
	}
	return w
}

// earlyScan is a whole scan of a peer's tree that a cycle started beside
// the scan of our own tree, for the pair's pass to take.
type earlyScan = early[scanResult]

type scanResult struct {
	s     zerosync.Snapshot
	probs []zerosync.Problem
}

// earlyBase is a pair's common state, loaded beside the scans of a cycle
// whose pass will need it: a cold process's first cycle, or the one after
// a failed commit.
type earlyBase = early[zerosync.Snapshot]

// scanEarly starts, beside the scan of our tree, the whole scans of the
// peers' trees that this cycle's passes would start only after it: those
// of the pairs the cycle runs first (at most as many as run at once) whose
// next scan is a whole one (a tree without a watcher, or not scanned yet).
// A pass takes its scan as the one it would have made; what a watcher
// reports after the scan started stays for the next cycle.
func (e *Engine) scanEarly(ctx context.Context) {
	n := 0
	for _, p := range e.pairs {
		t := p.peer
		if n == e.conc.limit || p.skip || e.isHalted(t.Name) {
			continue
		}
		n++
		if p.base == nil && p.earlyBase == nil {
			// The common state a pass would load only after both scans.
			p.earlyBase = startEarly(func() (zerosync.Snapshot, error) { return p.store.Base(ctx) })
		}
		t.mu.Lock()
		if !t.scansWhole() {
			t.mu.Unlock()
			continue
		}
		t.full, t.dirty = false, nil
		t.early = startEarly(func() (scanResult, error) {
			s, probs, err := t.Endpoint.Scan(ctx)
			return scanResult{s, probs}, err
		})
		t.mu.Unlock()
	}
}

// takeEarly returns the early scan of t, if the cycle started one, once it
// ended.
func (t *tree) takeEarly() *earlyScan {
	t.mu.Lock()
	es := t.early
	t.early = nil
	t.mu.Unlock()
	return es.wait()
}

// dropEarly waits for the early scans and loads no pass took, at the end
// of a cycle, and asks for a whole scan next time in place of a scan.
func (e *Engine) dropEarly() {
	for _, p := range e.pairs {
		if es := p.peer.takeEarly(); es != nil {
			p.peer.markFull()
		}
		p.takeBase()
	}
}

// takeBase returns the early load of p's common state, if the cycle
// started one, once it ended.
func (p *pair) takeBase() *earlyBase {
	eb := p.earlyBase
	p.earlyBase = nil
	return eb.wait()
}
