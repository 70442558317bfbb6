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
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/chunk"
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

// cacheEnt is a cached file, by its name in its directory.
type cacheEnt = chunk.Named[cached]

// cacheMap holds stat cache entries by directory, then sorted by name (see
// [chunk.Folders]): the entries beneath a directory are found by looking
// at the directories, not at every file, and a directory's entries take 88
// bytes each and no table. A scan builds one with add, in any order, and
// seals it once. The zero value is not usable for add or put; use make.
type cacheMap chunk.Folders[cached]

// find returns where name is, or would be, in the sorted entries d.
func find(d []cacheEnt, name string) (int, bool) { return chunk.Find(d, name) }

// get returns the entry of p.
func (m cacheMap) get(p string) (cached, bool) { return chunk.Folders[cached](m).Get(p) }

// count returns the number of entries.
func (m cacheMap) count() int { return chunk.Folders[cached](m).Count() }

// add records e as the entry of p in a map being built (see
// [chunk.Folders.Add]); the entry keeps a copy of the name, made in names.
func (m cacheMap) add(p string, e cached, names *chunk.Chunks) {
	chunk.Folders[cached](m).Add(p, e, names)
}

// seal returns the map add built, sorted (see [chunk.Folders.Seal]), and
// a path added twice, if any. Either entry of a name is true of the file
// it was made from: a lookup checks the fingerprint.
func (m cacheMap) seal(names *chunk.Chunks) (cacheMap, string) {
	sealed, twice := chunk.Folders[cached](m).Seal(names)
	return cacheMap(sealed), twice
}

// put records e as the entry of p, in a sealed map. The entry keeps a
// copy of the name, not p.
func (m cacheMap) put(p string, e cached) {
	dir, name := splitPath(p)
	d := m[dir]
	i, ok := find(d, name)
	if ok {
		d[i].V = e
		return
	}
	if d == nil {
		dir = strings.Clone(dir)
	}
	m[dir] = slices.Insert(d, i, cacheEnt{Name: strings.Clone(name), V: e})
}

// del drops p and reports whether it was there.
func (m cacheMap) del(p string) bool {
	dir, name := splitPath(p)
	d := m[dir]
	i, ok := find(d, name)
	if !ok {
		return false
	}
	if d = slices.Delete(d, i, i+1); len(d) == 0 {
		delete(m, dir)
	} else {
		m[dir] = d
	}
	return true
}

// mergeEnts returns the sorted entries of d and nd together, those of nd
// where both have a name, how many names nd added, and whether anything
// changed.
func mergeEnts(d, nd []cacheEnt) (out []cacheEnt, added int, changed bool) {
	if len(d) == 0 {
		return nd, len(nd), len(nd) > 0
	}
	out = make([]cacheEnt, 0, len(d)+len(nd))
	i, j := 0, 0
	for i < len(d) || j < len(nd) {
		switch {
		case j == len(nd) || i < len(d) && d[i].Name < nd[j].Name:
			out = append(out, d[i])
			i++
		case i == len(d) || nd[j].Name < d[i].Name:
			out = append(out, nd[j])
			added++
			changed = true
			j++
		default:
			changed = changed || d[i].V != nd[j].V
			out = append(out, nd[j])
			i, j = i+1, j+1
		}
	}
	return slices.Clip(out), added, changed
}

// statCache maps paths to the digests of files whose fingerprint did not
// move. It is safe for concurrent use.
type statCache struct {
	mu    sync.Mutex
	m     cacheMap
	n     int // entries in m
	dirty bool

	// racy is how recent a modification time may be for an entry to be
	// kept: two edits within one tick of the file system's clock leave the
	// same fingerprint, so a digest is trusted only for a file last modified
	// longer ago than racy before it was hashed.
	racy time.Duration
}

func newStatCache(racy time.Duration) *statCache {
	return &statCache{m: cacheMap{}, racy: racy}
}

// lookup returns the digest of p when its fingerprint is still fp.
func (c *statCache) lookup(p string, fp fingerprint) (zerosync.Digest, bool) {
	c.mu.Lock()
	e, ok := c.m.get(p)
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
		c.drop(p)
		return
	}
	e, ok := c.m.get(p)
	if ok && e.fp == fp && e.digest == d {
		return
	}
	if !ok {
		c.n++
	}
	c.m.put(p, cached{fp, d})
	c.dirty = true
}

// drop forgets p; c.mu is held.
func (c *statCache) drop(p string) {
	if c.m.del(p) {
		c.n--
		c.dirty = true
	}
}

// forget drops p.
func (c *statCache) forget(p string) {
	c.mu.Lock()
	c.drop(p)
	c.mu.Unlock()
}

// replace installs the entries a full scan found: m, and the folders in
// same as the cache holds them (the scan found each of their entries as
// it is, and nothing else in them; an entry stored or forgotten since is
// as true). changed says whether they differ from what the cache held when
// the scan started.
func (c *statCache) replace(m cacheMap, same []string, changed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, dir := range same {
		if d, ok := c.m[dir]; ok {
			m[strings.Clone(dir)] = d
		}
	}
	c.m, c.n = m, m.count()
	c.dirty = c.dirty || changed
}

// folderLen returns the number of entries the cache holds in folder dir.
func (c *statCache) folderLen(dir string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m[dir])
}

// len returns the number of entries.
func (c *statCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// The persisted form: a magic line, the root's device and inode, the entry
// count, the entries, and a BLAKE3 digest of everything before it. A file
// that fails any check is ignored (the cache starts cold), never trusted.
const cacheMagic = "zerosync stat cache v1\n"

// minCacheEntry is the fewest bytes an entry takes in the persisted form:
// a path's length and one byte of it, five numbers, a digest.
const minCacheEntry = 1 + 1 + 5 + 32

// maxCacheFile caps what load reads: a corrupt or hostile file must not
// make it allocate without bound.
const maxCacheFile = 1 << 30

func (c *statCache) encode(dev, ino uint64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := make([]byte, 0, len(cacheMagic)+32+c.n*96)
	b = append(b, cacheMagic...)
	b = binary.AppendUvarint(b, dev)
	b = binary.AppendUvarint(b, ino)
	b = binary.AppendUvarint(b, uint64(c.n))
	for dir, d := range c.m {
		for _, ce := range d {
			name, e := ce.Name, ce.V
			if dir == "" {
				b = binary.AppendUvarint(b, uint64(len(name)))
			} else {
				b = binary.AppendUvarint(b, uint64(len(dir)+1+len(name)))
				b = append(b, dir...)
				b = append(b, '/')
			}
			b = append(b, name...)
			b = binary.AppendVarint(b, e.fp.size)
			b = binary.AppendVarint(b, e.fp.mtime)
			b = binary.AppendVarint(b, e.fp.ctime)
			b = binary.AppendUvarint(b, e.fp.ino)
			b = binary.AppendUvarint(b, uint64(e.fp.mode))
			b = append(b, e.digest[:]...)
		}
	}
	sum := digest.Sum(b)
	return append(b, sum[:]...)
}

var errBadCache = errors.New("malformed stat cache file")

// decode parses a persisted cache written for the root (dev, ino).
func decode(b []byte, dev, ino uint64) (cacheMap, error) {
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
	if n > uint64(len(r)/minCacheEntry) {
		return nil, errBadCache
	}
	// A file this process wrote holds each folder's entries one after
	// another: they are read into one slice, each folder a part of it.
	all := make([]cacheEnt, 0, n)
	m := make(cacheMap)
	var names chunk.Chunks
	dir, start := "", 0
	endRun := func() {
		chunk.Folders[cached](m).AddRun(dir, all[start:len(all):len(all)])
		start = len(all)
	}
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
		d, name := chunk.Split(p)
		if len(all) == start || d != dir {
			endRun()
			dir = d // p is a copy of its own; seal copies the folder keys
		}
		all = append(all, cacheEnt{Name: names.Clone(name), V: e})
	}
	endRun()
	if len(r) != 0 {
		return nil, errBadCache
	}
	m, p := m.seal(&names)
	if p != "" {
		return nil, fmt.Errorf("%w: %q twice", errBadCache, p)
	}
	return m, nil
}

// loadBehind reads the persisted cache at file in the background, and
// calls warn with what made it ignore the file. It holds the cache's lock
// until it is done, so every use of the cache waits for it: a process
// opening several endpoints reads their caches at once, and meanwhile
// opens its state and starts its scans (a cold no-op of 10k files read
// two caches of 10k entries one after another, 3 ms each, before anything
// else).
func (c *statCache) loadBehind(file string, dev, ino uint64, warn func(error)) {
	c.mu.Lock()
	go func() {
		defer c.mu.Unlock()
		if err := c.load(file, dev, ino); err != nil {
			warn(err)
		}
	}()
}

// load reads the persisted cache at file; a missing file is an empty cache.
// The caller holds c.mu.
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
	c.m, c.n, c.dirty = m, m.count(), false
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

// merge installs what a partial scan of the paths in scope found: entries
// in next replace or join the cache; cached files within scope (a scanned
// path or beneath it) that the scan did not find are dropped. found holds
// every path the scan found. A scoped path found as a file (edited, or
// replaced by a file) costs a lookup; only one that is a directory now, or
// gone, may have cached files beneath it, and those are found by looking at
// the cached directories, not at every cached file.
func (c *statCache) merge(next cacheMap, found zerosync.Snapshot, scope []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var dirs []string
	for _, p := range scope {
		if _, ok := next.get(p); !ok {
			c.drop(p)
		}
		if e, ok := found[p]; !ok || e.Kind == zerosync.KindDir {
			dirs = append(dirs, p)
		} else if _, ok := c.m[p]; ok {
			dirs = append(dirs, p) // a directory with cached files is a file now
		}
	}
	if len(dirs) > 0 {
		for dir, d := range c.m {
			if !beneathAny(dir, dirs) {
				continue
			}
			nd := next[dir]
			d = slices.DeleteFunc(d, func(e cacheEnt) bool {
				_, ok := find(nd, e.Name)
				return !ok
			})
			if gone := len(c.m[dir]) - len(d); gone > 0 {
				c.n -= gone
				c.dirty = true
			}
			if len(d) == 0 {
				delete(c.m, dir)
			} else {
				c.m[dir] = d
			}
		}
	}
	for dir, nd := range next {
		d, added, changed := mergeEnts(c.m[dir], nd)
		c.m[dir] = d
		c.n += added
		c.dirty = c.dirty || changed
	}
}

// beneathAny reports whether dir is one of dirs or beneath one.
func beneathAny(dir string, dirs []string) bool {
	for _, d := range dirs {
		if dir == d || len(dir) > len(d) && dir[len(d)] == '/' && dir[:len(d)] == d {
			return true
		}
	}
	return false
}
