//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

// Scan walks the tree beneath the root without following symlinks and
// returns every file, directory and symlink, with permission bits, size,
// modification time and, for files, the digest; see [zerosync.Endpoint].
//
// A file whose fingerprint (size, modification and change times, inode,
// mode) did not move since it was last hashed is not read again: its digest
// comes from the stat cache. Other files are hashed by a few workers
// ([WithHashWorkers]). Reserved names are never reported; temp files that
// no apply of this process is writing are a crash's leftovers and are
// removed. Sockets, devices, named pipes, unreadable entries and paths
// longer than [zerosync.MaxPathLen] are left out and reported as problems
// (an unreadable directory with everything beneath it). A root that is
// missing, not a directory, or not the directory [New] found is an error
// wrapping [zerosync.ErrRootMissing], checked before and after the walk.
func (e *Endpoint) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	s, probs, err := e.scan(ctx)
	if err != nil {
		return nil, nil, e.perr("scan", ".", err)
	}
	return s, probs, nil
}

func (e *Endpoint) scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return nil, nil, err
	}
	defer unix.Close(rootfd)

	cachedBefore := e.cache.len()
	res, err := e.walk(ctx, rootfd, true, func(s *scanner, _ *part) error {
		s.push("")
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	snap, next, probs := res.snap, res.next, res.probs
	if err := e.stillRoot(); err != nil {
		return nil, nil, err
	}
	e.cache.replace(next, res.fresh > 0 || res.hits != cachedBefore)
	if err := e.saveCache(); err != nil {
		e.log.WarnContext(ctx, "stat cache not saved", "err", err)
	}
	e.mu.Lock()
	e.lastScan = len(snap)
	e.mu.Unlock()
	return snap, probs, nil
}

// walkResult is what a walk found.
type walkResult struct {
	snap        zerosync.Snapshot
	next        map[string]cached // stat cache entries for the files found
	probs       []zerosync.Problem
	hits, fresh int
}

// walk runs a scan: seed puts the first entries into a part and the first
// directories onto the stack (from the calling goroutine, before the
// walkers start); walkers list directories, hash workers hash what the stat
// cache does not know. A whole-tree walk (whole) sizes its maps for the
// last scan; a partial one starts small, so that it costs what it finds.
func (e *Endpoint) walk(ctx context.Context, rootfd int, whole bool, seed func(s *scanner, p *part) error) (walkResult, error) {
	hint := 0
	if whole {
		e.mu.Lock()
		hint = e.lastScan / e.workers
		e.mu.Unlock()
	}
	s := &scanner{e: e, ctx: ctx, rootfd: rootfd, jobs: make(chan string, 1024)}
	s.cond = sync.NewCond(&s.mu)

	parts := make([]*part, e.workers)
	results := make([][]hashResult, e.workers)
	var walkers, hashers sync.WaitGroup
	for i := range e.workers {
		parts[i] = &part{
			snap: make(zerosync.Snapshot, hint),
			next: make(map[string]cached, hint),
			buf:  make([]byte, 32<<10),
		}
		hashers.Go(func() { results[i] = s.hashWorker() })
	}
	if err := seed(s, parts[0]); err != nil {
		s.fail(err)
	}
	for i := range e.workers {
		walkers.Go(func() { s.walker(parts[i]) })
	}
	walkers.Wait()
	close(s.jobs)
	hashers.Wait()
	if s.err != nil {
		return walkResult{}, s.err
	}
	if err := ctx.Err(); err != nil {
		return walkResult{}, err
	}

	// Merge into the largest part.
	slices.SortFunc(parts, func(a, b *part) int { return len(b.snap) - len(a.snap) })
	snap, next, probs := parts[0].snap, parts[0].next, parts[0].probs
	hits, dropped := parts[0].hits, parts[0].dropped
	for _, p := range parts[1:] {
		maps.Copy(snap, p.snap)
		maps.Copy(next, p.next)
		probs = append(probs, p.probs...)
		hits += p.hits
		dropped = append(dropped, p.dropped...)
	}
	fresh := 0
	now := time.Now()
	for _, rs := range results {
		for _, r := range rs {
			switch {
			case r.err == nil:
				snap[r.path] = r.entry
				if e.cache.trusted(r.fp, now) {
					next[r.path] = cached{r.fp, r.entry.Digest}
					fresh++
				}
			case errnoIs(r.err, unix.ENOENT), errnoIs(r.err, unix.ELOOP), errnoIs(r.err, unix.ENOTDIR), errors.Is(r.err, errNotRegular):
				// Removed or replaced since the walk saw it: the next
				// scan sees what took its place.
			default:
				probs = append(probs, problem(r.path, r.err))
			}
		}
	}
	dropTrees(snap, dropped)
	slices.SortFunc(probs, func(a, b zerosync.Problem) int { return strings.Compare(a.Path, b.Path) })
	return walkResult{snap: snap, next: next, probs: probs, hits: hits, fresh: fresh}, nil
}

// scanner carries one scan: a few walkers share a stack of directories to
// list, each keeping what it finds in its own part; files the stat cache
// does not know go to the hash workers.
type scanner struct {
	e      *Endpoint
	ctx    context.Context
	rootfd int
	jobs   chan string // files to hash

	mu      sync.Mutex
	cond    *sync.Cond
	dirs    []string // directories waiting to be listed
	pending int      // directories pushed and not yet listed to the end
	err     error    // what stopped the scan
}

// part is one walker's findings.
type part struct {
	snap    zerosync.Snapshot
	next    map[string]cached // entries of the stat cache after this scan
	hits    int               // files whose digest came from the cache
	probs   []zerosync.Problem
	dropped []string // directories that could not be listed
	buf     []byte
}

type hashResult struct {
	path  string
	entry zerosync.Entry
	fp    fingerprint
	err   error
}

func problem(p string, err error) zerosync.Problem {
	return zerosync.Problem{Path: p, Err: fmt.Errorf("scan: %w", err)}
}

func (s *scanner) push(dir string) {
	s.mu.Lock()
	s.dirs = append(s.dirs, dir)
	s.pending++
	s.cond.Signal()
	s.mu.Unlock()
}

// take returns the next directory to list; false when the walk is over.
func (s *scanner) take() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.dirs) == 0 && s.pending > 0 && s.err == nil {
		s.cond.Wait()
	}
	if len(s.dirs) == 0 || s.err != nil {
		return "", false
	}
	dir := s.dirs[len(s.dirs)-1]
	s.dirs = s.dirs[:len(s.dirs)-1]
	return dir, true
}

func (s *scanner) done() {
	s.mu.Lock()
	s.pending--
	if s.pending == 0 {
		s.cond.Broadcast()
	}
	s.mu.Unlock()
}

func (s *scanner) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *scanner) walker(p *part) {
	for {
		dir, ok := s.take()
		if !ok {
			return
		}
		if err := s.list(p, dir); err != nil {
			s.fail(err)
		}
		s.done()
	}
}

// list reads the directory dir: files, symlinks and directories go into p,
// directories also onto the stack, uncached files to the hash workers.
func (s *scanner) list(p *part, dir string) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	dirfd := s.rootfd
	if dir != "" {
		fd, err := openDir(s.rootfd, dir)
		if err != nil {
			// Gone or replaced since its parent was listed: what took its
			// place is seen next scan. Anything else is a problem.
			if !errnoIs(err, unix.ENOENT) && !errnoIs(err, unix.ENOTDIR) && !errnoIs(err, unix.ELOOP) {
				p.probs = append(p.probs, problem(dir, err))
			}
			p.dropped = append(p.dropped, dir)
			return nil
		}
		defer unix.Close(fd)
		dirfd = fd
	}
	names, err := readNames(dirfd, p.buf, nil)
	if err != nil {
		if dir == "" {
			return err
		}
		p.probs = append(p.probs, problem(dir, err))
		p.dropped = append(p.dropped, dir)
		return nil
	}
	for _, name := range names {
		path := joinPath(dir, name)
		if zerosync.ReservedName(name) {
			s.reserved(dirfd, path, name)
			continue
		}
		if err := s.visit(p, dirfd, path, name); err != nil {
			return err
		}
	}
	return nil
}

// visit records the entry name in dirfd (at path): files, symlinks and
// directories go into p, directories also onto the stack, uncached files to
// the hash workers.
func (s *scanner) visit(p *part, dirfd int, path, name string) error {
	if len(path) > zerosync.MaxPathLen {
		p.probs = append(p.probs, problem(path, fmt.Errorf("path longer than %d bytes", zerosync.MaxPathLen)))
		return nil
	}
	var st unix.Stat_t
	if err := lstatAt(dirfd, name, &st); err != nil {
		if !errnoIs(err, unix.ENOENT) {
			p.probs = append(p.probs, problem(path, err))
		}
		return nil
	}
	ent, ok := entryOf(&st)
	if !ok {
		p.probs = append(p.probs, problem(path, fmt.Errorf("%w: a %s is never synced", errors.ErrUnsupported, kindName(st.Mode))))
		return nil
	}
	switch ent.Kind {
	case zerosync.KindFile:
		fp := fingerprintOf(&st)
		if d, ok := s.e.cache.lookup(path, fp); ok {
			ent.Digest = d
			p.snap[path] = ent
			p.next[path] = cached{fp, d}
			p.hits++
			return nil
		}
		select {
		case s.jobs <- path:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	case zerosync.KindSymlink:
		t, err := readlinkAt(dirfd, name)
		if err != nil {
			if !errnoIs(err, unix.ENOENT) && !errnoIs(err, unix.EINVAL) {
				p.probs = append(p.probs, problem(path, err))
			}
			return nil
		}
		ent.Target = t
		p.snap[path] = ent
	case zerosync.KindDir:
		p.snap[path] = ent
		s.push(path)
	}
	return nil
}

// dropTrees removes the directories in dropped and everything beneath them
// from the snapshot: a directory that could not be listed is a problem, not
// an empty directory.
func dropTrees(snap zerosync.Snapshot, dropped []string) {
	if len(dropped) == 0 {
		return
	}
	gone := map[string]bool{}
	for _, d := range dropped {
		gone[d] = true
	}
	for p := range snap {
		for q := p; q != ""; q = zerosync.Parent(q) {
			if gone[q] {
				delete(snap, p)
				break
			}
		}
	}
}

// reserved handles a reserved name met by the walk: a temp file no apply of
// this process is writing is a crash's leftover and is removed, and so is
// a partial of a cut transfer that is older than a day; everything else
// (the state folder, conflict copies) is left alone, unreported.
func (s *scanner) reserved(dirfd int, p, name string) {
	if !isTemp(name) || s.e.isInflight(p) {
		return
	}
	var st unix.Stat_t
	if lstatAt(dirfd, name, &st) != nil {
		return
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFLNK {
		return
	}
	if isPartial(name) && !s.e.stalePartial(time.Unix(st.Mtim.Unix())) {
		return
	}
	if s.e.isInflight(p) {
		return
	}
	if err := unix.Unlinkat(dirfd, name, 0); err == nil {
		s.e.log.InfoContext(s.ctx, "removed stale temp file", "path", p)
	}
}

// hashWorker hashes the files the walk could not find in the stat cache.
func (s *scanner) hashWorker() []hashResult {
	var out []hashResult
	for p := range s.jobs {
		if s.ctx.Err() != nil {
			continue // drain
		}
		r := hashResult{path: p}
		r.entry, r.fp, r.err = s.hash(p)
		out = append(out, r)
	}
	return out
}

func (s *scanner) hash(p string) (zerosync.Entry, fingerprint, error) {
	if s.e.failOpen != nil {
		if err := s.e.failOpen(p); err != nil {
			return zerosync.Entry{}, fingerprint{}, err
		}
	}
	fd, err := openBeneath(s.rootfd, p, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return zerosync.Entry{}, fingerprint{}, err
	}
	defer unix.Close(fd)
	d, fp, err := s.e.hashFD(s.ctx, fd)
	if err != nil {
		return zerosync.Entry{}, fingerprint{}, err
	}
	return zerosync.Entry{
		Kind:    zerosync.KindFile,
		Mode:    fsPerm(fp.mode),
		Size:    fp.size,
		ModTime: time.Unix(0, fp.mtime),
		Digest:  d,
	}, fp, nil
}

// readNames lists the directory freshly opened at dirfd (without "." and
// ".."), appending to names; buf is scratch space.
func readNames(dirfd int, buf []byte, names []string) ([]string, error) {
	if buf == nil {
		buf = make([]byte, 16<<10)
	}
	for {
		n, err := unix.Getdents(dirfd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

func fsPerm(mode uint32) fs.FileMode { return fs.FileMode(mode).Perm() }

func isTemp(name string) bool { return strings.HasPrefix(name, zerosync.TempPrefix) }

func containsMarker(name string) bool { return strings.Contains(name, zerosync.ConflictMarker) }
