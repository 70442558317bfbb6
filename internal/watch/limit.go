package watch

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrWatchLimit is wrapped by the error [Run] returns when the kernel refuses
// another inotify watch (one per directory, limited by
// /proc/sys/fs/inotify/max_user_watches) or another inotify instance
// (limited by /proc/sys/fs/inotify/max_user_instances). The tree cannot be
// watched completely; a caller may raise the limit or poll instead.
var ErrWatchLimit = errors.New("inotify limit reached")

// The kernel settings named in limit errors.
const (
	maxWatchesFile   = "/proc/sys/fs/inotify/max_user_watches"
	maxInstancesFile = "/proc/sys/fs/inotify/max_user_instances"
)

// limitError wraps err in [ErrWatchLimit] when it means an inotify limit was
// reached: ENOSPC from adding a watch to dir, or EMFILE from creating the
// instance. watched is the number of directories watched so far. It returns
// nil for any other error.
func limitError(dir string, watched int, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("watch %s: %w: %d directories watched; raise %s or poll instead: %w",
			dir, ErrWatchLimit, watched, maxWatchesFile, err)
	case errors.Is(err, syscall.EMFILE):
		return fmt.Errorf("watch %s: %w: no inotify instance available; raise %s (or the open-file limit) or poll instead: %w",
			dir, ErrWatchLimit, maxInstancesFile, err)
	}
	return nil
}
