package ssh

import (
	"context"

	"github.com/zerosync/zerosync"
)

var _ zerosync.BatchApplier = (*Endpoint)(nil)

// ApplyBatch applies ops on the host as one batch over the connection; see
// [zerosync.BatchApplier] and the remote endpoint's ApplyBatch. When the
// connection cannot be had, every op fails with the reason.
func (e *Endpoint) ApplyBatch(ctx context.Context, ops []zerosync.BatchOp) []error {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		errs := make([]error, len(ops))
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	errs := rep.ApplyBatch(ctx, ops)
	for i, err := range errs {
		if err != nil {
			errs[i] = e.wrap(ag, err)
		}
	}
	return errs
}
