package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// TestFlushWithoutRun: with no Run active, Flush runs the cycle itself.
func TestFlushWithoutRun(t *testing.T) {
	a, b := memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	require.NoError(t, a.WriteFile("f.txt", []byte("one"), 0o644))
	rep, err := e.Flush(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Applied, 1)
	assert.Equal(t, "f.txt", rep.Applied[0].Path)
	assert.Equal(t, "one", memFile(t, b, "f.txt"))
}

// TestFlushWhileRunning: Flush asks the running loop for a cycle that
// starts after the call and returns its report, even with no watcher to
// say what changed; a paused engine says so at once.
func TestFlushWhileRunning(t *testing.T) {
	a, b := memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		engine.WithVolatileState(), engine.WithWatch(false))
	require.NoError(t, err)
	defer e.Close()
	runEngine(t, e)
	ctx := context.Background()

	require.NoError(t, a.WriteFile("f.txt", []byte("one"), 0o644))
	before := time.Now()
	rep, err := e.Flush(ctx)
	require.NoError(t, err)
	require.Len(t, rep.Applied, 1, "the flush's cycle carries the edit")
	assert.Equal(t, "f.txt", rep.Applied[0].Path)
	assert.False(t, rep.Start.Before(before), "the cycle started after the flush was asked")
	assert.Equal(t, "one", memFile(t, b, "f.txt"))
	assert.True(t, e.Status().Running)

	// Several flushes at once are all answered.
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := e.Flush(ctx); errs <- err }()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}

	e.Pause()
	_, err = e.Flush(ctx)
	assert.ErrorIs(t, err, zerosync.ErrPaused)
	e.Resume()

	// A flush whose context ends returns at once.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.Flush(cctx)
	if err != nil {
		assert.ErrorIs(t, err, context.Canceled)
	}
}
