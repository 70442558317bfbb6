package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/transport/memory"
)

// TestRunReleasesAfterFullCycle: Run gives memory back after a cycle that
// scanned a tree in full, and SyncOnce, a one-shot cycle, does not.
func TestRunReleasesAfterFullCycle(t *testing.T) {
	a, b := memory.New(), memory.New()
	require.NoError(t, a.WriteFile("f.txt", []byte("hello"), 0o644))
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: b}}, WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	var released atomic.Int32
	e.mem.release = func() { released.Add(1) }

	_, err = e.SyncOnce(t.Context())
	require.NoError(t, err)
	assert.Zero(t, released.Load(), "SyncOnce released memory")

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(10 * time.Second)
	for released.Load() == 0 {
		require.True(t, time.Now().Before(deadline), "Run did not release memory after its first, full, cycle")
		time.Sleep(5 * time.Millisecond)
	}
}
