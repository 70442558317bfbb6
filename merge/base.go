package merge

import (
	"context"
	"fmt"

	"github.com/zerosync/zerosync"
)

// StoredBase returns the [zerosync.BaseProvider] that reads the ancestor body the
// engine kept for the conflict ([zerosync.VersionBase] of c.Content), reading
// at most limit bytes.
func StoredBase(limit int64) zerosync.BaseProvider { return storedBase(limit) }

type storedBase int64

func (l storedBase) Base(ctx context.Context, c zerosync.Conflict) ([]byte, error) {
	if c.Content == nil {
		return nil, fmt.Errorf("%w: no content reader for %s", zerosync.ErrNoBase, c.Path)
	}
	return c.Content.ReadVersion(ctx, zerosync.VersionBase, int64(l))
}
