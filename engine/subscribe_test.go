package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// TestSubscribe: subscribers get every event beside the observer; one
// that does not read is dropped (its channel closed) while the engine goes
// on; cancel closes the channel and may be called twice.
func TestSubscribe(t *testing.T) {
	a, b := memory.New(), memory.New()
	var observed []zerosync.EventKind
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		engine.WithVolatileState(), engine.WithObserver(func(ev zerosync.Event) { observed = append(observed, ev.Kind) }))
	require.NoError(t, err)
	defer e.Close()

	events, cancel := e.Subscribe(0)
	slow, cancelSlow := e.Subscribe(1)
	defer cancelSlow()
	require.NoError(t, a.WriteFile("f.txt", []byte("one"), 0o644))
	_, err = e.SyncOnce(context.Background())
	require.NoError(t, err)

	var got []zerosync.EventKind
	for len(events) > 0 {
		got = append(got, (<-events).Kind)
	}
	assert.Equal(t, observed, got)
	assert.Equal(t, []zerosync.EventKind{zerosync.EventCycleStart, zerosync.EventPlanned, zerosync.EventApplied, zerosync.EventCycleEnd}, got)

	// The slow one got the first event, then was dropped.
	ev, ok := <-slow
	assert.True(t, ok)
	assert.Equal(t, zerosync.EventCycleStart, ev.Kind)
	_, ok = <-slow
	assert.False(t, ok, "a subscriber that fell behind is dropped")
	cancelSlow()

	cancel()
	cancel()
	_, ok = <-events
	assert.False(t, ok)
	_, err = e.SyncOnce(context.Background())
	require.NoError(t, err, "the engine goes on without subscribers")
}
