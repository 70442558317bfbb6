// Package chunk keeps the paths and names a running engine or agent holds
// small: strings whose bytes live many to an allocation, and values kept
// by folder and name.
package chunk

import (
	"slices"
	"strings"
	"unsafe"
)

// Chunks hands out strings whose bytes live many to an allocation. A
// running engine keeps every path of a tree (in its snapshot and its stat
// cache), and a scan allocates much else besides: one small allocation a
// string left the heap's spans of small objects holding the kept strings
// among the scan's garbage, which a collection frees but cannot give back
// (the live heap of two 100k trees was 36 MB in 50 MB of spans). Chunks
// grow from 64 bytes to 16 KiB, so that a few strings keep little more
// than themselves. The bytes of a string handed out are never written
// again: a chunk only grows past them. The zero value is ready; it is not
// safe for concurrent use.
type Chunks struct{ b []byte }

// room makes room for n more bytes in the current chunk.
func (c *Chunks) room(n int) {
	if cap(c.b)-len(c.b) < n {
		c.b = make([]byte, 0, max(n, min(2*cap(c.b), 16<<10), 64))
	}
}

// Join returns dir/name (name alone when dir is "").
func (c *Chunks) Join(dir string, name []byte) string {
	n := len(name)
	if dir != "" {
		n += len(dir) + 1
	}
	if n == 0 {
		return ""
	}
	c.room(n)
	start := len(c.b)
	if dir != "" {
		c.b = append(append(c.b, dir...), '/')
	}
	c.b = append(c.b, name...)
	return unsafe.String(&c.b[start], n)
}

// Clone returns a copy of s: a name kept apart from the path it ends,
// which then need not be kept.
func (c *Chunks) Clone(s string) string {
	if s == "" {
		return ""
	}
	c.room(len(s))
	start := len(c.b)
	c.b = append(c.b, s...)
	return unsafe.String(&c.b[start], len(s))
}

// Named is a value kept by its name in a folder.
type Named[T any] struct {
	Name string
	V    T
}

// Folders holds values by folder ("" at the top), then sorted by name: the
// values beneath a folder are found by looking at the folders, not at
// every value, and a value costs its name and itself, no table. Folders
// being built take values in any order ([Folders.Add]) and are sealed
// once ([Folders.Seal]). The zero value is not usable for Add; use make.
type Folders[T any] map[string][]Named[T]

// Split returns the folder of p ("" at the top) and its name.
func Split(p string) (dir, name string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

// Join returns the path of name in dir ("" at the top).
func Join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// Find returns where name is, or would be, in the sorted folder d.
func Find[T any](d []Named[T], name string) (int, bool) {
	return slices.BinarySearchFunc(d, name, func(e Named[T], n string) int { return strings.Compare(e.Name, n) })
}

// Get returns the value at path p of sealed folders.
func (f Folders[T]) Get(p string) (T, bool) {
	dir, name := Split(p)
	d := f[dir]
	i, ok := Find(d, name)
	if !ok {
		var zero T
		return zero, false
	}
	return d[i].V, true
}

// Count returns the number of values.
func (f Folders[T]) Count() int {
	n := 0
	for _, d := range f {
		n += len(d)
	}
	return n
}

// Add records v at path p in folders being built, with a copy of the name
// made in c: the value keeps only its name, not the whole path, which its
// maker may let go.
func (f Folders[T]) Add(p string, v T, c *Chunks) {
	dir, name := Split(p)
	f[dir] = append(f[dir], Named[T]{Name: c.Clone(name), V: v})
}

// AddRun records the values of run, all in folder dir and named already,
// in folders being built; run is kept as it is, not copied, when dir has
// no values yet. A reader that finds a folder's values one after another
// adds them as one run instead of one at a time, and grows no slice.
func (f Folders[T]) AddRun(dir string, run []Named[T]) {
	if len(run) == 0 {
		return
	}
	if d, ok := f[dir]; ok {
		f[dir] = append(d[:len(d):len(d)], run...)
		return
	}
	f[dir] = run
}

// Seal returns the folders Add built, each sorted by name (when out of
// order), keeping one value of a name added twice, and one such path (""
// if none). The folders' keys are copies made in c: an assignment to a
// present key stores the key given, so a key of f may be the end of any
// path added.
func (f Folders[T]) Seal(c *Chunks) (sealed Folders[T], twice string) {
	byName := func(a, b Named[T]) int { return strings.Compare(a.Name, b.Name) }
	sealed = make(Folders[T], len(f))
	var order []int32
	for dir, d := range f {
		if !slices.IsSortedFunc(d, byName) {
			order = sortByName(d, order)
		}
		out := d[:1]
		for _, e := range d[1:] {
			if e.Name == out[len(out)-1].Name {
				twice = Join(dir, e.Name)
				continue
			}
			out = append(out, e)
		}
		clear(d[len(out):])
		if cap(out) > len(out) {
			// Room an append left spare would be kept as long as the
			// folder is: a folder that stays as it is (the stat cache
			// keeps a folder a whole scan found unchanged) kept it for
			// good, 30 B an entry after a first scan that hashed a tree.
			out = append(make([]Named[T], 0, len(out)), out...)
		}
		sealed[c.Clone(dir)] = out
	}
	return sealed, twice
}

// sortByName sorts d by name moving each value once: the names are sorted
// by index, four bytes a move, and the values then follow the order found
// (a sort of the values themselves moved a stat cache entry, 88 bytes,
// many times: 4 ms of a cold no-op's CPU on 10k files). order is scratch
// space, returned for the next call.
func sortByName[T any](d []Named[T], order []int32) []int32 {
	order = order[:0]
	for i := range d {
		order = append(order, int32(i))
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(d[a].Name, d[b].Name) })
	// Position i takes the value at order[i]: follow each cycle of the
	// permutation once, marking what is placed.
	for i := range order {
		if order[i] < 0 {
			continue
		}
		first := d[i]
		j := i
		for {
			k := int(order[j])
			order[j] = -1
			if k == i {
				d[j] = first
				break
			}
			d[j] = d[k]
			j = k
		}
	}
	return order
}
