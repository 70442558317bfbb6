package zerosync

import (
	"context"
	"errors"
)

// ErrNameCollision: names of a tree would be one entry in a directory that
// folds names ([NameFolder]); those not there yet are not written, so that
// none overwrites or merges with another.
var ErrNameCollision = errors.New("names collide")

// Folding says how a directory of an endpoint compares the names in it. The
// zero Folding compares names byte for byte, as Linux file systems do by
// default: README.md and readme.md are two entries.
type Folding struct {
	// Case: names that differ only in letter case (README.md, readme.md)
	// are one entry, as on Windows drives (a WSL /mnt/c directory without
	// per-directory case sensitivity), exFAT and FAT, and ext4 or tmpfs
	// directories with the casefold attribute.
	Case bool
	// Norm: names that differ only in Unicode normalization (é as one code
	// point, NFC, or as e and a combining accent, NFD) are one entry, as in
	// casefolded ext4 and tmpfs directories.
	Norm bool
}

// Any reports whether f folds names at all.
func (f Folding) Any() bool { return f.Case || f.Norm }

// String returns "case", "normalization", "case and normalization" or
// "none", for logs and messages.
func (f Folding) String() string {
	switch {
	case f.Case && f.Norm:
		return "case and normalization"
	case f.Case:
		return "case"
	case f.Norm:
		return "normalization"
	}
	return "none"
}

// NameFolder is an optional ability of an [Endpoint]: telling how a
// directory compares names, so that two names of a tree that differ only in
// case or in Unicode normalization are never written to a directory that
// would take them for one entry (one would overwrite or be merged into the
// other). The engine asks before it creates names in a directory, for each
// such directory and cycle; an endpoint answers cheaply from a cache after
// the first look.
//
// dir is a path passing [ValidPath], or "" for the root. A directory that
// does not exist yet is answered for its nearest existing ancestor, which
// it will inherit its behaviour from when it is made. An error means the
// answer is unknown; the caller then treats the directory as folding
// nothing. FoldsNames may be called concurrently.
type NameFolder interface {
	FoldsNames(ctx context.Context, dir string) (Folding, error)
}

// FoldsNames asks ep how its directory dir compares names ([NameFolder]).
// An endpoint without the ability is taken to compare names byte for byte,
// as a Linux file system does: two names that differ only in case keep
// syncing side by side, with no warning.
func FoldsNames(ctx context.Context, ep Endpoint, dir string) (Folding, error) {
	if nf, ok := As[NameFolder](ep); ok {
		return nf.FoldsNames(ctx, dir)
	}
	return Folding{}, nil
}
