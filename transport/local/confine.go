//go:build linux

package local

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync/internal/chunk"
)

// Every file operation of the package goes through the helpers of this file:
// a path beneath the root is opened relative to a root descriptor with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so neither ".." nor a symlink
// at any depth can take it elsewhere, and the last component is then handled
// with an *at call on the parent's descriptor that does not follow symlinks
// either. Kernels without openat2 get the same guarantee from a walk that
// opens one component at a time with O_NOFOLLOW.

// noOpenat2 is set once openat2 turned out to be missing (ENOSYS).
var noOpenat2 atomic.Bool

// openBeneath opens rel (a valid relative path, or "" for dirfd itself)
// beneath dirfd without following any symlink. flags are open(2) flags;
// O_CLOEXEC and O_NOFOLLOW are always added.
func openBeneath(dirfd int, rel string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if rel == "" {
		rel = "."
	}
	if !noOpenat2.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		}
		for try := 0; ; try++ {
			fd, err := unix.Openat2(dirfd, rel, &how)
			if err == nil {
				return fd, nil
			}
			if (err == unix.EINTR || err == unix.EAGAIN) && try < 16 {
				continue // a concurrent rename or mount: resolve again
			}
			if err != unix.ENOSYS {
				return -1, err
			}
			noOpenat2.Store(true)
			break
		}
	}
	return walkBeneath(dirfd, rel, flags)
}

// walkBeneath is openBeneath for kernels without openat2: one component at
// a time, each opened with O_NOFOLLOW relative to the previous one.
func walkBeneath(dirfd int, rel string, flags int) (int, error) {
	if rel == "." {
		return unix.Openat(dirfd, ".", flags, 0)
	}
	cur := dirfd
	parts := strings.Split(rel, "/")
	for i, name := range parts {
		if name == "" || name == "." || name == ".." {
			if cur != dirfd {
				unix.Close(cur)
			}
			return -1, unix.EXDEV // what openat2 reports for an escape
		}
		fl := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			fl = flags
		}
		fd, err := openatRetry(cur, name, fl, 0)
		if cur != dirfd {
			unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur = fd
	}
	return cur, nil
}

// openatRetry is openat(2), retried on EINTR.
func openatRetry(dirfd int, name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// openDir opens the directory rel beneath rootfd for reading, refusing
// symlinks on the way.
func openDir(rootfd int, rel string) (int, error) {
	return openBeneath(rootfd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
}

// lstatAt describes name in dirfd without following a symlink.
func lstatAt(dirfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

// readlinkAt returns the target of the symlink name in dirfd.
func readlinkAt(dirfd int, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		if len(buf) > unix.PathMax {
			return "", fmt.Errorf("symlink target longer than %d bytes", unix.PathMax)
		}
		buf = make([]byte, 2*len(buf))
	}
}

// futimens sets the access and modification times of an open file, never
// by path.
func futimens(fd int, t time.Time) error {
	ts := [2]unix.Timespec{
		{Sec: 0, Nsec: unix.UTIME_OMIT},
		unix.NsecToTimespec(t.UnixNano()),
	}
	// utimensat with a NULL path acts on fd itself (this is futimens(3)).
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// renameNoReplace renames from to to within dirfd, failing with EEXIST when
// to exists. File systems without RENAME_NOREPLACE get link + unlink, which
// fails the same way. Those without hard links either (exFAT, FAT: what a
// USB drive or SD card holds) get a check that to is absent, then a plain
// rename: the window between the two is the one [Endpoint.Apply] already
// has when it replaces a file.
func renameNoReplace(dirfd int, from, to string) error {
	err := unix.Renameat2(dirfd, from, dirfd, to, unix.RENAME_NOREPLACE)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	err = unix.Linkat(dirfd, from, dirfd, to, 0)
	if errnoIs(err, unix.EPERM) || errnoIs(err, unix.EOPNOTSUPP) || errnoIs(err, unix.ENOSYS) {
		var st unix.Stat_t
		switch err := lstatAt(dirfd, to, &st); {
		case err == nil:
			return unix.EEXIST
		case !errnoIs(err, unix.ENOENT):
			return err
		}
		return unix.Renameat(dirfd, from, dirfd, to)
	}
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, from, 0)
}

// mkdirAllAt creates the directories of rel beneath dirfd (no symlink
// followed) and returns a descriptor of the last one.
func mkdirAllAt(dirfd int, rel string, perm uint32) (int, error) {
	fd, err := unix.Dup(dirfd)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	if rel == "" {
		return fd, nil
	}
	for name := range strings.SplitSeq(rel, "/") {
		if err := unix.Mkdirat(fd, name, perm); err != nil && err != unix.EEXIST {
			unix.Close(fd)
			return -1, err
		}
		next, err := openatRetry(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// splitPath returns the parent directory ("" at the top) and the last
// component of a valid path.
func splitPath(p string) (dir, name string) { return chunk.Split(p) }

// joinPath joins a directory ("" at the top) and a name.
func joinPath(dir, name string) string { return chunk.Join(dir, name) }
