//go:build linux

package local

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/chunk"
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
	e.mu.Lock()
	size := e.lastScan // a map grows a part at a time: no room is left spare
	e.mu.Unlock()
	if size == 0 {
		// A first scan since the process started: the files the stat cache
		// knows, and a sixteenth more for folders and links, rather than
		// a map grown step by step (a third of a cold no-op's map work).
		size = cachedBefore + cachedBefore/16
	}
	res, err := e.walk(ctx, rootfd, size, true, func(s *scanner, _ *part) error {
		s.push("", "", nil)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	snap, next, probs := res.snap, res.next, res.probs
	if err := e.stillRoot(); err != nil {
		return nil, nil, err
	}
	e.cache.replace(next, res.same, res.fresh > 0 || res.hits != cachedBefore)
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
	snap zerosync.Snapshot
	next cacheMap // stat cache entries for the files found
	// same lists the folders (of a whole scan) whose stat cache entries
	// are all still true, and are not in next: the cache keeps them.
	same        []string
	probs       []zerosync.Problem
	hits, fresh int
}

// walk runs a scan: seed puts the first entries into a part and the first
// directories onto the stack (from the calling goroutine, before the
// walkers start); walkers list directories, hash workers hash what the stat
// cache does not know. size is how many entries the scan is expected to
// find: the snapshot is made that large at once, not grown (which leaves
// garbage, and room that stays unused). whole says the walk is a whole
// scan, whose result replaces the stat cache (see [walkResult.same]).
func (e *Endpoint) walk(ctx context.Context, rootfd int, size int, whole bool, seed func(s *scanner, p *part) error) (walkResult, error) {
	s := &scanner{e: e, ctx: ctx, rootfd: rootfd, jobs: make(chan hashJob, 1024),
		snap: make(zerosync.Snapshot, size), next: make(cacheMap, size/32), keepSame: whole}
	s.cond = sync.NewCond(&s.mu)

	parts := make([]*part, e.workers)
	results := make([][]hashResult, e.workers)
	var walkers, hashers sync.WaitGroup
	for i := range e.workers {
		parts[i] = &part{buf: make([]byte, 32<<10)}
		hashers.Go(func() { results[i] = s.hashWorker() })
	}
	if err := seed(s, parts[0]); err != nil {
		s.fail(err)
	}
	s.flush(parts[0], "", false)
	for i := range e.workers {
		walkers.Go(func() { s.walker(parts[i]) })
	}
	walkers.Wait()
	close(s.jobs)
	hashers.Wait()
	for _, j := range s.dirs { // left by a failed walk
		j.parent.release()
	}
	s.dirs = nil
	if s.err != nil {
		return walkResult{}, s.err
	}
	if err := ctx.Err(); err != nil {
		return walkResult{}, err
	}

	snap, next := s.snap, s.next
	var probs []zerosync.Problem
	var dropped []string
	hits := 0
	for _, p := range parts {
		probs = append(probs, p.probs...)
		hits += p.hits
		dropped = append(dropped, p.dropped...)
	}
	fresh := 0
	var names chunk.Chunks // of the stat cache entries of files hashed
	now := time.Now()
	for _, rs := range results {
		for _, r := range rs {
			switch {
			case r.err == nil:
				snap[r.path] = r.entry
				if e.cache.trusted(r.fp, now) {
					next.add(r.path, cached{r.fp, r.entry.Digest}, &names)
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
	next, _ = next.seal(&names)
	dropTrees(snap, dropped)
	slices.SortFunc(probs, func(a, b zerosync.Problem) int { return strings.Compare(a.Path, b.Path) })
	return walkResult{snap: snap, next: next, same: s.same, probs: probs, hits: hits, fresh: fresh}, nil
}

// scanner carries one scan: a few walkers share a stack of directories to
// list, each keeping what it finds in its own part; files the stat cache
// does not know go to the hash workers.
type scanner struct {
	e      *Endpoint
	ctx    context.Context
	rootfd int
	jobs   chan hashJob // files to hash
	held   atomic.Int32 // directory descriptors kept open for their entries

	outMu sync.Mutex        // guards snap, next and same while walkers run
	snap  zerosync.Snapshot // what the walk found
	next  cacheMap          // stat cache entries of the files found
	// keepSame: a folder whose entries are all still in the stat cache as
	// they are goes into same, not into next (see [walkResult.same]).
	keepSame bool
	same     []string

	mu      sync.Mutex
	cond    *sync.Cond
	dirs    []dirJob // directories waiting to be listed
	pending int      // directories pushed and not yet listed to the end
	err     error    // what stopped the scan
}

// maxHeld bounds the directory descriptors a scan keeps open so that the
// entries it found in them are opened relative to them: a directory met
// while the bound is reached is opened from the root, as it was named.
const maxHeld = 128

// dirRef is an open directory whose entries are still to be opened: the
// walk opens a subdirectory, and a hash worker a file, relative to its
// parent's descriptor, one component, instead of resolving the whole path
// from the root again (which costs in proportion to the depth, and so the
// depth squared over a deep tree). The descriptor was opened beneath the
// root without following a symlink, and each entry is opened from it the
// same way. It is closed when the last user releases it. A nil *dirRef
// means "open from the root". A directory renamed while it is held is
// listed under the name it had when it was opened, as a walk from the root
// would have listed it a moment earlier: the next scan, or the watcher's
// hint, finds the new names.
type dirRef struct {
	s    *scanner
	fd   int
	refs atomic.Int32
}

// hold returns a reference to the directory open at fd, taking ownership
// of fd, or nil when the scan holds too many descriptors already (the
// caller then closes fd itself).
func (s *scanner) hold(fd int) *dirRef {
	if s.held.Add(1) > maxHeld {
		s.held.Add(-1)
		return nil
	}
	r := &dirRef{s: s, fd: fd}
	r.refs.Store(1)
	return r
}

// acquire adds a user of r; it returns r.
func (r *dirRef) acquire() *dirRef {
	if r != nil {
		r.refs.Add(1)
	}
	return r
}

// release drops a user of r, closing the descriptor after the last one.
func (r *dirRef) release() {
	if r != nil && r.refs.Add(-1) == 0 {
		unix.Close(r.fd)
		r.s.held.Add(-1)
	}
}

// open opens name, the entry of r at path, with flags: relative to r, or
// from the root when r is nil.
func (s *scanner) open(r *dirRef, path, name string, flags int) (int, error) {
	if r == nil {
		return openBeneath(s.rootfd, path, flags)
	}
	return openBeneath(r.fd, name, flags)
}

// dirJob is a directory waiting to be listed: path beneath the root, and
// its name in parent.
type dirJob struct {
	path, name string
	parent     *dirRef
}

// hashJob is a file to hash: path beneath the root, and its name in dir.
type hashJob struct {
	path, name string
	dir        *dirRef
}

// part is one walker's findings: its counts and problems, and the entries
// of the directory it is listing until they join the scanner's maps.
type part struct {
	ents    []pathEntry
	hitEnts []pathCached // stat cache entries of ents' files
	sent    int          // files sent to be hashed, of the folder being listed
	hits    int          // files whose digest came from the cache
	probs   []zerosync.Problem
	dropped []string // directories that could not be listed
	buf     []byte   // for getdents
	// paths and names hold the bytes of the paths this walker made, and
	// of the names its stat cache entries keep (see [chunk.Chunks]).
	paths, names chunk.Chunks
}

type pathEntry struct {
	path string
	ent  zerosync.Entry
}

type pathCached struct {
	path string
	c    cached
}

// flush moves what p found into the scanner's maps. When inDir is set,
// every path is in the directory dir, whose stat cache entries are then
// made in one map of the right size.
func (s *scanner) flush(p *part, dir string, inDir bool) {
	var d []cacheEnt
	same := inDir && s.keepSame && p.sent == 0 && len(p.hitEnts) > 0 && s.e.cache.folderLen(dir) == len(p.hitEnts)
	if inDir && len(p.hitEnts) > 0 && !same {
		d = make([]cacheEnt, len(p.hitEnts))
		for i, pc := range p.hitEnts {
			_, name := splitPath(pc.path)
			d[i] = cacheEnt{Name: p.names.Clone(name), V: pc.c}
		}
	}
	s.outMu.Lock()
	for _, pe := range p.ents {
		s.snap[pe.path] = pe.ent
	}
	switch {
	case same:
		// Every entry the cache holds for the folder was found as it is,
		// and no other file is in it: the cache keeps the folder (a
		// cycle with nothing to do sorts and copies no entry).
		s.same = append(s.same, dir)
	case d != nil && s.next[dir] == nil:
		s.next[dir] = d
	case d != nil:
		s.next[dir] = append(s.next[dir], d...)
	default:
		for _, pc := range p.hitEnts {
			s.next.add(pc.path, pc.c, &p.names)
		}
	}
	s.outMu.Unlock()
	clear(p.ents)
	clear(p.hitEnts)
	p.ents, p.hitEnts, p.sent = p.ents[:0], p.hitEnts[:0], 0
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

// push puts the directory path, which is name in parent, on the stack; the
// stack owns the reference to parent.
func (s *scanner) push(path, name string, parent *dirRef) {
	s.mu.Lock()
	s.dirs = append(s.dirs, dirJob{path: path, name: name, parent: parent})
	s.pending++
	s.cond.Signal()
	s.mu.Unlock()
}

// take returns the next directory to list; false when the walk is over.
func (s *scanner) take() (dirJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.dirs) == 0 && s.pending > 0 && s.err == nil {
		s.cond.Wait()
	}
	if len(s.dirs) == 0 || s.err != nil {
		return dirJob{}, false
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
		job, ok := s.take()
		if !ok {
			return
		}
		if err := s.list(p, job); err != nil {
			s.fail(err)
		}
		s.done()
	}
}

// list reads the directory of job: files, symlinks and directories go into
// p, directories also onto the stack, uncached files to the hash workers.
// It releases the job's reference to its parent.
func (s *scanner) list(p *part, job dirJob) error {
	dir := job.path
	fd, err := -1, error(nil)
	if dir != "" {
		fd, err = s.open(job.parent, dir, job.name, unix.O_RDONLY|unix.O_DIRECTORY)
	}
	job.parent.release()
	if err := s.ctx.Err(); err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return err
	}
	dirfd := s.rootfd
	var ref *dirRef
	if dir != "" {
		if err != nil {
			// Gone or replaced since its parent was listed: what took its
			// place is seen next scan. Anything else is a problem.
			if !errnoIs(err, unix.ENOENT) && !errnoIs(err, unix.ENOTDIR) && !errnoIs(err, unix.ELOOP) {
				p.probs = append(p.probs, problem(dir, err))
			}
			p.dropped = append(p.dropped, dir)
			return nil
		}
		if ref = s.hold(fd); ref != nil {
			defer ref.release()
		} else {
			defer unix.Close(fd)
		}
		dirfd = fd
	}
	defer s.flush(p, dir, true)
	var verr error
	err = eachName(dirfd, p.buf, func(nb []byte) bool {
		// The name is the path's end.
		path := p.paths.Join(dir, nb)
		name := path[len(path)-len(nb):]
		if zerosync.ReservedName(name) {
			s.reserved(dirfd, path, name)
			return true
		}
		verr = s.visit(p, dirfd, ref, path, name)
		return verr == nil
	})
	if verr != nil {
		return verr
	}
	if err != nil {
		if dir == "" {
			return err
		}
		p.probs = append(p.probs, problem(dir, err))
		p.dropped = append(p.dropped, dir)
	}
	return nil
}

// eachName calls fn with the name of every entry of the directory freshly
// opened at dirfd (without "." and ".."), until fn returns false; buf is
// scratch space, and the name is valid only during the call.
func eachName(dirfd int, buf []byte, fn func(name []byte) bool) error {
	for {
		n, err := unix.Getdents(dirfd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		// struct linux_dirent64: ino (8), off (8), reclen (2), type (1),
		// then the name, NUL-terminated.
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return fmt.Errorf("getdents: malformed record of %d bytes", reclen)
			}
			rec := b[:reclen]
			b = b[reclen:]
			if binary.NativeEndian.Uint64(rec[0:8]) == 0 {
				continue // a deleted entry
			}
			name := rec[19:]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if len(name) == 0 || string(name) == "." || string(name) == ".." {
				continue
			}
			if !fn(name) {
				return nil
			}
		}
	}
}

// visit records the entry name in dirfd (at path): files, symlinks and
// directories go into p, directories also onto the stack, uncached files to
// the hash workers. ref is dirfd held for them, or nil when they open path
// from the root.
func (s *scanner) visit(p *part, dirfd int, ref *dirRef, path, name string) error {
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
			p.ents = append(p.ents, pathEntry{path, ent})
			p.hitEnts = append(p.hitEnts, pathCached{path, cached{fp, d}})
			p.hits++
			return nil
		}
		p.sent++
		select {
		case s.jobs <- hashJob{path: path, name: name, dir: ref.acquire()}:
		case <-s.ctx.Done():
			ref.release()
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
		p.ents = append(p.ents, pathEntry{path, ent})
	case zerosync.KindDir:
		p.ents = append(p.ents, pathEntry{path, ent})
		s.push(path, name, ref.acquire())
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
	for j := range s.jobs {
		if s.ctx.Err() != nil {
			j.dir.release()
			continue // drain
		}
		r := hashResult{path: j.path}
		r.entry, r.fp, r.err = s.hash(j)
		j.dir.release()
		out = append(out, r)
	}
	return out
}

func (s *scanner) hash(j hashJob) (zerosync.Entry, fingerprint, error) {
	if s.e.failOpen != nil {
		if err := s.e.failOpen(j.path); err != nil {
			return zerosync.Entry{}, fingerprint{}, err
		}
	}
	fd, err := s.open(j.dir, j.path, j.name, unix.O_RDONLY|unix.O_NONBLOCK)
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
