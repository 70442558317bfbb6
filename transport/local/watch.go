//go:build linux

package local

import (
	"context"
	"io/fs"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

var _ zerosync.Watcher = (*Endpoint)(nil)

// Watch reports changes beneath the root made by anything but this
// endpoint's own Apply, Copy and KeepConflict, until ctx is done; see
// [zerosync.Source] and [zerosync.Watcher]: once every directory is watched
// it sends the "ready" hint. It watches with inotify, debounced by [WithDebounce];
// lost events become a hint for a full rescan. A change this endpoint
// made itself is dropped as long as the path still holds exactly what it
// wrote (same inode, size and times), so the engine's writes do not come
// back as a new cycle, while a person's edit that follows is reported.
//
// Concurrent Watch calls share one inotify instance (the kernel allows
// each user 128 by default, across all processes), each getting every
// hint; the instance is released when the last call returns. When the
// kernel refuses an instance or a watch, Watch logs a warning naming the
// limit and polls the tree instead, every [WithPollInterval], with hints
// whose Reason is "poll".
func (e *Endpoint) Watch(ctx context.Context, notify func(zerosync.Hint)) error {
	if e.closed.Load() {
		return e.perr("watch", ".", fs.ErrClosed)
	}
	e.mu.Lock()
	e.watching++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.watching--
		if e.watching == 0 {
			clear(e.echoes)
		}
		e.mu.Unlock()
	}()
	err := e.watcher.Watch(ctx, notify)
	if err != nil && ctx.Err() == nil {
		return e.perr("watch", ".", err)
	}
	return err
}

// echoTTL bounds how long an own write is remembered: a watcher reports
// within milliseconds, so an older memory is one whose event was lost.
const echoTTL = 10 * time.Second

// echo is what an own write leaves at a path. An apply records it before
// the change becomes visible (the watcher may look at once) with what it
// cannot know yet left out, and completes it afterwards.
type echo struct {
	gone  bool
	dir   bool
	ino   uint64 // 0: not known yet (a directory about to be made)
	size  int64
	mtime int64
	ctime int64 // -1: not known yet (a rename is about to change it)
	mode  uint32
	at    time.Time
}

func echoOf(st *unix.Stat_t) echo {
	return echo{
		dir:   st.Mode&unix.S_IFMT == unix.S_IFDIR,
		ino:   st.Ino,
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
		mode:  st.Mode,
	}
}

// matches reports whether st is still what the own write left. A
// directory's times move with its content, so only its identity and mode
// count.
func (ec echo) matches(st *unix.Stat_t) bool {
	now := echoOf(st)
	if ec.ino != 0 && now.ino != ec.ino || now.mode != ec.mode || now.dir != ec.dir {
		return false
	}
	if ec.dir {
		return true
	}
	return now.size == ec.size && now.mtime == ec.mtime && (ec.ctime == -1 || now.ctime == ec.ctime)
}

// remember records what an own write left at p, when a watcher runs.
func (e *Endpoint) remember(p string, st *unix.Stat_t) { e.putEcho(p, echoOf(st)) }

// rememberRename records, before a rename puts it at p, the file or
// symlink st describes.
func (e *Endpoint) rememberRename(p string, st *unix.Stat_t) {
	ec := echoOf(st)
	ec.ctime = -1
	e.putEcho(p, ec)
}

// rememberAt records what an own write left at p, which is name in dirfd.
func (e *Endpoint) rememberAt(dirfd int, name, p string) {
	var st unix.Stat_t
	if lstatAt(dirfd, name, &st) == nil {
		e.remember(p, &st)
	}
}

// rememberGone records that an own write is removing p.
func (e *Endpoint) rememberGone(p string) { e.putEcho(p, echo{gone: true}) }

func (e *Endpoint) putEcho(p string, ec echo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.watching == 0 {
		return
	}
	ec.at = time.Now()
	if len(e.echoes) >= 4096 {
		for q, old := range e.echoes {
			if ec.at.Sub(old.at) > echoTTL {
				delete(e.echoes, q)
			}
		}
	}
	e.echoes[p] = ec
}

// forgetEcho drops what was recorded for p, after an apply failed.
func (e *Endpoint) forgetEcho(p string) {
	e.mu.Lock()
	delete(e.echoes, p)
	e.mu.Unlock()
}

// isEcho reports whether the change the watcher saw at p is an own write
// that nothing touched since; it forgets p either way.
func (e *Endpoint) isEcho(p string) bool {
	e.mu.Lock()
	ec, ok := e.echoes[p]
	delete(e.echoes, p)
	e.mu.Unlock()
	if !ok || time.Since(ec.at) > echoTTL {
		return false
	}
	var st unix.Stat_t
	err := unix.Lstat(filepath.Join(e.root, filepath.FromSlash(p)), &st)
	if ec.gone {
		return errnoIs(err, unix.ENOENT)
	}
	return err == nil && ec.matches(&st)
}
