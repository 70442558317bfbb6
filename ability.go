package zerosync

import (
	"context"
	"io"
	"strings"
)

// Unwrapper is implemented by an [Endpoint] that wraps another one (a
// decorator: fault injection, a bandwidth limit, a reconnecting client), so
// that the optional abilities of the endpoint beneath are found through it
// ([As]). Unwrap returns the endpoint in use now; callers ask again rather
// than keep it, since a reconnecting wrapper may replace it.
type Unwrapper interface {
	Unwrap() Endpoint
}

// As finds the optional ability T (an interface such as [PathScanner] or
// [Archiver]) on ep or, as [errors.As] does for errors, on the endpoints it
// wraps ([Unwrapper]), nearest first. A wrapper that implements T itself is
// asked first, so it can change how the ability works.
func As[T any](ep Endpoint) (T, bool) {
	for range 64 { // a wrapper that wraps itself must not hang us
		if ep == nil {
			break
		}
		if a, ok := ep.(T); ok {
			return a, true
		}
		u, ok := ep.(Unwrapper)
		if !ok {
			break
		}
		ep = u.Unwrap()
	}
	var zero T
	return zero, false
}

// ScanPaths rescans some paths of ep ([PathScanner]); an endpoint without
// the ability is scanned whole and the result cut down to paths and what
// lies beneath them. partial reports whether the endpoint could scan the
// paths alone.
func ScanPaths(ctx context.Context, ep Endpoint, paths []string) (s Snapshot, probs []Problem, partial bool, err error) {
	if ps, ok := As[PathScanner](ep); ok {
		s, probs, err = ps.ScanPaths(ctx, paths)
		return s, probs, true, err
	}
	all, probs, err := ep.Scan(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	s = Snapshot{}
	for p, e := range all {
		for _, q := range paths {
			if p == q || strings.HasPrefix(p, q+"/") {
				s[p] = e
				break
			}
		}
	}
	return s, probs, false, nil
}

// OpenDelta reads the file at path of ep as its difference from have
// ([DeltaOpener]); an endpoint without the ability sends it whole.
func OpenDelta(ctx context.Context, ep Endpoint, path string, have io.ReaderAt, haveSize int64) (io.ReadCloser, error) {
	if do, ok := As[DeltaOpener](ep); ok {
		return do.OpenDelta(ctx, path, have, haveSize)
	}
	return ep.Open(ctx, path)
}
