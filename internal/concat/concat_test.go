package concat

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadAt(t *testing.T) {
	a, b := []byte("hello, "), []byte("world")
	c := New(Part{bytes.NewReader(a), int64(len(a))}, Part{nil, 5}, Part{bytes.NewReader(b), 0}, Part{bytes.NewReader(b), int64(len(b))})
	require.Equal(t, int64(12), c.Size())
	whole := []byte("hello, world")
	for off := range 13 {
		for n := range 14 - off {
			p := make([]byte, n)
			k, err := c.ReadAt(p, int64(off))
			if off+n > len(whole) {
				require.ErrorIs(t, err, io.EOF)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, whole[off:off+k], p[:k], "at %d for %d", off, n)
		}
	}
	p := make([]byte, 3)
	n, err := c.ReadAt(p, 20)
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, io.EOF)
	_, err = c.ReadAt(p, -1)
	require.Error(t, err)

	short := New(Part{bytes.NewReader(a[:3]), int64(len(a))}, Part{bytes.NewReader(b), int64(len(b))})
	_, err = short.ReadAt(make([]byte, 8), 0)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "a part that shrank")
}
