package engine

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/transport/memory"
)

// growing is an endpoint whose files grow while they are read, once: a
// file still being written when it was scanned.
type growing struct {
	*memory.Endpoint
	grew atomic.Bool
}

func (g *growing) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	rc, err := g.Endpoint.Open(ctx, path)
	if err != nil || g.grew.Swap(true) {
		return rc, err
	}
	old, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	more := append(old, " and more"...)
	if err := g.WriteFile(path, more, 0o644); err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader(string(more))), nil
}

// TestTornRead: a file that changed while it was read is not a problem:
// nothing is written, and the next cycle syncs what it holds then. (A
// side that still declares what it did not send is a problem at once:
// TestHostilePeerLyingContent, TestBatchLyingSource.)
func TestTornRead(t *testing.T) {
	a, b := &growing{Endpoint: memory.New()}, memory.New()
	require.NoError(t, a.WriteFile("f.txt", []byte("hello"), 0o644))
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: b}}, WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	rep, err := e.SyncOnce(t.Context())
	require.NoError(t, err)
	assert.Empty(t, rep.Problems)
	_, err = b.ReadFile("f.txt")
	assert.Error(t, err, "nothing written from a torn read")

	rep, err = e.SyncOnce(t.Context())
	require.NoError(t, err)
	assert.Empty(t, rep.Problems)
	got, err := b.ReadFile("f.txt")
	require.NoError(t, err)
	assert.Equal(t, "hello and more", string(got))
}
