package watch

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/zerosync/zerosync"
)

const (
	// firstRetry is how long polling waits before it first tries inotify
	// again; maxRetry caps the doubling wait between later tries.
	firstRetry = time.Minute
	maxRetry   = 30 * time.Minute
	// pollDuty bounds the share of time spent walking: the wait between two
	// polls is at least pollDuty times the last walk.
	pollDuty = 10
	// maxPollPaths is the most paths one poll names; beyond it the poll asks
	// for a full scan instead.
	maxPollPaths = 4096
)

// stamp is what polling records of one path: a change to any of it is
// reported. A directory's times move with its content, whose own stamps
// report it, so only a directory's identity and mode count.
type stamp struct {
	ino   uint64
	size  int64
	mtime int64
	ctime int64
	mode  fs.FileMode
	gen   uint32 // the walk that last saw the path
}

func stampOf(fi fs.FileInfo) stamp {
	ino, ctime := inodeAndCtime(fi)
	return stamp{ino: ino, size: fi.Size(), mtime: fi.ModTime().UnixNano(), ctime: ctime, mode: fi.Mode()}
}

func (a stamp) same(b stamp) bool {
	if a.ino != b.ino || a.mode != b.mode {
		return false
	}
	return a.mode.IsDir() || a.size == b.size && a.mtime == b.mtime && a.ctime == b.ctime
}

// stamps is polling's record of a tree: a stamp for every path beneath the
// root that is not reserved. The zero value is not usable; use [newStamps].
type stamps struct {
	byPath map[string]stamp
	root   stamp // the root directory itself
	gen    uint32
}

func newStamps() *stamps { return &stamps{byPath: make(map[string]stamp)} }

// walk records the tree beneath root, without following symbolic links,
// and returns the paths whose stamp changed since the last walk: new,
// gone or altered. The first walk only records. full is set, and changed
// left empty, when more than [maxPollPaths] paths changed or the root is no
// longer the directory it was. A directory that cannot be listed keeps its
// content out of the record (the scan reports it). The error is ctx's, or
// one wrapping [zerosync.ErrRootMissing].
func (s *stamps) walk(ctx context.Context, root string) (changed []string, full bool, err error) {
	fi, err := os.Lstat(root)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("watch %s: %w: %w", root, zerosync.ErrRootMissing, err)
	case !fi.IsDir():
		return nil, false, fmt.Errorf("watch %s: %w: not a directory", root, zerosync.ErrRootMissing)
	}
	first := s.gen == 0
	s.gen++
	rs := stampOf(fi)
	full = !first && rs.ino != s.root.ino // the root was replaced
	s.root = rs
	note := func(rel string) {
		if !first && !full {
			if len(changed) == maxPollPaths {
				full, changed = true, nil
				return
			}
			changed = append(changed, rel)
		}
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if p == root || err != nil {
			return nil // an unlistable directory: its content stays out
		}
		rel := filepath.ToSlash(p[len(root)+1:])
		if zerosync.ReservedName(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone since it was listed: the next walk misses it
		}
		st := stampOf(fi)
		if old, ok := s.byPath[rel]; !ok || !old.same(st) {
			note(rel)
		}
		st.gen = s.gen
		s.byPath[rel] = st
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	for rel, st := range s.byPath {
		if st.gen != s.gen {
			delete(s.byPath, rel)
			note(rel)
		}
	}
	return changed, full, nil
}

// startPolling gives up inotify after cause (an error wrapping
// [ErrWatchLimit]) and records the tree for polling. The first time it
// logs a warning that names the limit and how to raise it.
func (w *watcher) startPolling(ctx context.Context, cause error) error {
	attrs := []any{"every", w.poll, "err", cause}
	if l, ok := whichLimit(cause); ok {
		attrs = append(attrs, "limit", l.sysctl, "value", l.value(), "raise", l.raise())
	}
	msg := "inotify limit reached; polling the tree instead"
	if !w.warned {
		w.warned = true
		w.log.WarnContext(ctx, msg, attrs...)
	} else {
		w.log.InfoContext(ctx, msg, attrs...)
	}
	w.closeInotify()
	w.batch.reason = "poll"
	w.stamps = newStamps()
	_, _, err := w.stamps.walk(ctx, w.root)
	return err
}

// polling walks the tree every w.poll (or more rarely, when walks are
// slow) and touches the paths that changed, until ctx is done, the root
// goes, or inotify is back (it then returns nil, with every directory
// watched). While polling it tries inotify again after w.retry, doubling
// the wait after each failed try.
func (w *watcher) polling(ctx context.Context) error {
	tick := time.NewTimer(w.poll)
	defer tick.Stop()
	retry := time.NewTimer(w.retry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.batch.C():
			w.batch.fire()
		case <-tick.C:
			start := time.Now()
			if err := w.pollOnce(ctx); err != nil {
				return err
			}
			tick.Reset(max(w.poll, pollDuty*time.Since(start)))
		case <-retry.C:
			back, err := w.tryInotify(ctx)
			if err != nil || back {
				return err
			}
			w.retry = min(2*w.retry, maxRetry)
			retry.Reset(w.retry)
		}
	}
}

// pollOnce walks the tree and touches what changed, or delivers a full
// hint when too much did.
func (w *watcher) pollOnce(ctx context.Context) error {
	changed, full, err := w.stamps.walk(ctx, w.root)
	if err != nil {
		return err
	}
	if full {
		w.batch.notify(zerosync.Hint{Full: true, Reason: "poll"})
		return nil
	}
	now := time.Now()
	for _, p := range changed {
		w.batch.touch(p, now)
	}
	return nil
}

// tryInotify watches the whole tree again. When that works, a last poll
// reports what changed before the watches were in place, and back is
// true; when the kernel still refuses, polling goes on.
func (w *watcher) tryInotify(ctx context.Context) (back bool, err error) {
	if err := w.watchAll(ctx); err != nil {
		w.closeInotify()
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		w.log.DebugContext(ctx, "inotify still unavailable; polling on", "err", err)
		return false, nil
	}
	if err := w.pollOnce(ctx); err != nil {
		return false, err
	}
	w.stamps = nil
	w.batch.reason = "watch"
	w.retry = firstRetry
	w.log.InfoContext(ctx, "inotify available again; polling stopped", "dirs", w.dirs.Len())
	return true, nil
}
