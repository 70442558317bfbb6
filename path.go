package zerosync

import (
	"fmt"
	"io/fs"
	"strings"
)

// Names the library keeps for itself. A tree never syncs them, and a peer
// that reports one is refused.
const (
	// StateDirName is the per-root folder holding the archive; it is
	// reserved at every depth.
	StateDirName = ".zerosync"
	// TempPrefix starts the names of files being written.
	TempPrefix = ".zs-tmp-"
	// ConflictMarker is part of the names of conflict copies.
	ConflictMarker = ".zs-conflict-"
)

// Limits on paths, checked before anything is allocated or written.
const (
	MaxPathLen = 4096
	MaxNameLen = 255
)

// ValidPath reports whether p is a clean, relative, slash-separated path that
// stays beneath a root: not empty, no leading or trailing slash, no empty,
// "." or ".." component, no NUL byte, within [MaxPathLen] and [MaxNameLen].
// The error wraps [ErrInvalidPath] and names what is wrong.
func ValidPath(p string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidPath, p, why)
	}
	switch {
	case p == "":
		return bad("empty")
	case len(p) > MaxPathLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxPathLen))
	case strings.IndexByte(p, 0) >= 0:
		return bad("contains a NUL byte")
	case p[0] == '/':
		return bad("absolute")
	}
	for name := range strings.SplitSeq(p, "/") {
		switch name {
		case "":
			return bad("empty component")
		case ".", "..":
			return bad(fmt.Sprintf("%q component", name))
		}
		if len(name) > MaxNameLen {
			return bad(fmt.Sprintf("component longer than %d bytes", MaxNameLen))
		}
	}
	return nil
}

// IsReserved reports whether any component of p is a name the library keeps
// for itself: the state folder, a temp file or a conflict copy.
func IsReserved(p string) bool {
	for name := range strings.SplitSeq(p, "/") {
		if ReservedName(name) {
			return true
		}
	}
	return false
}

// ReservedName reports whether a single file name is reserved.
func ReservedName(name string) bool {
	return name == StateDirName || strings.HasPrefix(name, TempPrefix) || strings.Contains(name, ConflictMarker)
}

// CheckPath is [ValidPath] plus [IsReserved]: the test every path from a peer
// passes before it is used.
func CheckPath(p string) error {
	if err := ValidPath(p); err != nil {
		return err
	}
	if IsReserved(p) {
		return fmt.Errorf("%w: %q uses a name zerosync keeps for its own files", ErrReserved, p)
	}
	return nil
}

// Parent returns the parent of a valid path, or "" for a top-level path.
func Parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// Validate checks a snapshot that came from an endpoint: every path passes
// [CheckPath]; every parent is present and is a directory (so nothing claims
// to live beneath a symlink or a file); entries are well-formed. The error
// is a *[PathError] naming the first bad path in sorted order.
//
// Every path is checked once, in no order, and in sorted order only when
// one is bad; a path whose parent is in s (and so is checked too) has only
// its last component checked, so that the cost is in proportion to the size
// of the snapshot, not to its depth squared.
func (s Snapshot) Validate() error {
	for p, e := range s {
		if err := s.checkEntry(p, &e); err != nil {
			return s.ValidatePaths(s.Paths()) // the first bad path, sorted
		}
	}
	return nil
}

// checkEntry is what [Snapshot.Validate] checks of the entry e at p, given
// that the parent of p, when in s, is checked as well: a bad component of
// the parent is then found at the parent. It reports only whether p passes,
// not why.
func (s Snapshot) checkEntry(p string, e *Entry) error {
	dir, name := "", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	if dir == "" { // at the top, or "/name"
		if err := CheckPath(p); err != nil {
			return err
		}
		return e.validate()
	}
	pe, ok := s[dir]
	switch {
	case !ok || pe.Kind != KindDir:
		return ErrInvalidPath
	case len(p) > MaxPathLen, len(name) > MaxNameLen, name == "", name == ".", name == "..",
		strings.IndexByte(name, 0) >= 0, ReservedName(name):
		return ErrInvalidPath
	}
	return e.validate()
}

// ValidatePaths is [Snapshot.Validate] for some paths of s only (each must
// be in s), with their parents looked up in s: the check of a snapshot
// patched with a partial rescan.
func (s Snapshot) ValidatePaths(paths []string) error {
	for _, p := range paths {
		e := s[p]
		if err := CheckPath(p); err != nil {
			return &PathError{Op: "validate", Path: p, Err: err}
		}
		if dir := Parent(p); dir != "" {
			pe, ok := s[dir]
			switch {
			case !ok:
				return &PathError{Op: "validate", Path: p, Err: fmt.Errorf("%w: parent %q is missing", ErrInvalidPath, dir)}
			case pe.Kind != KindDir:
				return &PathError{Op: "validate", Path: p, Err: fmt.Errorf("%w: parent %q is a %s, not a directory", ErrInvalidPath, dir, pe.Kind)}
			}
		}
		if err := e.validate(); err != nil {
			return &PathError{Op: "validate", Path: p, Err: err}
		}
	}
	return nil
}

func (e *Entry) validate() error {
	if e.Mode&^fs.ModePerm != 0 {
		return fmt.Errorf("mode %v has bits beyond permissions", e.Mode)
	}
	switch e.Kind {
	case KindFile:
		if e.Size < 0 {
			return fmt.Errorf("negative size %d", e.Size)
		}
	case KindDir:
		if e.Size != 0 || !e.Digest.IsZero() {
			return fmt.Errorf("directory with size or digest")
		}
	case KindSymlink:
		if e.Target == "" || len(e.Target) > MaxPathLen || strings.IndexByte(e.Target, 0) >= 0 {
			return fmt.Errorf("bad symlink target %q", e.Target)
		}
	default:
		return fmt.Errorf("unknown kind %d", e.Kind)
	}
	return nil
}
