//go:build linux

package local

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/transporttest"
)

// newRoot returns an empty directory for a root, inside a test directory
// that also has room beside it (for sentinels outside the root).
func newRoot(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { makeWritable(filepath.Dir(root)) })
	return root
}

// makeWritable lets the test directory's cleanup remove what tests made
// read-only.
func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// newEndpoint returns an endpoint over a fresh root, closed at the end of
// the test.
func newEndpoint(t testing.TB, opts ...Option) (*Endpoint, string) {
	t.Helper()
	root := newRoot(t)
	e, err := New(root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, root
}

// harness is the conformance suite's view of an endpoint over root.
func harness(t *testing.T, e *Endpoint, root string) transporttest.Harness {
	return transporttest.DirHarness(e, root)
}

// lstatEntry describes a path as a scan should; nil when absent.
func lstatEntry(abs string) (*zerosync.Entry, error) { return transporttest.LstatEntry(abs) }

// archived returns every content kept in the archive directory for p.
func archived(archive, p string) ([][]byte, error) { return transporttest.Archived(archive, p) }

// tempFiles lists the temp files beneath root, wherever they are, but
// the partials of cut transfers, which are kept on purpose (partial.go).
func tempFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), zerosync.TempPrefix) && !isPartial(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func writeFile(t testing.TB, p string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func expectBytes(t testing.TB, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", p, got, want)
	}
}

func fileEntry(data []byte, mode fs.FileMode) *zerosync.Entry {
	return &zerosync.Entry{Kind: zerosync.KindFile, Mode: mode, Size: int64(len(data)), Digest: digest.Sum(data)}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newBytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func mkfifo(p string) error { return unix.Mkfifo(p, 0o644) }

func closeFD(fd int) { unix.Close(fd) }
