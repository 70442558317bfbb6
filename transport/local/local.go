//go:build linux

package local

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/watch"
)

var (
	_ zerosync.Endpoint  = (*Endpoint)(nil)
	_ zerosync.Copier    = (*Endpoint)(nil)
	_ zerosync.Archiver  = (*Endpoint)(nil)
	_ zerosync.Versioner = (*Endpoint)(nil)
)

// defaultArchive is where archived content goes, relative to the root.
const defaultArchive = zerosync.StateDirName + "/archive"

// Endpoint is a directory on this host as a [zerosync.Endpoint]. Build one
// with [New]; the zero value is not usable. All methods are safe for
// concurrent use.
type Endpoint struct {
	name string
	root string // absolute
	// dev and ino identify the root directory New found; a root that no
	// longer has them was replaced or unmounted.
	dev, ino uint64
	log      *slog.Logger
	workers  int
	// watcher serves every Watch call with one inotify instance.
	watcher *watch.Shared

	// archiveRel is the archive directory relative to the root when it is
	// inside the root, reached like any path beneath it; otherwise
	// archiveAbs is its absolute path.
	archiveRel, archiveAbs string
	retention              zerosync.Retention

	// pruneMu serialises pruning; lastPrune is when the archive was last
	// pruned after an archiving.
	pruneMu   sync.Mutex
	lastPrune time.Time

	cache     *statCache
	cacheFile string

	// folds remembers how directories compare names ([Endpoint.FoldsNames]).
	folds foldCache

	mu       sync.Mutex
	inflight map[string]struct{} // temp files this process is writing
	echoes   map[string]echo     // what our own applies left, for Watch
	watching int                 // running Watch calls
	lastScan int                 // entries the last scan found

	closed atomic.Bool
	hashed atomic.Int64 // files hashed, for tests of the stat cache

	// Test seams: failOpen, when set, fails the opening of a file for
	// hashing (as a permission error would for a user who is not root);
	// now is the clock of archive stamps and retention.
	failOpen func(path string) error
	now      func() time.Time
	// onBatchStep, when set, is called after each step of a batch
	// (ApplyBatch): "written", "synced", "renamed", "dir-synced".
	onBatchStep func(step string)
}

// New returns an endpoint for the directory root, which must exist: a root
// that is missing or not a directory is an error wrapping
// [zerosync.ErrRootMissing]. The root's identity (device and inode) is
// recorded, and every later call fails the same way when the path no longer
// leads to that directory (unmounted, moved away, replaced).
func New(root string, opts ...Option) (*Endpoint, error) {
	cfg := config{
		name:    "local",
		log:     slog.New(slog.DiscardHandler),
		workers: min(runtime.GOMAXPROCS(0), 4),
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("local: root %q: %w", root, err)
	}
	e := &Endpoint{
		name:      cfg.name,
		root:      abs,
		log:       cfg.log.With("endpoint", cfg.name),
		workers:   cfg.workers,
		cache:     newStatCache(time.Second),
		cacheFile: cfg.statCache,
		inflight:  map[string]struct{}{},
		echoes:    map[string]echo{},
		retention: zerosync.DefaultRetention(),
		now:       time.Now,
	}
	if cfg.retention != nil {
		e.retention = *cfg.retention
	}
	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err == nil {
			err = unix.ENOTDIR
		}
		return nil, e.perr("open", ".", fmt.Errorf("%w: %s: %w", zerosync.ErrRootMissing, abs, err))
	}
	e.dev, e.ino = st.Dev, st.Ino
	e.watcher, err = watch.NewShared(abs, watch.Options{Debounce: cfg.debounce, Poll: cfg.poll, Logger: e.log, Echo: e.isEcho})
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if err := e.setArchive(cfg.archiveDir); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if e.cacheFile != "" {
		e.cache.warn = func(err error) {
			e.log.Warn("stat cache: a folder's files are hashed again", "file", e.cacheFile, "err", err)
		}
		e.cache.loadBehind(e.cacheFile, e.dev, e.ino, func(err error) {
			e.log.Warn("stat cache ignored", "file", e.cacheFile, "err", err)
		})
	}
	return e, nil
}

func (e *Endpoint) setArchive(dir string) error {
	if dir == "" {
		e.archiveRel = defaultArchive
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("archive directory %q: %w", dir, err)
	}
	rel, err := filepath.Rel(e.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		e.archiveAbs = abs
		return nil
	}
	rel = filepath.ToSlash(rel)
	if zerosync.ValidPath(rel) != nil || !zerosync.IsReserved(rel) {
		return fmt.Errorf("archive directory %q is inside the root but not beneath a reserved name (such as %s)", dir, zerosync.StateDirName)
	}
	e.archiveRel = rel
	return nil
}

// Root returns the absolute path of the root directory.
func (e *Endpoint) Root() string { return e.root }

// Name returns the endpoint's name.
func (e *Endpoint) Name() string { return e.name }

// Close saves the stat cache (when [WithStatCache] was given and it changed)
// and makes every later call fail with [fs.ErrClosed]. It is safe to call
// more than once.
func (e *Endpoint) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	return errors.Join(e.saveCache(), e.cache.close())
}

func (e *Endpoint) saveCache() error {
	if e.cacheFile == "" {
		return nil
	}
	if err := e.cache.save(e.cacheFile, e.dev, e.ino); err != nil {
		return fmt.Errorf("local: save stat cache: %w", err)
	}
	return nil
}

// perr wraps err as a *zerosync.PathError naming the endpoint.
func (e *Endpoint) perr(op, p string, err error) error {
	return &zerosync.PathError{Op: op, Host: e.name, Path: p, Err: err}
}

// openRoot opens the root directory and checks that it is still the one
// New found. The caller closes the descriptor.
func (e *Endpoint) openRoot() (int, error) {
	if e.closed.Load() {
		return -1, fs.ErrClosed
	}
	fd, err := openatRetry(unix.AT_FDCWD, e.root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return -1, fmt.Errorf("%w: %s: %w", zerosync.ErrRootMissing, e.root, err)
	}
	if err := e.checkRoot(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// checkRoot checks that fd is the root directory New found.
func (e *Endpoint) checkRoot(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%w: %s: %w", zerosync.ErrRootMissing, e.root, err)
	}
	if st.Dev != e.dev || st.Ino != e.ino {
		return fmt.Errorf("%w: %s is no longer the directory it was (replaced or unmounted)", zerosync.ErrRootMissing, e.root)
	}
	return nil
}

// stillRoot checks, after a long operation, that the root path still leads
// to the directory it started from.
func (e *Endpoint) stillRoot() error {
	fd, err := e.openRoot()
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// addInflight records a temp file this process is writing, so a concurrent
// scan does not take it for a crash's leftover.
func (e *Endpoint) addInflight(p string) {
	e.mu.Lock()
	e.inflight[p] = struct{}{}
	e.mu.Unlock()
}

func (e *Endpoint) dropInflight(p string) {
	e.mu.Lock()
	delete(e.inflight, p)
	e.mu.Unlock()
}

func (e *Endpoint) isInflight(p string) bool {
	e.mu.Lock()
	_, ok := e.inflight[p]
	e.mu.Unlock()
	return ok
}

// errnoIs reports whether err is the errno want.
func errnoIs(err error, want unix.Errno) bool {
	var en unix.Errno
	return errors.As(err, &en) && en == want
}
