package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/zerosync/zerosync"
)

// Sizes of the batches handed to an endpoint that is a
// [zerosync.BatchApplier].
const (
	// batchMaxOps bounds the ops of one batch.
	batchMaxOps = 256
	// batchMaxBytes bounds the content of the small files of one batch,
	// which is read ahead into memory.
	batchMaxBytes = 4 << 20
	// batchesInFlight bounds the batches handed to an endpoint at once:
	// while one is made durable, the next is read and written.
	batchesInFlight = 4
	// batchSmall is the largest file read ahead; a larger one is read
	// while the endpoint writes it.
	batchSmall = 1 << 20
)

// batchResult is the outcome of one action: the bytes it moved, its error.
type batchResult struct {
	n   int64
	err error
}

// applyBatched applies independent actions on the side whose endpoint is a
// [zerosync.BatchApplier]: a file it can copy from content it already holds
// is copied, the rest go in batches (a few at once), their small files read
// ahead from the source side (several at once) and large ones read while
// they are written.
// Each action's outcome is set in results, as applyOne would set it.
func (r *applyRun) applyBatched(ctx context.Context, ba zerosync.BatchApplier, acts []zerosync.Action, idx []int, have map[zerosync.Digest]string, results []batchResult) {
	var copies, rest []int
	target := r.endpoint(acts[idx[0]].Side)
	_, canCopy := zerosync.As[zerosync.Copier](target)
	for _, i := range idx {
		a := acts[i]
		if canCopy && a.New.Kind == zerosync.KindFile {
			if _, merged := r.merged[a.Path]; !merged {
				if src, ok := have[a.New.Digest]; ok && src != a.Path {
					copies = append(copies, i)
					continue
				}
			}
		}
		rest = append(rest, i)
	}
	r.parallelDo(ctx, copies, func(i int) {
		results[i].n, results[i].err = r.applyOne(ctx, acts[i], have)
	})
	var chunks [][]int
	for len(rest) > 0 {
		n, size := 0, int64(0)
		for n < len(rest) && n < batchMaxOps {
			a := acts[rest[n]]
			if a.New.Kind == zerosync.KindFile && a.New.Size <= batchSmall {
				if n > 0 && size+a.New.Size > batchMaxBytes {
					break
				}
				size += a.New.Size
			}
			n++
		}
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, batchesInFlight)
	for _, idx := range chunks {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			for _, i := range idx {
				results[i].err = ctx.Err()
			}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r.oneBatch(ctx, ba, acts, idx, results)
		})
	}
	wg.Wait()
}

// oneBatch reads the content of one batch and hands it to the endpoint.
func (r *applyRun) oneBatch(ctx context.Context, ba zerosync.BatchApplier, acts []zerosync.Action, idx []int, results []batchResult) {
	ops := make([]zerosync.BatchOp, len(idx))
	contents := make([]*batchContent, len(idx))
	var ahead []int
	for k, i := range idx {
		a := acts[i]
		ops[k].Op = a.Op
		if a.New.Kind != zerosync.KindFile {
			continue
		}
		c := &batchContent{r: r, a: a, ctx: ctx}
		contents[k] = c
		ops[k].Content = c
		if m, ok := r.merged[a.Path]; ok {
			c.data, c.ready, c.merged = m, true, true
			continue
		}
		if a.New.Size <= batchSmall {
			ahead = append(ahead, k)
		}
	}
	r.parallelDo(ctx, ahead, func(k int) { contents[k].readAhead() })
	// Ops whose content could not be read are not sent.
	var send []zerosync.BatchOp
	var sent []int
	for k, i := range idx {
		if c := contents[k]; c != nil && c.err != nil {
			results[i] = batchResult{n: c.n, err: c.err}
			continue
		}
		send = append(send, ops[k])
		sent = append(sent, k)
	}
	var errs []error
	if len(send) > 0 {
		errs = ba.ApplyBatch(ctx, send)
		if len(errs) != len(send) {
			err := fmt.Errorf("the endpoint answered a batch of %d ops with %d outcomes", len(send), len(errs))
			errs = make([]error, len(send))
			for j := range errs {
				errs[j] = err
			}
		}
	}
	for j, k := range sent {
		i := idx[k]
		c := contents[k]
		err := errs[j]
		if c == nil {
			results[i].err = err
			continue
		}
		c.close()
		if err == nil && c.err != nil {
			err = c.err // the endpoint took content that failed to read
		}
		results[i] = batchResult{n: c.n, err: err}
		if err == nil && !c.merged {
			c.keepBody()
		}
	}
}

// parallelDo calls f for each of ks, up to the engine's parallelism at once.
func (r *applyRun) parallelDo(ctx context.Context, ks []int, f func(int)) {
	if len(ks) == 1 {
		f(ks[0])
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.e.parallel)
	for _, k := range ks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(k)
		})
	}
	wg.Wait()
}

// batchContent is the content of a file action of a batch: read ahead
// into memory (small files, merged content), or opened from the source
// side when the endpoint first reads it and closed at its end.
type batchContent struct {
	r      *applyRun
	a      zerosync.Action
	ctx    context.Context
	data   []byte // read ahead: the whole content
	pos    int    // of data, read by the endpoint
	ready  bool   // data holds the whole content
	merged bool
	rc     io.ReadCloser
	n      int64 // bytes read from the source
	body   *bytes.Buffer
	err    error // reading failed (sticks)
	done   bool
}

// readAhead reads the whole content into memory.
func (c *batchContent) readAhead() {
	rc, err := c.r.open(c.ctx, c.a)
	if err != nil {
		c.err = fmt.Errorf("read from %s: %w", c.r.names[c.a.From], err)
		return
	}
	defer rc.Close()
	// One byte more than declared is enough to tell a source that lies.
	b := make([]byte, c.a.New.Size+1)
	n, err := io.ReadFull(rc, b)
	c.n = int64(n)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		c.err = fmt.Errorf("read from %s: %w", c.r.names[c.a.From], err)
		return
	}
	c.data, c.ready = b[:n], true
}

func (c *batchContent) Read(p []byte) (int, error) {
	if c.ready {
		if c.pos == len(c.data) {
			return 0, io.EOF
		}
		n := copy(p, c.data[c.pos:])
		c.pos += n
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.done {
		return 0, io.EOF
	}
	if c.rc == nil {
		rc, err := c.r.open(c.ctx, c.a)
		if err != nil {
			c.err = fmt.Errorf("read from %s: %w", c.r.names[c.a.From], err)
			return 0, c.err
		}
		c.rc = rc
		if c.a.New.Size <= c.r.e.bodyLimit {
			c.body = bytes.NewBuffer(make([]byte, 0, c.a.New.Size))
		}
	}
	n, err := c.rc.Read(p)
	c.n += int64(n)
	if c.body != nil {
		c.body.Write(p[:n])
	}
	if err != nil {
		c.close()
		if errors.Is(err, io.EOF) {
			c.done = true
			return n, io.EOF
		}
		c.err = fmt.Errorf("read from %s: %w", c.r.names[c.a.From], err)
		return n, c.err
	}
	return n, nil
}

// close releases the source, when it is open.
func (c *batchContent) close() {
	if c.rc != nil {
		c.rc.Close()
		c.rc = nil
	}
}

// keepBody keeps the content of a text file as a merge base, as applyOne
// does.
func (c *batchContent) keepBody() {
	b := c.data
	if !c.ready {
		if c.body == nil {
			return
		}
		b = c.body.Bytes()
	}
	if int64(len(b)) > c.r.e.bodyLimit || !looksText(b) {
		return
	}
	c.r.mu.Lock()
	c.r.bodies[c.a.New.Digest] = b
	c.r.mu.Unlock()
}
