package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/zerosync/zerosync"
)

// DefaultDebounce is the quiet window used when [Options.Debounce] is zero.
const DefaultDebounce = 3 * time.Millisecond

// DefaultPoll is the polling interval used when [Options.Poll] is zero.
const DefaultPoll = 2 * time.Second

// Options configures [Run] and [NewShared]. The zero value is usable:
// default window and polling interval, silent, no echo suppression.
type Options struct {
	// Debounce is the per-path quiet window; zero means [DefaultDebounce].
	// It must not be negative.
	Debounce time.Duration
	// Poll is how often the tree is walked for changes while inotify is
	// unavailable (see Limits in the package documentation); zero means
	// [DefaultPoll]. It must not be negative.
	Poll time.Duration
	// Logger receives debug and warning records; nil is silent.
	Logger *slog.Logger
	// Echo is called once for every path that becomes ready, from the
	// goroutine that calls notify; returning true drops the path (the
	// caller's own write). An all-dropped batch produces no hint.
	Echo func(path string) bool
	// Ready, when set, is called once, after every directory present at the
	// start is watched (or, when inotify is refused, after the first walk
	// of the tree that polling compares with) and before any hint: a change
	// made after Ready is called is reported. Callers that scan the tree
	// themselves should scan after Ready, not before Run.
	Ready func()
}

// Run watches root recursively until ctx is done, calling notify with
// debounced hints. Paths in hints are clean relative slash paths as
// [zerosync.ValidPath] requires, sorted, each once per hint; paths with a
// reserved component are never reported. A queue overflow, or a watch error
// that may have lost events, becomes Hint{Full: true, Reason: "overflow"}.
// notify and Echo are called from one goroutine at a time and should
// return quickly: events queue in the kernel while they run.
//
// When the kernel refuses an inotify instance or a watch, Run logs a
// warning and polls the tree instead (see Limits in the package
// documentation); hints found by polling have Reason "poll".
//
// Run returns ctx.Err() after cancellation. It returns an error wrapping
// [zerosync.ErrRootMissing] when root is missing or not a directory, at the
// start or later. A root that is a symbolic link is resolved once, at the
// start.
func Run(ctx context.Context, root string, opts Options, notify func(zerosync.Hint)) error {
	w, err := newWatcher(root, opts, notify)
	if err != nil {
		return err
	}
	defer w.close()
	return w.run(ctx)
}

// watcher is the state of one [Run]. Everything is owned by the goroutine
// running run.
type watcher struct {
	root  string // absolute, symlinks resolved
	log   *slog.Logger
	ready func()
	batch *batcher
	// fs is the inotify instance; nil while polling.
	fs *fsnotify.Watcher
	// open, add and remove reach inotify; tests replace them to inject
	// failures.
	open   func() (*fsnotify.Watcher, error)
	add    func(abs string) error
	remove func(abs string) error
	// dirs holds the watched directories.
	dirs *dirSet

	// poll is the polling interval; stamps is what the last poll saw, nil
	// while inotify watches.
	poll   time.Duration
	stamps *stamps
	// retry is how long polling waits before it tries inotify again; it
	// doubles after each failed try, up to maxRetry.
	retry time.Duration
	// warned is set once the fall back to polling was logged as a warning.
	warned bool
}

// check validates opts.
func (opts Options) check() error {
	switch {
	case opts.Debounce < 0:
		return fmt.Errorf("watch: negative debounce %v", opts.Debounce)
	case opts.Poll < 0:
		return fmt.Errorf("watch: negative polling interval %v", opts.Poll)
	}
	return nil
}

// newWatcher checks its arguments and the root. It opens no inotify
// instance and adds no watches: run does.
func newWatcher(root string, opts Options, notify func(zerosync.Hint)) (*watcher, error) {
	if notify == nil {
		return nil, errors.New("watch: nil notify")
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if root == "" {
		return nil, fmt.Errorf("watch: empty root: %w", zerosync.ErrRootMissing)
	}
	window := cmp.Or(opts.Debounce, DefaultDebounce)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := resolveRoot(root)
	if err != nil {
		return nil, err
	}
	w := &watcher{
		root:  abs,
		log:   log.With("root", abs),
		ready: opts.Ready,
		batch: newBatcher(window, opts.Echo, notify),
		open:  fsnotify.NewWatcher,
		dirs:  newDirSet(),
		poll:  cmp.Or(opts.Poll, DefaultPoll),
		retry: firstRetry,
	}
	w.add = func(abs string) error { return w.fs.Add(abs) }
	w.remove = func(abs string) error { return w.fs.Remove(abs) }
	return w, nil
}

// resolveRoot returns root as an absolute path with symlinks resolved, or an
// error wrapping [zerosync.ErrRootMissing] when it is not a directory.
func resolveRoot(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("watch %s: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("watch %s: %w: %w", abs, zerosync.ErrRootMissing, err)
	}
	fi, err := os.Stat(real)
	switch {
	case err != nil:
		return "", fmt.Errorf("watch %s: %w: %w", abs, zerosync.ErrRootMissing, err)
	case !fi.IsDir():
		return "", fmt.Errorf("watch %s: %w: not a directory", abs, zerosync.ErrRootMissing)
	}
	return real, nil
}

// close releases the inotify instance and the timer.
func (w *watcher) close() {
	w.batch.stop()
	w.closeInotify()
}

// closeInotify releases the inotify instance, with all its watches, if
// there is one.
func (w *watcher) closeInotify() {
	if w.fs == nil {
		return
	}
	w.fs.Close()
	w.fs = nil
	w.dirs.RemoveAll()
}

// watchAll opens the inotify instance and watches the whole tree. On error
// the instance may be left open; the caller closes it.
func (w *watcher) watchAll(ctx context.Context) error {
	fw, err := w.open()
	if err != nil {
		if lerr := limitError(w.root, 0, err); lerr != nil {
			return lerr
		}
		return fmt.Errorf("watch %s: %w", w.root, err)
	}
	w.fs = fw
	return w.watchTree(ctx, "", false)
}

// run watches the tree (or starts polling it when inotify is refused),
// calls ready, and then turns events into hints until ctx is done or
// watching fails, switching between inotify and polling as the kernel
// allows.
func (w *watcher) run(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.watchAll(ctx); err != nil {
		if !errors.Is(err, ErrWatchLimit) {
			return err
		}
		if err := w.startPolling(ctx, err); err != nil {
			return err
		}
	} else {
		w.log.DebugContext(ctx, "watching", "dirs", w.dirs.Len())
	}
	if w.ready != nil {
		w.ready()
	}
	for {
		var err error
		if w.fs != nil {
			err = w.events(ctx)
		} else {
			err = w.polling(ctx)
		}
		if errors.Is(err, ErrWatchLimit) {
			// Events since the refused watch may be lost: poll from a
			// fresh record, and ask for a full scan after it.
			if err := w.startPolling(ctx, err); err != nil {
				return err
			}
			w.batch.notify(zerosync.Hint{Full: true, Reason: "poll"})
			continue
		}
		if err != nil {
			return err
		}
	}
}

// events turns inotify events into hints until ctx is done or watching
// fails; an error wrapping [ErrWatchLimit] means the caller should poll.
func (w *watcher) events(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.fs.Events:
			if !ok {
				return fmt.Errorf("watch %s: event stream closed", w.root)
			}
			if err := w.handle(ctx, ev); err != nil {
				return err
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return fmt.Errorf("watch %s: error stream closed", w.root)
			}
			if err := w.lost(ctx, err); err != nil {
				return err
			}
		case <-w.batch.C():
			w.batch.fire()
		}
	}
}

// handle processes one event: it touches the path, drops the watches of a
// directory that went away, and watches (and reports the content of) a
// directory that appeared.
func (w *watcher) handle(ctx context.Context, ev fsnotify.Event) error {
	if ev.Name == w.root {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			return w.rootGone(ctx)
		}
		return nil
	}
	rel, ok := w.rel(ev.Name)
	if !ok || zerosync.IsReserved(rel) || zerosync.ValidPath(rel) != nil {
		return nil
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.unwatch(rel)
	}
	w.batch.touch(rel, time.Now())
	if ev.Has(fsnotify.Create) {
		fi, err := os.Lstat(ev.Name)
		if err == nil && fi.IsDir() {
			return w.watchTree(ctx, rel, true)
		}
	}
	return nil
}

// rel returns the path of name relative to the root, in slash form; ok is
// false for a name outside the root, and for the root itself.
func (w *watcher) rel(name string) (rel string, ok bool) {
	rest, ok := strings.CutPrefix(name, w.root)
	if !ok || len(rest) < 2 || rest[0] != filepath.Separator {
		return "", false
	}
	return filepath.ToSlash(rest[1:]), true
}

// abs returns the absolute path of rel.
func (w *watcher) abs(rel string) string {
	if rel == "" {
		return w.root
	}
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

// rootGone handles the removal or renaming of the root's own watch: an
// error wrapping [zerosync.ErrRootMissing] when no directory is there any
// more, otherwise (the root was replaced) a fresh set of watches and a full
// hint.
func (w *watcher) rootGone(ctx context.Context) error {
	fi, err := os.Stat(w.root)
	switch {
	case err != nil:
		return fmt.Errorf("watch %s: %w: %w", w.root, zerosync.ErrRootMissing, err)
	case !fi.IsDir():
		return fmt.Errorf("watch %s: %w: not a directory", w.root, zerosync.ErrRootMissing)
	}
	w.log.WarnContext(ctx, "root replaced; watching it again")
	return w.resync(ctx)
}

// lost handles an error from inotify: events may have been lost, so the
// watches are rebuilt and a full hint is delivered.
func (w *watcher) lost(ctx context.Context, err error) error {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.WarnContext(ctx, "event queue overflow; asking for a full scan")
	} else {
		w.log.WarnContext(ctx, "watch error; asking for a full scan", "err", err)
	}
	return w.resync(ctx)
}

// resync drops every watch, watches the whole tree again and delivers a
// full hint, in that order, so the scan the hint causes sees a tree whose
// later changes are reported.
func (w *watcher) resync(ctx context.Context) error {
	w.unwatchAll()
	if err := w.watchTree(ctx, "", false); err != nil {
		return err
	}
	w.batch.notify(zerosync.Hint{Full: true, Reason: "overflow"})
	return nil
}
