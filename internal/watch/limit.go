package watch

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrWatchLimit is wrapped by the error that says the kernel refused
// another inotify watch (one per directory, limited by
// /proc/sys/fs/inotify/max_user_watches) or another inotify instance
// (limited by /proc/sys/fs/inotify/max_user_instances). The tree cannot be
// watched completely; [Run] then polls it, and logs this error.
var ErrWatchLimit = errors.New("inotify limit reached")

// The kernel settings named in limit errors.
const (
	maxWatchesFile   = "/proc/sys/fs/inotify/max_user_watches"
	maxInstancesFile = "/proc/sys/fs/inotify/max_user_instances"
)

// limit is one of the kernel's per-user inotify limits.
type limit struct {
	sysctl string // the name sysctl knows it by
	file   string // its file beneath /proc
}

var (
	watchesLimit   = limit{"fs.inotify.max_user_watches", maxWatchesFile}
	instancesLimit = limit{"fs.inotify.max_user_instances", maxInstancesFile}
)

// whichLimit returns the limit err says was reached: ENOSPC from adding a
// watch, EMFILE from creating an instance.
func whichLimit(err error) (limit, bool) {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return watchesLimit, true
	case errors.Is(err, syscall.EMFILE):
		return instancesLimit, true
	}
	return limit{}, false
}

// value returns the limit's current setting, or 0 when it cannot be read.
func (l limit) value() int {
	b, err := os.ReadFile(l.file)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// raise returns a command that doubles the limit.
func (l limit) raise() string {
	n := l.value()
	if n <= 0 {
		return fmt.Sprintf("sysctl -w %s=<higher>", l.sysctl)
	}
	return fmt.Sprintf("sysctl -w %s=%d", l.sysctl, 2*n)
}

// limitError wraps err in [ErrWatchLimit] when it means an inotify limit was
// reached: ENOSPC from adding a watch to dir, or EMFILE from creating the
// instance. watched is the number of directories watched so far. It returns
// nil for any other error.
func limitError(dir string, watched int, err error) error {
	l, ok := whichLimit(err)
	switch {
	case !ok:
		return nil
	case l == watchesLimit:
		return fmt.Errorf("watch %s: %w: %d directories watched; raise %s: %w",
			dir, ErrWatchLimit, watched, maxWatchesFile, err)
	}
	return fmt.Errorf("watch %s: %w: no inotify instance available; raise %s (or the open-file limit): %w",
		dir, ErrWatchLimit, maxInstancesFile, err)
}
