// Package chunk hands out strings whose bytes live many to an allocation,
// for the paths and names a running engine or agent keeps.
package chunk

import "unsafe"

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
