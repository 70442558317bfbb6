//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

// errInvalidEntry: an op's New entry is malformed.
var errInvalidEntry = errors.New("invalid entry")

// validEntry checks an entry an op asks for.
func validEntry(e *zerosync.Entry) error {
	switch e.Kind {
	case zerosync.KindFile:
		if e.Size < 0 || e.Size == math.MaxInt64 {
			return fmt.Errorf("%w: file size %d", errInvalidEntry, e.Size)
		}
	case zerosync.KindDir:
	case zerosync.KindSymlink:
		if e.Target == "" || len(e.Target) > zerosync.MaxPathLen {
			return fmt.Errorf("%w: symlink target %q", errInvalidEntry, e.Target)
		}
		for i := range len(e.Target) {
			if e.Target[i] == 0 {
				return fmt.Errorf("%w: symlink target contains a NUL byte", errInvalidEntry)
			}
		}
	default:
		return fmt.Errorf("%w: kind %v", errInvalidEntry, e.Kind)
	}
	return nil
}

// entryOf describes what a stat found, without a file's digest. ok is
// false for kinds that are never synced (sockets, devices, fifos).
func entryOf(st *unix.Stat_t) (e zerosync.Entry, ok bool) {
	e.ModTime = time.Unix(0, st.Mtim.Nano())
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Kind, e.Mode, e.Size = zerosync.KindFile, fs.FileMode(st.Mode).Perm(), st.Size
	case unix.S_IFDIR:
		e.Kind, e.Mode = zerosync.KindDir, fs.FileMode(st.Mode).Perm()
	case unix.S_IFLNK:
		e.Kind = zerosync.KindSymlink
	default:
		return e, false
	}
	return e, true
}

// kindName names what a stat found, for errors and problems.
func kindName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "named pipe"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	}
	return fmt.Sprintf("file of type %#o", mode&unix.S_IFMT)
}

// current describes the path p, which is name in dirfd. A file's digest is
// filled in (which may cost a read of the file) only when want is a file
// with the same permission bits: otherwise the two differ anyway.
func (e *Endpoint) current(ctx context.Context, dirfd int, name, p string, want *zerosync.Entry) (*zerosync.Entry, error) {
	var st unix.Stat_t
	if err := lstatAt(dirfd, name, &st); err != nil {
		if errnoIs(err, unix.ENOENT) {
			return nil, nil
		}
		return nil, err
	}
	cur, ok := entryOf(&st)
	if !ok {
		return nil, fmt.Errorf("%w: the path holds a %s", zerosync.ErrChanged, kindName(st.Mode))
	}
	switch cur.Kind {
	case zerosync.KindSymlink:
		t, err := readlinkAt(dirfd, name)
		if err != nil {
			return nil, err
		}
		cur.Target = t
	case zerosync.KindFile:
		if want == nil || want.Kind != zerosync.KindFile || want.Mode.Perm() != cur.Mode {
			break
		}
		d, fp, err := e.digestOf(ctx, dirfd, name, p, fingerprintOf(&st))
		if err != nil {
			return nil, err
		}
		cur.Digest = d
		cur.Mode, cur.Size, cur.ModTime = fsPerm(fp.mode), fp.size, time.Unix(0, fp.mtime)
	}
	return &cur, nil
}

// check returns the current entry of p (name in dirfd) when it matches old
// (nil: absent); otherwise an error wrapping [zerosync.ErrChanged].
func (e *Endpoint) check(ctx context.Context, dirfd int, name, p string, old *zerosync.Entry) (*zerosync.Entry, error) {
	cur, err := e.current(ctx, dirfd, name, p, old)
	if err != nil {
		if errors.Is(err, zerosync.ErrChanged) {
			return nil, err
		}
		if errnoIs(err, unix.ENOENT) || errors.Is(err, errNotRegular) || errnoIs(err, unix.ELOOP) || errnoIs(err, unix.EINVAL) {
			// Replaced while it was looked at.
			return nil, fmt.Errorf("%w: %w", zerosync.ErrChanged, err)
		}
		return nil, err
	}
	if !cur.Same(old) {
		return nil, fmt.Errorf("%w: expected %s, found %s", zerosync.ErrChanged, old, cur)
	}
	return cur, nil
}
