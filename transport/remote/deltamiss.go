package remote

import (
	"fmt"
	"sync"

	"github.com/zerosync/zerosync"
)

// maxWholeOnly bounds the digests a client remembers as sent whole.
const maxWholeOnly = 1024

// wholeOnly is the set of file digests whose delta rebuilt something else
// on the agent (a false block match, or a base that changed while it was
// read): they travel whole from then on, so a retry does not meet the same
// false match again. The zero value is empty and ready; it is safe for
// concurrent use. Past maxWholeOnly digests it starts again empty.
type wholeOnly struct {
	mu sync.Mutex
	m  map[zerosync.Digest]struct{}
}

func (w *wholeOnly) add(d zerosync.Digest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil || len(w.m) >= maxWholeOnly {
		w.m = make(map[zerosync.Digest]struct{})
	}
	w.m[d] = struct{}{}
}

func (w *wholeOnly) has(d zerosync.Digest) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.m[d]
	return ok
}

// rebuiltWrong is the error of a delta push whose content was right on
// this side (its size and digest checked as it was read) but that the
// agent rebuilt into another digest. It wraps the agent's error, and so
// [zerosync.ErrDigestMismatch].
type rebuiltWrong struct{ err error }

func (e *rebuiltWrong) Error() string {
	return fmt.Sprintf("the agent rebuilt the file from the delta with another digest (it is sent whole from now on): %v", e.err)
}

func (e *rebuiltWrong) Unwrap() error { return e.err }
