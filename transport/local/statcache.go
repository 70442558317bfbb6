//go:build linux

package local

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/chunk"
	"github.com/zerosync/zerosync/internal/codec"
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
//
// A cache with a file ([WithStatCache]) keeps in memory only the folders
// that changed since the file was last written or read: every other
// folder is a run of the file's bytes (runs), read again when a scan or
// an edit needs it. A running engine over a tree that stands still keeps
// a few dozen bytes a folder instead of 88 bytes and a name a file, and
// the kernel's page cache holds the rest for the next whole scan. A
// folder is in m, in runs, or in both when what m holds is what the file
// holds.
type statCache struct {
	mu    sync.Mutex
	m     cacheMap
	n     int // entries, in m and in runs only
	dirty bool

	// file is the cache file runs lie in, open since it was read or
	// written (a save renames a new file over it: this one stays what it
	// was); nil when there is none.
	file *os.File
	runs map[string]cacheRun
	// gen counts the changes to what the cache holds, so that a save
	// knows whether the file it wrote is still all of it.
	gen uint64
	// warn reports a run that could not be read again; its folder is
	// forgotten, and its files hashed again.
	warn func(error)
	// scratch holds the bytes of the last run read: a whole scan reads
	// back every folder, one after another.
	scratch []byte

	// racy is how recent a modification time may be for an entry to be
	// kept: two edits within one tick of the file system's clock leave the
	// same fingerprint, so a digest is trusted only for a file last modified
	// longer ago than racy before it was hashed.
	racy time.Duration
}

// cacheRun is where a folder's entries lie in the cache file: size bytes
// at off, count entries, whose bytes hash to sum (under runSeed, drawn
// for the process) as when they were written or read.
type cacheRun struct {
	off   int64
	size  uint32
	count uint32
	sum   uint64
}

var runSeed = maphash.MakeSeed()

func newStatCache(racy time.Duration) *statCache {
	return &statCache{m: cacheMap{}, racy: racy}
}

// folder returns the entries of folder dir, reading them from the file
// when only its run holds them; c.mu is held. A run that cannot be read
// as it was written is forgotten.
func (c *statCache) folder(dir string) []cacheEnt {
	if d, ok := c.m[dir]; ok {
		return d
	}
	r, ok := c.runs[dir]
	if !ok {
		return nil
	}
	d, err := c.readRun(dir, r)
	if err != nil {
		c.forgetRun(dir, r, err)
		return nil
	}
	c.m[strings.Clone(dir)] = d
	return d
}

// readRun reads the entries of folder dir from run r of the file.
func (c *statCache) readRun(dir string, r cacheRun) ([]cacheEnt, error) {
	if cap(c.scratch) < int(r.size) {
		c.scratch = make([]byte, max(int(r.size), 4<<10))
	}
	b := c.scratch[:r.size]
	if err := c.runBytes(b, dir, r); err != nil {
		return nil, err
	}
	d := make([]cacheEnt, 0, r.count)
	var names chunk.Chunks
	cr := codec.Reader{B: b}
	for len(cr.B) > 0 {
		p, e, ok := readEnt(&cr)
		if !ok {
			return nil, fmt.Errorf("%w: folder %q", errBadCache, dir)
		}
		name := p
		if dir != "" {
			if len(p) <= len(dir) || string(p[:len(dir)]) != dir || p[len(dir)] != '/' {
				return nil, fmt.Errorf("%w: folder %q holds %q", errBadCache, dir, p)
			}
			name = p[len(dir)+1:]
		}
		if len(name) == 0 || bytes.IndexByte(name, '/') >= 0 || len(d) > 0 && string(name) <= d[len(d)-1].Name {
			return nil, fmt.Errorf("%w: folder %q holds %q", errBadCache, dir, p)
		}
		d = append(d, cacheEnt{Name: names.Join("", name), V: e})
	}
	if len(d) != int(r.count) {
		return nil, fmt.Errorf("%w: folder %q", errBadCache, dir)
	}
	return d, nil
}

// forgetRun forgets folder dir, whose run r could not be read back for
// err: its files are hashed again. c.mu is held.
func (c *statCache) forgetRun(dir string, r cacheRun, err error) {
	c.touch(dir)
	c.n -= int(r.count)
	if c.warn != nil {
		c.warn(err)
	}
}

// runBytes reads run r of folder dir into b, and checks them against what
// was written or read.
func (c *statCache) runBytes(b []byte, dir string, r cacheRun) error {
	if _, err := c.file.ReadAt(b, r.off); err != nil {
		return fmt.Errorf("stat cache: folder %q: %w", dir, err)
	}
	if maphash.Bytes(runSeed, b) != r.sum {
		return fmt.Errorf("%w: folder %q changed in the file", errBadCache, dir)
	}
	return nil
}

// touch records that folder dir changed: the file no longer holds it.
// c.mu is held.
func (c *statCache) touch(dir string) {
	delete(c.runs, dir)
	c.dirty = true
	c.gen++
}

// evict drops from memory the folders the file holds as they are.
// c.mu is held.
func (c *statCache) evict() {
	if c.file == nil {
		return
	}
	for dir := range c.runs {
		delete(c.m, dir)
	}
}

// get returns the entry of p; c.mu is held.
func (c *statCache) get(p string) (cached, bool) {
	dir, name := splitPath(p)
	d := c.folder(dir)
	if i, ok := find(d, name); ok {
		return d[i].V, true
	}
	return cached{}, false
}

// lookup returns the digest of p when its fingerprint is still fp.
func (c *statCache) lookup(p string, fp fingerprint) (zerosync.Digest, bool) {
	c.mu.Lock()
	e, ok := c.get(p)
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
	e, ok := c.get(p) // the folder is in m now
	if ok && e.fp == fp && e.digest == d {
		return
	}
	if !ok {
		c.n++
	}
	c.m.put(p, cached{fp, d})
	dir, _ := splitPath(p)
	c.touch(dir)
}

// drop forgets p; c.mu is held.
func (c *statCache) drop(p string) {
	dir, _ := splitPath(p)
	c.folder(dir)
	if c.m.del(p) {
		c.n--
		c.touch(dir)
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
// the scan started. The folders the file holds as they are leave memory.
func (c *statCache) replace(m cacheMap, same []string, changed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	runs := map[string]cacheRun{}
	for _, dir := range same {
		if r, ok := c.runs[dir]; ok {
			runs[dir] = r
		}
		if d, ok := c.m[dir]; ok {
			m[strings.Clone(dir)] = d
		}
	}
	if !changed {
		// m is what the cache held: where that was the file's, it still is.
		for dir := range m {
			if r, ok := c.runs[dir]; ok {
				runs[dir] = r
			}
		}
	} else {
		c.gen++
	}
	c.m, c.runs, c.n = m, runs, m.count()
	for dir, r := range runs {
		if _, ok := m[dir]; !ok {
			c.n += int(r.count)
		}
	}
	c.dirty = c.dirty || changed
	c.evict()
}

// folderLen returns the number of entries the cache holds in folder dir.
func (c *statCache) folderLen(dir string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.m[dir]; ok {
		return len(d)
	}
	return int(c.runs[dir].count)
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

// encoded is a persisted cache in three parts, which a save writes one
// after another (the entries are not copied behind the header), and where
// each folder's entries lie in it.
type encoded struct {
	head, body []byte
	sum        zerosync.Digest
	runs       map[string]cacheRun
}

// bytes returns the whole file.
func (en *encoded) bytes() []byte {
	return slices.Concat(en.head, en.body, en.sum[:])
}

// appendEnt appends the entry e of path dir/name in the persisted form.
func appendEnt(b []byte, dir, name string, e *cached) []byte {
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
	return append(b, e.digest[:]...)
}

// encode returns the cache in its persisted form: each folder's entries
// one after another, in order, those only the file holds copied from it.
func (c *statCache) encode(dev, ino uint64) *encoded {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.encodeLocked(dev, ino)
}

func (c *statCache) encodeLocked(dev, ino uint64) *encoded {
	body := make([]byte, 0, c.n*96)
	var cold []string
	for dir := range c.runs {
		if _, ok := c.m[dir]; !ok {
			cold = append(cold, dir)
		}
	}
	runs := make(map[string]cacheRun, len(c.m)+len(cold))
	for _, dir := range cold {
		r := c.runs[dir]
		off := len(body)
		body = append(body, make([]byte, r.size)...)
		if err := c.runBytes(body[off:], dir, r); err != nil {
			body = body[:off]
			c.forgetRun(dir, r, err)
			continue
		}
		r.off = int64(off)
		runs[dir] = r
	}
	for dir, d := range c.m {
		off := len(body)
		for i := range d {
			body = appendEnt(body, dir, d[i].Name, &d[i].V)
		}
		if size := len(body) - off; size <= math.MaxUint32 {
			runs[dir] = cacheRun{off: int64(off), size: uint32(size), count: uint32(len(d)), sum: maphash.Bytes(runSeed, body[off:])}
		}
	}
	head := append(make([]byte, 0, len(cacheMagic)+3*binary.MaxVarintLen64), cacheMagic...)
	head = binary.AppendUvarint(head, dev)
	head = binary.AppendUvarint(head, ino)
	head = binary.AppendUvarint(head, uint64(c.n))
	for dir, r := range runs {
		r.off += int64(len(head))
		runs[dir] = r
	}
	h := digest.New()
	h.Write(head)
	h.Write(body)
	return &encoded{head: head, body: body, sum: h.Sum(), runs: runs}
}

var errBadCache = errors.New("malformed stat cache file")

// readEnt reads one entry of a persisted cache: its path (bytes of the
// input) and what is cached of it.
func readEnt(r *codec.Reader) ([]byte, cached, bool) {
	p := r.Bytes("path", zerosync.MaxPathLen)
	var e cached
	e.fp.size, e.fp.mtime, e.fp.ctime = r.Varint("size"), r.Varint("mtime"), r.Varint("ctime")
	e.fp.ino, e.fp.mode = r.Uvarint("inode"), uint32(r.Uvarint("mode"))
	copy(e.digest[:], r.RawN("digest", len(e.digest)))
	return p, e, r.Err == nil && len(p) > 0
}

// decode parses a persisted cache written for the root (dev, ino), and
// returns it with where each folder's entries lie in b (a folder whose
// entries are not all together has no run).
func decode(b []byte, dev, ino uint64) (cacheMap, map[string]cacheRun, error) {
	if len(b) < len(cacheMagic)+32 || !bytes.HasPrefix(b, []byte(cacheMagic)) {
		return nil, nil, errBadCache
	}
	body, sum := b[:len(b)-32], b[len(b)-32:]
	if d := digest.Sum(body); !bytes.Equal(d[:], sum) {
		return nil, nil, fmt.Errorf("%w: checksum", errBadCache)
	}
	r := codec.Reader{B: body[len(cacheMagic):]}
	if r.Uvarint("device") != dev || r.Uvarint("inode") != ino {
		return nil, nil, fmt.Errorf("%w: written for another root", errBadCache)
	}
	n := r.Uvarint("count")
	if r.Err != nil || n > uint64(len(r.B)/minCacheEntry) {
		return nil, nil, errBadCache
	}
	// A file this process wrote holds each folder's entries one after
	// another: they are read into one slice, each folder a part of it.
	all := make([]cacheEnt, 0, n)
	m := make(cacheMap)
	runs := map[string]cacheRun{}
	apart := map[string]bool{} // folders found in more than one run
	var names chunk.Chunks
	dir, start, runOff := "", 0, 0
	pos := func() int { return len(body) - len(r.B) }
	endRun := func(end int) {
		if len(all) > start {
			chunk.Folders[cached](m).AddRun(dir, all[start:len(all):len(all)])
			_, twice := runs[dir]
			if twice || apart[dir] || end-runOff > math.MaxUint32 {
				apart[dir] = true
				delete(runs, dir)
			} else {
				runs[dir] = cacheRun{off: int64(runOff), size: uint32(end - runOff), count: uint32(len(all) - start), sum: maphash.Bytes(runSeed, b[runOff:end])}
			}
		}
		start, runOff = len(all), end
	}
	for range n {
		at := pos()
		pb, e, ok := readEnt(&r)
		if !ok {
			return nil, nil, errBadCache
		}
		p := string(pb)
		if zerosync.ValidPath(p) != nil {
			return nil, nil, errBadCache
		}
		d, name := chunk.Split(p)
		if len(all) == start || d != dir {
			endRun(at)
			dir = d // p is a copy of its own; seal copies the folder keys
		}
		all = append(all, cacheEnt{Name: names.Clone(name), V: e})
	}
	endRun(pos())
	if len(r.B) != 0 {
		return nil, nil, errBadCache
	}
	m, p := m.seal(&names)
	if p != "" {
		return nil, nil, fmt.Errorf("%w: %q twice", errBadCache, p)
	}
	return m, runs, nil
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
// The caller holds c.mu. Everything read stays in memory until the first
// whole scan or save: a process that starts scans it all at once.
func (c *statCache) load(file string, dev, ino uint64) error {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	keep := false // the file, once read: its runs are read again from it
	defer func() {
		if !keep {
			f.Close()
		}
	}()
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
	m, runs, err := decode(b, dev, ino)
	if err != nil {
		return err
	}
	c.m, c.n, c.dirty = m, m.count(), false
	c.file, c.runs = f, runs
	keep = true
	return nil
}

// save writes the cache to file atomically (temp file, fsync, rename, fsync
// of the directory) when it changed since the last save; the folders the
// new file holds as they are then leave memory.
func (c *statCache) save(file string, dev, ino uint64) error {
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	en := c.encodeLocked(dev, ino)
	gen := c.gen
	c.dirty = false
	c.mu.Unlock()
	f, err := writeAtomic(file, en.head, en.body, en.sum[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.dirty = true
		return err
	}
	if c.gen != gen {
		// Changed while it was written: the file is behind the cache, and
		// its folders stay where they are. The next save writes them.
		return f.Close()
	}
	old := c.file
	c.file, c.runs = f, en.runs
	c.evict()
	if old != nil {
		return old.Close()
	}
	return nil
}

// close lets go of the file, and of the folders only the file held.
func (c *statCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file == nil {
		return nil
	}
	for dir, r := range c.runs {
		if _, ok := c.m[dir]; !ok {
			c.n -= int(r.count)
		}
	}
	f := c.file
	c.file, c.runs = nil, nil
	return f.Close()
}

// writeAtomic replaces file with the parts of data one after another: a
// reader sees the old file or the new one, and a crash leaves one of them.
// It returns the new file, open for reading. Temp files that a killed
// process left beside file more than a minute ago are removed first.
func writeAtomic(file string, data ...[]byte) (*os.File, error) {
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
		return nil, err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	for _, b := range data {
		if _, err := f.Write(b); err != nil {
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, file); err != nil {
		return nil, err
	}
	ok = true
	d, err := os.Open(dir)
	if err == nil {
		err = d.Sync()
		d.Close()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
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
		} else if _, ok := c.runs[p]; ok {
			dirs = append(dirs, p)
		}
	}
	if len(dirs) > 0 {
		for dir := range c.runs {
			if beneathAny(dir, dirs) {
				c.folder(dir)
			}
		}
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
				c.touch(dir)
			}
			if len(d) == 0 {
				delete(c.m, dir)
			} else {
				c.m[dir] = d
			}
		}
	}
	for dir, nd := range next {
		d, added, changed := mergeEnts(c.folder(dir), nd)
		c.m[dir] = d
		c.n += added
		if changed {
			c.touch(dir)
		}
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
