package zerosync

import (
	"context"
	"io"
)

// BatchOp is one op of a batch ([BatchApplier]) with the content of the
// file it makes, as [Endpoint.Apply] takes it: nil unless op.New is a file.
type BatchOp struct {
	Op
	Content io.Reader
}

// BatchApplier is an optional ability of an [Endpoint]: applying several ops
// in one call, so that what makes them durable is paid once per batch (one
// sync of the files written, one of each directory they are in) and, across
// a network, their round trips overlap.
//
// ApplyBatch applies each op as Apply would, with the same checks, the same
// archiving and the same errors ([ErrChanged], [ErrDigestMismatch]), and
// returns one error per op, in the order of ops (nil: applied); the slice is
// always len(ops) long. The ops of a batch must not depend on each other
// (distinct paths, none beneath another's, no op making the parent of
// another): the endpoint may carry them out in any order, or together.
// Each op is atomic on its own, the batch is not: a crash at any moment
// leaves every path with its old entry or its new one, and when ApplyBatch
// returns, every op it reports applied is durable. ApplyBatch reads each
// content at most once, not necessarily in the order of ops, and does not
// close it. It may be called concurrently; when ctx ends, the ops not yet
// applied fail with ctx's error.
//
// A wrapper ([Unwrapper]) that changes what Apply does (fault injection, a
// dry run) implements ApplyBatch too, through its own Apply: otherwise [As]
// finds the ability of the endpoint beneath it, and batches pass it by.
type BatchApplier interface {
	ApplyBatch(ctx context.Context, ops []BatchOp) []error
}

// ApplyBatch applies ops on ep as one batch ([BatchApplier]); an endpoint
// without the ability applies them one after another with Apply. The
// result is as for [BatchApplier.ApplyBatch]: one error per op, in order.
func ApplyBatch(ctx context.Context, ep Endpoint, ops []BatchOp) []error {
	if ba, ok := As[BatchApplier](ep); ok {
		return ba.ApplyBatch(ctx, ops)
	}
	errs := make([]error, len(ops))
	for i, op := range ops {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = ep.Apply(ctx, op.Op, op.Content)
	}
	return errs
}
