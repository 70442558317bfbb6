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

// current describes the path p, which is name in dirfd. The digest of a file
// is filled in only when need says so (it may cost a read of the file); the
// fingerprint is that of the file the digest belongs to.
func (e *Endpoint) current(ctx context.Context, dirfd int, name, p string, need bool) (*zerosync.Entry, fingerprint, error) {
	var st unix.Stat_t
	if err := lstatAt(dirfd, name, &st); err != nil {
		if errnoIs(err, unix.ENOENT) {
			return nil, fingerprint{}, nil
		}
		return nil, fingerprint{}, err
	}
	cur, ok := entryOf(&st)
	if !ok {
		return nil, fingerprint{}, fmt.Errorf("%w: the path holds a %s", zerosync.ErrChanged, kindName(st.Mode))
	}
	fp := fingerprintOf(&st)
	switch cur.Kind {
	case zerosync.KindSymlink:
		t, err := readlinkAt(dirfd, name)
		if err != nil {
			return nil, fp, err
		}
		cur.Target = t
	case zerosync.KindFile:
		if !need {
			break
		}
		d, hfp, err := e.digestOf(ctx, dirfd, name, p, fp)
		if err != nil {
			return nil, fp, err
		}
		cur.Digest, fp = d, hfp
		cur.Mode, cur.Size = fs.FileMode(hfp.mode).Perm(), hfp.size
		cur.ModTime = time.Unix(0, hfp.mtime)
	}
	return &cur, fp, nil
}

// check returns the current entry of p (name in dirfd) when it matches old
// (nil: absent); otherwise an error wrapping [zerosync.ErrChanged].
func (e *Endpoint) check(ctx context.Context, dirfd int, name, p string, old *zerosync.Entry) (*zerosync.Entry, error) {
	// A file's digest matters only when everything cheaper agrees.
	var st unix.Stat_t
	need := old != nil && old.Kind == zerosync.KindFile &&
		lstatAt(dirfd, name, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG &&
		fs.FileMode(st.Mode).Perm() == old.Mode.Perm()
	cur, _, err := e.current(ctx, dirfd, name, p, need)
	if err != nil {
		if errors.Is(err, zerosync.ErrChanged) {
			return nil, err
		}
		if errnoIs(err, unix.ENOENT) || errors.Is(err, errNotRegular) || errnoIs(err, unix.ELOOP) {
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
