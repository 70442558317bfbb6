package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/memory"
)

// runEngine runs e in a goroutine until the test ends.
func runEngine(t *testing.T, e *engine.Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	waitFor(t, func() bool { return e.Status().Cycles >= 1 })
}

// TestAddRemovePeerWhileRunning: a peer added while Run runs syncs at
// once and is watched; a removed one is no longer synced nor watched, and
// added again it goes on from its kept state.
func TestAddRemovePeerWhileRunning(t *testing.T) {
	a, b, c := memory.New(memory.WithName("a")), memory.New(memory.WithName("b")), memory.New(memory.WithName("c"))
	require.NoError(t, a.WriteFile("x.txt", []byte("x"), 0o644))
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	runEngine(t, e)
	ctx := context.Background()

	require.NoError(t, e.AddPeer(ctx, engine.Peer{Name: "c", Endpoint: c}))
	waitFor(t, func() bool { return memFile(t, c, "x.txt") == "x" })
	// c's watcher runs: an edit on c reaches a and b without a flush.
	waitFor(t, func() bool {
		ps, err := e.Peers(ctx)
		return err == nil && len(ps) == 2 && ps[1].Name == "c" && ps[1].Watched
	})
	require.NoError(t, c.WriteFile("from-c.txt", []byte("c"), 0o644))
	waitFor(t, func() bool { return memFile(t, a, "from-c.txt") == "c" && memFile(t, b, "from-c.txt") == "c" })

	assert.ErrorIs(t, e.AddPeer(ctx, engine.Peer{Name: "c", Endpoint: memory.New()}), engine.ErrPeerExists)
	assert.ErrorIs(t, e.AddPeer(ctx, engine.Peer{Name: "a", Endpoint: memory.New()}), engine.ErrPeerExists)
	assert.ErrorIs(t, e.RemovePeer(ctx, "nobody"), engine.ErrUnknownPeer)

	require.NoError(t, e.RemovePeer(ctx, "c"))
	ps, err := e.Peers(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, "b", ps[0].Name)
	require.NoError(t, a.WriteFile("after.txt", []byte("after"), 0o644))
	_, err = e.Flush(ctx)
	require.NoError(t, err)
	assert.Equal(t, "after", memFile(t, b, "after.txt"))
	_, err = c.ReadFile("after.txt")
	assert.Error(t, err, "a removed peer is not synced")
	require.NoError(t, c.WriteFile("late.txt", []byte("late"), 0o644))
	_, err = e.Flush(ctx)
	require.NoError(t, err)
	_, err = a.ReadFile("late.txt")
	assert.Error(t, err, "a removed peer's edits stay there")

	assert.ErrorIs(t, e.RemovePeer(ctx, "b"), engine.ErrLastPeer)

	// Added again, c catches up with what it missed and keeps its edit.
	require.NoError(t, e.AddPeer(ctx, engine.Peer{Name: "c", Endpoint: c}))
	_, err = e.Flush(ctx)
	require.NoError(t, err)
	assert.Equal(t, "after", memFile(t, c, "after.txt"))
	assert.Equal(t, "late", memFile(t, a, "late.txt"))
}

// TestAddPeerRefusesOverlap: a peer whose root overlaps another is
// refused, as New refuses it.
func TestAddPeerRefusesOverlap(t *testing.T) {
	e, _, _, da, _ := localPair(t, engine.WithWatch(false))
	require.NoError(t, os.Mkdir(filepath.Join(da, "inner"), 0o755))
	inner, err := local.New(filepath.Join(da, "inner"))
	require.NoError(t, err)
	defer inner.Close()
	err = e.AddPeer(context.Background(), engine.Peer{Name: "inner", Endpoint: inner})
	assert.ErrorContains(t, err, "overlap")
}
