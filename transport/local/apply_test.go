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
	"github.com/zerosync/zerosync/transport/transporttest"
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

// fillUp writes the file p until its file system has no room left.
func fillUp(t testing.TB, p string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	must(t, err)
	defer f.Close()
	buf := bytes.Repeat([]byte{'z'}, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("filling %s: %v", p, err)
			}
			return
		}
	}
}

// fillingReader delivers data, and fills the file system at filler once it
// delivered half of it: the disk runs out of room in the middle of a write.
type fillingReader struct {
	t      testing.TB
	r      io.Reader
	half   int
	n      int
	filler string
}

func (f *fillingReader) Read(p []byte) (int, error) {
	if f.n >= f.half && f.filler != "" {
		fillUp(f.t, f.filler)
		f.filler = ""
	}
	k, err := f.r.Read(p[:min(len(p), max(f.half-f.n, 1<<10))])
	f.n += k
	return k, err
}

// TestApplyDiskFull fills a real file system (a small tmpfs) in the middle
// of writes: a creation, a replacement and a conflict copy each fail with
// ENOSPC, leave no temp file and leave the old file whole; once there is
// room they succeed.
func TestApplyDiskFull(t *testing.T) {
	mnt := transporttest.Tmpfs(t, "size=1m")
	root := filepath.Join(mnt, "root")
	must(t, os.Mkdir(root, 0o755))
	e, err := New(root, WithArchiveDir(filepath.Join(mnt, "archive")))
	must(t, err)
	t.Cleanup(func() { e.Close() })
	old := bytes.Repeat([]byte("old\n"), 1000)
	writeFile(t, filepath.Join(root, "f"), old, 0o644)
	s := scanOK(t, e)
	data := bytes.Repeat([]byte("new!"), 64<<10) // 256 KiB: fits when it starts
	filler := filepath.Join(mnt, "filler")
	reader := func() io.Reader {
		return &fillingReader{t: t, r: bytes.NewReader(data), half: len(data) / 2, filler: filler}
	}
	ops := []zerosync.Op{
		{Path: "f", Old: s.Get("f"), New: fileEntry(data, 0o644)},
		{Path: "g", New: fileEntry(data, 0o644)},
	}
	for _, op := range ops {
		err := e.Apply(t.Context(), op, reader())
		if !errors.Is(err, unix.ENOSPC) {
			t.Fatalf("Apply %s on a full disk: %v, want ENOSPC", op.Path, err)
		}
		must(t, os.Remove(filler))
	}
	_, err = e.KeepConflict(t.Context(), "f", *fileEntry(data, 0o644), reader(), "peer")
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("KeepConflict on a full disk: %v, want ENOSPC", err)
	}
	if left := tempFiles(t, root); len(left) != 0 {
		t.Fatalf("temp files left: %q", left)
	}
	expectBytes(t, filepath.Join(root, "f"), old)
	if names, _ := os.ReadDir(root); len(names) != 1 {
		t.Fatalf("the root holds %v, want f alone", names)
	}
	must(t, os.Remove(filler))
	for _, op := range ops {
		must(t, e.Apply(t.Context(), op, bytes.NewReader(data)))
		expectBytes(t, filepath.Join(root, op.Path), data)
	}
}

// TestApplyArchiveFull replaces a file that must be archived first while
// the archive's file system (a small tmpfs, another file system, so the
// archive copies) cannot hold it: the file is not replaced, no torn copy is
// left in the archive, and once there is room the replacement archives it.
func TestApplyArchiveFull(t *testing.T) {
	archive := transporttest.Tmpfs(t, "size=64k")
	e, root := newEndpoint(t, WithArchiveDir(archive))
	old := bytes.Repeat([]byte("old version\n"), 10_000) // 120 KB
	writeFile(t, filepath.Join(root, "f"), old, 0o644)
	s := scanOK(t, e)
	data := []byte("new version\n")
	op := zerosync.Op{Path: "f", Old: s.Get("f"), New: fileEntry(data, 0o644), Archive: true}
	err := e.Apply(t.Context(), op, bytes.NewReader(data))
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("Apply with a full archive: %v, want ENOSPC", err)
	}
	expectBytes(t, filepath.Join(root, "f"), old)
	if left := tempFiles(t, root); len(left) != 0 {
		t.Fatalf("temp files left: %q", left)
	}
	kept, err := archived(archive, "f")
	must(t, err)
	if len(kept) != 0 {
		t.Fatalf("the archive holds %d torn copies of f", len(kept))
	}
	transporttest.Remount(t, archive, "size=1m")
	must(t, e.Apply(t.Context(), op, bytes.NewReader(data)))
	expectBytes(t, filepath.Join(root, "f"), data)
	kept, err = archived(archive, "f")
	must(t, err)
	if len(kept) != 1 || !bytes.Equal(kept[0], old) {
		t.Fatalf("the archive holds %d copies of f, want the old version", len(kept))
	}
}

// TestApplyWritersOfOneRoot: two endpoints on one root (the daemon of the
// host and an agent of another host's daemon) replace one path, both
// planned against the same old version, at the same moment, over and over:
// each time at most one succeeds and the other finds the path changed, so
// what one wrote is never silently replaced by the other.
func TestApplyWritersOfOneRoot(t *testing.T) {
	e1, root := newEndpoint(t)
	e2, err := New(root, WithName("other"))
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	for i := range 50 {
		base := []byte{'b', byte(i)}
		writeFile(t, filepath.Join(root, "f"), base, 0o644)
		old := fileEntry(base, 0o644)
		versions := [][]byte{[]byte("from the first writer"), []byte("from the second writer")}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for j, e := range []*Endpoint{e1, e2} {
			wg.Go(func() {
				op := zerosync.Op{Path: "f", Old: old, New: fileEntry(versions[j], 0o644), Archive: true}
				errs[j] = e.Apply(t.Context(), op, bytes.NewReader(versions[j]))
			})
		}
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			t.Fatalf("round %d: both writers replaced the version they planned against; one write is lost", i)
		}
		for j, err := range errs {
			if err != nil && !errors.Is(err, zerosync.ErrChanged) {
				t.Fatalf("round %d, writer %d: %v", i, j, err)
			}
		}
	}
}
