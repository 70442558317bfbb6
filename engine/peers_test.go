package engine_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// TestPeersStatus: each peer's last sync, its duration, its error, its
// location and its conflicts waiting.
func TestPeersStatus(t *testing.T) {
	e, _, _, da, db := localPair(t, engine.WithWatch(false))
	ctx := context.Background()
	ps, err := e.Peers(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.True(t, ps[0].LastSync.IsZero(), "not synced yet")
	assert.Equal(t, db, ps[0].Location.String())

	writeFile(t, da, "f.txt", "a")
	writeFile(t, db, "f.txt", "b")
	_, err = e.SyncOnce(ctx)
	require.NoError(t, err)
	ps, err = e.Peers(ctx)
	require.NoError(t, err)
	assert.False(t, ps[0].LastSync.IsZero())
	assert.Positive(t, ps[0].Duration)
	assert.NoError(t, ps[0].Err)
	assert.Equal(t, 1, ps[0].Review, "the conflict waits for a person")

	require.NoError(t, os.RemoveAll(db))
	_, err = e.SyncOnce(ctx)
	require.Error(t, err)
	ps, err = e.Peers(ctx)
	require.NoError(t, err)
	assert.ErrorIs(t, ps[0].Err, zerosync.ErrRootMissing)
	assert.NoError(t, ps[0].Halted, "only Run halts")
}
