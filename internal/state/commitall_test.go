package state

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
)

func TestCommitAllInOrderAcrossPairs(t *testing.T) {
	db, _ := openDB(t)
	p, q := db.Pair("p"), db.Pair("q")
	recs := []Record{{Path: "a", Op: "create"}}
	errs := db.CommitAll(context.Background(), []PairChange{
		{Pair: p, Change: Change{Base: map[string]*zerosync.Entry{"a": file("one", 0o644), "b": file("b", 0o644)}, Journal: recs}},
		{Pair: q, Change: Change{Base: map[string]*zerosync.Entry{"a": file("q", 0o644)}}},
		// The same pair again: sees the first change and goes over it.
		{Pair: p, Change: Change{Base: map[string]*zerosync.Entry{"a": file("two", 0o644), "b": nil}}},
	})
	require.Equal(t, []error{nil, nil, nil}, errs)
	assert.Equal(t, uint64(1), recs[0].Seq, "the journal record got its sequence number")
	checkSnapshot(t, mustBase(t, p), zerosync.Snapshot{"a": *file("two", 0o644)})
	checkSnapshot(t, mustBase(t, q), zerosync.Snapshot{"a": *file("q", 0o644)})
	db = reopen(t, db)
	checkSnapshot(t, mustBase(t, db.Pair("p")), zerosync.Snapshot{"a": *file("two", 0o644)})
}

func TestCommitAllLeavesOutABadChangeOnly(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	bad := Change{Base: map[string]*zerosync.Entry{"../escape": file("x", 0o644)}}
	other, _ := openDB(t)
	errs := db.CommitAll(context.Background(), []PairChange{
		{Pair: p, Change: Change{Base: map[string]*zerosync.Entry{"a": file("a", 0o644)}}},
		{Pair: p, Change: bad},
		{Pair: db.Pair(""), Change: Change{}},
		{Pair: other.Pair("p"), Change: Change{}},
	})
	require.Len(t, errs, 4)
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], zerosync.ErrInvalidPath)
	assert.ErrorIs(t, errs[2], ErrInvalid)
	assert.ErrorIs(t, errs[3], ErrInvalid)
	checkSnapshot(t, mustBase(t, p), zerosync.Snapshot{"a": *file("a", 0o644)})
}

func TestCommitAllCancelledAppliesNone(t *testing.T) {
	db, _ := openDB(t)
	p, q := db.Pair("p"), db.Pair("q")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errs := db.CommitAll(ctx, []PairChange{
		{Pair: p, Change: Change{Base: map[string]*zerosync.Entry{"a": file("a", 0o644)}}},
		{Pair: q, Change: Change{Base: map[string]*zerosync.Entry{"a": file("a", 0o644)}}},
	})
	for _, err := range errs {
		assert.ErrorIs(t, err, context.Canceled)
	}
	assert.Empty(t, mustBase(t, p))
	assert.Empty(t, mustBase(t, q))
}
