package zerosync

import (
	"context"
	"io"
)

// PartialKeeper is an optional ability of an [Endpoint] that receives
// files over links that break: it keeps what arrived of a file whose
// transfer was cut (beneath a reserved name, never synced), so that the
// next transfer of the same content can travel as a delta against it
// ([DeltaOpener] when pulling; a transport's own delta when pushing) and
// resume where it stopped rather than from zero.
//
// What is kept was never verified and may have changed since: it serves
// only as a base whose blocks are matched by hash, and what is rebuilt
// from it is checked against the file's digest, like any content, before
// it takes the file's place. The endpoint drops it once the file arrived,
// and after a while in any case.
type PartialKeeper interface {
	// Partial opens what is kept of a transfer of the content want (a
	// file's entry; its size and digest count) to path, and returns it
	// with its length in bytes. Nothing kept is an error wrapping
	// [io/fs.ErrNotExist]. The caller closes the reader; the endpoint
	// may replace or drop what it kept meanwhile without disturbing an
	// open reader.
	Partial(ctx context.Context, path string, want Entry) (ReaderAtCloser, int64, error)
}

// ReaderAtCloser is content read at offsets, closed when done.
type ReaderAtCloser interface {
	io.ReaderAt
	io.Closer
}
