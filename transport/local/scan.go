//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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

	e.mu.Lock()
	hint := e.lastScan
	e.mu.Unlock()
	s := &scanner{
		e:      e,
		ctx:    ctx,
		rootfd: rootfd,
		snap:   make(zerosync.Snapshot, hint),
		next:   make(map[string]cached, hint),
		jobs:   make(chan hashJob, 1024),
		buf:    make([]byte, 64<<10),
	}
	cachedBefore := e.cache.len()
	results := make([][]hashResult, e.workers)
	var wg sync.WaitGroup
	for i := range e.workers {
		wg.Go(func() { results[i] = s.hashWorker() })
	}
	walkErr := s.walk(rootfd, "")
	close(s.jobs)
	wg.Wait()
	if walkErr != nil {
		return nil, nil, walkErr
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	fresh := 0
	now := time.Now()
	for _, rs := range results {
		for _, r := range rs {
			switch {
			case r.err == nil:
				s.snap[r.path] = r.entry
				if e.cache.trusted(r.fp, now) {
					s.next[r.path] = cached{r.fp, r.entry.Digest}
					fresh++
				}
			case errnoIs(r.err, unix.ENOENT), errnoIs(r.err, unix.ELOOP), errors.Is(r.err, errNotRegular):
				// Removed or replaced since the walk saw it: the next
				// scan sees what took its place.
			default:
				s.problem(r.path, r.err)
			}
		}
	}
	if err := e.stillRoot(); err != nil {
		return nil, nil, err
	}
	e.cache.replace(s.next, fresh > 0 || s.hits != cachedBefore)
	if err := e.saveCache(); err != nil {
		e.log.WarnContext(ctx, "stat cache not saved", "err", err)
	}
	e.mu.Lock()
	e.lastScan = len(s.snap)
	e.mu.Unlock()
	return s.snap, s.probs, nil
}

// scanner carries one scan. The walk runs in one goroutine and owns snap,
// next, probs and buf; hash workers return their results.
type scanner struct {
	e      *Endpoint
	ctx    context.Context
	rootfd int
	snap   zerosync.Snapshot
	next   map[string]cached // the stat cache after this scan
	hits   int               // files whose digest came from the cache
	probs  []zerosync.Problem
	jobs   chan hashJob
	buf    []byte
}

type hashJob struct {
	path string
}

type hashResult struct {
	path  string
	entry zerosync.Entry
	fp    fingerprint
	err   error
}

func (s *scanner) problem(p string, err error) {
	s.probs = append(s.probs, zerosync.Problem{Path: p, Err: fmt.Errorf("scan: %w", err)})
}

// walk lists the directory open at dirfd, whose path is dir, and everything
// beneath it.
func (s *scanner) walk(dirfd int, dir string) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	names, err := readNames(dirfd, s.buf, nil)
	if err != nil {
		if dir == "" {
			return err
		}
		s.dropTree(dir)
		s.problem(dir, err)
		return nil
	}
	for _, name := range names {
		p := joinPath(dir, name)
		if zerosync.ReservedName(name) {
			s.reserved(dirfd, p, name)
			continue
		}
		if len(p) > zerosync.MaxPathLen {
			s.problem(p, fmt.Errorf("path longer than %d bytes", zerosync.MaxPathLen))
			continue
		}
		var st unix.Stat_t
		if err := lstatAt(dirfd, name, &st); err != nil {
			if !errnoIs(err, unix.ENOENT) {
				s.problem(p, err)
			}
			continue
		}
		ent, ok := entryOf(&st)
		if !ok {
			s.problem(p, fmt.Errorf("%w: a %s is never synced", errors.ErrUnsupported, kindName(st.Mode)))
			continue
		}
		switch ent.Kind {
		case zerosync.KindFile:
			fp := fingerprintOf(&st)
			if d, ok := s.e.cache.lookup(p, fp); ok {
				ent.Digest = d
				s.snap[p] = ent
				s.next[p] = cached{fp, d}
				s.hits++
				continue
			}
			select {
			case s.jobs <- hashJob{p}:
			case <-s.ctx.Done():
				return s.ctx.Err()
			}
		case zerosync.KindSymlink:
			t, err := readlinkAt(dirfd, name)
			if err != nil {
				if !errnoIs(err, unix.ENOENT) && !errnoIs(err, unix.EINVAL) {
					s.problem(p, err)
				}
				continue
			}
			ent.Target = t
			s.snap[p] = ent
		case zerosync.KindDir:
			fd, err := openatRetry(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
			if err != nil {
				if !errnoIs(err, unix.ENOENT) && !errnoIs(err, unix.ENOTDIR) && !errnoIs(err, unix.ELOOP) {
					s.problem(p, err)
				}
				continue
			}
			s.snap[p] = ent
			err = s.walk(fd, p)
			unix.Close(fd)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// dropTree removes dir and everything beneath it from the snapshot: a
// directory that could not be listed is reported as a problem, not as empty.
func (s *scanner) dropTree(dir string) {
	delete(s.snap, dir)
	prefix := dir + "/"
	for p := range s.snap {
		if strings.HasPrefix(p, prefix) {
			delete(s.snap, p)
		}
	}
}

// reserved handles a reserved name met by the walk: a temp file no apply of
// this process is writing is a crash's leftover and is removed; everything
// else (the state folder, conflict copies) is left alone, unreported.
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
			continue // drain
		}
		r := hashResult{path: j.path}
		r.entry, r.fp, r.err = s.hash(j.path)
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

// readNames lists the directory open at dirfd (without "." and ".."),
// appending to names; buf is scratch space.
func readNames(dirfd int, buf []byte, names []string) ([]string, error) {
	if buf == nil {
		buf = make([]byte, 16<<10)
	}
	if _, err := unix.Seek(dirfd, 0, 0); err != nil {
		return nil, err
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
