//go:build linux

package local

import (
	"context"
	"fmt"

	"github.com/zerosync/zerosync"
)

// Copy makes op.Path a copy of the local file at src, following the rules of
// [Endpoint.Apply]: op.New must be a file, and its size and digest are
// checked against what src holds ([zerosync.ErrDigestMismatch]).
func (e *Endpoint) Copy(ctx context.Context, src string, op zerosync.Op) error {
	if op.New == nil || op.New.Kind != zerosync.KindFile {
		return e.perr("copy", op.Path, fmt.Errorf("%w: copy makes files only", errInvalidEntry))
	}
	f, err := e.open(ctx, src)
	if err != nil {
		return e.perr("copy", src, err)
	}
	defer f.Close()
	return e.Apply(ctx, op, f)
}
