//go:build linux

package local

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

var _ zerosync.BatchApplier = (*Endpoint)(nil)

// Sizes of a batch's durability work.
const (
	// batchOpen bounds the temp files a batch holds open at once; a longer
	// batch is carried out in pieces of this many ops.
	batchOpen = 256
)

// syncfsMin is the least number of files a piece of a batch writes for it
// to be made durable with one syncfs(2) of the root's file system rather
// than an fsync of each file. syncfs writes back whatever else is dirty on
// that file system too, so it pays only for many files. A variable for the
// benchmarks that compare the two.
var syncfsMin = 64

// syncWorkers fsync the files of a smaller piece at once, so the file
// system commits them in one journal transaction.
const syncWorkers = 8

// ApplyBatch applies ops as one batch; see [zerosync.BatchApplier]. Files
// and symlinks that are made or replaced (by an entry of the same kind) are
// written to temp files in their directories (content checked against
// size and digest as Apply checks it), made durable together (one syncfs
// of the file system for a large batch, otherwise an fsync of each file,
// several at once), then each is checked against op.Old again, archived
// when asked, and renamed into place; last, each directory that received
// a file is synced once. A crash at any moment leaves each path with its
// old entry or its new one, and temp files that the next scan removes.
// New directories are made first (each checked absent, made, given its
// mode) and their parents synced with the files' directories. Other ops
// (removals, a change of kind or of a directory's mode) are applied one by
// one with [Endpoint.Apply].
//
// Contents are read in the order of ops, one at a time.
func (e *Endpoint) ApplyBatch(ctx context.Context, ops []zerosync.BatchOp) []error {
	errs := make([]error, len(ops))
	for i := 0; i < len(ops); i += batchOpen {
		j := min(i+batchOpen, len(ops))
		e.applyBatch(ctx, ops[i:j], errs[i:j])
	}
	for i, err := range errs {
		if err != nil {
			errs[i] = e.perr("apply", ops[i].Path, err)
		}
	}
	return errs
}

// batchable reports whether op makes or replaces a file or a symlink by one
// of the same kind: what a batch writes to a temp file and renames.
func batchable(op zerosync.Op) bool {
	return op.New != nil && (op.New.Kind == zerosync.KindFile || op.New.Kind == zerosync.KindSymlink) &&
		(op.Old == nil || op.Old.Kind == op.New.Kind)
}

// newDir reports whether op makes a directory where there was nothing.
func newDir(op zerosync.Op) bool {
	return op.Old == nil && op.New != nil && op.New.Kind == zerosync.KindDir
}

// staged is an op of a batch whose temp file is written.
type staged struct {
	i  int // in the batch
	op zerosync.Op
	// archived: what the path held is in the archive, durably.
	archived bool
	dir      *batchDir
	name     string // in dir
	t        *tempFile
	moved    bool // renamed into place
}

// batchDir is a directory a batch writes in, opened once.
type batchDir struct {
	path   string // in the tree ("" at the top)
	fd     int
	err    error // why it could not be opened
	moved  bool  // a temp file was renamed into it
	synced error
}

// applyBatch carries out one piece of a batch, setting errs.
func (e *Endpoint) applyBatch(ctx context.Context, ops []zerosync.BatchOp, errs []error) {
	var rest []int // ops applied alone
	var todo, mk []int
	for i, bo := range ops {
		switch {
		case batchable(bo.Op):
			todo = append(todo, i)
		case newDir(bo.Op):
			mk = append(mk, i)
		default:
			rest = append(rest, i)
		}
	}
	for _, i := range rest {
		errs[i] = e.apply(ctx, ops[i].Op, ops[i].Content)
	}
	if len(todo) == 0 && len(mk) == 0 {
		return
	}
	rootfd, err := e.openRoot()
	if err != nil {
		for _, i := range append(todo, mk...) {
			errs[i] = err
		}
		return
	}
	defer unix.Close(rootfd)
	dirs := map[string]*batchDir{}
	defer func() {
		for _, d := range dirs {
			if d.err == nil {
				unix.Close(d.fd)
			}
		}
	}()
	// The new directories: the parent of each (nil where it failed) is
	// synced below with the files' directories.
	parents := make([]*batchDir, len(mk))
	made := 0
	for j, i := range mk {
		if parents[j], errs[i] = e.mkdirStaged(ctx, rootfd, dirs, ops[i].Op); errs[i] == nil {
			made++
		}
	}
	dirsSynced := false
	defer func() {
		if made > 0 && !dirsSynced {
			// The files failed before their renames: the new
			// directories are made durable all the same.
			e.syncDirs(rootfd, dirs, made >= syncfsMin)
		}
		for j, i := range mk {
			if d := parents[j]; d != nil && d.synced != nil {
				errs[i] = fmt.Errorf("sync the directory: %w", d.synced)
			}
		}
	}()
	if len(todo) == 0 {
		return
	}
	// Write the temp files.
	var st []*staged
	defer func() {
		for _, s := range st {
			s.t.discard()
		}
	}()
	for _, i := range todo {
		s, err := e.stage(ctx, rootfd, dirs, i, ops[i])
		if err != nil {
			errs[i] = err
			continue
		}
		st = append(st, s)
		e.batchStep("written")
	}
	if len(st) == 0 {
		return
	}
	// Keep what the ops replace: linked into the archive now, made
	// durable with the temp files, all before the first rename.
	arch := e.archiveStaged(ctx, rootfd, st, errs)
	if err := e.syncStaged(ctx, rootfd, st, arch, errs); err != nil {
		for _, s := range st {
			errs[s.i] = err
		}
		return
	}
	e.batchStep("synced")
	// Check each path again and rename the temp file over it.
	for _, s := range st {
		if errs[s.i] != nil {
			continue
		}
		if err := e.moveStaged(ctx, rootfd, s); err != nil {
			errs[s.i] = err
			continue
		}
		e.batchStep("renamed")
	}
	// One sync of each directory that changed (or of the file system).
	e.syncDirs(rootfd, dirs, len(st)+made >= syncfsMin)
	dirsSynced = true
	e.batchStep("dir-synced")
	for _, s := range st {
		if !s.moved {
			continue
		}
		if err := s.dir.synced; err != nil {
			errs[s.i] = fmt.Errorf("sync the directory: %w", err)
		}
		e.settle(s)
	}
}

// batchParent checks op's path and entry, opens its parent once a batch,
// and checks the path still holds op.Old.
func (e *Endpoint) batchParent(ctx context.Context, rootfd int, dirs map[string]*batchDir, op zerosync.Op) (d *batchDir, name string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if err := zerosync.CheckPath(op.Path); err != nil {
		return nil, "", err
	}
	if err := validEntry(op.New); err != nil {
		return nil, "", err
	}
	dir, name := splitPath(op.Path)
	d = dirs[dir]
	if d == nil {
		d = &batchDir{path: dir}
		d.fd, d.err = openDir(rootfd, dir)
		if d.err != nil {
			d.err = parentErr(dir, d.err)
		}
		dirs[dir] = d
	}
	if d.err != nil {
		return nil, "", d.err
	}
	if _, err := e.check(ctx, d.fd, name, op.Path, op.Old); err != nil {
		return nil, "", err
	}
	return d, name, nil
}

// mkdirStaged makes the new directory of op in its parent, which it marks
// to be synced, and returns that parent.
func (e *Endpoint) mkdirStaged(ctx context.Context, rootfd int, dirs map[string]*batchDir, op zerosync.Op) (*batchDir, error) {
	d, name, err := e.batchParent(ctx, rootfd, dirs, op)
	if err != nil {
		return nil, err
	}
	a := &applier{e: e, ctx: ctx, rootfd: rootfd, dirfd: d.fd, dir: d.path, name: name, op: op}
	if err := a.makeDir(); err != nil {
		return nil, err
	}
	d.moved = true
	return d, nil
}

// stage checks op against the path and writes its temp file.
func (e *Endpoint) stage(ctx context.Context, rootfd int, dirs map[string]*batchDir, i int, bo zerosync.BatchOp) (*staged, error) {
	op := bo.Op
	if op.New != nil && op.New.Kind == zerosync.KindFile && bo.Content == nil {
		return nil, fmt.Errorf("%w: no content for a file", zerosync.ErrDigestMismatch)
	}
	d, name, err := e.batchParent(ctx, rootfd, dirs, op)
	if err != nil {
		return nil, err
	}
	s := &staged{i: i, op: op, dir: d, name: name}
	if op.New.Kind == zerosync.KindFile {
		s.t, err = e.receiveTemp(ctx, d.fd, d.path, op.New, bo.Content, false)
	} else {
		s.t, err = e.newTemp(d.fd, d.path, func(tmp string) error {
			return unix.Symlinkat(op.New.Target, d.fd, tmp)
		})
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// syncStaged makes the temp files of a batch durable, and the links that
// arch made in the archive: one syncfs of the root's file system for many
// files or when the archive is on it (it then covers both), otherwise an
// fsync of each file, several at once, beside a syncfs of the archive's
// file system. Symlinks need no sync of their own: syncfs covers them, and
// so does the sync of their directory after the rename on the file systems
// that journal metadata in order. An error of the archive's sync is set in
// errs for the ops it archived; an error returned fails them all. The ops
// arch archived durably are marked so.
func (e *Endpoint) syncStaged(ctx context.Context, rootfd int, st []*staged, arch *linked, errs []error) error {
	var files []*staged
	for _, s := range st {
		if s.t.f != nil {
			files = append(files, s)
		}
	}
	if arch != nil {
		defer unix.Close(arch.fd)
	}
	whole := len(st) >= syncfsMin || arch != nil && arch.sameFS
	var archErr error
	switch {
	case whole:
		if err := syncfs(rootfd); err != nil {
			return err
		}
	case arch != nil:
		var wg gosync.WaitGroup
		wg.Go(func() { archErr = syncfs(arch.fd) })
		err := syncAll(files, func(s *staged) error { return s.t.f.Sync() })
		wg.Wait()
		if err != nil {
			return err
		}
	case len(files) > 0:
		return syncAll(files, func(s *staged) error { return s.t.f.Sync() })
	}
	if arch == nil {
		return nil
	}
	for _, s := range arch.done {
		switch {
		case errs[s.i] != nil:
		case archErr != nil:
			errs[s.i] = fmt.Errorf("archive before replacing: %w", archErr)
		default:
			s.archived = true
		}
	}
	e.autoPrune(ctx, arch.fd)
	return nil
}

// syncDirs makes the renames into dirs durable: one syncfs of the root's
// file system when the batch is large and moved files into more than one
// directory, otherwise an fsync of each directory, several at once. The
// outcome is in each directory's synced.
func (e *Endpoint) syncDirs(rootfd int, dirs map[string]*batchDir, large bool) {
	var moved []*batchDir
	for _, d := range dirs {
		if d.moved {
			moved = append(moved, d)
		}
	}
	if large && len(moved) > 1 {
		err := syncfs(rootfd)
		for _, d := range moved {
			d.synced = err
		}
		return
	}
	syncAll(moved, func(d *batchDir) error {
		d.synced = fsyncDir(d.fd)
		return d.synced
	})
}

// syncAll calls sync for each of xs, syncWorkers at once, and returns the
// first error.
func syncAll[T any](xs []T, sync func(T) error) error {
	if len(xs) == 1 {
		return sync(xs[0])
	}
	var (
		wg    gosync.WaitGroup
		mu    gosync.Mutex
		first error
	)
	next := make(chan T)
	for range min(syncWorkers, len(xs)) {
		wg.Go(func() {
			for x := range next {
				if err := sync(x); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, x := range xs {
		next <- x
	}
	close(next)
	wg.Wait()
	return first
}

// linked is what [Endpoint.archiveStaged] put in the archive, to be made
// durable by [Endpoint.syncStaged].
type linked struct {
	fd     int  // the archive, open
	sameFS bool // the archive is on the root's file system
	// done are the ops archived (linked, or nothing to keep), once the
	// archive is durable.
	done []*staged
}

// archiveStaged archives the files that ops asking for it replace: each
// path is checked against op.Old, then the files are linked into one new
// version folder of the archive ([archiveLinks]), not yet durably: the
// result is for [Endpoint.syncStaged], nil when nothing was asked. An op
// whose path changed, or whose file could not be archived, fails with its
// error in errs. The path is checked again before the rename: if it
// changed meanwhile, the op fails and the archive holds one version more.
func (e *Endpoint) archiveStaged(ctx context.Context, rootfd int, st []*staged, errs []error) *linked {
	var done, files []*staged
	for _, s := range st {
		if !s.op.Archive || s.op.Old == nil || s.op.Old.Kind != zerosync.KindFile {
			continue
		}
		cur, err := e.check(ctx, s.dir.fd, s.name, s.op.Path, s.op.Old)
		if err != nil {
			errs[s.i] = err
			continue
		}
		if cur != nil && cur.Kind == zerosync.KindFile {
			files = append(files, s)
		}
		done = append(done, s)
	}
	if len(done) == 0 {
		return nil
	}
	defer e.batchStep("archived")
	if len(files) == 0 {
		// Nothing there to keep.
		for _, s := range done {
			s.archived = errs[s.i] == nil
		}
		return nil
	}
	afd, err := e.openArchive(rootfd)
	if err != nil {
		err = fmt.Errorf("open archive: %w", err)
	} else if err = e.archiveLinks(afd, files, errs); err != nil {
		unix.Close(afd)
	}
	if err != nil {
		for _, s := range done {
			if errs[s.i] == nil {
				errs[s.i] = fmt.Errorf("archive before replacing: %w", err)
			}
		}
		return nil
	}
	var ast, rst unix.Stat_t
	same := unix.Fstat(afd, &ast) == nil && unix.Fstat(rootfd, &rst) == nil && ast.Dev == rst.Dev
	return &linked{fd: afd, sameFS: same, done: done}
}

// syncfs is syncfs(2) of the file system fd is on, retried on EINTR.
func syncfs(fd int) error {
	for {
		err := unix.Syncfs(fd)
		if err != unix.EINTR {
			return err
		}
	}
}

// moveStaged checks the path still holds op.Old, archives it when asked,
// and renames the temp file over it.
func (e *Endpoint) moveStaged(ctx context.Context, rootfd int, s *staged) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a := &applier{e: e, ctx: ctx, rootfd: rootfd, dirfd: s.dir.fd, dir: zerosync.Parent(s.op.Path), name: s.name, op: s.op}
	cur, err := e.check(ctx, s.dir.fd, s.name, s.op.Path, s.op.Old)
	if err != nil {
		return err
	}
	if !s.archived {
		if err := a.archive(cur, zerosync.ReasonReplaced); err != nil {
			return err
		}
	}
	var st unix.Stat_t
	if err := lstatAt(s.dir.fd, s.t.name, &st); err != nil {
		return err
	}
	e.rememberRename(s.op.Path, &st)
	if cur == nil {
		err = renameNoReplace(s.dir.fd, s.t.name, s.name)
	} else {
		err = unix.Renameat(s.dir.fd, s.t.name, s.dir.fd, s.name)
	}
	if err != nil {
		e.forgetEcho(s.op.Path)
		if errnoIs(err, unix.EEXIST) {
			return fmt.Errorf("%w: the path appeared meanwhile", zerosync.ErrChanged)
		}
		return err
	}
	s.t.done()
	s.moved, s.dir.moved = true, true
	return nil
}

// settle records what a rename left at the path: the stat cache entry of a
// file (the rename changed its ctime), the echo a watcher ignores.
func (e *Endpoint) settle(s *staged) {
	if s.op.New.Kind == zerosync.KindSymlink {
		e.cache.forget(s.op.Path)
		e.rememberAt(s.dir.fd, s.name, s.op.Path)
		return
	}
	dropPartial(s.dir.fd, s.op.New)
	var st unix.Stat_t
	if err := unix.Fstat(int(s.t.f.Fd()), &st); err == nil {
		e.cache.store(s.op.Path, fingerprintOf(&st), s.op.New.Digest, time.Now())
		e.remember(s.op.Path, &st)
	}
}

// batchStep calls the test seam that marks the steps of a batch.
func (e *Endpoint) batchStep(step string) {
	if e.onBatchStep != nil {
		e.onBatchStep(step)
	}
}
