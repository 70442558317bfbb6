package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		r := rel
		if p != start {
			var ok bool
			if r, ok = w.rel(p); !ok {
				return nil
			}
		}
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.log.WarnContext(ctx, "cannot list directory; its subdirectories are not watched", "path", r, "err", err)
			}
			return nil
		}
		if p != start {
			if zerosync.ReservedName(d.Name()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if report {
				w.batch.touch(r, time.Now())
			}
		}
		if !d.IsDir() {
			return nil
		}
		return w.watchDir(ctx, r, p)
	})
	return err
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
