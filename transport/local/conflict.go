//go:build linux

package local

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

var _ zerosync.ConflictStore = (*Endpoint)(nil)

// conflictPath checks that cp names a conflict copy: a valid path whose
// last name holds the conflict marker, beneath no other reserved name.
func conflictPath(cp string) error {
	if err := zerosync.ValidPath(cp); err != nil {
		return err
	}
	dir, name := splitPath(cp)
	if !containsMarker(name) || (dir != "" && zerosync.IsReserved(dir)) {
		return fmt.Errorf("%w: %q is not a conflict copy", zerosync.ErrInvalidPath, cp)
	}
	return nil
}

// OpenConflict returns the content of a conflict copy that
// [Endpoint.KeepConflict] made; it never follows a symlink.
func (e *Endpoint) OpenConflict(ctx context.Context, cp string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := conflictPath(cp); err != nil {
		return nil, e.perr("conflict", cp, err)
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return nil, e.perr("conflict", cp, err)
	}
	defer unix.Close(rootfd)
	fd, err := openBeneath(rootfd, cp, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		if errnoIs(err, unix.ENOENT) {
			err = fs.ErrNotExist
		}
		return nil, e.perr("conflict", cp, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, e.perr("conflict", cp, fmt.Errorf("not a regular file"))
	}
	return os.NewFile(uintptr(fd), cp), nil
}

// RemoveConflict removes a conflict copy; its content stays in the archive.
func (e *Endpoint) RemoveConflict(ctx context.Context, cp string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := conflictPath(cp); err != nil {
		return e.perr("conflict", cp, err)
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return e.perr("conflict", cp, err)
	}
	defer unix.Close(rootfd)
	dir, name := splitPath(cp)
	pfd, err := openDir(rootfd, dir)
	if err != nil {
		if errnoIs(err, unix.ENOENT) {
			return nil
		}
		return e.perr("conflict", cp, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := lstatAt(pfd, name, &st); err != nil {
		if errnoIs(err, unix.ENOENT) {
			return nil
		}
		return e.perr("conflict", cp, err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFLNK {
		return e.perr("conflict", cp, fmt.Errorf("not a file or symlink"))
	}
	e.rememberGone(cp)
	if err := unix.Unlinkat(pfd, name, 0); err != nil && !errnoIs(err, unix.ENOENT) {
		return e.perr("conflict", cp, err)
	}
	return nil
}
