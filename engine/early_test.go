package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
)

// hooked is an endpoint whose scans count themselves and call a hook first.
type hooked struct {
	zerosync.Endpoint
	before atomic.Pointer[func() error]
	scans  atomic.Int32
}

func (h *hooked) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	h.scans.Add(1)
	if f := h.before.Load(); f != nil {
		if err := (*f)(); err != nil {
			return nil, nil, err
		}
	}
	return h.Endpoint.Scan(ctx)
}

func (h *hooked) hook(f func() error) { h.before.Store(&f) }

// TestEarlyScan: the peer's tree is scanned beside ours, once a cycle; what
// is hinted while that scan runs stays for the next cycle; a scan no pass
// took (our tree could not be read) asks for a whole scan next time.
func TestEarlyScan(t *testing.T) {
	ma := memory.New()
	require.NoError(t, ma.WriteFile("f.txt", []byte("hello"), 0o644))
	a, b := &hooked{Endpoint: ma}, &hooked{Endpoint: memory.New()}
	started := make(chan struct{}, 1)
	b.hook(func() error {
		select {
		case started <- struct{}{}:
		default:
		}
		return nil
	})
	a.hook(func() error {
		select {
		case <-started:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("the peer's scan did not start while our tree was being scanned")
		}
	})
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: b}}, WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	rep, err := e.SyncOnce(t.Context())
	require.NoError(t, err)
	assert.Len(t, rep.Applied, 1)
	assert.EqualValues(t, 1, b.scans.Load(), "one scan of the peer a cycle")

	peer := e.pairs[0].peer
	a.hook(func() error { return nil })
	b.hook(func() error {
		peer.hint(zerosync.Hint{Paths: []string{"late.txt"}, Reason: "changed"})
		return nil
	})
	_, err = e.SyncOnce(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 2, b.scans.Load())
	peer.mu.Lock()
	assert.True(t, peer.dirty["late.txt"], "a hint made during the early scan stays for the next cycle")
	peer.mu.Unlock()

	b.hook(func() error { return nil })
	a.hook(func() error { return errors.New("our tree is gone") })
	peer.mu.Lock()
	peer.full = false
	peer.mu.Unlock()
	_, err = e.SyncOnce(t.Context())
	require.Error(t, err)
	peer.mu.Lock()
	assert.True(t, peer.full, "the scan no pass took asks for a whole scan")
	assert.Nil(t, peer.early)
	peer.mu.Unlock()
}
