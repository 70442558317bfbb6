//go:build linux

package local

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// fingerprint is what a stat says about a file's identity and content. A
// file whose fingerprint did not move since it was hashed still has the
// digest it had then, with one exception the cache guards against: edits
// within one tick of the file system's clock (see [statCache.racy]).
type fingerprint struct {
	size  int64
	mtime int64 // ns
	ctime int64 // ns
	ino   uint64
	mode  uint32 // st_mode: type and permission bits
}

func fingerprintOf(st *unix.Stat_t) fingerprint {
	return fingerprint{
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
		ino:   st.Ino,
		mode:  st.Mode,
	}
}

// cached is a digest and the fingerprint of the file it was computed from.
type cached struct {
	fp     fingerprint
	digest zerosync.Digest
}

// statCache maps paths to the digests of files whose fingerprint did not
// move. It is safe for concurrent use.
type statCache struct {
	mu    sync.Mutex
	m     map[string]cached
	dirty bool

	// racy is how recent a modification time may be for an entry to be
	// kept: two edits within one tick of the file system's clock leave the
	// same fingerprint, so a digest is trusted only for a file last modified
	// longer ago than racy before it was hashed.
	racy time.Duration
}

func newStatCache(racy time.Duration) *statCache {
	return &statCache{m: map[string]cached{}, racy: racy}
}

// lookup returns the digest of p when its fingerprint is still fp.
func (c *statCache) lookup(p string, fp fingerprint) (zerosync.Digest, bool) {
	c.mu.Lock()
	e, ok := c.m[p]
	c.mu.Unlock()
	if !ok || e.fp != fp {
		return zerosync.Digest{}, false
	}
	return e.digest, true
}

// trusted reports whether a digest of a file with fingerprint fp, known at
// time now (after the bytes were read or written), may be cached.
func (c *statCache) trusted(fp fingerprint, now time.Time) bool {
	return fp.mtime < now.Add(-c.racy).UnixNano()
}

// store records d as the digest of p with fingerprint fp, known at time now;
// it drops what it knew about p when the entry cannot be trusted.
func (c *statCache) store(p string, fp fingerprint, d zerosync.Digest, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.trusted(fp, now) {
		if _, ok := c.m[p]; ok {
			delete(c.m, p)
			c.dirty = true
		}
		return
	}
	if e, ok := c.m[p]; ok && e.fp == fp && e.digest == d {
		return
	}
	c.m[p] = cached{fp, d}
	c.dirty = true
}

// forget drops p.
func (c *statCache) forget(p string) {
	c.mu.Lock()
	if _, ok := c.m[p]; ok {
		delete(c.m, p)
		c.dirty = true
	}
	c.mu.Unlock()
}

// replace installs the entries a full scan found; changed says whether they
// differ from what the cache held when the scan started.
func (c *statCache) replace(m map[string]cached, changed bool) {
	c.mu.Lock()
	c.m = m
	c.dirty = c.dirty || changed
	c.mu.Unlock()
}

// len returns the number of entries.
func (c *statCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// The persisted form: a magic line, the root's device and inode, the entry
// count, the entries, and a BLAKE3 digest of everything before it. A file
// that fails any check is ignored (the cache starts cold), never trusted.
const cacheMagic = "zerosync stat cache v1\n"

// maxCacheFile caps what load reads: a corrupt or hostile file must not
// make it allocate without bound.
const maxCacheFile = 1 << 30

func (c *statCache) encode(dev, ino uint64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := make([]byte, 0, len(cacheMagic)+32+len(c.m)*96)
	b = append(b, cacheMagic...)
	b = binary.AppendUvarint(b, dev)
	b = binary.AppendUvarint(b, ino)
	b = binary.AppendUvarint(b, uint64(len(c.m)))
	for p, e := range c.m {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
		b = binary.AppendVarint(b, e.fp.size)
		b = binary.AppendVarint(b, e.fp.mtime)
		b = binary.AppendVarint(b, e.fp.ctime)
		b = binary.AppendUvarint(b, e.fp.ino)
		b = binary.AppendUvarint(b, uint64(e.fp.mode))
		b = append(b, e.digest[:]...)
	}
	sum := digest.Sum(b)
	return append(b, sum[:]...)
}

var errBadCache = errors.New("malformed stat cache file")

// decode parses a persisted cache written for the root (dev, ino).
func decode(b []byte, dev, ino uint64) (map[string]cached, error) {
	if len(b) < len(cacheMagic)+32 || !bytes.HasPrefix(b, []byte(cacheMagic)) {
		return nil, errBadCache
	}
	body, sum := b[:len(b)-32], b[len(b)-32:]
	if d := digest.Sum(body); !bytes.Equal(d[:], sum) {
		return nil, fmt.Errorf("%w: checksum", errBadCache)
	}
	r := body[len(cacheMagic):]
	uv := func() uint64 {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			r = nil
			return 0
		}
		r = r[n:]
		return v
	}
	sv := func() int64 {
		v, n := binary.Varint(r)
		if n <= 0 {
			r = nil
			return 0
		}
		r = r[n:]
		return v
	}
	if uv() != dev || uv() != ino {
		return nil, fmt.Errorf("%w: written for another root", errBadCache)
	}
	n := uv()
	if n > uint64(len(r)) { // every entry takes more than a byte
		return nil, errBadCache
	}
	m := make(map[string]cached, n)
	for range n {
		l := uv()
		if l == 0 || l > zerosync.MaxPathLen || l > uint64(len(r)) {
			return nil, errBadCache
		}
		p := string(r[:l])
		r = r[l:]
		var e cached
		e.fp.size, e.fp.mtime, e.fp.ctime = sv(), sv(), sv()
		e.fp.ino, e.fp.mode = uv(), uint32(uv())
		if len(r) < 32 {
			return nil, errBadCache
		}
		copy(e.digest[:], r)
		r = r[32:]
		if zerosync.ValidPath(p) != nil {
			return nil, errBadCache
		}
		m[p] = e
	}
	if len(r) != 0 {
		return nil, errBadCache
	}
	return m, nil
}

// load reads the persisted cache at file; a missing file is an empty cache.
func (c *statCache) load(file string, dev, ino uint64) error {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > maxCacheFile {
		return fmt.Errorf("%w: %d bytes", errBadCache, st.Size())
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return err
	}
	m, err := decode(b, dev, ino)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.m, c.dirty = m, false
	c.mu.Unlock()
	return nil
}

// save writes the cache to file atomically (temp file, fsync, rename, fsync
// of the directory) when it changed since the last save.
func (c *statCache) save(file string, dev, ino uint64) error {
	c.mu.Lock()
	dirty := c.dirty
	c.dirty = false
	c.mu.Unlock()
	if !dirty {
		return nil
	}
	err := writeAtomic(file, c.encode(dev, ino))
	if err != nil {
		c.mu.Lock()
		c.dirty = true
		c.mu.Unlock()
	}
	return err
}

// writeAtomic replaces file with data: a reader sees the old file or the
// new one, and a crash leaves one of them. Temp files that a killed
// process left beside file more than a minute ago are removed first.
func writeAtomic(file string, data []byte) error {
	dir := filepath.Dir(file)
	if stale, _ := filepath.Glob(filepath.Join(dir, filepath.Base(file)+".tmp-*")); len(stale) > 0 {
		for _, p := range stale {
			if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() && time.Since(st.ModTime()) > time.Minute {
				os.Remove(p)
			}
		}
	}
	f, err := os.CreateTemp(dir, filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// merge installs what a partial scan of the paths in scope found (found,
// and next: the cache entries of its files): entries in next replace or
// join the cache; cached files within scope (a scanned path or beneath it)
// that the scan did not find are dropped. The cache is walked once, and
// only when a scanned path is neither a file nor a link now (a directory
// or a removal may leave cached files beneath it): the common case, edited
// files (their entries kept out of next while they are too recent to
// trust), costs a lookup per path. Cached files beneath a path that is a
// file now, left from when it was a directory, can never be looked up
// while it is not one; the next full scan, or a rescan of the path as a
// directory, drops them.
func (c *statCache) merge(next map[string]cached, scope []string, found zerosync.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var dirs map[string]bool
	for _, p := range scope {
		if _, ok := next[p]; ok {
			continue
		}
		if _, ok := c.m[p]; ok {
			delete(c.m, p)
			c.dirty = true
		}
		if e, ok := found[p]; ok && e.Kind != zerosync.KindDir {
			continue
		}
		if dirs == nil {
			dirs = map[string]bool{}
		}
		dirs[p] = true
	}
	if dirs != nil {
		for q := range c.m {
			if _, ok := next[q]; ok {
				continue
			}
			for d := zerosync.Parent(q); d != ""; d = zerosync.Parent(d) {
				if dirs[d] {
					delete(c.m, q)
					c.dirty = true
					break
				}
			}
		}
	}
	for p, v := range next {
		if old, ok := c.m[p]; !ok || old != v {
			c.m[p] = v
			c.dirty = true
		}
	}
}
