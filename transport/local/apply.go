//go:build linux

package local

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// Apply changes one path atomically; see [zerosync.Endpoint]. A file is
// written to a temp file in its directory while it is hashed, checked
// against op.New's size and digest, given its mode and modification time on
// the open file, synced, and renamed over the path after a last check that
// the path still holds op.Old; then the directory is synced. A creation
// (op.Old nil) never replaces a path that appeared meanwhile. Nothing is
// written through a symlink: the parent directory is reached without
// following any, and the last component is never followed.
//
// The check and the rename are two system calls. Every writer through
// this package (this endpoint, another on the same root, an agent of
// another host's daemon) holds the root's apply lock from the check to the
// rename ([Endpoint.lockApply]), so none of them replaces what another
// just wrote; a person who edits the file between them loses that edit to
// the apply (the window is short; op.Archive keeps what was there at the
// check).
func (e *Endpoint) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	if err := e.apply(ctx, op, content); err != nil {
		return e.perr("apply", op.Path, err)
	}
	return nil
}

func (e *Endpoint) apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := zerosync.CheckPath(op.Path); err != nil {
		return err
	}
	switch {
	case op.New == nil && op.Old == nil:
		return fmt.Errorf("%w: an op must have an old or a new entry", errInvalidEntry)
	case op.New == nil:
	case op.New.Kind == zerosync.KindFile && content == nil:
		return fmt.Errorf("%w: no content for a file", zerosync.ErrDigestMismatch)
	default:
		if err := validEntry(op.New); err != nil {
			return err
		}
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return err
	}
	defer unix.Close(rootfd)
	dir, name := splitPath(op.Path)
	pfd, err := openDir(rootfd, dir)
	if err != nil {
		return parentErr(dir, err)
	}
	defer unix.Close(pfd)
	a := &applier{e: e, ctx: ctx, rootfd: rootfd, dirfd: pfd, dir: dir, name: name, op: op}
	// A first check, before any content is received.
	if _, err := e.check(ctx, pfd, name, op.Path, op.Old); err != nil {
		return err
	}
	switch {
	case op.New == nil:
		return a.remove()
	case op.New.Kind == zerosync.KindFile:
		return a.file(content)
	case op.New.Kind == zerosync.KindSymlink:
		return a.symlink()
	default:
		return a.mkdir()
	}
}

// parentErr explains a parent directory that could not be opened: missing,
// not a directory, or reached through a symlink. Each means the tree is not
// what the op was planned against.
func parentErr(dir string, err error) error {
	switch {
	case errnoIs(err, unix.ENOENT), errnoIs(err, unix.ENOTDIR):
		return fmt.Errorf("%w: parent %q is not a directory: %w", zerosync.ErrChanged, dir, err)
	case errnoIs(err, unix.ELOOP), errnoIs(err, unix.EXDEV):
		return fmt.Errorf("%w: parent %q is or passes through a symlink: %w", zerosync.ErrChanged, dir, err)
	}
	return fmt.Errorf("parent %q: %w", dir, err)
}

// applier carries one Apply.
type applier struct {
	e             *Endpoint
	ctx           context.Context
	rootfd, dirfd int // the root and the path's parent directory
	dir, name     string
	op            zerosync.Op
}

func (a *applier) file(content io.Reader) error {
	t, err := a.e.receive(a.ctx, a.dirfd, a.dir, a.op.New, content)
	if err != nil {
		return err
	}
	defer t.discard()
	fd := int(t.f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	a.e.rememberRename(a.op.Path, &st)
	if err := a.replace(t.name); err != nil {
		a.e.forgetEcho(a.op.Path)
		return err
	}
	t.done()
	dropPartial(a.dirfd, a.op.New)
	// The rename changed the file's ctime: fingerprint it where it is now.
	if err := unix.Fstat(fd, &st); err == nil {
		a.e.cache.store(a.op.Path, fingerprintOf(&st), a.op.New.Digest, time.Now())
		a.e.remember(a.op.Path, &st)
	}
	return nil
}

func (a *applier) symlink() error {
	t, err := a.e.newTemp(a.dirfd, a.dir, func(name string) error {
		return unix.Symlinkat(a.op.New.Target, a.dirfd, name)
	})
	if err != nil {
		return err
	}
	defer t.discard()
	var st unix.Stat_t
	if err := lstatAt(a.dirfd, t.name, &st); err != nil {
		return err
	}
	a.e.rememberRename(a.op.Path, &st)
	if err := a.replace(t.name); err != nil {
		a.e.forgetEcho(a.op.Path)
		return err
	}
	t.done()
	a.e.cache.forget(a.op.Path)
	a.e.rememberAt(a.dirfd, a.name, a.op.Path)
	return nil
}

// replace puts the temp file tmp in place of the path, after checking the
// path still holds op.Old and archiving it when asked.
func (a *applier) replace(tmp string) error {
	if err := a.ctx.Err(); err != nil {
		return err
	}
	unlock, err := a.e.lockApply(a.rootfd)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := a.e.check(a.ctx, a.dirfd, a.name, a.op.Path, a.op.Old)
	if err != nil {
		return err
	}
	if err := a.archive(cur, zerosync.ReasonReplaced); err != nil {
		return err
	}
	switch {
	case cur == nil:
		err = renameNoReplace(a.dirfd, tmp, a.name)
	case cur.Kind == zerosync.KindDir:
		if err = a.e.rmdir(a.dirfd, a.dir, a.name); err == nil {
			err = renameNoReplace(a.dirfd, tmp, a.name)
		}
	default:
		err = unix.Renameat(a.dirfd, tmp, a.dirfd, a.name)
	}
	if errnoIs(err, unix.EEXIST) {
		return fmt.Errorf("%w: the path appeared meanwhile", zerosync.ErrChanged)
	}
	if err != nil {
		return err
	}
	return fsyncDir(a.dirfd)
}

// archive keeps the current file when the op asks for it.
func (a *applier) archive(cur *zerosync.Entry, reason zerosync.ArchiveReason) error {
	if !a.op.Archive || cur == nil || cur.Kind != zerosync.KindFile {
		return nil
	}
	if _, err := a.e.archive(a.ctx, a.rootfd, a.dirfd, a.name, a.op.Path, reason); err != nil {
		return fmt.Errorf("archive before replacing: %w", err)
	}
	return nil
}

func (a *applier) mkdir() error {
	perm := uint32(a.op.New.Mode.Perm())
	if a.op.Old != nil && a.op.Old.Kind == zerosync.KindDir {
		// A change of mode: check and change the directory through one
		// descriptor, so no other directory can take its place between.
		fd, err := openatRetry(a.dirfd, a.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		if err != nil {
			return fmt.Errorf("%w: %w", zerosync.ErrChanged, err)
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		if got := fs.FileMode(st.Mode).Perm(); got != a.op.Old.Mode.Perm() {
			return fmt.Errorf("%w: expected %s, found dir %o", zerosync.ErrChanged, a.op.Old, got)
		}
		a.e.putEcho(a.op.Path, echo{dir: true, ino: st.Ino, mode: unix.S_IFDIR | perm})
		if err := unix.Fchmod(fd, perm); err != nil {
			a.e.forgetEcho(a.op.Path)
			return err
		}
		return nil
	}
	if a.op.Old != nil {
		// A file or symlink gives way to the directory.
		unlock, err := a.e.lockApply(a.rootfd)
		if err != nil {
			return err
		}
		defer unlock()
		cur, err := a.e.check(a.ctx, a.dirfd, a.name, a.op.Path, a.op.Old)
		if err != nil {
			return err
		}
		if err := a.archive(cur, zerosync.ReasonReplaced); err != nil {
			return err
		}
		if err := unix.Unlinkat(a.dirfd, a.name, 0); err != nil {
			return err
		}
		a.e.cache.forget(a.op.Path)
	}
	if err := a.ctx.Err(); err != nil {
		return err
	}
	if err := a.makeDir(); err != nil {
		return err
	}
	return fsyncDir(a.dirfd)
}

// makeDir makes the directory where nothing is, and gives it its mode; the
// caller syncs the parent.
func (a *applier) makeDir() error {
	perm := uint32(a.op.New.Mode.Perm())
	a.e.putEcho(a.op.Path, echo{dir: true, mode: unix.S_IFDIR | perm})
	if err := unix.Mkdirat(a.dirfd, a.name, 0o700); err != nil {
		a.e.forgetEcho(a.op.Path)
		if errnoIs(err, unix.EEXIST) {
			return fmt.Errorf("%w: the path appeared meanwhile", zerosync.ErrChanged)
		}
		return err
	}
	fd, err := openatRetry(a.dirfd, a.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, perm); err != nil {
		return err
	}
	a.e.rememberAt(a.dirfd, a.name, a.op.Path)
	return nil
}

func (a *applier) remove() error {
	unlock, err := a.e.lockApply(a.rootfd)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := a.e.check(a.ctx, a.dirfd, a.name, a.op.Path, a.op.Old)
	if err != nil {
		return err
	}
	if err := a.archive(cur, zerosync.ReasonRemoved); err != nil {
		return err
	}
	a.e.rememberGone(a.op.Path)
	if cur.Kind == zerosync.KindDir {
		err = a.e.rmdir(a.dirfd, a.dir, a.name)
	} else {
		err = unix.Unlinkat(a.dirfd, a.name, 0)
	}
	if err != nil {
		a.e.forgetEcho(a.op.Path)
	}
	if errnoIs(err, unix.ENOENT) {
		return fmt.Errorf("%w: removed meanwhile", zerosync.ErrChanged)
	}
	if err != nil {
		return err
	}
	a.e.cache.forget(a.op.Path)
	return fsyncDir(a.dirfd)
}

// errNotEmpty: a directory to remove still holds something.
var errNotEmpty = errors.New("directory not empty")

// rmdir removes the directory name in dirfd (dir is dirfd's path). Conflict
// copies, which were archived when they were made, and temp files left by
// a crash go with it; anything else makes it fail with errNotEmpty.
func (e *Endpoint) rmdir(dirfd int, dir, name string) error {
	err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
	if !errnoIs(err, unix.ENOTEMPTY) && !errnoIs(err, unix.EEXIST) {
		return err
	}
	fd, err := openatRetry(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	names, err := readNames(fd, nil, nil)
	if err != nil {
		return err
	}
	p := joinPath(dir, name)
	for _, n := range names {
		var st unix.Stat_t
		if err := lstatAt(fd, n, &st); err != nil {
			return err
		}
		t := st.Mode & unix.S_IFMT
		leftover := (t == unix.S_IFREG || t == unix.S_IFLNK) &&
			(containsMarker(n) || isTemp(n) && !e.isInflight(joinPath(p, n)))
		if !leftover {
			return fmt.Errorf("%w: %q holds %q", errNotEmpty, p, n)
		}
	}
	for _, n := range names {
		if err := unix.Unlinkat(fd, n, 0); err != nil && !errnoIs(err, unix.ENOENT) {
			return err
		}
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil {
		if errnoIs(err, unix.ENOTEMPTY) || errnoIs(err, unix.EEXIST) {
			return fmt.Errorf("%w: %q filled up meanwhile", errNotEmpty, p)
		}
		return err
	}
	return nil
}

// tempFile is a file (or symlink) beneath a reserved temp name, on its way
// to its real name.
type tempFile struct {
	e     *Endpoint
	dirfd int
	name  string   // in dirfd
	path  string   // beneath the root
	f     *os.File // nil for a symlink
	gone  bool
}

// newTemp makes a temp entry in dirfd (whose path is dir) with create,
// which gets a fresh temp name, and records it as in flight.
func (e *Endpoint) newTemp(dirfd int, dir string, create func(name string) error) (*tempFile, error) {
	var b [8]byte
	for range 8 {
		for i := range b {
			b[i] = byte(rand.Uint32())
		}
		name := zerosync.TempPrefix + hex.EncodeToString(b[:])
		p := joinPath(dir, name)
		e.addInflight(p)
		err := create(name)
		if err == nil {
			return &tempFile{e: e, dirfd: dirfd, name: name, path: p}, nil
		}
		e.dropInflight(p)
		if !errnoIs(err, unix.EEXIST) {
			return nil, err
		}
	}
	return nil, errors.New("no free temp name")
}

// done records that the temp file was renamed to its real name.
func (t *tempFile) done() {
	t.gone = true
	t.e.dropInflight(t.path)
}

// discard removes the temp file unless it was renamed, and closes it.
func (t *tempFile) discard() {
	if !t.gone {
		unix.Unlinkat(t.dirfd, t.name, 0)
		t.e.dropInflight(t.path)
		t.gone = true
	}
	if t.f != nil {
		t.f.Close()
	}
}

// receive writes content into a new temp file in dirfd (whose path is dir),
// refusing more than want.Size bytes, and checks size and digest
// ([zerosync.ErrDigestMismatch]) before it sets the mode and modification
// time on the open file and syncs it. The caller renames or discards it.
// Content that stops short leaves the temp file as a partial (partial.go).
func (e *Endpoint) receive(ctx context.Context, dirfd int, dir string, want *zerosync.Entry, content io.Reader) (*tempFile, error) {
	return e.receiveTemp(ctx, dirfd, dir, want, content, true)
}

// receiveTemp is receive; without sync the file is not synced, and the
// caller makes it durable before it renames it (a batch syncs its files
// together).
func (e *Endpoint) receiveTemp(ctx context.Context, dirfd int, dir string, want *zerosync.Entry, content io.Reader, sync bool) (*tempFile, error) {
	if content == nil {
		return nil, fmt.Errorf("%w: no content for a file", zerosync.ErrDigestMismatch)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(dirfd, &sfs); err == nil && sfs.Bsize > 0 {
		if free := sfs.Bavail * uint64(sfs.Bsize); uint64(want.Size) > free {
			return nil, fmt.Errorf("%w: %d bytes declared, %d free: %w", zerosync.ErrTooLarge, want.Size, free, unix.ENOSPC)
		}
	}
	var fd int
	t, err := e.newTemp(dirfd, dir, func(name string) error {
		var err error
		fd, err = openatRetry(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, 0o600)
		return err
	})
	if err != nil {
		return nil, err
	}
	t.f = os.NewFile(uintptr(fd), t.name)
	ok := false
	defer func() {
		if !ok {
			t.discard()
		}
	}()
	src := &failedReader{r: content}
	d, n, err := copyHashed(ctx, t.f, src, want.Size)
	if err != nil {
		if src.failed || ctx.Err() != nil {
			// Cut short: what arrived may serve the next attempt.
			e.keepPartial(ctx, t, want, n)
		}
		return nil, err
	}
	if n != want.Size || d != want.Digest {
		return nil, fmt.Errorf("%w: received %d bytes (%s), declared %d (%s)", zerosync.ErrDigestMismatch, n, d.Short(), want.Size, want.Digest.Short())
	}
	if err := unix.Fchmod(fd, uint32(want.Mode.Perm())); err != nil {
		return nil, err
	}
	if !want.ModTime.IsZero() {
		if err := futimens(fd, want.ModTime); err != nil {
			return nil, err
		}
	}
	if sync {
		if err := t.f.Sync(); err != nil {
			return nil, err
		}
	}
	ok = true
	return t, nil
}

// copyHashed copies r to w while hashing it, reading at most limit+1 bytes
// (one more than allowed is enough to know r lied), and checks ctx between
// chunks.
func copyHashed(ctx context.Context, w io.Writer, r io.Reader, limit int64) (zerosync.Digest, int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	h := hasherPool.Get().(*digest.Hasher)
	defer hasherPool.Put(h)
	h.Reset()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return zerosync.Digest{}, n, err
		}
		want := int64(len(buf))
		if rest := limit + 1 - n; rest < want {
			want = rest
		}
		if want <= 0 {
			return zerosync.Digest{}, n, fmt.Errorf("%w: more than the declared %d bytes", zerosync.ErrDigestMismatch, limit)
		}
		k, err := r.Read(buf[:want])
		if k > 0 {
			if n+int64(k) > limit {
				return zerosync.Digest{}, n, fmt.Errorf("%w: more than the declared %d bytes", zerosync.ErrDigestMismatch, limit)
			}
			h.Write(buf[:k])
			if _, werr := w.Write(buf[:k]); werr != nil {
				return zerosync.Digest{}, n, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			return h.Sum(), n, nil
		}
		if err != nil {
			return zerosync.Digest{}, n, fmt.Errorf("read content: %w", err)
		}
	}
}

// fsyncDir makes a directory's entries durable.
func fsyncDir(fd int) error {
	for {
		err := unix.Fsync(fd)
		if err != unix.EINTR {
			return err
		}
	}
}
