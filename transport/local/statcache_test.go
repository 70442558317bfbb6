//go:build linux

package local

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/chunk"
	"github.com/zerosync/zerosync/internal/digest"
)

// oldFiles writes n files beneath root with modification times an hour in
// the past, so the stat cache may trust their digests at once.
func oldFiles(t testing.TB, root string, n int) {
	t.Helper()
	past := time.Now().Add(-time.Hour)
	for i := range n {
		p := filepath.Join(root, fmt.Sprintf("d%d", i%7), fmt.Sprintf("f%03d", i))
		writeFile(t, p, fmt.Appendf(nil, "content of file %d", i), 0o644)
		must(t, os.Chtimes(p, past, past))
	}
}

func scanOK(t testing.TB, e *Endpoint) zerosync.Snapshot {
	t.Helper()
	s, probs, err := e.Scan(t.Context())
	must(t, err)
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	return s
}

func TestStatCacheAvoidsRehash(t *testing.T) {
	e, root := newEndpoint(t)
	oldFiles(t, root, 40)
	first := scanOK(t, e)
	if got := e.hashed.Load(); got != 40 {
		t.Fatalf("cold scan hashed %d files, want 40", got)
	}
	second := scanOK(t, e)
	if got := e.hashed.Load(); got != 40 {
		t.Fatalf("warm scan hashed %d more files, want none", got-40)
	}
	if d := diff(first, second); d != "" {
		t.Fatalf("warm scan differs from the cold one: %s", d)
	}

	// Same size, new content: the modification time moved.
	p := filepath.Join(root, "d0", "f000")
	must(t, os.WriteFile(p, []byte("CONTENT of file 0"), 0o644))
	// Mode only: the change time and mode moved.
	must(t, os.Chmod(filepath.Join(root, "d1", "f001"), 0o600))
	// Content and modification time put back: the change time moved.
	q := filepath.Join(root, "d2", "f002")
	fi, err := os.Stat(q)
	must(t, err)
	must(t, os.WriteFile(q, []byte("content of FILE 2"), 0o644))
	must(t, os.Chtimes(q, fi.ModTime(), fi.ModTime()))

	third := scanOK(t, e)
	if got := e.hashed.Load() - 40; got != 3 {
		t.Fatalf("scan after three edits hashed %d files, want 3", got)
	}
	if third.Get("d0/f000").Digest != digest.Sum([]byte("CONTENT of file 0")) ||
		third.Get("d2/f002").Digest != digest.Sum([]byte("content of FILE 2")) ||
		third.Get("d1/f001").Mode != 0o600 {
		t.Fatal("scan after edits does not report them")
	}
}

func TestStatCacheDistrustsRecentFiles(t *testing.T) {
	// A file modified just now may be modified again within the same tick
	// of the file system's clock without its fingerprint moving: it is
	// hashed again until it is old enough.
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "fresh"), []byte("aaaa"), 0o644)
	scanOK(t, e)
	scanOK(t, e)
	if got := e.hashed.Load(); got != 2 {
		t.Fatalf("two scans hashed a fresh file %d times, want 2", got)
	}
	e.cache.racy = 0
	scanOK(t, e)
	scanOK(t, e)
	if got := e.hashed.Load(); got != 3 {
		t.Fatalf("once the file is old enough, two scans hashed it %d times, want 1", got-2)
	}
}

func TestStatCacheLearnsFromApply(t *testing.T) {
	e, root := newEndpoint(t)
	must(t, os.Mkdir(filepath.Join(root, "d"), 0o755))
	data := []byte("applied")
	want := fileEntry(data, 0o644)
	want.ModTime = time.Now().Add(-time.Hour)
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "d/f", New: want}, newBytesReader(data)))
	s := scanOK(t, e)
	if got := e.hashed.Load(); got != 0 {
		t.Fatalf("scan after apply hashed %d files, want 0", got)
	}
	if !s.Get("d/f").Same(want) {
		t.Fatalf("scan reports %v, want %v", s.Get("d/f"), want)
	}
	// The re-check of a later apply uses the cache as well.
	data2 := []byte("applied again")
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "d/f", Old: want, New: fileEntry(data2, 0o644)}, newBytesReader(data2)))
	if got := e.hashed.Load(); got != 0 {
		t.Fatalf("apply re-checks hashed %d files, want 0", got)
	}
}

func TestStatCachePersists(t *testing.T) {
	root := newRoot(t)
	cache := filepath.Join(t.TempDir(), "statcache")
	oldFiles(t, root, 25)

	e1, err := New(root, WithStatCache(cache))
	must(t, err)
	s1 := scanOK(t, e1)
	if e1.hashed.Load() != 25 {
		t.Fatalf("first process hashed %d files, want 25", e1.hashed.Load())
	}
	fi1, err := os.Stat(cache)
	must(t, err) // saved after the scan that filled it
	scanOK(t, e1)
	fi2, err := os.Stat(cache)
	must(t, err)
	if !os.SameFile(fi1, fi2) {
		t.Fatal("a scan that changed nothing rewrote the cache file")
	}
	must(t, e1.Close())

	e2, err := New(root, WithStatCache(cache))
	must(t, err)
	defer e2.Close()
	s2 := scanOK(t, e2)
	if got := e2.hashed.Load(); got != 0 {
		t.Fatalf("second process hashed %d files, want 0 (warm from the file)", got)
	}
	if d := diff(s1, s2); d != "" {
		t.Fatalf("warm scan differs: %s", d)
	}
}

func TestStatCacheIgnoresBadFiles(t *testing.T) {
	root := newRoot(t)
	oldFiles(t, root, 5)
	dir := t.TempDir()

	other := newRoot(t)
	e, err := New(other, WithStatCache(filepath.Join(dir, "foreign")))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(other, "x"), []byte("x"), 0o644))
	e.cache.racy = 0
	scanOK(t, e)
	must(t, e.Close())

	good := filepath.Join(dir, "good")
	e, err = New(root, WithStatCache(good))
	must(t, err)
	scanOK(t, e)
	must(t, e.Close())
	b, err := os.ReadFile(good)
	must(t, err)

	files := map[string][]byte{
		"foreign":   nil, // written for another root
		"empty":     {},
		"garbage":   []byte("not a cache at all"),
		"truncated": b[:len(b)-7],
		"flipped":   flip(b, len(b)/2),
	}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name)
			if content != nil {
				must(t, os.WriteFile(file, content, 0o600))
			}
			e, err := New(root, WithStatCache(file))
			must(t, err)
			defer e.Close()
			scanOK(t, e)
			if got := e.hashed.Load(); got != 5 {
				t.Fatalf("hashed %d files, want all 5 (cold start)", got)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

func FuzzDecodeStatCache(f *testing.F) {
	c := newStatCache(0)
	c.store("a/b", fingerprint{size: 3, mtime: 1, ctime: 2, ino: 9, mode: 0o100644}, digest.Sum([]byte("abc")), time.Now())
	f.Add(c.encode(1, 2).bytes())
	f.Add([]byte(cacheMagic))
	f.Add(rawCache("a/x", "a/y", "b/q", "a/w", "top"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, runs, err := decode(b, 1, 2)
		if err != nil {
			return
		}
		for dir, r := range runs {
			if d := m[dir]; len(d) != int(r.count) || r.off < int64(len(cacheMagic)) || r.off+int64(r.size) > int64(len(b)-32) {
				t.Fatalf("run of folder %q: %+v, for %d entries in %d bytes", dir, r, len(d), len(b))
			}
		}
		for dir, d := range m {
			for i, e := range d {
				if p := joinPath(dir, e.Name); zerosync.ValidPath(p) != nil {
					t.Fatalf("decoded invalid path %q", p)
				}
				if i > 0 && d[i-1].Name >= e.Name {
					t.Fatalf("decoded folder %q out of order or twice: %q then %q", dir, d[i-1].Name, e.Name)
				}
			}
		}
	})
}

// diff describes how two snapshots differ, ModTime aside.
func diff(a, b zerosync.Snapshot) string {
	out := ""
	for p, ea := range a {
		eb, ok := b[p]
		if !ok || !ea.Same(&eb) || ea.Size != eb.Size {
			out += fmt.Sprintf(" %s: %v vs %v;", p, &ea, b.Get(p))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out += fmt.Sprintf(" %s only in the second;", p)
		}
	}
	return out
}

// TestSaveRemovesStaleTemps: a stat cache temp file a killed process left
// behind is removed by the next save once it is old; a fresh one (another
// process's save under way) stays.
func TestSaveRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "stat.cache")
	stale, fresh := file+".tmp-111", file+".tmp-222"
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	f, err := writeAtomic(file, []byte("cache"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
}

// cachedPaths lists what c holds.
func cachedPaths(c *statCache) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for dir, d := range c.m {
		for _, e := range d {
			out = append(out, joinPath(dir, e.Name))
		}
	}
	slices.Sort(out)
	return out
}

// TestStatCacheMergeScope: a partial scan's merge drops, beneath a scoped
// path that is a directory now (or gone), what the scan no longer found,
// however deep, and nothing outside the scope; a scoped file not trusted
// yet is dropped alone; a directory turned into a file loses its files.
func TestStatCacheMergeScope(t *testing.T) {
	c := newStatCache(0)
	now := time.Now()
	old := func(i int64) fingerprint { return fingerprint{size: i, mtime: 1, ino: uint64(i), mode: 0o100644} }
	for i, p := range []string{"a/x", "a/b/y", "a/b/c/z", "ab/w", "k/f", "top"} {
		c.store(p, old(int64(i)), digest.Sum([]byte(p)), now)
	}
	dir := zerosync.Entry{Kind: zerosync.KindDir}
	file := zerosync.Entry{Kind: zerosync.KindFile}

	next := cacheMap{}
	next.put("a/x", cached{old(9), digest.Sum([]byte("new"))})
	c.merge(next, zerosync.Snapshot{"a": dir, "a/x": file}, []string{"a"})
	require.Equal(t, []string{"a/x", "ab/w", "k/f", "top"}, cachedPaths(c))
	require.Equal(t, 4, c.len())
	d, ok := c.lookup("a/x", old(9))
	require.True(t, ok)
	require.Equal(t, digest.Sum([]byte("new")), d)

	c.merge(cacheMap{}, zerosync.Snapshot{"ab/w": file}, []string{"ab/w"})
	require.Equal(t, []string{"a/x", "k/f", "top"}, cachedPaths(c))

	c.merge(cacheMap{}, zerosync.Snapshot{"k": file}, []string{"k"})
	require.Equal(t, []string{"a/x", "top"}, cachedPaths(c))

	c.merge(cacheMap{}, zerosync.Snapshot{}, []string{"nothing/here"})
	require.Equal(t, []string{"a/x", "top"}, cachedPaths(c))
	require.Equal(t, 2, c.len())
}

// TestScanPathsDropsCacheBeneathDirectory: a rescan of a directory whose
// subdirectory was removed forgets the files cached beneath it.
func TestScanPathsDropsCacheBeneathDirectory(t *testing.T) {
	e, root := newEndpoint(t)
	oldFiles(t, root, 14)
	past := time.Now().Add(-time.Hour)
	for _, p := range []string{"d1/sub/deeper/f", "d1/sub/g"} {
		writeFile(t, filepath.Join(root, p), []byte(p), 0o644)
		must(t, os.Chtimes(filepath.Join(root, p), past, past))
	}
	scanOK(t, e)
	require.Equal(t, 16, e.cache.len())
	must(t, os.RemoveAll(filepath.Join(root, "d1", "sub")))
	s, _, err := e.ScanPaths(t.Context(), []string{"d1"})
	must(t, err)
	require.Len(t, s, 3) // d1 and its two files
	require.Equal(t, 14, e.cache.len())
	require.NotContains(t, cachedPaths(e.cache), "d1/sub/g")
}

// TestScanWhileApplying: scans run while applies write to the stat cache
// (run under -race); the last scan reports the digests of what is on disk,
// and the cache holds every file.
func TestScanWhileApplying(t *testing.T) {
	e, root := newEndpoint(t)
	e.cache.racy = 0
	oldFiles(t, root, 70)
	scanOK(t, e)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 30 {
			data := fmt.Appendf(nil, "applied %d", i)
			want := fileEntry(data, 0o644)
			want.ModTime = time.Now().Add(-time.Hour)
			if err := e.Apply(t.Context(), zerosync.Op{Path: fmt.Sprintf("d%d/new%02d", i%7, i), New: want}, newBytesReader(data)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 10 {
		scanOK(t, e)
	}
	<-done
	s := scanOK(t, e)
	require.Len(t, s, 7+70+30)
	for p, en := range s {
		if en.Kind != zerosync.KindFile {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		must(t, err)
		require.Equal(t, digest.Sum(data), en.Digest, p)
	}
	require.Equal(t, 100, e.cache.len())
	require.Equal(t, 100, len(cachedPaths(e.cache)))
}

// TestCacheMapMatchesMap: a cache map built in any order and sealed, then
// changed at random (put, del, the merge of another built map), holds
// exactly what a plain map changed the same way holds, each folder sorted.
func TestCacheMapMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	randPath := func() string { return fmt.Sprintf("d%d/f%02d", r.IntN(3), r.IntN(30)) }
	randCached := func() cached { return cached{fp: fingerprint{size: r.Int64N(4), ino: r.Uint64N(4)}} }
	check := func(want map[string]cached, m cacheMap, step string) {
		t.Helper()
		require.Equal(t, len(want), m.count(), step)
		for dir, d := range m {
			require.NotEmpty(t, d, "%s: empty folder %q kept", step, dir)
			for i, e := range d {
				if i > 0 {
					require.Less(t, d[i-1].Name, e.Name, "%s: folder %q", step, dir)
				}
				w, ok := want[joinPath(dir, e.Name)]
				require.True(t, ok && w == e.V, "%s: %q", step, joinPath(dir, e.Name))
			}
		}
		for p, w := range want {
			got, ok := m.get(p)
			require.True(t, ok && got == w, "%s: get %q", step, p)
		}
	}
	var names chunk.Chunks
	build := func(n int) (map[string]cached, cacheMap) {
		want, m := map[string]cached{}, cacheMap{}
		for range n {
			p := randPath()
			if _, ok := want[p]; ok {
				continue // a scan adds a path once
			}
			c := randCached()
			want[p] = c
			m.add(p, c, &names)
		}
		m, _ = m.seal(&names)
		return want, m
	}
	for round := range 20 {
		want, m := build(60)
		check(want, m, "built")
		for step := range 100 {
			name := fmt.Sprintf("round %d step %d", round, step)
			switch r.IntN(3) {
			case 0:
				p, c := randPath(), randCached()
				m.put(p, c)
				want[p] = c
			case 1:
				p := randPath()
				_, had := want[p]
				require.Equal(t, had, m.del(p), name)
				delete(want, p)
			default:
				nw, next := build(10)
				for dir, nd := range next {
					d, added, _ := mergeEnts(m[dir], nd)
					m[dir] = d
					n := 0
					for _, e := range nd {
						if _, ok := want[joinPath(dir, e.Name)]; !ok {
							n++
						}
					}
					require.Equal(t, n, added, name)
				}
				maps.Copy(want, nw)
			}
			check(want, m, name)
		}
	}
	_, m := build(0)
	m.add("x", cached{}, &names)
	m.add("x", cached{}, &names)
	_, twice := m.seal(&names)
	require.Equal(t, "x", twice, "a path added twice is named")
}

// rawCache returns a persisted cache for root (1, 2) holding paths in the
// order given, the i-th with size i: what a file not written by encode (a
// folder's entries apart, a path twice) would hold.
func rawCache(paths ...string) []byte {
	b := append([]byte(cacheMagic), 1, 2)
	b = binary.AppendUvarint(b, uint64(len(paths)))
	for i, p := range paths {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
		b = binary.AppendVarint(b, int64(i))
		b = append(b, 0, 0, 0, 0)
		b = append(b, make([]byte, 32)...)
	}
	sum := digest.Sum(b)
	return append(b, sum[:]...)
}

// TestDecodeFoldersApart: a folder's entries are read as one run when
// they come one after another, and still all found, in order, when a
// folder's entries come apart; a path twice is refused.
func TestDecodeFoldersApart(t *testing.T) {
	paths := []string{"a/x", "a/y", "b/q", "a/w", "top", "b/p", "a/v"}
	m, runs, err := decode(rawCache(paths...), 1, 2)
	require.NoError(t, err)
	require.Equal(t, len(paths), m.count())
	require.Equal(t, []string{""}, slices.Collect(maps.Keys(runs)), "only the folder read as one run has one")
	for i, p := range paths {
		e, ok := m.get(p)
		require.True(t, ok, p)
		require.Equal(t, int64(i), e.fp.size, p)
	}
	names := func(dir string) (out []string) {
		for _, e := range m[dir] {
			out = append(out, e.Name)
		}
		return out
	}
	require.Equal(t, []string{"v", "w", "x", "y"}, names("a"))
	require.Equal(t, []string{"p", "q"}, names("b"))
	require.Equal(t, []string{"top"}, names(""))

	_, _, err = decode(rawCache("a/x", "b/y", "a/x"), 1, 2)
	require.ErrorContains(t, err, `"a/x" twice`)
	short := rawCache("a/x")
	short[len(cacheMagic)+2] = 2 // two entries said, one there
	sum := digest.Sum(short[:len(short)-32])
	copy(short[len(short)-32:], sum[:])
	_, _, err = decode(short, 1, 2)
	require.ErrorIs(t, err, errBadCache)
}

// TestWholeScanKeepsUnchangedFolders: a whole scan that finds every entry
// of a folder as the stat cache holds it, and nothing else there, keeps
// the folder as it is; a folder with a file changed, removed or added is
// made again, and holds exactly the files there are.
func TestWholeScanKeepsUnchangedFolders(t *testing.T) {
	e, root := newEndpoint(t)
	oldFiles(t, root, 70) // d0 … d6, ten files each
	scanOK(t, e)
	scanOK(t, e) // every file old enough: the cache holds them all
	before := map[string]*cacheEnt{}
	for dir, d := range e.cache.m {
		before[dir] = &d[0]
	}

	must(t, os.WriteFile(filepath.Join(root, "d1", "f001"), []byte("changed"), 0o644))
	must(t, os.Remove(filepath.Join(root, "d2", "f002")))
	writeFile(t, filepath.Join(root, "d3", "new"), []byte("new"), 0o644)
	must(t, os.Chtimes(filepath.Join(root, "d3", "new"), time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)))
	s := scanOK(t, e)

	for dir, d := range e.cache.m {
		var names []string
		for _, c := range d {
			names = append(names, c.Name)
		}
		var want []string
		for p, en := range s {
			if pd, name := splitPath(p); pd == dir && en.Kind == zerosync.KindFile && !(dir == "d1" && name == "f001") {
				want = append(want, name)
			}
		}
		slices.Sort(want)
		require.Equal(t, want, names, "folder %s", dir)
		kept := before[dir] == &d[0]
		require.Equal(t, dir != "d1" && dir != "d2" && dir != "d3", kept, "folder %s kept", dir)
	}
	require.Len(t, e.cache.m, 7)
	require.Equal(t, 70-2+1, e.cache.len()) // f001 changed just now: not trusted yet
	// What the kept folders hold still answers: nothing is hashed again.
	hashed := e.hashed.Load()
	scanOK(t, e)
	require.Equal(t, hashed+1, e.hashed.Load()) // f001 alone, still too recent
}

// resident returns the folders c holds in memory, and those only its file
// holds.
func resident(c *statCache) (inMemory, inFile int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for dir := range c.runs {
		if _, ok := c.m[dir]; !ok {
			inFile++
		}
	}
	return len(c.m), inFile
}

// TestStatCacheKeepsFoldersInItsFile: with a file, a whole scan leaves in
// memory none of the folders the file holds as they are; a later scan, an
// edit or a lookup reads a folder back and hashes nothing again; a folder
// changed since the file was written stays in memory until the next save;
// a folder whose bytes changed in the file is forgotten, and its files
// alone are hashed again.
func TestStatCacheKeepsFoldersInItsFile(t *testing.T) {
	root := newRoot(t)
	file := filepath.Join(t.TempDir(), "statcache")
	oldFiles(t, root, 70) // d0 … d6, ten files each
	e, err := New(root, WithStatCache(file))
	must(t, err)
	defer e.Close()
	first := scanOK(t, e)
	require.EqualValues(t, 70, e.hashed.Load())
	mem, onDisk := resident(e.cache)
	require.Equal(t, [2]int{0, 7}, [2]int{mem, onDisk}, "after the save, every folder is in the file only")
	require.Equal(t, 70, e.cache.len())
	require.Equal(t, 10, e.cache.folderLen("d3"))

	// A whole scan reads every folder back, hashes nothing, and leaves
	// them in the file again.
	second := scanOK(t, e)
	require.EqualValues(t, 70, e.hashed.Load())
	require.Empty(t, diff(first, second))
	mem, onDisk = resident(e.cache)
	require.Equal(t, [2]int{0, 7}, [2]int{mem, onDisk})

	// A lookup reads its folder alone.
	var st unix.Stat_t
	must(t, unix.Lstat(filepath.Join(root, "d4", "f004"), &st))
	d, ok := e.cache.lookup("d4/f004", fingerprintOf(&st))
	require.True(t, ok)
	require.Equal(t, first["d4/f004"].Digest, d)
	mem, onDisk = resident(e.cache)
	require.Equal(t, [2]int{1, 6}, [2]int{mem, onDisk})

	// An edit seen by a partial scan changes its folder, which stays in
	// memory, and no other.
	p := filepath.Join(root, "d5", "f005")
	must(t, os.WriteFile(p, []byte("edited"), 0o644))
	past := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(p, past, past))
	part, _, err := e.ScanPaths(t.Context(), []string{"d5/f005"})
	must(t, err)
	require.Equal(t, digest.Sum([]byte("edited")), part["d5/f005"].Digest)
	require.EqualValues(t, 71, e.hashed.Load())
	e.cache.mu.Lock()
	_, d5InFile := e.cache.runs["d5"]
	_, d5InMemory := e.cache.m["d5"]
	e.cache.mu.Unlock()
	require.True(t, d5InMemory && !d5InFile, "a changed folder is in memory only")
	require.Equal(t, 70, e.cache.len())

	// The next whole scan saves it; the bytes of one folder then change
	// in the file itself: that folder is hashed again, and no other.
	scanOK(t, e)
	require.EqualValues(t, 71, e.hashed.Load())
	mem, onDisk = resident(e.cache)
	require.Equal(t, [2]int{0, 7}, [2]int{mem, onDisk})
	e.cache.mu.Lock()
	r := e.cache.runs["d2"]
	e.cache.mu.Unlock()
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte{'#'}, r.off+int64(r.size)-1) // the last byte of a digest
	must(t, errors.Join(err, f.Close()))
	again := scanOK(t, e)
	require.EqualValues(t, 71+10, e.hashed.Load(), "the folder changed in the file is hashed again, alone")
	first["d5/f005"] = again["d5/f005"]
	require.Empty(t, diff(first, again))

	// A new process finds the cache whole in the file written last.
	must(t, e.Close())
	e2, err := New(root, WithStatCache(file))
	must(t, err)
	defer e2.Close()
	scanOK(t, e2)
	require.Zero(t, e2.hashed.Load())
}

// TestStatCacheReadsBackWhileSaving: lookups, stores and saves from many
// goroutines at once leave the cache holding what was stored last, in
// memory or in its file (run with -race).
func TestStatCacheReadsBackWhileSaving(t *testing.T) {
	file := filepath.Join(t.TempDir(), "statcache")
	c := newStatCache(0)
	fp := func(i, round int) fingerprint {
		return fingerprint{size: int64(i), mtime: int64(round), ino: uint64(i)}
	}
	path := func(i int) string { return fmt.Sprintf("d%d/f%d", i%5, i) }
	for i := range 50 {
		c.store(path(i), fp(i, 0), digest.Sum([]byte{byte(i)}), time.Now())
	}
	must(t, c.save(file, 1, 2))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for round := range 20 {
				for i := w; i < 50; i += 4 {
					if round%2 == 0 {
						c.store(path(i), fp(i, round+1), digest.Sum([]byte{byte(i), byte(round)}), time.Now())
					} else if _, ok := c.lookup(path(i), fp(i, round)); !ok {
						t.Errorf("round %d: %s not found", round, path(i))
					}
				}
				if err := c.save(file, 1, 2); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	must(t, c.save(file, 1, 2))
	require.Equal(t, 50, c.len())
	for i := range 50 {
		_, ok := c.lookup(path(i), fp(i, 19))
		require.True(t, ok, path(i))
	}
	must(t, c.close())
}
