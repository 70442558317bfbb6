package control_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
)

// TestStaged: the changes of a staged peer wait in the daemon; they are
// listed, shown with their content, applied (then carried to the peers)
// and rejected through the API; an ID that is not staged is a 404 naming
// the command that lists them.
func TestStaged(t *testing.T) {
	d := startDaemon(t, engine.WithWatch(false), engine.WithStaged("b"))
	writeFile(t, d.dirB, "in.txt", "from b\n")
	writeFile(t, d.dirB, "out.txt", "also from b\n")
	_, err := d.c.Flush(bg)
	require.NoError(t, err)
	assert.Equal(t, "<absent>", readFile(d.dirA, "in.txt"), "held for review")

	items, err := d.c.Staged(bg)
	require.NoError(t, err)
	require.Len(t, items, 2)
	byPath := map[control.Path]control.StagedItem{}
	for _, it := range items {
		assert.Equal(t, "b", it.Peer)
		byPath[it.Path] = it
	}
	in, out := byPath["in.txt"], byPath["out.txt"]
	require.NotZero(t, in.ID)
	require.NotNil(t, in.Theirs)
	assert.Nil(t, in.Ours)

	det, err := d.c.StagedDetail(bg, in.ID)
	require.NoError(t, err)
	assert.Equal(t, "from b\n", string(det.StagedText))
	assert.Nil(t, det.OursText)

	resp, err := d.c.ApplyStaged(bg, []uint64{in.ID})
	require.NoError(t, err)
	require.NotNil(t, resp.Report)
	assert.Empty(t, resp.Error)
	require.NotNil(t, resp.Synced, resp.SyncError)
	assert.Equal(t, "from b\n", readFile(d.dirA, "in.txt"))

	resp, err = d.c.RejectStaged(bg, []uint64{out.ID})
	require.NoError(t, err)
	require.NotNil(t, resp.Synced, resp.SyncError)
	assert.Equal(t, "<absent>", readFile(d.dirA, "out.txt"))
	assert.Equal(t, "<absent>", readFile(d.dirB, "out.txt"), "the rejected creation is undone on the peer")
	items, err = d.c.Staged(bg)
	require.NoError(t, err)
	assert.Empty(t, items)

	_, err = d.c.StagedDetail(bg, in.ID)
	var ce *control.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, control.CodeNotFound, ce.Code)
	assert.ErrorIs(t, err, engine.ErrNotStaged)
	assert.Contains(t, ce.Advice, "ctl staged list")
	_, err = d.c.RejectStaged(bg, nil)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, control.CodeBadRequest, ce.Code)
}
