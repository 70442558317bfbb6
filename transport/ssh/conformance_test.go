package ssh

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/transporttest"
)

// TestConformance runs the endpoint conformance suite over a real sshd.
// Every subtest opens a fresh root through the same transport, so the
// whole suite also runs over one connection.
func TestConformance(t *testing.T) {
	f := newFixture(t)
	tr := f.transport(t)
	t.Run("kind=ssh", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) transporttest.Harness {
			root := newDir(t, "root")
			ep, err := tr.Endpoint(t.Context(), f.target(), root)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ep.Close() })
			return harness(ep, root)
		})
	})
	if st := tr.Stats(); st.Dials != 1 || st.Agents != 1 {
		t.Errorf("the suite used %d connections and %d agents, want 1 and 1", st.Dials, st.Agents)
	}
}

// harness is the suite's view of an endpoint over root, a directory on
// this host that the agent serves.
func harness(ep *Endpoint, root string) transporttest.Harness {
	abs := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	return transporttest.Harness{
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
		Lstat: func(p string) (*zerosync.Entry, error) { return lstatEntry(abs(p)) },
		Archived: func(p string) ([][]byte, error) {
			return archived(filepath.Join(root, zerosync.StateDirName, "archive"), p)
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

// lstatEntry describes a path as a scan should, digest included; nil when
// absent.
func lstatEntry(abs string) (*zerosync.Entry, error) {
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
		target, err := os.Readlink(abs)
		if err != nil {
			return nil, err
		}
		e.Kind, e.Target = zerosync.KindSymlink, target
	default:
		return nil, errors.New("unsupported file type " + fi.Mode().String())
	}
	return e, nil
}

// archived returns every content kept in the archive directory for p.
func archived(archive, p string) ([][]byte, error) {
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
