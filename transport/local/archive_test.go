//go:build linux

package local

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	must(t, err)
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestArchiveIsAHardLink(t *testing.T) {
	e, root := newEndpoint(t)
	old := []byte("never seen by the other side")
	writeFile(t, filepath.Join(root, "d", "f"), old, 0o640)
	ino := inode(t, filepath.Join(root, "d", "f"))
	s := scanOK(t, e)
	data := []byte("incoming")
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "d/f", Old: s.Get("d/f"), New: fileEntry(data, 0o644), Archive: true}, bytes.NewReader(data)))

	matches, err := filepath.Glob(filepath.Join(root, ".zerosync", "archive", "*", "d", "f"))
	must(t, err)
	if len(matches) != 1 {
		t.Fatalf("archive holds %q, want one copy of d/f", matches)
	}
	if got := inode(t, matches[0]); got != ino {
		t.Fatalf("archived inode %d, want the replaced file's %d (a hard link)", got, ino)
	}
	expectBytes(t, matches[0], old)
	stamp := filepath.Base(filepath.Dir(filepath.Dir(matches[0])))
	if !regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-replaced$`).MatchString(stamp) {
		t.Fatalf("archive folder %q is not a UTC stamp and the reason", stamp)
	}
}

func TestArchiveDirElsewhere(t *testing.T) {
	root := newRoot(t)
	arch := filepath.Join(t.TempDir(), "archive")
	e, err := New(root, WithArchiveDir(arch))
	must(t, err)
	defer e.Close()
	old := []byte("old")
	writeFile(t, filepath.Join(root, "f"), old, 0o644)
	s := scanOK(t, e)
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "f", Old: s.Get("f"), Archive: true}, nil))
	got, err := archived(arch, "f")
	must(t, err)
	if len(got) != 1 || !bytes.Equal(got[0], old) {
		t.Fatalf("archive elsewhere holds %q, want the old content", got)
	}
	if _, err := os.Stat(filepath.Join(root, ".zerosync")); !os.IsNotExist(err) {
		t.Fatalf("the root got a state folder although the archive is elsewhere: %v", err)
	}
}

func TestArchiveDirInsideRootMustBeReserved(t *testing.T) {
	root := newRoot(t)
	if _, err := New(root, WithArchiveDir(filepath.Join(root, "archive"))); err == nil {
		t.Fatal("an archive directory the scan would sync was accepted")
	}
	e, err := New(root, WithArchiveDir(filepath.Join(root, ".zerosync", "old")))
	must(t, err)
	e.Close()
}

func TestCopyFileAtCopies(t *testing.T) {
	// The fallback used when a hard link is impossible (another file system).
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src"), []byte("payload"), 0o640)
	must(t, os.Symlink("target", filepath.Join(dir, "ln")))
	must(t, os.Mkdir(filepath.Join(dir, "out"), 0o755))
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	out, err := unix.Open(filepath.Join(dir, "out"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(out)
	must(t, copyFileAt(fd, "src", out, "src"))
	must(t, copyFileAt(fd, "ln", out, "ln"))
	expectBytes(t, filepath.Join(dir, "out", "src"), []byte("payload"))
	if inode(t, filepath.Join(dir, "out", "src")) == inode(t, filepath.Join(dir, "src")) {
		t.Fatal("copyFileAt linked instead of copying")
	}
	if got, err := os.Readlink(filepath.Join(dir, "out", "ln")); err != nil || got != "target" {
		t.Fatalf("copied symlink: %q, %v", got, err)
	}
	if err := copyFileAt(fd, "src", out, "src"); err == nil {
		t.Fatal("copyFileAt replaced an existing file")
	}
}

func TestKeepConflictNames(t *testing.T) {
	e, root := newEndpoint(t)
	long := strings.Repeat("é", 120) + ".markdown" // 249 bytes
	for _, p := range []string{"notes.txt", "Makefile", ".bashrc", "archive.tar.gz", long} {
		data := []byte("theirs: " + p)
		writeFile(t, filepath.Join(root, p), []byte("ours"), 0o644)
		cp, err := e.KeepConflict(t.Context(), p, *fileEntry(data, 0o600), bytes.NewReader(data), "from host b/../../x")
		must(t, err)
		base := filepath.Base(cp)
		if len(base) > zerosync.MaxNameLen || !strings.Contains(base, zerosync.ConflictMarker) {
			t.Fatalf("conflict copy name %q", base)
		}
		if strings.ContainsAny(base, "/ ") || !strings.Contains(base, "from_host_b_.._.._x") {
			t.Fatalf("note not sanitized in %q", base)
		}
		if ext := filepath.Ext(p); ext != "" && ext != p && !strings.HasSuffix(base, ext) {
			t.Fatalf("%q lost the extension of %q", base, p)
		}
		expectBytes(t, filepath.Join(root, cp), data)
		fi, err := os.Lstat(filepath.Join(root, cp))
		must(t, err)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("conflict copy has mode %v, want 0600", fi.Mode())
		}
		got, err := archived(filepath.Join(root, ".zerosync", "archive"), p)
		must(t, err)
		if len(got) != 1 || !bytes.Equal(got[0], data) {
			t.Fatalf("archive for %q holds %q", p, got)
		}
	}
	// A symlink entry makes a symlink copy.
	cp, err := e.KeepConflict(t.Context(), "notes.txt", zerosync.Entry{Kind: zerosync.KindSymlink, Target: "elsewhere"}, nil, "link")
	must(t, err)
	if got, err := os.Readlink(filepath.Join(root, cp)); err != nil || got != "elsewhere" {
		t.Fatalf("symlink conflict copy: %q, %v", got, err)
	}
	if left := tempFiles(t, root); len(left) != 0 {
		t.Fatalf("temp files left: %q", left)
	}
}

func TestConflictNameIsBounded(t *testing.T) {
	for _, base := range []string{"a", strings.Repeat("x", 255), strings.Repeat("ü", 127), "f." + strings.Repeat("e", 30)} {
		for _, i := range []int{0, 7, 999} {
			n := conflictName(base, "20260101-000000.000", strings.Repeat("note ", 20), i)
			if len(n) > zerosync.MaxNameLen || !zerosync.ReservedName(n) || zerosync.ValidPath(n) != nil {
				t.Fatalf("conflictName(%q, %d) = %q (%d bytes)", base, i, n, len(n))
			}
		}
	}
}
