//go:build linux

package local

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

// Open returns the content of the regular file at p. It never follows a
// symlink, at p or on the way to it; a missing file is an error wrapping
// [fs.ErrNotExist]. The caller closes the reader.
func (e *Endpoint) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	f, err := e.open(ctx, p)
	if err != nil {
		return nil, e.perr("open", p, err)
	}
	return f, nil
}

func (e *Endpoint) open(ctx context.Context, p string) (*os.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := zerosync.CheckPath(p); err != nil {
		return nil, err
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootfd)
	// O_NONBLOCK: opening a named pipe must not wait for a writer.
	fd, err := openBeneath(rootfd, p, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		if errnoIs(err, unix.ELOOP) {
			return nil, fmt.Errorf("%w: the path is or passes through a symlink", err)
		}
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: it is a %s", errNotRegular, kindName(st.Mode))
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), joinPath(e.root, p)), nil
}
