package zerosync

import "context"

// Verdict is a filter's answer for one path.
type Verdict uint8

// The answers of a [Filter].
const (
	// Include: the path is synced.
	Include Verdict = iota
	// Exclude: the path, and everything beneath it, is invisible to the pair:
	// never created, changed or deleted on either side.
	Exclude
	// Descend: a directory that is not synced for itself, but may hold synced
	// paths; it is synced only when something beneath it is.
	Descend
)

// Filter decides which paths a pair syncs. Match is called for every path of
// every scan, parents before children, never for a path beneath an excluded
// directory; inside says whether the parent directory was included for
// itself. It must be safe for concurrent use.
type Filter interface {
	Match(path string, kind Kind, inside bool) Verdict
}

// View narrows what a pair sees in a cycle, with both sides in hand: a path
// it takes out of Base, Ours and Theirs is invisible to the cycle (never
// created, changed or deleted), as with a [Filter], but a View can decide
// from both trees at once and from what lies outside them (a repository's
// HEAD, a rebase under way). Views run after the filter, in the order
// given, once per pair per cycle, from the engine's goroutine.
type View interface {
	View(ctx context.Context, p *ViewPair) error
}

// ViewPair is what a [View] sees and changes. The snapshots are the
// engine's: replace them with new maps rather than changing them in place.
type ViewPair struct {
	// Names and Endpoints of the two sides, ours first.
	Names     [2]string
	Endpoints [2]Endpoint
	Base      Snapshot
	Ours      Snapshot
	Theirs    Snapshot
	// Problems the view wants reported (a repository held back, and why).
	Problems []Problem
}

// BaseProvider supplies the common ancestor of a conflict's two versions:
// the text both sides started from. The default is the merge package's StoredBase, the body
// the engine kept at the last sync; another provider may answer with, say,
// the file as committed at a repository's HEAD.
//
// Base returns an error wrapping [ErrNoBase] when it knows no
// ancestor, and one wrapping [ErrTooLarge] when the ancestor is over
// a limit it applies; a resolver passes on both. Any other error is a
// failure. Base may be called concurrently for different conflicts and must
// honour ctx.
type BaseProvider interface {
	Base(ctx context.Context, c Conflict) ([]byte, error)
}
