package state

import (
	"fmt"
	"github.com/zerosync/zerosync/internal/option"
	"log/slog"
	"time"
)

// DefaultLockTimeout is how long [Open] waits for another holder of the
// database file to let go before it fails with [ErrLocked].
const DefaultLockTimeout = time.Second

// Option configures [Open].
type Option func(*config) error

type config struct {
	log         *slog.Logger
	lockTimeout time.Duration
}

func defaultConfig() config {
	return config{
		log:         slog.New(slog.DiscardHandler),
		lockTimeout: DefaultLockTimeout,
	}
}

// WithLogger sets the logger; the default discards everything. The logger
// receives debug records for opens and commits and warnings for
// inconsistencies that were worked around.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return option.Logger(&c.log, l) }
}

// WithLockTimeout sets how long [Open] waits for the file lock; it must be
// positive (waiting forever is not offered). The default is
// [DefaultLockTimeout].
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("lock timeout %v is not positive", d)
		}
		c.lockTimeout = d
		return nil
	}
}
