package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/transporttest"
)

// withoutBatch makes a side speak as one from before batches.
func withoutBatch() Option { return withoutCaps(capBatch) }

// countingLocal is a local endpoint that counts the batches and the
// single applies it is given.
type countingLocal struct {
	*local.Endpoint
	batches, ops, applies atomic.Int64
}

func (c *countingLocal) ApplyBatch(ctx context.Context, ops []zerosync.BatchOp) []error {
	c.batches.Add(1)
	c.ops.Add(int64(len(ops)))
	return c.Endpoint.ApplyBatch(ctx, ops)
}

func (c *countingLocal) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	c.applies.Add(1)
	return c.Endpoint.Apply(ctx, op, content)
}

func batchOfFiles(n int) []zerosync.BatchOp {
	ops := make([]zerosync.BatchOp, n)
	for i := range ops {
		data := []byte(fmt.Sprintf("file %d\n", i))
		ops[i] = zerosync.BatchOp{Op: zerosync.Op{Path: fmt.Sprintf("f%03d", i), New: fileEntry(data, 0o644)}, Content: bytes.NewReader(data)}
	}
	return ops
}

func TestApplyBatchOneRequest(t *testing.T) {
	root := newRoot(t)
	var agent *countingLocal
	open := func(ctx context.Context, root string) (zerosync.Endpoint, error) {
		l, err := local.New(root)
		agent = &countingLocal{Endpoint: l}
		return agent, err
	}
	cn := connect(t, open, nil)
	ep := cn.endpoint(t, root)
	before := cn.c.Stats()
	ops := batchOfFiles(200)
	big := pattern(300<<10, 5) // sent on its own
	ops = append(ops, zerosync.BatchOp{Op: zerosync.Op{Path: "big", New: fileEntry(big, 0o644)}, Content: bytes.NewReader(big)})
	for i, err := range ep.ApplyBatch(t.Context(), ops) {
		require.NoError(t, err, "op %d", i)
	}
	for i := range 200 {
		expectBytes(t, filepath.Join(root, fmt.Sprintf("f%03d", i)), []byte(fmt.Sprintf("file %d\n", i)))
	}
	expectBytes(t, filepath.Join(root, "big"), big)
	assert.Equal(t, int64(1), agent.batches.Load(), "the small files travel in one request")
	assert.Equal(t, int64(200), agent.ops.Load())
	assert.Equal(t, int64(1), agent.applies.Load(), "the large file goes on its own")
	after := cn.c.Stats()
	assert.Equal(t, int64(201), after.FilesSent-before.FilesSent)
	// The batch's request, its records and its end go in a few frames.
	assert.Less(t, after.FramesSent-before.FramesSent, int64(40))
}

func TestApplyBatchOldAgent(t *testing.T) {
	for _, c := range []struct {
		name         string
		sopts, copts []Option
	}{
		{"old-agent", []Option{withoutBatch()}, nil},
		{"old-client", nil, []Option{withoutBatch()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot(t)
			var agent *countingLocal
			open := func(ctx context.Context, root string) (zerosync.Endpoint, error) {
				l, err := local.New(root)
				agent = &countingLocal{Endpoint: l}
				return agent, err
			}
			cn := connect(t, open, c.sopts, c.copts...)
			ep := cn.endpoint(t, root)
			require.Zero(t, cn.c.caps&capBatch)
			ops := batchOfFiles(20)
			for i, err := range ep.ApplyBatch(t.Context(), ops) {
				require.NoError(t, err, "op %d", i)
			}
			assert.Zero(t, agent.batches.Load())
			assert.Equal(t, int64(20), agent.applies.Load(), "one apply request per op")
			expectBytes(t, filepath.Join(root, "f019"), []byte("file 19\n"))
		})
	}
}

func TestApplyBatchErrorsPerOp(t *testing.T) {
	ep, _, root := remoteLocal(t)
	writeFile(t, filepath.Join(root, "taken"), []byte("here"), 0o644)
	ok := []byte("ok")
	ops := []zerosync.BatchOp{
		{Op: zerosync.Op{Path: "a", New: fileEntry(ok, 0o644)}, Content: bytes.NewReader(ok)},
		{Op: zerosync.Op{Path: "taken", New: fileEntry(ok, 0o644)}, Content: bytes.NewReader(ok)},
		{Op: zerosync.Op{Path: "liar", New: fileEntry(ok, 0o644)}, Content: bytes.NewReader([]byte("no"))},
		{Op: zerosync.Op{Path: "missing/x", New: fileEntry(ok, 0o644)}, Content: bytes.NewReader(ok)},
		{Op: zerosync.Op{Path: "b", New: fileEntry(ok, 0o644)}, Content: bytes.NewReader(ok)},
	}
	errs := ep.ApplyBatch(t.Context(), ops)
	require.Len(t, errs, 5)
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], zerosync.ErrChanged)
	assert.ErrorIs(t, errs[2], zerosync.ErrDigestMismatch)
	assert.ErrorIs(t, errs[3], zerosync.ErrChanged)
	assert.NoError(t, errs[4])
	var pe *zerosync.PathError
	require.ErrorAs(t, errs[1], &pe)
	assert.Equal(t, "taken", pe.Path)
	expectBytes(t, filepath.Join(root, "taken"), []byte("here"))
}

// A hostile client's batches: lies about sizes and counts, records that
// do not parse, paths out of the root. Each is refused with a clear error,
// and nothing is written outside the root.
func TestHostileClientBatches(t *testing.T) {
	sb := newSandbox(t)
	p, served := fakeClient(t, sb.root, capAll)
	data := []byte("payload")
	records := func(ops ...zerosync.Op) []byte {
		var e encoder
		for _, op := range ops {
			var content []byte
			if op.New != nil && op.New.Kind == zerosync.KindFile {
				content = data[:op.New.Size]
			}
			appendBatchRecord(&e, op, content)
		}
		return e.B
	}
	req := func(count, size int) []byte {
		return request{typ: tApplyBatch, handle: 1, batch: batchHeader{count: uint64(count), size: uint64(size)}}.encode()
	}
	id := uint64(100)
	// More bytes than declared.
	id++
	rec := records(zerosync.Op{Path: "x", New: fileEntry(data, 0o644)})
	p.send(tApplyBatch, id, req(1, len(rec)-1))
	p.send(tData, id, rec)
	p.send(tEnd, id, nil)
	p.expectError(id, ErrProtocol, "more than the")
	// Fewer.
	id++
	p.send(tApplyBatch, id, req(1, len(rec)+5))
	p.send(tData, id, rec)
	p.send(tEnd, id, nil)
	p.expectError(id, ErrProtocol, "declared")
	// More ops than the records hold, and content cut short.
	id++
	p.send(tApplyBatch, id, req(2, len(rec)))
	p.send(tData, id, rec)
	p.send(tEnd, id, nil)
	p.expectError(id, ErrProtocol, "apply-batch records")
	id++
	cutRec := rec[:len(rec)-2]
	p.send(tApplyBatch, id, req(1, len(cutRec)))
	p.send(tData, id, cutRec)
	p.send(tEnd, id, nil)
	p.expectError(id, ErrProtocol, "content")
	// Paths out of the root fail per op; the good op is applied.
	id++
	rec = records(
		zerosync.Op{Path: "../sentinel", New: fileEntry(data, 0o644)},
		zerosync.Op{Path: filepath.Join(sb.parent, "sentinel"), New: fileEntry(data, 0o644)},
		zerosync.Op{Path: ".zerosync/x", New: fileEntry(data, 0o644)},
		zerosync.Op{Path: "good", New: fileEntry(data, 0o644)},
		zerosync.Op{Path: "lie", New: fileEntry(data[:3], 0o644)},
	)
	// The last op declares 3 bytes but its digest is of 3: it holds.
	p.send(tApplyBatch, id, req(5, len(rec)))
	p.send(tData, id, rec)
	p.send(tEnd, id, nil)
	var fails []batchFailure
	for {
		f := p.next()
		if f.typ == tResult {
			break
		}
		require.Equal(t, tData, f.typ, "frame %s", f.typ)
		got, err := decodeBatchFailures(f.payload, 5, -1)
		require.NoError(t, err)
		fails = append(fails, got...)
	}
	require.Len(t, fails, 3)
	for k, want := range []error{zerosync.ErrInvalidPath, zerosync.ErrInvalidPath, zerosync.ErrReserved} {
		assert.Equal(t, uint64(k), fails[k].index)
		assert.ErrorIs(t, fails[k].err, want)
	}
	// Requests out of bounds are refused before anything is read.
	for _, c := range []struct {
		count, size int
		text        string
	}{
		{0, 10, "a batch of 0 ops"},
		{maxBatchOps + 1, maxBatchWire, "a batch of 1025 ops"},
		{1, maxBatchWire + 1, "bytes"},
		{10, 5, "bytes"},
	} {
		p2, served2 := fakeClient(t, sb.root, capAll)
		p2.send(tApplyBatch, 7, req(c.count, c.size))
		p2.expectGoaway(c.text)
		<-served2
	}
	sb.check(t, "existing", "good", "lie")
	p.c.Close()
	require.NoError(t, <-served)
}

func TestHostileClientBatchUnagreed(t *testing.T) {
	sb := newSandbox(t)
	p, served := fakeClient(t, sb.root, capAll&^capBatch)
	p.send(tApplyBatch, 5, request{typ: tApplyBatch, handle: 1, batch: batchHeader{count: 1, size: 10}}.encode())
	p.expectGoaway("apply-batch request, but batches were not agreed")
	require.Error(t, <-served)
}

// An agent that answers a batch with outcomes out of bounds is cut off.
func TestHostileAgentBatchOutcomes(t *testing.T) {
	for _, c := range []struct {
		name    string
		answer  func(p *rawPeer, id uint64)
		text    string
		isProto bool
	}{
		{"index-out-of-range", func(p *rawPeer, id uint64) {
			var e encoder
			appendBatchFailure(&e, 5, errors.New("no"))
			p.send(tData, id, e.B)
		}, "outcome of op 5", true},
		{"count-mismatch", func(p *rawPeer, id uint64) {
			var e encoder
			e.Uvarint(2)
			p.send(tResult, id, e.B)
		}, "counts 2 failures", true},
		{"batch-error", func(p *rawPeer, id uint64) {
			p.send(tError, id, encodeError(fmt.Errorf("disk on fire: %w", zerosync.ErrTooLarge)))
		}, "disk on fire", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ep := fakeEndpoint(t, func(p *rawPeer) {
				f := p.next()
				if f.typ != tApplyBatch {
					t.Errorf("request %s", f.typ)
					return
				}
				for f.typ != tEnd {
					f = p.next()
				}
				c.answer(p, f.id)
			})
			errs := ep.ApplyBatch(t.Context(), batchOfFiles(2))
			require.Len(t, errs, 2)
			for _, err := range errs {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.text)
				if c.isProto {
					assert.ErrorIs(t, err, ErrProtocol)
				}
			}
		})
	}
}

func TestBatchConformanceOldAgent(t *testing.T) {
	t.Run("kind=remote-without-batches", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) transporttest.Harness {
			root := newRoot(t)
			cn := connect(t, openLocal, []Option{withoutBatch()})
			return harness(cn.endpoint(t, root), root)
		})
	})
}

func FuzzBatchHeader(f *testing.F) {
	fuzzRequest(f, tApplyBatch)
}

func FuzzBatchRecords(f *testing.F) {
	var e encoder
	appendBatchRecord(&e, zerosync.Op{Path: "a", New: fileEntry([]byte("xy"), 0o644)}, []byte("xy"))
	appendBatchRecord(&e, zerosync.Op{Path: "d/l", Old: &zerosync.Entry{Kind: zerosync.KindSymlink, Target: "t"}}, nil)
	f.Add(e.B, 2)
	f.Add(e.B[:5], 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, b []byte, count int) {
		ops, err := decodeBatchRecords(b, count)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		if len(ops) != count {
			t.Fatalf("%d ops decoded, %d declared", len(ops), count)
		}
		var again encoder
		for _, op := range ops {
			var content []byte
			if op.Content != nil {
				content, _ = io.ReadAll(op.Content)
			}
			appendBatchRecord(&again, op.Op, content)
		}
		if _, err := decodeBatchRecords(again.B, count); err != nil {
			t.Fatalf("re-encoded records do not decode: %v", err)
		}
	})
}

func FuzzBatchFailures(f *testing.F) {
	var e encoder
	appendBatchFailure(&e, 0, zerosync.ErrChanged)
	appendBatchFailure(&e, 3, errors.New("x"))
	f.Add(e.B, 4, int64(-1))
	f.Add([]byte{}, 1, int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, count int, last int64) {
		fs, err := decodeBatchFailures(b, count, last)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		prev := last
		for _, bf := range fs {
			if int64(bf.index) <= prev || bf.index >= uint64(count) {
				t.Fatalf("outcome of op %d accepted after %d in a batch of %d", bf.index, prev, count)
			}
			prev = int64(bf.index)
		}
	})
}

// An engine pushing many small files to an agent hands them over in
// batches, and what the agent's endpoint writes is what was asked.
func TestEngineBatchesOverRemote(t *testing.T) {
	mine, theirs := newRoot(t), newRoot(t)
	for i := range 300 {
		writeFile(t, filepath.Join(mine, fmt.Sprintf("d%d/f%03d.txt", i%3, i)), fmt.Appendf(nil, "mine %d\n", i), 0o644)
	}
	var agent *countingLocal
	open := func(ctx context.Context, root string) (zerosync.Endpoint, error) {
		l, err := local.New(root)
		agent = &countingLocal{Endpoint: l}
		return agent, err
	}
	cn := connect(t, open, nil)
	rep := cn.endpoint(t, theirs)
	lep, err := local.New(mine)
	require.NoError(t, err)
	defer lep.Close()
	e, err := engine.New(engine.Peer{Name: "here", Endpoint: lep}, []engine.Peer{{Name: "there", Endpoint: rep}}, engine.WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	r, err := e.SyncOnce(t.Context())
	require.NoError(t, err)
	require.Empty(t, r.Problems)
	sameTrees(t, mine, theirs)
	assert.Equal(t, int64(303), agent.ops.Load(), "every folder and every file went in a batch")
	assert.LessOrEqual(t, agent.batches.Load(), int64(5))
	assert.Zero(t, agent.applies.Load(), "nothing went alone")

	// Ten edits: one batch, the old versions archived there.
	for i := range 10 {
		writeFile(t, filepath.Join(mine, fmt.Sprintf("d%d/f%03d.txt", i%3, i)), fmt.Appendf(nil, "edit %d\n", i), 0o644)
	}
	before := agent.batches.Load()
	r, err = e.SyncOnce(t.Context())
	require.NoError(t, err)
	require.Empty(t, r.Problems)
	require.Len(t, r.Applied, 10)
	sameTrees(t, mine, theirs)
	assert.Equal(t, before+1, agent.batches.Load())
	kept, err := transporttest.Archived(filepath.Join(theirs, zerosync.StateDirName, "archive"), "d0/f000.txt")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("mine 0\n")}, kept)
}
