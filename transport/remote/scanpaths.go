package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/zerosync/zerosync"
)

// Path scans. With capScanPaths a client asks the agent to rescan some
// paths only (a scan-paths request): the rescan of what a watcher named,
// which costs the agent and the wire what changed, not the size of the
// tree. The answer travels like a whole-tree scan (scan-chunk frames with
// base 0, then a scan-end frame whose generation and base are 0) and holds,
// for each path asked, its entry when present and everything beneath it
// when it is a directory ([zerosync.PathScanner]). A path scan leaves the
// generations of incremental scans alone: the next whole-tree scan is a
// diff against the last whole-tree scan, as before.
//
// An agent without the capability is asked for a whole-tree scan instead,
// cut down to the paths on this side.

// Limits of a scan-paths request: a client with more paths sends several.
const (
	maxScanPaths    = 4096
	scanPathsBudget = 64 << 10 // bytes of paths per request
)

// scanPaths decodes the paths of a scan-paths request: at least one, at
// most maxScanPaths, of scanPathsBudget bytes in all. The paths themselves
// are checked by the agent before the endpoint sees them.
func (d *decoder) scanPaths() []string {
	n := d.Count("paths", maxScanPaths, 1)
	if d.Err != nil {
		return nil
	}
	if n == 0 {
		d.Fail("no paths to scan")
		return nil
	}
	paths := make([]string, 0, n)
	size := 0
	for range n {
		p := d.Str("path", maxWirePath)
		if d.Err != nil {
			return nil
		}
		if size += len(p); size > scanPathsBudget {
			d.Fail("paths of more than %d bytes", scanPathsBudget)
			return nil
		}
		paths = append(paths, p)
	}
	return paths
}

// splitPaths cuts paths into the requests that carry them. Every path must
// be at most maxWirePath bytes long.
func splitPaths(paths []string) [][]string {
	var out [][]string
	start, size := 0, 0
	for i, p := range paths {
		if i > start && (i-start == maxScanPaths || size+len(p) > scanPathsBudget) {
			out = append(out, paths[start:i])
			start, size = i, 0
		}
		size += len(p)
	}
	if start < len(paths) {
		out = append(out, paths[start:])
	}
	return out
}

// scanPaths answers a scan-paths request: every path is checked with
// [zerosync.CheckPath] (a bad one fails the request, naming it), then the
// endpoint rescans them, alone when it is a [zerosync.PathScanner] and
// otherwise by a whole-tree scan cut down to them.
func (s *server) scanPaths(ctx context.Context, st *stream, r *served, paths []string) error {
	for _, p := range paths {
		if err := zerosync.CheckPath(p); err != nil {
			return fmt.Errorf("scan %q: %w", cut(p, 256), err)
		}
	}
	snap, probs, _, err := zerosync.ScanPaths(ctx, r.ep, paths)
	if err != nil {
		return err
	}
	if snap == nil {
		return errors.New("the endpoint returned no snapshot")
	}
	changes := allChanges(snap)
	if err := sendChanges(ctx, st, changes, 0); err != nil {
		return err
	}
	end := scanEnd{count: uint64(len(changes)), problems: probs}
	return st.send(ctx, tScanEnd, end.encode(), true)
}

// sendChanges sends changes, sorted by path, as scan-chunk frames that
// name base.
func sendChanges(ctx context.Context, st *stream, changes []change, base uint64) error {
	var enc snapEncoder
	for _, c := range changes {
		if err := checkChange(c); err != nil {
			return fmt.Errorf("the endpoint reported an entry the wire cannot carry: %w", err)
		}
		enc.add(c)
		if enc.full() {
			if err := st.send(ctx, tScanChunk, enc.take(base), true); err != nil {
				return err
			}
		}
	}
	if enc.n > 0 {
		return st.send(ctx, tScanChunk, enc.take(base), true)
	}
	return nil
}

var _ zerosync.PathScanner = (*Endpoint)(nil)

// ScanPaths rescans only the given paths on the agent's host, and
// everything beneath those that are directories; see
// [zerosync.PathScanner]. Every path is checked with [zerosync.CheckPath]
// before it is sent. The agent's endpoint does the work with its stat
// cache, so a rescan of what a watcher named costs the agent and the wire
// what changed. What comes back is checked: every path valid and one that
// was asked for or beneath one, every entry valid, and everything beneath
// an asked path held in a directory of the result; an answer that fails is
// an error naming the first bad path. Many paths travel in several
// requests. An agent that cannot scan paths is asked for its whole tree
// (incremental, see [Endpoint.Scan]), which is cut down to the paths here.
// ScanPaths leaves the base of the next incremental [Endpoint.Scan] alone.
// The returned snapshot is the caller's.
func (e *Endpoint) ScanPaths(ctx context.Context, paths []string) (zerosync.Snapshot, []zerosync.Problem, error) {
	if err := e.usable(ctx); err != nil {
		return nil, nil, e.perr("scan", ".", err)
	}
	for _, p := range paths {
		if err := zerosync.CheckPath(p); err != nil {
			return nil, nil, e.perr("scan", p, err)
		}
	}
	if len(paths) == 0 {
		return zerosync.Snapshot{}, nil, nil
	}
	if e.c.caps&capScanPaths == 0 {
		s, probs, err := e.scanCut(ctx, paths)
		if err != nil {
			return nil, nil, e.perr("scan", ".", err)
		}
		return s, probs, nil
	}
	out := zerosync.Snapshot{}
	var probs []zerosync.Problem
	for _, batch := range splitPaths(paths) {
		left := e.c.cfg.maxEntries - len(out)
		if left <= 0 {
			return nil, nil, e.perr("scan", ".", fmt.Errorf("%w: the paths hold more than %d entries", zerosync.ErrTooLarge, e.c.cfg.maxEntries))
		}
		sub, pr, err := e.scanPaths(ctx, batch, left)
		if err != nil {
			return nil, nil, e.perr("scan", ".", err)
		}
		maps.Copy(out, sub)
		probs = append(probs, pr...)
	}
	return out, probs, nil
}

// scanPaths sends one scan-paths request and reads its answer, of at most
// max entries.
func (e *Endpoint) scanPaths(ctx context.Context, paths []string, max int) (zerosync.Snapshot, []zerosync.Problem, error) {
	st, err := e.c.start(ctx, tScanPaths, request{handle: e.handle, paths: paths})
	if err != nil {
		return nil, nil, err
	}
	defer e.c.finish(st)
	dec := snapDecoder{max: max}
	sub := zerosync.Snapshot{}
	for {
		f, err := st.next(ctx)
		if err != nil {
			return nil, nil, err
		}
		switch f.typ {
		case tScanChunk:
			if err := dec.decode(f.payload, nil, func(c change) error { return addScanned(sub, c) }); err != nil {
				return nil, nil, e.c.violation(err)
			}
			if dec.base != 0 {
				return nil, nil, e.c.violation(protoErr("a path scan is a diff against generation %d", dec.base))
			}
			continue
		case tError:
			return nil, nil, e.c.remoteErr(f)
		case tScanEnd:
		default:
			return nil, nil, e.c.violation(protoErr("%s frame in a path scan", f.typ))
		}
		end, err := decodeEnd("path scan end", f.payload, true)
		if err == nil && end.count != uint64(dec.total) {
			err = protoErr("path scan end counts %d entries, the chunks held %d", end.count, dec.total)
		}
		if err != nil {
			return nil, nil, e.c.violation(err)
		}
		if err := checkScanned(paths, sub); err != nil {
			return nil, nil, fmt.Errorf("refusing the agent's path scan: %w", err)
		}
		return sub, end.problems, nil
	}
}

// addScanned adds a change of a path scan to sub; a path scan removes
// nothing.
func addScanned(sub zerosync.Snapshot, c change) error {
	if c.entry == nil {
		return protoErr("a path scan removes %q", cut(c.path, 256))
	}
	sub[c.path] = *c.entry
	return nil
}

// checkScanned reports whether sub is a possible answer to a rescan of
// paths: every path valid ([zerosync.CheckPath]) and one of paths or
// beneath one, every entry valid, and the parent of every path beneath an
// asked one a directory in sub. The error names the first bad path.
func checkScanned(paths []string, sub zerosync.Snapshot) error {
	asked := make(map[string]bool, len(paths))
	for _, p := range paths {
		asked[p] = true
	}
	// The parents of the paths asked are not in the answer: stand-ins let
	// the snapshot's own check see every entry and its parent.
	check := maps.Clone(sub)
	for _, p := range paths {
		for d := zerosync.Parent(p); d != ""; d = zerosync.Parent(d) {
			if _, ok := check[d]; !ok {
				check[d] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
			}
		}
	}
	got := sub.Paths()
	for _, p := range got {
		if !covered(asked, p) {
			return &zerosync.PathError{Op: "validate", Path: p, Err: fmt.Errorf("%w: %q is not a path asked for, nor beneath one", zerosync.ErrInvalidPath, p)}
		}
	}
	return check.ValidatePaths(got)
}

// covered reports whether p or one of its parents is in set.
func covered(set map[string]bool, p string) bool {
	for q := p; q != ""; q = zerosync.Parent(q) {
		if set[q] {
			return true
		}
	}
	return false
}

// scanCut is ScanPaths for an agent that cannot scan paths: the agent's
// whole tree, incrementally, cut down to paths and what lies beneath them.
func (e *Endpoint) scanCut(ctx context.Context, paths []string) (zerosync.Snapshot, []zerosync.Problem, error) {
	select {
	case e.scanMu <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	defer func() { <-e.scanMu }()
	all, probs, err := e.scan(ctx)
	if err != nil {
		return nil, nil, err
	}
	asked := make(map[string]bool, len(paths))
	for _, p := range paths {
		asked[p] = true
	}
	out := zerosync.Snapshot{}
	for p, x := range all {
		if covered(asked, p) {
			out[p] = x
		}
	}
	return out, probs, nil
}
