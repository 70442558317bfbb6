//go:build linux

package local

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

// killedAfter delivers n bytes of data and then fails, as a connection
// that drops or a process that is killed mid-transfer.
func killedAfter(data []byte, n int) io.Reader {
	return io.MultiReader(bytes.NewReader(data[:n]), iotest.ErrReader(errors.New("connection lost")))
}

func TestApplyInterruptedLeavesOldFile(t *testing.T) {
	e, root := newEndpoint(t)
	old := bytes.Repeat([]byte("old "), 1000)
	writeFile(t, filepath.Join(root, "f"), old, 0o644)
	s := scanOK(t, e)
	data := bytes.Repeat([]byte("new!"), 1<<18) // 1 MiB
	for _, n := range []int{0, 1, 4096, bufSize, len(data) - 1} {
		for _, op := range []zerosync.Op{
			{Path: "f", Old: s.Get("f"), New: fileEntry(data, 0o644)},
			{Path: "g", New: fileEntry(data, 0o644)},
		} {
			if err := e.Apply(t.Context(), op, killedAfter(data, n)); err == nil {
				t.Fatalf("Apply %v killed after %d bytes succeeded", op, n)
			}
			expectBytes(t, filepath.Join(root, "f"), old)
			if _, err := os.Lstat(filepath.Join(root, "g")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("g exists after a failed create: %v", err)
			}
			if left := tempFiles(t, root); len(left) != 0 {
				t.Fatalf("temp files left behind: %q", left)
			}
		}
	}
}

func TestApplyIsAtomicForReaders(t *testing.T) {
	// Readers racing with replacements see one whole version or the other.
	e, root := newEndpoint(t)
	versions := [][]byte{bytes.Repeat([]byte("A"), 300_000), bytes.Repeat([]byte("B"), 200_000)}
	writeFile(t, filepath.Join(root, "f"), versions[0], 0o644)
	var stop atomic.Bool
	var torn atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				b, err := os.ReadFile(filepath.Join(root, "f"))
				if err != nil {
					torn.Add(1) // the path must never be missing
					continue
				}
				if !bytes.Equal(b, versions[0]) && !bytes.Equal(b, versions[1]) {
					torn.Add(1)
				}
			}
		})
	}
	cur := fileEntry(versions[0], 0o644)
	for i := range 60 {
		next := fileEntry(versions[(i+1)%2], 0o644)
		if err := e.Apply(t.Context(), zerosync.Op{Path: "f", Old: cur, New: next}, bytes.NewReader(versions[(i+1)%2])); err != nil {
			t.Fatal(err)
		}
		cur = next
	}
	stop.Store(true)
	wg.Wait()
	if n := torn.Load(); n > 0 {
		t.Fatalf("readers saw %d partial or missing files", n)
	}
}

func TestApplySetsExactModeAndTime(t *testing.T) {
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	e, root := newEndpoint(t)
	mt := time.Date(2024, 2, 29, 23, 59, 58, 987654321, time.UTC)
	data := []byte("#!/bin/sh\n")
	want := fileEntry(data, 0o755)
	want.ModTime = mt
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "run", New: want}, bytes.NewReader(data)))
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "d", New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o775}}, nil))
	fi, err := os.Lstat(filepath.Join(root, "run"))
	must(t, err)
	if fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(mt) {
		t.Fatalf("run has mode %v and time %v, want 0755 and %v", fi.Mode(), fi.ModTime(), mt)
	}
	fi, err = os.Lstat(filepath.Join(root, "d"))
	must(t, err)
	if fi.Mode().Perm() != 0o775 {
		t.Fatalf("d has mode %v despite umask 077, want 0775", fi.Mode())
	}
}

func TestApplyRefusesSizesBeyondFreeSpace(t *testing.T) {
	e, root := newEndpoint(t)
	var sfs unix.Statfs_t
	must(t, unix.Statfs(root, &sfs))
	want := fileEntry([]byte("x"), 0o644)
	want.Size = int64(sfs.Blocks*uint64(sfs.Bsize)) + 1
	err := e.Apply(t.Context(), zerosync.Op{Path: "big", New: want}, endlessZeros{})
	if !errors.Is(err, zerosync.ErrTooLarge) {
		t.Fatalf("Apply of more than the disk holds: %v, want ErrTooLarge", err)
	}
	if left := tempFiles(t, root); len(left) != 0 {
		t.Fatalf("temp files left: %q", left)
	}
}

type endlessZeros struct{}

func (endlessZeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestApplyParentIsNotADirectory(t *testing.T) {
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "file"), []byte("x"), 0o644)
	data := []byte("y")
	err := e.Apply(t.Context(), zerosync.Op{Path: "file/child", New: fileEntry(data, 0o644)}, bytes.NewReader(data))
	if !errors.Is(err, zerosync.ErrChanged) {
		t.Fatalf("Apply beneath a file: %v, want ErrChanged", err)
	}
	var pe *zerosync.PathError
	if !errors.As(err, &pe) || pe.Op != "apply" || pe.Path != "file/child" || pe.Host != "local" {
		t.Fatalf("error %v is not a PathError for apply file/child", err)
	}
}

func TestRemoveDirTakesLeftoversOnly(t *testing.T) {
	e, root := newEndpoint(t)
	d := filepath.Join(root, "d")
	must(t, os.Mkdir(d, 0o755))
	writeFile(t, filepath.Join(d, "notes.zs-conflict-20260101-000000.000-x.txt"), []byte("copy"), 0o644)
	writeFile(t, filepath.Join(d, ".zs-tmp-crashed"), []byte("torn"), 0o600)
	writeFile(t, filepath.Join(d, ".zs-tmp-busy"), []byte("in flight"), 0o600)
	e.addInflight("d/.zs-tmp-busy")
	old := &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}

	// A temp file an apply is writing keeps the directory.
	if err := e.Apply(t.Context(), zerosync.Op{Path: "d", Old: old}, nil); err == nil {
		t.Fatal("removed a directory with a temp file in flight")
	}
	if _, err := os.Stat(filepath.Join(d, "notes.zs-conflict-20260101-000000.000-x.txt")); err != nil {
		t.Fatalf("a refused removal deleted a conflict copy: %v", err)
	}
	e.dropInflight("d/.zs-tmp-busy")
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "d", Old: old}, nil))
	if _, err := os.Lstat(d); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("d still exists: %v", err)
	}
}

func TestApplyRejectsMalformedEntries(t *testing.T) {
	e, _ := newEndpoint(t)
	for _, op := range []zerosync.Op{
		{Path: "x"},
		{Path: "x", New: &zerosync.Entry{Kind: 9}},
		{Path: "x", New: &zerosync.Entry{Kind: zerosync.KindSymlink}},
		{Path: "x", New: &zerosync.Entry{Kind: zerosync.KindSymlink, Target: "a\x00b"}},
		{Path: "x", New: &zerosync.Entry{Kind: zerosync.KindFile, Size: -1}},
	} {
		if err := e.Apply(t.Context(), op, bytes.NewReader(nil)); !errors.Is(err, errInvalidEntry) {
			t.Errorf("Apply %+v: %v, want errInvalidEntry", op, err)
		}
	}
}

func TestClosedEndpoint(t *testing.T) {
	e, _ := newEndpoint(t)
	must(t, e.Close())
	must(t, e.Close())
	if _, _, err := e.Scan(t.Context()); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Scan after Close: %v", err)
	}
	data := []byte("x")
	if err := e.Apply(t.Context(), zerosync.Op{Path: "x", New: fileEntry(data, 0o644)}, bytes.NewReader(data)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Apply after Close: %v", err)
	}
}
