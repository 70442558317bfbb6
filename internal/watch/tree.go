package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/zerosync/zerosync"
)

// watchTree watches the directory rel and every directory beneath it,
// without following symbolic links and skipping reserved names. Each
// directory's watch is added before the directory is listed, so an entry
// created in it is either listed or reported by the watch. When report is
// set, every entry found beneath rel (not rel itself) is touched: it may have
// been written before its directory was watched.
//
// Stale watches at or beneath rel are dropped first. A directory that
// vanishes or cannot be read is skipped (the scan reports unreadable
// directories); the error returned is a refused watch (wrapping
// [ErrWatchLimit]), an unexpected inotify error, or ctx's error.
func (w *watcher) watchTree(ctx context.Context, rel string, report bool) error {
	w.unwatch(rel)
	start := w.abs(rel)
	fi, err := os.Lstat(start)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.log.WarnContext(ctx, "cannot list directory; its subdirectories are not watched", "path", rel, "err", err)
		}
		return nil
	}
	if !fi.IsDir() {
		return nil
	}
	return w.walkDirs(ctx, rel, start, report)
}

// walkDirs watches the directory rel (at abs), then lists it and walks
// the directories in it. A file gets no path of its own unless report asks
// for it: a tree of 100k files in 4,000 folders is watched with 4,000
// paths made, not 104,000 (the walk runs beside the engine's first cycle,
// and the garbage of the others kept the watches' paths scattered across
// the heap for good).
func (w *watcher) walkDirs(ctx context.Context, rel, abs string, report bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.watchDir(ctx, rel, abs); err != nil {
		if errors.Is(err, filepath.SkipDir) {
			return nil
		}
		return err
	}
	ents, err := readDir(abs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.log.WarnContext(ctx, "cannot list directory; its subdirectories are not watched", "path", rel, "err", err)
	}
	for _, d := range ents {
		name := d.Name()
		if zerosync.ReservedName(name) {
			continue
		}
		dir := d.IsDir()
		if !dir && !report {
			continue
		}
		p := abs + string(filepath.Separator) + name
		r, ok := w.rel(p)
		if !ok {
			continue
		}
		if report {
			w.batch.touch(r, time.Now())
		}
		if dir {
			if err := w.walkDirs(ctx, r, p, report); err != nil {
				return err
			}
		}
	}
	return nil
}

// readDir returns the entries of the directory at path, in the order the
// file system gives them, and what it read before an error.
func readDir(path string) ([]fs.DirEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// watchDir adds the watch for one directory. It returns
// [filepath.SkipDir] when the directory cannot be watched but watching can
// go on (it vanished, or access is denied), and an error when it cannot.
func (w *watcher) watchDir(ctx context.Context, rel, abs string) error {
	err := w.add(abs)
	switch {
	case err == nil:
		w.dirs.Add(rel)
		return nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return filepath.SkipDir
	case errors.Is(err, fs.ErrPermission):
		w.log.WarnContext(ctx, "cannot watch directory", "path", rel, "err", err)
		return filepath.SkipDir
	}
	if lerr := limitError(abs, w.dirs.Len(), err); lerr != nil {
		return lerr
	}
	return fmt.Errorf("watch %s: %w", abs, err)
}

// unwatch drops the watches of rel and of every directory beneath it. It
// does nothing when rel is not a watched directory. Errors from inotify are
// ignored: the kernel has already dropped the watch of a deleted directory.
func (w *watcher) unwatch(rel string) {
	for _, d := range w.dirs.RemoveTree(rel) {
		_ = w.remove(w.abs(d))
	}
}

// unwatchAll drops every watch.
func (w *watcher) unwatchAll() {
	for _, d := range w.dirs.RemoveAll() {
		_ = w.remove(w.abs(d))
	}
}
