//go:build linux

package local

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
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
	f.Add(c.encode(1, 2))
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b, 1, 2)
		if err != nil {
			return
		}
		for p := range m {
			if zerosync.ValidPath(p) != nil {
				t.Fatalf("decoded invalid path %q", p)
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
	if err := writeAtomic(file, []byte("cache")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
}

// A partial scan keeps the stat cache of the rest of the tree: a file
// edited a moment ago (too recent for its digest to be cached) drops its
// own entry only, a directory made a file drops what was beneath it once
// it is a directory again, and a removed directory drops what it held.
func TestStatCacheMerge(t *testing.T) {
	c := newStatCache(time.Second)
	fp := fingerprint{size: 1, mtime: 1}
	for _, p := range []string{"a", "d/x", "d/y", "e/z", "f"} {
		c.m[p] = cached{fp: fp}
	}
	file := zerosync.Entry{Kind: zerosync.KindFile}
	// "a" was edited just now (not in next); "f" is unchanged (in next).
	c.merge(map[string]cached{"f": {fp: fp}}, []string{"a", "f"}, zerosync.Snapshot{"a": file, "f": file})
	want := func(paths ...string) {
		t.Helper()
		if len(c.m) != len(paths) {
			t.Fatalf("the cache holds %d entries, want %v", len(c.m), paths)
		}
		for _, p := range paths {
			if _, ok := c.m[p]; !ok {
				t.Fatalf("the cache lost %q; want %v", p, paths)
			}
		}
	}
	want("d/x", "d/y", "e/z", "f")
	// "d" is a file now: what was beneath it cannot be looked up.
	c.merge(nil, []string{"d"}, zerosync.Snapshot{"d": file})
	want("d/x", "d/y", "e/z", "f")
	// "d" is a directory again, holding "y" only.
	c.merge(map[string]cached{"d/y": {fp: fp}}, []string{"d"}, zerosync.Snapshot{"d": {Kind: zerosync.KindDir}, "d/y": file})
	want("d/y", "e/z", "f")
	// "e" is gone.
	c.merge(nil, []string{"e"}, nil)
	want("d/y", "f")
}
