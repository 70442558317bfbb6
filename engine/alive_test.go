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

// stuck is a peer whose scans hang until released.
type stuck struct {
	zerosync.Endpoint
	release chan struct{}
}

func (s *stuck) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return s.Endpoint.Scan(ctx)
}

// TestAlive: the loop is alive while it waits for work, not while a cycle
// hangs without progress, and again once the cycle goes on; it is not
// alive outside Run.
func TestAlive(t *testing.T) {
	a := memory.New()
	b := &stuck{Endpoint: memory.New(), release: make(chan struct{})}
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	assert.False(t, e.Alive(time.Hour), "not alive before Run")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitFor(t, func() bool { return !e.Alive(10 * time.Millisecond) })
	close(b.release)
	waitFor(t, func() bool { return e.Status().Cycles >= 1 && e.Alive(10*time.Millisecond) })
}
