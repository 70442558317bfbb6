package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/local"
)

// Opener opens an endpoint on the directory root for one engine. It is
// called once per engine that syncs the directory.
type Opener func(ctx context.Context, root string) (zerosync.Endpoint, error)

// Local opens root with [local.New] and opts.
func Local(opts ...local.Option) Opener {
	return func(ctx context.Context, root string) (zerosync.Endpoint, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return local.New(root, opts...)
	}
}

// archiveDir is where a local endpoint keeps its archive by default,
// relative to its root.
var archiveDir = zerosync.StateDirName + "/archive"

// Dir is a [Replica] on a directory of this host, edited with plain
// file-system calls; its engines' endpoints come from an [Opener]. Its
// archive is read from <root>/.zerosync/archive, and its conflict copies
// are the files named with [zerosync.ConflictMarker] anywhere in the tree.
type Dir struct {
	root string
	open Opener
}

var _ Replica = (*Dir)(nil)

// NewDir returns a replica on the existing directory root.
func NewDir(root string, open Opener) (*Dir, error) {
	if open == nil {
		return nil, errors.New("enginetest: nil opener")
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("enginetest: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("enginetest: %s is not a directory", root)
	}
	return &Dir{root: root, open: open}, nil
}

// Root returns the replica's directory.
func (d *Dir) Root() string { return d.root }

// Open opens an endpoint on the directory with the replica's opener.
func (d *Dir) Open(ctx context.Context) (zerosync.Endpoint, error) { return d.open(ctx, d.root) }

func (d *Dir) perr(op, p string, err error) error {
	return &zerosync.PathError{Op: op, Host: d.root, Path: p, Err: err}
}

// parentsOK reports whether every parent of p is a directory (not a
// symlink), so that p names something inside the tree; a parent that is
// missing or not a directory means p is absent.
func (d *Dir) parentsOK(p string) bool {
	dir := zerosync.Parent(p)
	if dir == "" {
		return true
	}
	if !d.parentsOK(dir) {
		return false
	}
	st, err := os.Lstat(d.full(dir))
	return err == nil && st.IsDir()
}

func (d *Dir) full(p string) string { return filepath.Join(d.root, filepath.FromSlash(p)) }

// lstat returns what p holds, or nil when it is absent.
func (d *Dir) lstat(p string) (fs.FileInfo, error) {
	if !d.parentsOK(p) {
		return nil, nil
	}
	st, err := os.Lstat(d.full(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return st, err
}

// mkdirAll creates dir and its parents with mode 0755; a parent that is
// not a directory is an error.
func (d *Dir) mkdirAll(dir string) error {
	if dir == "" {
		return nil
	}
	if err := d.mkdirAll(zerosync.Parent(dir)); err != nil {
		return err
	}
	st, err := os.Lstat(d.full(dir))
	switch {
	case err == nil && st.IsDir():
		return nil
	case err == nil:
		return d.perr("mkdir", dir, fmt.Errorf("is a %s", kindOf(st)))
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.Mkdir(d.full(dir), 0o755); err != nil {
		return err
	}
	return os.Chmod(d.full(dir), 0o755)
}

func kindOf(st fs.FileInfo) string {
	switch {
	case st.IsDir():
		return "dir"
	case st.Mode()&fs.ModeSymlink != 0:
		return "symlink"
	case st.Mode().IsRegular():
		return "file"
	}
	return st.Mode().Type().String()
}

// WriteFile writes a file as a person would, creating parents; it never
// writes through a symlink.
func (d *Dir) WriteFile(p string, data []byte, mode fs.FileMode) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	if err := d.mkdirAll(zerosync.Parent(p)); err != nil {
		return err
	}
	full := d.full(p)
	st, err := os.Lstat(full)
	switch {
	case err == nil && st.IsDir():
		return d.perr("write", p, errors.New("is a directory"))
	case err == nil && !st.Mode().IsRegular():
		if err := os.Remove(full); err != nil {
			return err
		}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, mode.Perm())
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode.Perm())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Mkdir creates a directory and its parents, as mkdir -p.
func (d *Dir) Mkdir(p string, mode fs.FileMode) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	if err := d.mkdirAll(zerosync.Parent(p)); err != nil {
		return err
	}
	st, err := os.Lstat(d.full(p))
	switch {
	case err == nil && st.IsDir():
		return nil
	case err == nil:
		return d.perr("mkdir", p, fs.ErrExist)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.Mkdir(d.full(p), mode.Perm()); err != nil {
		return err
	}
	return os.Chmod(d.full(p), mode.Perm())
}

// Symlink creates a symlink at p pointing at target, creating parents.
func (d *Dir) Symlink(target, p string) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	if err := d.mkdirAll(zerosync.Parent(p)); err != nil {
		return err
	}
	return os.Symlink(target, d.full(p))
}

// Remove removes p and everything beneath it, as rm -rf. A missing path is
// not an error.
func (d *Dir) Remove(p string) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	if !d.parentsOK(p) {
		return nil
	}
	return os.RemoveAll(d.full(p))
}

// Rename moves a file, link or directory with its contents, as mv. The
// destination must not exist; its parents are created.
func (d *Dir) Rename(from, to string) error {
	if err := zerosync.ValidPath(from); err != nil {
		return err
	}
	if err := zerosync.ValidPath(to); err != nil {
		return err
	}
	if to == from || strings.HasPrefix(to, from+"/") {
		return d.perr("rename", to, fmt.Errorf("cannot move %q into itself", from))
	}
	if st, err := d.lstat(from); err != nil || st == nil {
		return d.perr("rename", from, fs.ErrNotExist)
	}
	if st, err := d.lstat(to); err != nil || st != nil {
		return d.perr("rename", to, fs.ErrExist)
	}
	if err := d.mkdirAll(zerosync.Parent(to)); err != nil {
		return err
	}
	return os.Rename(d.full(from), d.full(to))
}

// Chmod changes the permission bits of a file or directory.
func (d *Dir) Chmod(p string, mode fs.FileMode) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	st, err := d.lstat(p)
	if err != nil {
		return err
	}
	if st == nil || st.Mode()&fs.ModeSymlink != 0 {
		return d.perr("chmod", p, fs.ErrNotExist)
	}
	return os.Chmod(d.full(p), mode.Perm())
}

// Lstat returns the entry at p, or nil when p is absent or is neither a
// file, a directory nor a symlink.
func (d *Dir) Lstat(p string) *zerosync.Entry {
	if zerosync.ValidPath(p) != nil {
		return nil
	}
	st, err := d.lstat(p)
	if err != nil || st == nil {
		return nil
	}
	e := &zerosync.Entry{ModTime: st.ModTime()}
	switch {
	case st.IsDir():
		e.Kind, e.Mode = zerosync.KindDir, st.Mode().Perm()
	case st.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(d.full(p))
		if err != nil {
			return nil
		}
		e.Kind, e.Target = zerosync.KindSymlink, t
	case st.Mode().IsRegular():
		data, err := os.ReadFile(d.full(p))
		if err != nil {
			return nil
		}
		e.Kind, e.Mode, e.Size, e.Digest = zerosync.KindFile, st.Mode().Perm(), int64(len(data)), digest.Sum(data)
	default:
		return nil
	}
	return e
}

// Contents returns every file's content, every symlink's target
// ("-> target") and every directory ("/"), by path, leaving out reserved
// names. A tree that cannot be read panics: the replica is broken.
func (d *Dir) Contents() map[string]string {
	out := map[string]string{}
	d.walk(func(rel string, de fs.DirEntry) error {
		if zerosync.IsReserved(rel) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case de.IsDir():
			out[rel] = "/"
		case de.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(d.full(rel))
			if err != nil {
				return err
			}
			out[rel] = "-> " + t
		case de.Type().IsRegular():
			b, err := os.ReadFile(d.full(rel))
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// Archived returns the content of every file in the archive
// (<root>/.zerosync/archive) and of every conflict copy in the tree.
func (d *Dir) Archived() [][]byte {
	var out [][]byte
	d.walk(func(rel string, de fs.DirEntry) error {
		if !de.Type().IsRegular() {
			return nil
		}
		if strings.HasPrefix(rel, archiveDir+"/") || strings.Contains(de.Name(), zerosync.ConflictMarker) {
			b, err := os.ReadFile(d.full(rel))
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	return out
}

// walk calls fn for everything beneath the root, in lexical order, with
// its slash-separated relative path.
func (d *Dir) walk(fn func(rel string, de fs.DirEntry) error) {
	err := filepath.WalkDir(d.root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == d.root {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), de)
	})
	if err != nil {
		panic(fmt.Sprintf("enginetest: reading %s: %v", d.root, err))
	}
}
