package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// batching is a memory endpoint that takes batches: it records each batch
// and applies its ops one by one, after calling before (when set).
type batching struct {
	*memory.Endpoint
	mu      sync.Mutex
	batches [][]zerosync.Op
	before  func(ops []zerosync.BatchOp)
}

func (b *batching) ApplyBatch(ctx context.Context, ops []zerosync.BatchOp) []error {
	b.mu.Lock()
	rec := make([]zerosync.Op, len(ops))
	for i := range ops {
		rec[i] = ops[i].Op
	}
	b.batches = append(b.batches, rec)
	before := b.before
	b.mu.Unlock()
	if before != nil {
		before(ops)
	}
	errs := make([]error, len(ops))
	for i, op := range ops {
		errs[i] = b.Apply(ctx, op.Op, op.Content)
	}
	return errs
}

func (b *batching) ops() []zerosync.Op {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []zerosync.Op
	for _, ops := range b.batches {
		out = append(out, ops...)
	}
	return out
}

func batchPair(t *testing.T) (*engine.Engine, *memory.Endpoint, *batching) {
	t.Helper()
	a := memory.New(memory.WithName("a"))
	b := &batching{Endpoint: memory.New(memory.WithName("b"))}
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	return e, a, b
}

func TestBatchCarriesFiles(t *testing.T) {
	e, a, b := batchPair(t)
	for i := range 40 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("d%d/f%02d", i%4, i), []byte(fmt.Sprintf("file %d\n", i)), 0o644))
	}
	require.NoError(t, a.WriteFile("big", []byte(strings.Repeat("x", 3<<20)), 0o644))
	rep := syncOK(t, e)
	assert.Equal(t, a.Contents(), b.Contents())
	require.Len(t, b.batches, 2, "the folders in one batch, then the files in one")
	assert.Len(t, b.batches[0], 4)
	assert.Len(t, b.batches[1], 41)
	var want int64 = 3 << 20
	for i := range 40 {
		want += int64(len(fmt.Sprintf("file %d\n", i)))
	}
	assert.Equal(t, want, rep.Bytes)

	// Updates are archived as Apply's are.
	for i := range 10 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("d%d/f%02d", i%4, i), []byte(fmt.Sprintf("edit %d\n", i)), 0o644))
	}
	b.batches = nil
	syncOK(t, e)
	assert.Equal(t, a.Contents(), b.Contents())
	ops := b.ops()
	require.Len(t, ops, 10)
	for _, op := range ops {
		assert.True(t, op.Archive, op.Path)
		assert.NotNil(t, op.Old, op.Path)
	}
}

// New folders go to the endpoint a depth at a time, shallowest first: the
// folders of one depth do not depend on each other, each depth depends on
// the one before.
func TestBatchFoldersByDepth(t *testing.T) {
	e, a, b := batchPair(t)
	for _, d := range []string{"x/y/z", "m", "x/q", "p/r"} {
		require.NoError(t, a.Mkdir(d, 0o755))
	}
	syncOK(t, e)
	assert.Equal(t, a.Contents(), b.Contents())
	var got [][]string
	for _, ops := range b.batches {
		var paths []string
		for _, op := range ops {
			paths = append(paths, op.Path)
		}
		got = append(got, paths)
	}
	// x/y/z, alone at its depth, is applied alone, after the others.
	assert.Equal(t, [][]string{{"m", "p", "x"}, {"p/r", "x/q", "x/y"}}, got)
}

func TestBatchChangedUnderOurFeet(t *testing.T) {
	e, a, b := batchPair(t)
	for i := range 6 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("f%d", i), []byte("base"), 0o644))
	}
	syncOK(t, e)
	for i := range 6 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("f%d", i), []byte(fmt.Sprintf("new %d", i)), 0o644))
	}
	// A person edits f3 on b between the scan and the apply.
	b.before = func([]zerosync.BatchOp) {
		b.before = nil
		require.NoError(t, b.WriteFile("f3", []byte("edited meanwhile"), 0o644))
	}
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	assert.Empty(t, rep.Problems, "a change under our feet is not a problem")
	assert.Len(t, rep.Applied, 5)
	got, _ := b.ReadFile("f3")
	assert.Equal(t, "edited meanwhile", string(got), "never overwritten")

	rep = syncOK(t, e)
	require.Len(t, rep.Conflicts, 1, "the next cycle sees both edits")
	assert.Equal(t, "f3", rep.Conflicts[0].Path)
	syncOK(t, e)
	assert.Equal(t, a.Contents(), b.Contents())
}

func TestBatchLyingSource(t *testing.T) {
	ours := &batching{Endpoint: memory.New()}
	peer := &liar{Endpoint: memory.New(),
		snap: zerosync.Snapshot{
			"short": fileEntry("twelve bytes"),
			"long":  fileEntry("ok"),
			"other": fileEntry("expected"),
			"good":  fileEntry("good"),
		},
		lying: map[string][]byte{"short": []byte("12"), "long": []byte(strings.Repeat("x", 1<<20)), "other": []byte("tampered"), "good": []byte("good")},
	}
	e, err := engine.New(engine.Peer{Name: "ours", Endpoint: ours}, []engine.Peer{{Name: "evil", Endpoint: peer}}, engine.WithVolatileState())
	require.NoError(t, err)
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Problems, 3)
	for _, pr := range rep.Problems {
		assert.ErrorIs(t, pr.Err, zerosync.ErrDigestMismatch, pr.Path)
		assert.Contains(t, pr.Err.Error(), pr.Path)
	}
	assert.Equal(t, map[string]string{"good": "good"}, ours.Contents())
	assert.NotEmpty(t, ours.batches)
}

func TestBatchConflictKeepsBoth(t *testing.T) {
	e, a, b := batchPair(t)
	require.NoError(t, a.WriteFile("doc.bin", []byte{0, 1, 2}, 0o644))
	require.NoError(t, a.WriteFile("other", []byte("o"), 0o644))
	syncOK(t, e)
	require.NoError(t, a.WriteFile("doc.bin", []byte{0, 1, 2, 'a'}, 0o644))
	require.NoError(t, b.WriteFile("doc.bin", []byte{0, 1, 2, 'b'}, 0o644))
	for i := range 5 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("n%d", i), []byte("n"), 0o644))
	}
	b.batches = nil
	rep := syncOK(t, e)
	require.Len(t, rep.Conflicts, 1)
	cr := rep.Conflicts[0]
	assert.True(t, cr.Resolution.KeepOther)
	syncOK(t, e)
	assert.Equal(t, a.Contents(), b.Contents())
	cp, err := a.ReadFile(cr.CopyPath)
	require.NoError(t, err)
	assert.Equal(t, "\x00\x01\x02b", string(cp), "theirs is kept beside ours")
	var archived []string
	for _, x := range b.Archive() {
		archived = append(archived, string(x.Data))
	}
	assert.Contains(t, archived, "\x00\x01\x02b", "and in their archive")
	var sawDoc bool
	for _, op := range b.ops() {
		if op.Path == "doc.bin" {
			sawDoc = true
			assert.True(t, op.Archive)
		}
	}
	assert.True(t, sawDoc, "the settled conflict went in a batch")
}
