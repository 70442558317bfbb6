package enginetest

import (
	"context"
	"io/fs"

	"github.com/zerosync/zerosync"
)

// Replica is one tree of a [World]: the person's side, edited directly, and
// the endpoints the engines sync it through. Paths are valid relative
// paths ([zerosync.ValidPath]). The person-side methods are called from the
// test's goroutine only, between cycles; an edit never passes through a
// symlink, whatever the path says.
type Replica interface {
	// WriteFile writes a file with mode, creating its parents; a symlink
	// at path is replaced, a directory is an error.
	WriteFile(path string, data []byte, mode fs.FileMode) error
	// Mkdir creates a directory and its parents, as mkdir -p; an existing
	// directory is left as it is, anything else there is an error.
	Mkdir(path string, mode fs.FileMode) error
	// Symlink creates a symlink at path pointing at target, creating its
	// parents; an existing path is an error.
	Symlink(target, path string) error
	// Remove removes path and everything beneath it, as rm -rf; a missing
	// path is not an error.
	Remove(path string) error
	// Rename moves a file, link or directory with its contents, as mv. The
	// destination must not exist, nor lie beneath the source; its parents
	// are created.
	Rename(from, to string) error
	// Chmod changes the permission bits of a file or directory; a symlink
	// or a missing path is an error.
	Chmod(path string, mode fs.FileMode) error
	// Lstat returns the entry at path, or nil when it is absent.
	Lstat(path string) *zerosync.Entry
	// Contents returns every file's content, every symlink's target as
	// "-> target" and every directory as "/", by path, leaving out reserved
	// names, as the memory endpoint's Contents does.
	Contents() map[string]string
	// Archived returns every content the replica keeps aside: its archive
	// and its conflict copies.
	Archived() [][]byte

	// Open returns a new endpoint on the tree for one engine, as a separate
	// process opening it would. The caller closes it.
	Open(ctx context.Context) (zerosync.Endpoint, error)
}
