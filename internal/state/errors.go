package state

import (
	"errors"
	"fmt"
)

// Sentinel errors to branch on with [errors.Is].
var (
	// ErrLocked: another open handle, in this process or another one, holds
	// the database file, and the lock timeout passed.
	ErrLocked = errors.New("state database is locked by another holder")
	// ErrClosed: the database was closed.
	ErrClosed = errors.New("state database is closed")
	// ErrCorrupt: stored bytes do not decode, or a stored body no longer
	// matches its digest. A *[CorruptError] says where.
	ErrCorrupt = errors.New("corrupt state")
	// ErrFormat: the file was written by an incompatible version of this
	// package.
	ErrFormat = errors.New("unsupported state database format")
	// ErrInvalid: an argument cannot be stored: an empty or overlong pair
	// ID or metadata key, an entry of unknown kind, a record of unknown side.
	ErrInvalid = errors.New("invalid state argument")
)

// CorruptError says where corrupt state was found. It wraps an error that
// wraps [ErrCorrupt].
type CorruptError struct {
	Pair   string // the pair's ID
	Bucket string // "base", "bodies", "refs", "journal", "review", "staged", "staged content"
	Key    string // the key, printable: a path, a sequence number, a digest
	Err    error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("pair %q, bucket %s, key %s: %v", e.Pair, e.Bucket, e.Key, e.Err)
}

// Unwrap returns the underlying error.
func (e *CorruptError) Unwrap() error { return e.Err }

// errBadKey is the decoding error for a key that is not a sequence number.
var errBadKey = fmt.Errorf("%w: key is not a sequence number", ErrCorrupt)
