package zerosync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MarkerPath is where a root keeps its marker: a small file inside the
// reserved [StateDirName] folder holding the root's replica ID. Like the
// rest of that folder it is never synced, filtered or reported.
const MarkerPath = StateDirName + "/replica"

// ErrRootChanged: the root of a tree is not the tree the pair last synced
// (another file system mounted there, the directory replaced, the marker
// gone). The pair halts until the new root is adopted on purpose.
var ErrRootChanged = errors.New("sync root is not the tree that was synced")

// ErrForeignState: a pair's stored state belongs to other roots (a state
// file copied from another pair, or another root given under the same
// name). It is refused rather than read as an ancestor.
var ErrForeignState = errors.New("state belongs to another pair of roots")

// RootID tells which tree a root is, so a root replaced under the engine is
// noticed before anything is deleted because of it.
type RootID struct {
	// Replica is the random ID kept in the root's marker ([MarkerPath]);
	// empty when the root has no marker.
	Replica string
	// Filesystem identifies the file system holding the root and the
	// directory that is the root (for a local directory: the file system
	// ID and the root's inode). It changes when another file system is
	// mounted at the root or the directory is replaced. Empty when the
	// endpoint cannot tell.
	Filesystem string
}

// Identifier is an optional ability of an [Endpoint]: reading and making the
// identity of its root. The endpoint makes the replica ID itself, on its own
// host; a peer never chooses or writes another replica's marker.
type Identifier interface {
	// RootID returns the root's identity. A missing root is an error
	// wrapping [ErrRootMissing].
	RootID(ctx context.Context) (RootID, error)
	// MarkRoot makes sure the root has a marker: a root without one gets a
	// new random replica ID, written durably; a root with one keeps it.
	// It returns the identity after that.
	MarkRoot(ctx context.Context) (RootID, error)
}

// Location says where a root is: the host ("" for this host) and the path
// there. It is for people and for refusing overlapping roots; identity is
// [RootID]'s job.
type Location struct {
	Host string
	Path string
}

// String returns "path" for this host and "host:path" otherwise.
func (l Location) String() string {
	if l.Host == "" {
		return l.Path
	}
	return l.Host + ":" + l.Path
}

// Locator is an optional ability of an [Endpoint]: telling where its root
// is, without I/O.
type Locator interface {
	Location() Location
}

// NewReplicaID returns a fresh random replica ID: 32 lower-case hex digits.
func NewReplicaID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MaxReplicaIDLen is the longest replica ID accepted from a marker or a
// peer.
const MaxReplicaIDLen = 64

// CheckReplicaID checks a replica ID read from a marker or from a peer: 1
// to [MaxReplicaIDLen] characters of [0-9a-zA-Z_-].
func CheckReplicaID(id string) error {
	if id == "" || len(id) > MaxReplicaIDLen {
		return fmt.Errorf("replica ID of %d bytes (want 1 to %d)", len(id), MaxReplicaIDLen)
	}
	if i := strings.IndexFunc(id, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_')
	}); i >= 0 {
		return fmt.Errorf("replica ID %q has a character outside [0-9a-zA-Z_-] at byte %d", id, i)
	}
	return nil
}
