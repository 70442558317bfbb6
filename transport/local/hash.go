//go:build linux

package local

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// bufSize is the size of the buffers that carry file content.
const bufSize = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

var hasherPool = sync.Pool{New: func() any { return digest.New() }}

// errUnstable: a file kept changing while it was read.
var errUnstable = errors.New("file changed while it was read; retried next scan")

// errNotRegular: a path expected to be a regular file is something else.
var errNotRegular = errors.New("not a regular file")

// hashFD digests the regular file open at fd. The fingerprint returned is
// the file's before and after the read, and the size read matches it: a
// file that changes meanwhile is read again, a few times, then reported as
// errUnstable.
func (e *Endpoint) hashFD(ctx context.Context, fd int) (zerosync.Digest, fingerprint, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for range 3 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return zerosync.Digest{}, fingerprint{}, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return zerosync.Digest{}, fingerprint{}, errNotRegular
		}
		before := fingerprintOf(&st)
		d, n, err := hashAt(ctx, fd, buf, before.size)
		if err != nil {
			return zerosync.Digest{}, fingerprint{}, err
		}
		if err := unix.Fstat(fd, &st); err != nil {
			return zerosync.Digest{}, fingerprint{}, err
		}
		if fingerprintOf(&st) == before && n == before.size {
			e.hashed.Add(1)
			return d, before, nil
		}
	}
	return zerosync.Digest{}, fingerprint{}, errUnstable
}

// hashAt reads fd from offset 0 to its end, or to size bytes when it is
// that long (the caller's second fstat catches a file that grew), and
// returns the digest and the length read.
func hashAt(ctx context.Context, fd int, buf []byte, size int64) (zerosync.Digest, int64, error) {
	var (
		h   *digest.Hasher
		n   int   // bytes waiting in buf
		off int64 // bytes read
	)
	for {
		k, err := unix.Pread(fd, buf[n:], off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if h != nil {
				hasherPool.Put(h)
			}
			return zerosync.Digest{}, 0, err
		}
		if k == 0 {
			break
		}
		n += k
		off += int64(k)
		if off == size && n < len(buf) {
			break
		}
		if n == len(buf) {
			if h == nil {
				h = hasherPool.Get().(*digest.Hasher)
				h.Reset()
			}
			h.Write(buf)
			n = 0
			if err := ctx.Err(); err != nil {
				hasherPool.Put(h)
				return zerosync.Digest{}, 0, err
			}
		}
	}
	if h == nil { // the whole file fit in the buffer
		return digest.Sum(buf[:n]), off, nil
	}
	h.Write(buf[:n])
	d := h.Sum()
	hasherPool.Put(h)
	return d, off, nil
}

// digestOf returns the digest of the regular file name in dirfd (path p
// beneath the root) and the fingerprint of what was hashed, from the stat
// cache when the file still has the fingerprint fp.
func (e *Endpoint) digestOf(ctx context.Context, dirfd int, name, p string, fp fingerprint) (zerosync.Digest, fingerprint, error) {
	if d, ok := e.cache.lookup(p, fp); ok {
		return d, fp, nil
	}
	fd, err := openatRetry(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return zerosync.Digest{}, fp, err
	}
	defer unix.Close(fd)
	d, hfp, err := e.hashFD(ctx, fd)
	if err != nil {
		return zerosync.Digest{}, fp, err
	}
	e.cache.store(p, hfp, d, time.Now())
	return d, hfp, nil
}
