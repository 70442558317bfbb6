// Package fault wraps a [zerosync.Endpoint] to inject failures, for tests of
// what happens when a transfer is cut or an apply fails half way.
package fault

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/zerosync/zerosync"
)

// ErrInjected is the error the wrapper injects.
var ErrInjected = errors.New("injected fault")

// Endpoint is a [zerosync.Endpoint] that fails on command. Optional
// abilities of the wrapped endpoint (Copier, Archiver, Watcher) are not
// passed through, so every byte takes the path under test; use [Endpoint.Unwrap]
// to reach them.
type Endpoint struct {
	zerosync.Endpoint

	mu        sync.Mutex
	failAfter int   // applies left before failing; <0: never
	cutAfter  int64 // bytes of content passed before the stream breaks; <0: never
	applies   int
}

var _ zerosync.Endpoint = (*Endpoint)(nil)

// Wrap returns ep with no faults armed.
func Wrap(ep zerosync.Endpoint) *Endpoint {
	return &Endpoint{Endpoint: ep, failAfter: -1, cutAfter: -1}
}

// Unwrap returns the wrapped endpoint.
func (f *Endpoint) Unwrap() zerosync.Endpoint { return f.Endpoint }

// FailAfter makes every Apply after the next n fail with [ErrInjected]
// before it reaches the wrapped endpoint; n < 0 disarms it.
func (f *Endpoint) FailAfter(n int) {
	f.mu.Lock()
	f.failAfter = n
	f.mu.Unlock()
}

// CutAfter breaks the content stream of Apply after n more bytes in total,
// as a dropped connection would, and fails every later Apply; n < 0 disarms
// it.
func (f *Endpoint) CutAfter(n int64) {
	f.mu.Lock()
	f.cutAfter = n
	f.mu.Unlock()
}

// Applies returns how many Apply calls reached the wrapped endpoint.
func (f *Endpoint) Applies() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applies
}

// Apply forwards to the wrapped endpoint unless a fault is armed.
func (f *Endpoint) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	f.mu.Lock()
	if f.failAfter == 0 || f.cutAfter == 0 {
		f.mu.Unlock()
		return &zerosync.PathError{Op: "apply", Path: op.Path, Err: ErrInjected}
	}
	if f.failAfter > 0 {
		f.failAfter--
	}
	f.applies++
	f.mu.Unlock()
	if content != nil {
		content = &cutReader{f: f, r: content}
	}
	return f.Endpoint.Apply(ctx, op, content)
}

// ApplyBatch applies the ops one by one with [Endpoint.Apply], so that a
// batch meets the faults armed; without it the wrapped endpoint's own
// [zerosync.BatchApplier] would be found beneath the wrapper and take them
// past it.
func (f *Endpoint) ApplyBatch(ctx context.Context, ops []zerosync.BatchOp) []error {
	errs := make([]error, len(ops))
	for i, op := range ops {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = f.Apply(ctx, op.Op, op.Content)
	}
	return errs
}

type cutReader struct {
	f *Endpoint
	r io.Reader
}

func (c *cutReader) Read(p []byte) (int, error) {
	c.f.mu.Lock()
	left := c.f.cutAfter
	c.f.mu.Unlock()
	if left == 0 {
		return 0, ErrInjected
	}
	if left > 0 && int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.r.Read(p)
	c.f.mu.Lock()
	if c.f.cutAfter > 0 {
		c.f.cutAfter -= int64(n)
	}
	c.f.mu.Unlock()
	return n, err
}
