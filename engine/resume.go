package engine

import (
	"context"
	"io"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/concat"
)

// deltaBase returns what the target side of a file action holds that the
// content can travel as a delta against, and a function that releases it:
// what the target kept of an earlier transfer of the same content that
// was cut ([zerosync.PartialKeeper]), so a pull cut at 24 MiB of 32
// resumes with the last 8, then the target's old version of the file. The
// partial comes first so that its blocks line up with the signature's. A
// base of no bytes is none.
func (r *applyRun) deltaBase(ctx context.Context, a zerosync.Action) (*concat.ReaderAt, func()) {
	target := r.endpoint(a.Side)
	var parts []concat.Part
	var closers []io.Closer
	if pk, ok := zerosync.As[zerosync.PartialKeeper](target); ok {
		if f, n, err := pk.Partial(ctx, a.Path, *a.New); err == nil {
			parts, closers = append(parts, concat.Part{R: f, N: n}), append(closers, f)
			r.e.log.DebugContext(ctx, "resuming from a partial", "path", a.Path, "bytes", n, "of", a.New.Size)
		}
	}
	if a.Old != nil && a.Old.Kind == zerosync.KindFile {
		if old, err := target.Open(ctx, a.Path); err == nil {
			if ra, ok := old.(io.ReaderAt); ok {
				parts, closers = append(parts, concat.Part{R: ra, N: a.Old.Size}), append(closers, old)
			} else {
				old.Close()
			}
		}
	}
	release := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	return concat.New(parts...), release
}

// closerFunc is a function as an io.Closer.
type closerFunc func()

func (f closerFunc) Close() error {
	f()
	return nil
}
