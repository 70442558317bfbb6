package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/codec"
)

// Batches: with the batch capability, the client sends many ops in one
// apply-batch request (handle, the number of ops, the bytes of their
// records), then data frames that hold, one after another, each op and,
// for a file, exactly its declared size of content, then end. The agent
// reads the whole batch (within the limits below), hands it to its
// endpoint's ApplyBatch, and answers with data frames that hold, for each
// op that failed, its index and its error, then a result with the number
// of failures.

// Limits of a batch.
const (
	// maxBatchOps bounds the ops of one apply-batch request.
	maxBatchOps = 1024
	// maxBatchWire bounds the bytes of a batch's records, content included.
	maxBatchWire = 8 << 20
	// maxBatchesHeld bounds the batches an agent holds in memory at once
	// on one connection; a request beyond them waits (flow control holds
	// its sender).
	maxBatchesHeld = 4
	// batchInline is the largest file the client sends in a batch; a
	// larger one goes in an apply request of its own (with delta transfer
	// and resumption), at the same time.
	batchInline = 256 << 10
	// batchSingles bounds those apply requests in flight for one batch.
	batchSingles = 8
)

var _ zerosync.BatchApplier = (*Endpoint)(nil)

// batchHeader is the body of an apply-batch request after the handle.
type batchHeader struct {
	count uint64 // ops
	size  uint64 // bytes of the records that follow
}

func (h batchHeader) encode(e *encoder) {
	e.Uvarint(h.count)
	e.Uvarint(h.size)
}

func (d *decoder) batchHeader() batchHeader {
	h := batchHeader{count: d.Uvarint("ops"), size: d.Uvarint("bytes")}
	if d.Err != nil {
		return h
	}
	if h.count == 0 || h.count > maxBatchOps {
		d.Fail("a batch of %d ops (1 to %d)", h.count, maxBatchOps)
	}
	// An op takes at least 3 bytes: a path length, a path byte, flags.
	if h.size < 3*h.count || h.size > maxBatchWire {
		d.Fail("a batch of %d ops in %d bytes (at most %d)", h.count, h.size, maxBatchWire)
	}
	return h
}

// appendBatchRecord appends op and its content to a batch's records.
func appendBatchRecord(e *encoder, op zerosync.Op, content []byte) {
	e.op(op)
	e.Raw(content)
}

// decodeBatchRecords decodes the records of a batch of count ops: each op
// and, when it makes a file, the content of the size it declares. The
// contents are slices of b.
func decodeBatchRecords(b []byte, count int) ([]zerosync.BatchOp, error) {
	d := newDecoder("apply-batch records", b)
	if count <= 0 || count > maxBatchOps {
		d.Fail("a batch of %d ops (1 to %d)", count, maxBatchOps)
		return nil, d.End()
	}
	ops := make([]zerosync.BatchOp, 0, min(count, len(b)/3+1))
	for range count {
		op := d.op("op")
		if d.Err != nil {
			break
		}
		bo := zerosync.BatchOp{Op: op}
		if op.New != nil && op.New.Kind == zerosync.KindFile {
			if op.New.Size > int64(len(d.B)) {
				d.Fail("op %q declares %d bytes of content, %d are left", cut(op.Path, 64), op.New.Size, len(d.B))
				break
			}
			bo.Content = bytes.NewReader(d.RawN("content", int(op.New.Size)))
		}
		ops = append(ops, bo)
	}
	if err := d.End(); err != nil {
		return nil, err
	}
	return ops, nil
}

// batchFailure is one failed op of a batch, as the agent reports it.
type batchFailure struct {
	index uint64
	err   *RemoteError
}

// appendBatchFailure appends a failed op's outcome.
func appendBatchFailure(e *encoder, i int, err error) {
	e.Uvarint(uint64(i))
	appendError(e, err)
}

// decodeBatchFailures decodes a data frame of a batch's outcomes: failures
// of ops below count, in increasing order, each after last (-1 for the
// first frame).
func decodeBatchFailures(b []byte, count int, last int64) ([]batchFailure, error) {
	d := newDecoder("apply-batch outcomes", b)
	var out []batchFailure
	for d.Err == nil && len(d.B) > 0 {
		i := d.Uvarint("index")
		re := d.remoteError("error")
		if d.Err != nil {
			break
		}
		if i >= uint64(count) || int64(i) <= last {
			d.Fail("outcome of op %d: the batch has %d ops, and op %d came before", i, count, last)
			break
		}
		last = int64(i)
		out = append(out, batchFailure{index: i, err: re})
	}
	if err := d.End(); err != nil {
		return nil, err
	}
	return out, nil
}

// ApplyBatch applies ops on the agent's host; see [zerosync.BatchApplier].
// Files up to 256 KiB, symlinks, directories and removals travel in
// apply-batch requests, their content inline, several requests at once;
// the agent hands each to its endpoint's ApplyBatch, which makes it
// durable together. Larger files go in apply requests of their own at the
// same time (as [Endpoint.Apply], with delta transfer). Content is checked
// against each op's size and digest before it is sent: content that lies
// fails here with [zerosync.ErrDigestMismatch] and is not sent. An agent
// without batches gets an apply request per op, several in flight.
func (e *Endpoint) ApplyBatch(ctx context.Context, ops []zerosync.BatchOp) []error {
	errs := make([]error, len(ops))
	var singles, inline []int
	for i, bo := range ops {
		if err := e.checkBatchOp(ctx, bo); err != nil {
			errs[i] = e.perr("apply", bo.Path, err)
			continue
		}
		isFile := bo.New != nil && bo.New.Kind == zerosync.KindFile
		if e.c.caps&capBatch == 0 || isFile && (bo.New.Size > batchInline || e.resumable(bo.Op) || e.useDelta(bo.Op)) {
			singles = append(singles, i)
		} else {
			inline = append(inline, i)
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, batchSingles)
	for _, i := range singles {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			errs[i] = e.perr("apply", ops[i].Path, ctx.Err())
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = e.Apply(ctx, ops[i].Op, ops[i].Content)
		})
	}
	// The inline ops, cut into requests within the limits, each sent as
	// soon as it is full.
	held := make(chan struct{}, maxBatchesHeld)
	// A request's records, in a buffer of about the size of what is left
	// to send, up to the limit (a record that would take it past the limit
	// goes in the next request): no buffer grows by copying.
	left := 0
	for _, i := range inline {
		left += recordSize(ops[i].Op)
	}
	newRec := func() encoder {
		return encoder{codec.Writer{B: make([]byte, 0, min(left, maxBatchWire/2))}}
	}
	rec := newRec()
	var idx []int
	flush := func() {
		if len(idx) == 0 {
			return
		}
		body, in := rec.B, idx
		rec, idx = newRec(), nil
		select {
		case held <- struct{}{}:
		case <-ctx.Done():
			for _, i := range in {
				errs[i] = e.perr("apply", ops[i].Path, ctx.Err())
			}
			return
		}
		wg.Go(func() {
			defer func() { <-held }()
			e.sendBatch(ctx, ops, in, body, errs)
		})
	}
	var one encoder // the record of one op, reused
	for _, i := range inline {
		bo := ops[i]
		var data []byte
		if bo.New != nil && bo.New.Kind == zerosync.KindFile {
			var err error
			if data, err = readSmall(bo.Content, bo.New); err != nil {
				errs[i] = e.perr("apply", bo.Path, err)
				continue
			}
		}
		left -= recordSize(bo.Op)
		one.B = one.B[:0]
		appendBatchRecord(&one, bo.Op, data)
		if len(idx) == maxBatchOps || len(rec.B)+len(one.B) > maxBatchWire/2 {
			flush()
		}
		rec.B = append(rec.B, one.B...)
		idx = append(idx, i)
	}
	flush()
	wg.Wait()
	return errs
}

// recordSize is about the size of op's record in a batch, content
// included: not less, for an op within the limits of the protocol.
func recordSize(op zerosync.Op) int {
	n := 2 * (len(op.Path) + 128)
	for _, e := range []*zerosync.Entry{op.Old, op.New} {
		if e != nil {
			n += len(e.Target) + 128
		}
	}
	if op.New != nil && op.New.Kind == zerosync.KindFile {
		n += int(min(op.New.Size, batchInline))
	}
	return n
}

// checkBatchOp checks an op before it goes anywhere, as Apply does.
func (e *Endpoint) checkBatchOp(ctx context.Context, bo zerosync.BatchOp) error {
	if err := e.usable(ctx); err != nil {
		return err
	}
	if err := zerosync.CheckPath(bo.Path); err != nil {
		return err
	}
	if bo.Old == nil && bo.New == nil {
		return errors.New("an op must have an old or a new entry")
	}
	if err := checkOp(bo.Op); err != nil {
		return err
	}
	if bo.New != nil && bo.New.Kind == zerosync.KindFile && bo.Content == nil {
		return fmt.Errorf("%w: no content for a file", zerosync.ErrDigestMismatch)
	}
	return nil
}

// sendBatch sends the ops of ops at idx, whose records are body, in one
// apply-batch request, and sets their errors from the agent's answer.
func (e *Endpoint) sendBatch(ctx context.Context, ops []zerosync.BatchOp, idx []int, body []byte, errs []error) {
	fail := func(err error) {
		for _, i := range idx {
			if errs[i] == nil {
				errs[i] = e.perr("apply", ops[i].Path, err)
			}
		}
	}
	req := request{handle: e.handle, batch: batchHeader{count: uint64(len(idx)), size: uint64(len(body))}}
	chunk := e.c.m.link.chunk
	var more []outFrame
	if len(body) <= chunk {
		// A small batch goes out with its request in one write.
		more = []outFrame{{typ: tData, payload: body}, {typ: tEnd}}
	}
	st, err := e.c.start(ctx, tApplyBatch, req, more...)
	if err != nil {
		fail(err)
		return
	}
	defer e.c.finish(st)
	err = func() error {
		if more != nil {
			return nil
		}
		for len(body) > 0 {
			n := min(len(body), chunk)
			if err := st.send(ctx, tData, body[:n], true); err != nil {
				return err
			}
			body = body[n:]
		}
		return st.send(ctx, tEnd, nil, false)
	}()
	if err != nil && !errors.Is(err, errPeerDone) {
		fail(err)
		return
	}
	failed := map[uint64]*RemoteError{}
	last := int64(-1)
	for {
		f, err := st.next(ctx)
		if err != nil {
			fail(err)
			return
		}
		switch f.typ {
		case tData:
			fs, err := decodeBatchFailures(f.payload, len(idx), last)
			if err != nil {
				fail(e.c.violation(err))
				return
			}
			for _, bf := range fs {
				failed[bf.index] = bf.err
				last = int64(bf.index)
			}
			continue
		case tResult:
			d := newDecoder("apply-batch result", f.payload)
			n := d.Uvarint("failures")
			err := d.End()
			if err == nil && n != uint64(len(failed)) {
				err = protoErr("apply-batch result counts %d failures, the outcomes held %d", n, len(failed))
			}
			if err != nil {
				fail(e.c.violation(err))
				return
			}
		case tError:
			fail(e.c.remoteErr(f))
			return
		default:
			fail(e.c.violation(protoErr("%s frame in the answer to a batch", f.typ)))
			return
		}
		break
	}
	for k, i := range idx {
		if re := failed[uint64(k)]; re != nil {
			errs[i] = e.perr("apply", ops[i].Path, re)
			continue
		}
		if bo := ops[i]; bo.New != nil && bo.New.Kind == zerosync.KindFile {
			e.c.filesSent.Add(1)
		}
	}
}

// applyBatch reads a batch of ops, applies it with the endpoint's
// ApplyBatch (or Apply for each op, for an endpoint without batches), and
// answers with the failures.
func (s *server) applyBatch(ctx context.Context, st *stream, r *served, h batchHeader) error {
	select {
	case s.batches <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.batches }()
	buf := make([]byte, 0, min(h.size, 1<<20))
	for done := false; !done; {
		f, err := st.next(ctx)
		if err != nil {
			return err
		}
		switch f.typ {
		case tData:
			if uint64(len(buf))+uint64(len(f.payload)) > h.size {
				return fmt.Errorf("%w: apply-batch: the client sends more than the %d bytes it declared", ErrProtocol, h.size)
			}
			buf = append(buf, f.payload...)
		case tEnd:
			done = true
		case tError:
			re, err := decodeError(f.payload)
			if err != nil {
				return err
			}
			return fmt.Errorf("the client gave up: %w", re)
		default:
			return protoErr("%s frame in a batch", f.typ)
		}
	}
	if uint64(len(buf)) != h.size {
		return fmt.Errorf("%w: apply-batch: the client sent %d of the %d bytes it declared", ErrProtocol, len(buf), h.size)
	}
	ops, err := decodeBatchRecords(buf, int(h.count))
	if err != nil {
		return err
	}
	errs := make([]error, len(ops))
	var good []zerosync.BatchOp
	var at []int
	for i, bo := range ops {
		if err := zerosync.CheckPath(bo.Path); err != nil {
			errs[i] = err
			continue
		}
		good = append(good, bo)
		at = append(at, i)
	}
	if len(good) > 0 {
		for k, err := range applyOps(ctx, r.ep, good) {
			errs[at[k]] = err
		}
	}
	var out encoder
	failures := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		failures++
		var one encoder
		appendBatchFailure(&one, i, err)
		if len(out.B)+len(one.B) > st.m.link.chunk {
			if err := st.send(ctx, tData, out.B, true); err != nil {
				return err
			}
			out = encoder{}
		}
		out.B = append(out.B, one.B...)
	}
	if len(out.B) > 0 {
		if err := st.send(ctx, tData, out.B, true); err != nil {
			return err
		}
	}
	var res encoder
	res.Uvarint(uint64(failures))
	return st.send(ctx, tResult, res.B, false)
}

// applyOps applies ops on ep as one batch, or one by one when ep does not
// take batches; the result has an error per op.
func applyOps(ctx context.Context, ep zerosync.Endpoint, ops []zerosync.BatchOp) []error {
	errs := zerosync.ApplyBatch(ctx, ep, ops)
	if len(errs) != len(ops) {
		err := fmt.Errorf("the endpoint answered a batch of %d ops with %d outcomes", len(ops), len(errs))
		errs = make([]error, len(ops))
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}
