// Package concat reads pieces of content held in different places (a file
// and the partial of another, say) at offsets, as one: the base of a delta
// transfer.
package concat

import (
	"errors"
	"fmt"
	"io"
)

// Part is a piece: the first N bytes of R.
type Part struct {
	R io.ReaderAt
	N int64
}

// ReaderAt is its parts one after the other. It is safe for concurrent
// use when its parts are.
type ReaderAt struct {
	parts []Part
	size  int64
}

// New returns the parts as one; parts of no bytes are left out, and a
// negative length is taken as none.
func New(parts ...Part) *ReaderAt {
	c := &ReaderAt{}
	for _, p := range parts {
		if p.N > 0 && p.R != nil {
			c.parts = append(c.parts, p)
			c.size += p.N
		}
	}
	return c
}

// Size returns the length of the whole.
func (c *ReaderAt) Size() int64 { return c.size }

// ReadAt reads len(p) bytes at off of the whole, as [io.ReaderAt] says:
// fewer only with an error, io.EOF at the end. A part that holds fewer
// bytes than it was said to (a file that shrank) is an error wrapping
// io.ErrUnexpectedEOF.
func (c *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("concat: negative offset")
	}
	total := 0
	start := int64(0)
	for _, part := range c.parts {
		if len(p) == 0 {
			return total, nil
		}
		end := start + part.N
		if off >= end {
			start = end
			continue
		}
		k := int(min(int64(len(p)), end-off))
		n, err := part.R.ReadAt(p[:k], off-start)
		total += n
		if n < k {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return total, fmt.Errorf("concat: part at %d holds fewer bytes than said: %w", start, err)
		}
		p, off, start = p[k:], off+int64(k), end
	}
	if len(p) > 0 {
		return total, io.EOF
	}
	return total, nil
}
