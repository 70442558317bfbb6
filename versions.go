package zerosync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// ArchiveReason says why a version of a file was archived.
type ArchiveReason string

// The reasons an endpoint archives a file.
const (
	// ReasonReplaced: an apply replaced the file with other content.
	ReasonReplaced ArchiveReason = "replaced"
	// ReasonRemoved: an apply removed the file.
	ReasonRemoved ArchiveReason = "removed"
	// ReasonConflict: the version was kept aside as a conflict copy
	// ([Archiver]); a conflict waiting for review may still need it.
	ReasonConflict ArchiveReason = "conflict"
)

// FileVersion is one earlier version of a file that an endpoint keeps in
// its archive: what an apply replaced or removed, or what a conflict kept
// aside. The archive lives on the endpoint's own host.
type FileVersion struct {
	// ID names the version within its endpoint's archive. The endpoint
	// chooses it; it passes [CheckVersionID], so it is never a path and is
	// safe to print and to type. Callers treat it as opaque.
	ID string
	// Path is the path of the file the version was, relative to the root.
	Path string
	// Time is when the version was archived.
	Time time.Time
	// Size is the length of the content in bytes.
	Size int64
	// Mode holds the permission bits the file had.
	Mode fs.FileMode
	// Digest is the content digest; zero when the endpoint did not record
	// it (a reader of [Versioner.OpenVersion] checks what it reads).
	Digest Digest
	// Reason says why it was archived; empty when the endpoint did not
	// record why (an archive written by an older release).
	Reason ArchiveReason
}

// Versioner is an optional ability of an [Endpoint] that archives: listing,
// reading and pruning the versions of files it kept. Every file an apply
// replaces or removes with [Op.Archive] set, and every conflict copy an
// [Archiver] makes, is a version. The methods are safe for concurrent use
// with each other and with Apply.
type Versioner interface {
	// Versions returns the versions kept of the file at path, newest
	// first; path "" returns the versions of every path, newest first. A
	// path that fails [CheckPath] is an error; a path with no versions is
	// an empty list, not an error.
	Versions(ctx context.Context, path string) ([]FileVersion, error)

	// OpenVersion returns the content of the version id, which the caller
	// closes. An id that fails [CheckVersionID] or that the endpoint could
	// not have made is an error wrapping [ErrInvalidPath]; a well-formed id
	// naming no version is an error wrapping [fs.ErrNotExist]. The id may
	// come from a person or a peer: whatever it says, nothing outside the
	// archive is read.
	OpenVersion(ctx context.Context, id string) (io.ReadCloser, error)

	// PruneVersions applies the endpoint's [Retention] now and returns the
	// versions it removed. It never removes the newest version of a path,
	// nor a version for which hold returns true (nil holds nothing). An
	// endpoint also prunes by itself after archiving, but then it holds
	// every version archived as a conflict ([ReasonConflict]) or for no
	// recorded reason, since it cannot tell which of those a person still
	// needs; PruneVersions lets a caller that can tell release them.
	PruneVersions(ctx context.Context, hold func(FileVersion) bool) ([]FileVersion, error)
}

// MaxVersionIDLen is the longest version ID accepted from a person or a
// peer.
const MaxVersionIDLen = 128

// CheckVersionID checks a version ID before it is used: 1 to
// [MaxVersionIDLen] bytes of [0-9A-Za-z._~-], not starting with '.' or '-'.
// An ID that passes is never a path (it holds no '/'), never an option, and
// prints as it is. The error wraps [ErrInvalidPath].
func CheckVersionID(id string) error {
	if id == "" || len(id) > MaxVersionIDLen {
		return fmt.Errorf("%w: version ID of %d bytes (want 1 to %d)", ErrInvalidPath, len(id), MaxVersionIDLen)
	}
	if id[0] == '.' || id[0] == '-' {
		return fmt.Errorf("%w: version ID %q starts with %q", ErrInvalidPath, id, id[:1])
	}
	if i := strings.IndexFunc(id, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '_' || r == '~' || r == '-')
	}); i >= 0 {
		return fmt.Errorf("%w: version ID %q has a character outside [0-9A-Za-z._~-] at byte %d", ErrInvalidPath, id, i)
	}
	return nil
}

// Retention is how long an endpoint keeps the versions in its archive. It
// is a plain value: endpoints take it as an option and check it with
// [Retention.Check].
//
// For each path, the newest version is always kept, and so is every
// version a caller holds (see [Versioner.PruneVersions]). The others are
// taken oldest first: a version older than MaxAge is removed; the oldest
// left is kept; a newer one is removed when it is within the Every of its
// age's [RetentionStep] of the last one kept before it ("staggered"
// versioning, as Syncthing's: many recent versions, fewer and fewer old
// ones, stable however often the archive is pruned). Then each path keeps
// at most MaxPerPath versions, the newest ones; then, while the versions of
// all paths together are over MaxBytes, the oldest version that may go goes.
//
// The zero Retention keeps every version forever. [DefaultRetention] is
// what a person syncing dotfiles and a few project trees expects.
type Retention struct {
	// Steps thin out versions as they age, sorted by Age, each Age larger
	// than the one before. A version younger than the first step's Age is
	// kept whatever its neighbours.
	Steps []RetentionStep
	// MaxAge removes versions older than this (except the newest of each
	// path); zero keeps them whatever their age.
	MaxAge time.Duration
	// MaxPerPath is how many versions of one path are kept at most; zero
	// means no limit.
	MaxPerPath int
	// MaxBytes caps the total size of the archive's versions; zero means
	// no cap. The newest version of each path and held versions are kept
	// even if they alone are over the cap, and an endpoint that prunes on
	// its own after archiving may be over it until it next prunes.
	MaxBytes int64
}

// RetentionStep keeps at most one version per Every among the versions at
// least Age old (up to the next step's Age).
type RetentionStep struct {
	Age   time.Duration
	Every time.Duration
}

// DefaultRetention returns the retention endpoints use unless told
// otherwise: every version of the last hour; then one per hour for the
// first day, one per day for the first 30 days and one per week after that,
// up to a year; at most 100 versions of one file; and at most 1 GiB in all.
// Dotfiles and scripts are small, so in practice that is a year of history
// for them, while a tree of large files is held to the size cap.
func DefaultRetention() Retention {
	return Retention{
		Steps: []RetentionStep{
			{Age: time.Hour, Every: time.Hour},
			{Age: 24 * time.Hour, Every: 24 * time.Hour},
			{Age: 30 * 24 * time.Hour, Every: 7 * 24 * time.Hour},
		},
		MaxAge:     365 * 24 * time.Hour,
		MaxPerPath: 100,
		MaxBytes:   1 << 30,
	}
}

// Check reports what is wrong with r: negative durations or limits, steps
// out of order, or an interval shorter than a younger step's (which would
// keep more old versions than young ones).
func (r Retention) Check() error {
	var errs []error
	if r.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("negative maximum age %v", r.MaxAge))
	}
	if r.MaxPerPath < 0 {
		errs = append(errs, fmt.Errorf("negative versions per path %d", r.MaxPerPath))
	}
	if r.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("negative archive size cap %d", r.MaxBytes))
	}
	for i, s := range r.Steps {
		switch {
		case s.Age <= 0:
			errs = append(errs, fmt.Errorf("retention step %d: age %v must be positive", i+1, s.Age))
		case s.Every < 0:
			errs = append(errs, fmt.Errorf("retention step %d: negative interval %v", i+1, s.Every))
		case i > 0 && s.Age <= r.Steps[i-1].Age:
			errs = append(errs, fmt.Errorf("retention step %d: age %v is not after step %d's %v", i+1, s.Age, i, r.Steps[i-1].Age))
		case i > 0 && s.Every < r.Steps[i-1].Every:
			errs = append(errs, fmt.Errorf("retention step %d: interval %v is shorter than step %d's %v", i+1, s.Every, i, r.Steps[i-1].Every))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	return nil
}

// SortVersions orders versions newest first; versions of the same time by
// path, then by ID.
func SortVersions(vs []FileVersion) {
	slices.SortStableFunc(vs, func(a, b FileVersion) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}
