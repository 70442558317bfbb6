//go:build linux

package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
)

// cutReader yields n bytes of data, then fails as a dropped connection
// does.
type cutReader struct {
	r *bytes.Reader
	n int
}

var errCut = errors.New("connection cut")

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n == 0 {
		return 0, errCut
	}
	p = p[:min(len(p), c.n)]
	k, err := c.r.Read(p)
	c.n -= k
	return k, err
}

func randomData(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readPartial returns what e keeps of want for p.
func readPartial(t *testing.T, e *Endpoint, p string, want *zerosync.Entry) ([]byte, error) {
	t.Helper()
	f, n, err := e.Partial(t.Context(), p, *want)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	_, err = f.ReadAt(b, 0)
	return b, err
}

// An apply whose content is cut keeps what arrived, under a reserved
// name that scans do not report; the next apply of the same content
// removes it once the file is in place.
func TestPartialKept(t *testing.T) {
	e, root := newEndpoint(t)
	ctx := t.Context()
	data := randomData(3<<20, 1)
	want := fileEntry(data, 0o644)
	must(t, os.Mkdir(filepath.Join(root, "d"), 0o755))
	op := zerosync.Op{Path: "d/big", New: want}

	err := e.Apply(ctx, op, &cutReader{r: bytes.NewReader(data), n: 2 << 20})
	require.ErrorIs(t, err, errCut)
	got, err := readPartial(t, e, "d/big", want)
	require.NoError(t, err)
	require.Equal(t, data[:2<<20], got, "the partial holds what arrived")
	require.NoFileExists(t, filepath.Join(root, "d/big"))

	snap, _, err := e.Scan(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"d"}, paths(snap), "a partial is never synced")
	_, err = readPartial(t, e, "d/big", want)
	require.NoError(t, err, "a scan keeps a fresh partial")

	// A shorter cut does not replace a longer partial.
	require.Error(t, e.Apply(ctx, op, &cutReader{r: bytes.NewReader(data), n: 1 << 20}))
	got, err = readPartial(t, e, "d/big", want)
	require.NoError(t, err)
	require.Len(t, got, 2<<20)
	// A longer one does.
	require.Error(t, e.Apply(ctx, op, &cutReader{r: bytes.NewReader(data), n: 5 << 19}))
	got, err = readPartial(t, e, "d/big", want)
	require.NoError(t, err)
	require.Equal(t, data[:5<<19], got)

	require.NoError(t, e.Apply(ctx, op, bytes.NewReader(data)))
	expectBytes(t, filepath.Join(root, "d/big"), data)
	_, err = readPartial(t, e, "d/big", want)
	require.ErrorIs(t, err, fs.ErrNotExist, "the arrival of the file removes its partial")
	require.Empty(t, tempFiles(t, root))
}

// Nothing is kept of a small file, of content that lies, of a cut that
// brought almost nothing; a partial
// older than a day goes with the next scan; a symlink in a partial's
// place is no partial.
func TestPartialNotKept(t *testing.T) {
	e, root := newEndpoint(t)
	ctx := t.Context()
	small := randomData(512<<10, 2)
	err := e.Apply(ctx, zerosync.Op{Path: "small", New: fileEntry(small, 0o644)}, &cutReader{r: bytes.NewReader(small), n: 256 << 10})
	require.ErrorIs(t, err, errCut)
	_, err = readPartial(t, e, "small", fileEntry(small, 0o644))
	require.ErrorIs(t, err, fs.ErrNotExist, "a small file's cut keeps nothing")

	data := randomData(2<<20, 3)
	want := fileEntry(data, 0o644)
	op := zerosync.Op{Path: "big", New: want}
	require.Error(t, e.Apply(ctx, op, &cutReader{r: bytes.NewReader(data), n: 4 << 10}))
	_, err = readPartial(t, e, "big", want)
	require.ErrorIs(t, err, fs.ErrNotExist, "a few KiB are not worth keeping")
	longer := append(bytes.Clone(data), 'x')
	err = e.Apply(ctx, op, bytes.NewReader(longer))
	require.ErrorIs(t, err, zerosync.ErrDigestMismatch)
	_, err = readPartial(t, e, "big", want)
	require.ErrorIs(t, err, fs.ErrNotExist, "content that lies is not kept")

	ctxCut, cancel := context.WithCancel(ctx)
	cr := &cancelReader{r: bytes.NewReader(data), after: 1 << 20, cancel: cancel}
	require.ErrorIs(t, e.Apply(ctxCut, op, cr), context.Canceled)
	_, err = readPartial(t, e, "big", want)
	require.NoError(t, err, "a cancelled apply keeps what arrived")
	name := filepath.Join(root, partialName(want.Digest))
	old := time.Now().Add(-25 * time.Hour)
	must(t, os.Chtimes(name, old, old))
	_, _, err = e.Scan(ctx)
	require.NoError(t, err)
	require.NoFileExists(t, name, "a partial older than a day goes with a scan")

	must(t, os.Symlink("/etc/passwd", name))
	_, err = readPartial(t, e, "big", want)
	require.ErrorIs(t, err, fs.ErrNotExist, "a symlink is no partial")
}

// cancelReader cancels its call after some bytes, and then fails.
type cancelReader struct {
	r      io.Reader
	after  int
	cancel func()
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.after <= 0 {
		c.cancel()
		return 0, context.Canceled
	}
	p = p[:min(len(p), c.after)]
	n, err := c.r.Read(p)
	c.after -= n
	return n, err
}

func paths(s zerosync.Snapshot) []string {
	var out []string
	for p := range s {
		out = append(out, p)
	}
	return out
}
