package transporttest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// DirHarness is the Harness of an endpoint whose tree is the directory root
// on this host (a local endpoint, or an agent serving one): the person's
// edits are plain file operations, the archive is read beneath
// <root>/.zerosync/archive, and hiding the root renames it away.
func DirHarness(ep zerosync.Endpoint, root string) Harness {
	abs := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	return Harness{
		Endpoint: ep,
		WriteFile: func(p string, data []byte, mode fs.FileMode) error {
			if err := os.MkdirAll(filepath.Dir(abs(p)), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(abs(p), data, mode); err != nil {
				return err
			}
			return os.Chmod(abs(p), mode)
		},
		Mkdir: func(p string, mode fs.FileMode) error {
			if err := os.MkdirAll(abs(p), 0o755); err != nil {
				return err
			}
			return os.Chmod(abs(p), mode)
		},
		Symlink: func(target, p string) error {
			if err := os.MkdirAll(filepath.Dir(abs(p)), 0o755); err != nil {
				return err
			}
			return os.Symlink(target, abs(p))
		},
		RemoveAll: func(p string) error { return os.RemoveAll(abs(p)) },
		ReadFile: func(p string) ([]byte, error) {
			fi, err := os.Lstat(abs(p))
			if err != nil {
				return nil, err
			}
			if !fi.Mode().IsRegular() {
				return nil, errors.New("not a regular file")
			}
			return os.ReadFile(abs(p))
		},
		Lstat: func(p string) (*zerosync.Entry, error) { return LstatEntry(abs(p)) },
		Archived: func(p string) ([][]byte, error) {
			return Archived(filepath.Join(root, zerosync.StateDirName, "archive"), p)
		},
		HideRoot: func() (func() error, error) {
			hidden := root + ".hidden"
			if err := os.Rename(root, hidden); err != nil {
				return nil, err
			}
			return func() error { return os.Rename(hidden, root) }, nil
		},
	}
}

// LstatEntry describes the file at abs as a scan should, digest included;
// nil when it is absent.
func LstatEntry(abs string) (*zerosync.Entry, error) {
	fi, err := os.Lstat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := &zerosync.Entry{ModTime: fi.ModTime()}
	switch {
	case fi.Mode().IsRegular():
		b, err := os.ReadFile(abs)
		if err != nil {
			return nil, err
		}
		e.Kind, e.Mode, e.Size, e.Digest = zerosync.KindFile, fi.Mode().Perm(), fi.Size(), digest.Sum(b)
	case fi.IsDir():
		e.Kind, e.Mode = zerosync.KindDir, fi.Mode().Perm()
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(abs)
		if err != nil {
			return nil, err
		}
		e.Kind, e.Target = zerosync.KindSymlink, t
	default:
		return nil, errors.New("unsupported file type " + fi.Mode().String())
	}
	return e, nil
}

// Archived returns every content kept for path p in an archive directory
// laid out as <archive>/<stamp>/<path>.
func Archived(archive, p string) ([][]byte, error) {
	stamps, err := os.ReadDir(archive)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, s := range stamps {
		b, err := os.ReadFile(filepath.Join(archive, s.Name(), filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
