//go:build linux

package local

import (
	"errors"
	"github.com/zerosync/zerosync/internal/option"
	"log/slog"
	"time"

	"github.com/zerosync/zerosync"
)

// Option configures an [Endpoint]; see [New].
type Option func(*config) error

type config struct {
	name       string
	log        *slog.Logger
	statCache  string
	workers    int
	archiveDir string
	debounce   time.Duration
	poll       time.Duration
	retention  *zerosync.Retention
}

// WithName names the endpoint in errors ([zerosync.PathError.Host]) and
// logs. The default is "local".
func WithName(name string) Option {
	return func(c *config) error { return option.NonEmpty(&c.name, "name", name) }
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return option.Logger(&c.log, l) }
}

// WithStatCache persists the stat cache (the digests of files whose size,
// modification and change times, inode and mode did not move) in file, so a
// new process starts warm. The file is read by [New] (a missing, corrupt or
// foreign file means a cold start, never an error) and written atomically
// after a scan that changed the cache and by [Endpoint.Close]. Once the
// file holds a folder's entries as they are, the endpoint keeps that
// folder in the file only, and reads it back (checked against what was
// written) when a scan or an edit needs it: a running engine over a tree
// that stands still holds a few dozen bytes a folder in memory, not about
// a hundred a file. Keep it outside the root or beneath a reserved name
// (such as the root's .zerosync folder), or it is synced like any file.
// Without this option the cache lives in memory only.
func WithStatCache(file string) Option {
	return func(c *config) error { return option.NonEmpty(&c.statCache, "stat cache file name", file) }
}

// WithHashWorkers sets how many files a scan hashes at once; the default is
// the number of usable CPUs, at most 4.
func WithHashWorkers(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 256 {
			return errors.New("hash workers must be between 1 and 256")
		}
		c.workers = n
		return nil
	}
}

// WithArchiveDir sets the directory that keeps content replaced or removed
// with [zerosync.Op.Archive], and conflict copies, as
// dir/<UTC stamp>/<path>. The default, <root>/.zerosync/archive, is on the
// root's file system, so archiving is a hard link. A directory elsewhere
// may be on another file system, where archiving copies. A directory inside
// the root must lie beneath a reserved name, or its content would be synced.
func WithArchiveDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return errors.New("empty archive directory")
		}
		c.archiveDir = dir
		return nil
	}
}

// WithDebounce sets the quiet window of [Endpoint.Watch]: a path is reported
// once no event touched it for d, together with the other ready paths when
// no event touched the tree for d (waiting at most 2d more for that). Zero
// keeps the watcher's default.
func WithDebounce(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return errors.New("negative debounce")
		}
		c.debounce = d
		return nil
	}
}

// WithPollInterval sets how often [Endpoint.Watch] walks the tree for
// changes when it cannot use inotify, because the kernel's per-user limit on
// inotify instances (sysctl fs.inotify.max_user_instances) or watches
// (fs.inotify.max_user_watches) is reached. Zero keeps the default, 2 s.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return errors.New("negative polling interval")
		}
		c.poll = d
		return nil
	}
}

// WithRetention sets how long the archive keeps versions of files (see
// [zerosync.Retention]); r is checked with [zerosync.Retention.Check]. The
// default is [zerosync.DefaultRetention]: every version of the last hour,
// then one per hour for a day, one per day for 30 days, one per week up to
// a year; at most 100 versions of a file and 1 GiB in all. The zero
// Retention keeps everything. The endpoint prunes after archiving, at most
// once a minute, and whenever [Endpoint.PruneVersions] is called.
func WithRetention(r zerosync.Retention) Option {
	return func(c *config) error {
		if err := r.Check(); err != nil {
			return err
		}
		c.retention = &r
		return nil
	}
}
