package merge

import (
	"context"
	"fmt"

	"github.com/zerosync/zerosync"
)

// BaseProvider supplies the common ancestor of a conflict's two versions:
// the text both sides started from. The default is [StoredBase], the body
// the engine kept at the last sync; another provider may answer with, say,
// the file as committed at a repository's HEAD.
//
// Base returns an error wrapping [zerosync.ErrNoBase] when it knows no
// ancestor, and one wrapping [zerosync.ErrTooLarge] when the ancestor is over
// a limit it applies; a resolver passes on both. Any other error is a
// failure. Base may be called concurrently for different conflicts and must
// honour ctx.
type BaseProvider interface {
	Base(ctx context.Context, c zerosync.Conflict) ([]byte, error)
}

// StoredBase returns the [BaseProvider] that reads the ancestor body the
// engine kept for the conflict ([zerosync.VersionBase] of c.Content), reading
// at most limit bytes.
func StoredBase(limit int64) BaseProvider { return storedBase(limit) }

type storedBase int64

func (l storedBase) Base(ctx context.Context, c zerosync.Conflict) ([]byte, error) {
	if c.Content == nil {
		return nil, fmt.Errorf("%w: no content reader for %s", zerosync.ErrNoBase, c.Path)
	}
	return c.Content.ReadVersion(ctx, zerosync.VersionBase, int64(l))
}
