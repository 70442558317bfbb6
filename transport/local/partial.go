//go:build linux

package local

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

var _ zerosync.PartialKeeper = (*Endpoint)(nil)

// Partial files. A file that Apply (or KeepConflict) receives goes to a
// temp file first. When its content stops short (the reader fails: a cut
// connection; or the call is cancelled) and the file is large enough to
// be worth it, the temp file is kept as the partial of that content:
// beside the path, named partialPrefix and the content's digest in hex, a
// reserved name that is never synced. A later transfer of the same
// content can then use it as a delta base ([Endpoint.Partial]). Only a
// partial longer than the one kept replaces it; the file's arrival removes
// it, and a scan removes one older than partialMaxAge (a day, as
// Syncthing keeps its temporary files), as it removes any temp file left
// by a crash.
const (
	partialPrefix = zerosync.TempPrefix + "part-"
	// partialMinSize is the least size of a file whose cut transfer is
	// kept.
	partialMinSize = 1 << 20
	// partialMinKept is the least a partial holds: less is not worth a
	// delta.
	partialMinKept = 256 << 10
	// partialMaxAge is how long a partial is kept after its last write.
	partialMaxAge = 24 * time.Hour
)

// partialName is the name of the partial of the content with digest d.
func partialName(d zerosync.Digest) string { return partialPrefix + hex.EncodeToString(d[:]) }

func isPartial(name string) bool { return strings.HasPrefix(name, partialPrefix) }

// Partial opens what is kept of a cut transfer of want to p; see
// [zerosync.PartialKeeper]. It is found beside p, never through a
// symlink, and must be a regular file of at least one byte.
func (e *Endpoint) Partial(ctx context.Context, p string, want zerosync.Entry) (zerosync.ReaderAtCloser, int64, error) {
	f, n, err := e.partial(ctx, p, want)
	if err != nil {
		return nil, 0, e.perr("partial", p, err)
	}
	return f, n, nil
}

func (e *Endpoint) partial(ctx context.Context, p string, want zerosync.Entry) (*os.File, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := zerosync.CheckPath(p); err != nil {
		return nil, 0, err
	}
	if want.Kind != zerosync.KindFile {
		return nil, 0, fmt.Errorf("%w: only files have partials", fs.ErrNotExist)
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return nil, 0, err
	}
	defer unix.Close(rootfd)
	dir, _ := splitPath(p)
	pfd, err := openDir(rootfd, dir)
	if err != nil {
		return nil, 0, err
	}
	defer unix.Close(pfd)
	name := partialName(want.Digest)
	fd, err := openatRetry(pfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		if errnoIs(err, unix.ELOOP) {
			err = fmt.Errorf("%w: the partial is a symlink", fs.ErrNotExist)
		}
		return nil, 0, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size == 0 {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("%w: the partial is not a regular file with content", fs.ErrNotExist)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, 0, err
	}
	return os.NewFile(uintptr(fd), name), st.Size, nil
}

// failedReader remembers whether the content's reader failed, as a cut
// connection makes it fail, as opposed to the bytes being refused or the
// disk failing.
type failedReader struct {
	r      io.Reader
	failed bool
}

func (f *failedReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		f.failed = true
	}
	return n, err
}

// keepPartial keeps the temp file t, which holds the first n bytes
// received of want, as want's partial, when the file is large enough and
// no longer partial is kept; otherwise t stays for its caller to discard.
func (e *Endpoint) keepPartial(ctx context.Context, t *tempFile, want *zerosync.Entry, n int64) {
	if want.Size < partialMinSize || n < partialMinKept || t.gone {
		return
	}
	name := partialName(want.Digest)
	var st unix.Stat_t
	if err := lstatAt(t.dirfd, name, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size >= n {
		return
	}
	if err := unix.Renameat(t.dirfd, t.name, t.dirfd, name); err != nil {
		e.log.DebugContext(ctx, "partial not kept", "path", t.path, "err", err)
		return
	}
	t.gone = true
	e.dropInflight(t.path)
	e.log.DebugContext(ctx, "kept a partial", "path", joinPath(zerosync.Parent(t.path), name), "bytes", n, "of", want.Size)
}

// dropPartial removes the partial of want in dirfd, once the file arrived.
func dropPartial(dirfd int, want *zerosync.Entry) {
	if want.Size >= partialMinSize {
		unix.Unlinkat(dirfd, partialName(want.Digest), 0)
	}
}

// stalePartial reports whether a partial last written at mtime is to go.
func (e *Endpoint) stalePartial(mtime time.Time) bool {
	return e.now().Sub(mtime) > partialMaxAge
}
