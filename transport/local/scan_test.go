//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

func TestScanReportsSpecialFilesAsProblems(t *testing.T) {
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "ok"), []byte("fine"), 0o644)
	must(t, os.Mkdir(filepath.Join(root, "d"), 0o755))
	must(t, mkfifo(filepath.Join(root, "d", "fifo")))
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	must(t, err)
	defer l.Close()

	s, probs, err := e.Scan(t.Context())
	must(t, err)
	if got := s.Paths(); len(got) != 2 || got[0] != "d" || got[1] != "ok" {
		t.Fatalf("scan reports %q, want [d ok]", got)
	}
	byPath := map[string]error{}
	for _, p := range probs {
		byPath[p.Path] = p.Err
	}
	for _, p := range []string{"d/fifo", "sock"} {
		err, ok := byPath[p]
		if !ok {
			t.Fatalf("no problem reported for %s; problems: %v", p, probs)
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("problem for %s: %v, want errors.ErrUnsupported", p, err)
		}
	}
	if len(probs) != 2 {
		t.Errorf("problems %v, want two", probs)
	}
}

func TestScanReportsUnreadableFiles(t *testing.T) {
	// Root reads everything, so the permission error is injected where the
	// file is opened for hashing.
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "secret"), []byte("unreadable"), 0o000)
	writeFile(t, filepath.Join(root, "public"), []byte("readable"), 0o644)
	e.failOpen = func(p string) error {
		if p == "secret" {
			return unix.EACCES
		}
		return nil
	}
	s, probs, err := e.Scan(t.Context())
	must(t, err)
	if s.Get("secret") != nil || s.Get("public") == nil {
		t.Fatalf("scan reports %q, want only public", s.Paths())
	}
	if len(probs) != 1 || probs[0].Path != "secret" || !errors.Is(probs[0].Err, fs.ErrPermission) {
		t.Fatalf("problems %v, want a permission problem for secret", probs)
	}
	// Once readable, it is scanned (and was not cached as anything).
	e.failOpen = nil
	s, probs, err = e.Scan(t.Context())
	must(t, err)
	if s.Get("secret") == nil || len(probs) != 0 {
		t.Fatalf("scan reports %q with problems %v", s.Paths(), probs)
	}
}

func TestScanRemovesStaleTempFiles(t *testing.T) {
	e, root := newEndpoint(t)
	stale := []string{".zs-tmp-0123456789abcdef", "d/.zs-tmp-crash", "d/e/.zs-tmp-x"}
	for _, p := range stale {
		writeFile(t, filepath.Join(root, filepath.FromSlash(p)), []byte("torn write"), 0o600)
	}
	must(t, os.Symlink("t", filepath.Join(root, "d", ".zs-tmp-link")))
	// A temp file an apply of this process is writing is not stale.
	writeFile(t, filepath.Join(root, "d", ".zs-tmp-busy"), []byte("in flight"), 0o600)
	e.addInflight("d/.zs-tmp-busy")
	// A directory with a temp name is not ours: it is left alone.
	must(t, os.MkdirAll(filepath.Join(root, ".zs-tmp-dir", "inner"), 0o755))

	s, _, err := e.Scan(t.Context())
	must(t, err)
	for p := range s {
		if zerosync.IsReserved(p) {
			t.Fatalf("scan reports %q", p)
		}
	}
	left := tempFiles(t, root)
	want := []string{filepath.Join(root, ".zs-tmp-dir"), filepath.Join(root, "d", ".zs-tmp-busy")}
	if len(left) != 2 || !contains(left, want[0]) || !contains(left, want[1]) {
		t.Fatalf("temp files left: %q, want %q", left, want)
	}
	e.dropInflight("d/.zs-tmp-busy")
	_, _, err = e.Scan(t.Context())
	must(t, err)
	if left := tempFiles(t, root); len(left) != 1 {
		t.Fatalf("temp files left after the apply ended: %q", left)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestRootMissing(t *testing.T) {
	t.Run("new", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "file")
		writeFile(t, file, nil, 0o644)
		for _, root := range []string{filepath.Join(dir, "absent"), file} {
			_, err := New(root)
			if !errors.Is(err, zerosync.ErrRootMissing) {
				t.Errorf("New(%q): %v, want ErrRootMissing", root, err)
			}
		}
	})
	cases := map[string]func(t *testing.T, root string){
		"removed": func(t *testing.T, root string) { must(t, os.RemoveAll(root)) },
		"replaced-by-empty-dir": func(t *testing.T, root string) {
			must(t, os.Rename(root, root+".old"))
			must(t, os.Mkdir(root, 0o755))
		},
		"replaced-by-file": func(t *testing.T, root string) {
			must(t, os.Rename(root, root+".old"))
			writeFile(t, root, nil, 0o644)
		},
		"replaced-by-symlink-to-a-copy": func(t *testing.T, root string) {
			must(t, os.Rename(root, root+".old"))
			must(t, os.Mkdir(root+".copy", 0o755))
			must(t, os.Symlink(root+".copy", root))
		},
	}
	for name, gone := range cases {
		t.Run(name, func(t *testing.T) {
			e, root := newEndpoint(t)
			writeFile(t, filepath.Join(root, "f"), []byte("data"), 0o644)
			s, _, err := e.Scan(t.Context())
			must(t, err)
			gone(t, root)
			s, _, err = e.Scan(t.Context())
			if !errors.Is(err, zerosync.ErrRootMissing) {
				t.Fatalf("Scan: %v (%d paths), want ErrRootMissing", err, len(s))
			}
			data := []byte("x")
			err = e.Apply(t.Context(), zerosync.Op{Path: "g", New: fileEntry(data, 0o644)}, newBytesReader(data))
			if !errors.Is(err, zerosync.ErrRootMissing) {
				t.Fatalf("Apply: %v, want ErrRootMissing", err)
			}
			if _, err := e.Open(t.Context(), "f"); !errors.Is(err, zerosync.ErrRootMissing) {
				t.Fatalf("Open: %v, want ErrRootMissing", err)
			}
		})
	}
}

func TestScanReportsOverlongPaths(t *testing.T) {
	e, root := newEndpoint(t)
	// Nest directories beyond MaxPathLen, one *at call at a time (a whole
	// path that long is refused by the kernel).
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	name := strings.Repeat("n", 250)
	depth := zerosync.MaxPathLen/(len(name)+1) + 2
	for range depth {
		must(t, unix.Mkdirat(fd, name, 0o755))
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		must(t, err)
		unix.Close(fd)
		fd = next
	}
	unix.Close(fd)
	s, probs, err := e.Scan(t.Context())
	must(t, err)
	must(t, s.Validate())
	if len(probs) != 1 || !strings.Contains(probs[0].Err.Error(), "longer than") {
		t.Fatalf("problems %v, want one overlong path", probs)
	}
	for p := range s {
		if len(p) > zerosync.MaxPathLen {
			t.Fatalf("scan reports a path of %d bytes", len(p))
		}
	}
	// The endpoint's own cleanup must cope too: remove by descriptor.
	removeDeep(t, root, name, depth)
}

func removeDeep(t *testing.T, root, name string, depth int) {
	t.Helper()
	fds := []int{}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	fds = append(fds, fd)
	for range depth - 1 {
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		must(t, err)
		fds = append(fds, next)
		fd = next
	}
	for i := len(fds) - 1; i >= 0; i-- {
		must(t, unix.Unlinkat(fds[i], name, unix.AT_REMOVEDIR))
		unix.Close(fds[i])
	}
}

func TestScanCancelled(t *testing.T) {
	e, root := newEndpoint(t)
	for i := range 50 {
		writeFile(t, filepath.Join(root, "d", string(rune('a'+i%26))+strings.Repeat("x", i)), []byte("x"), 0o644)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := e.Scan(ctx); err == nil {
		t.Fatal("Scan with a cancelled context succeeded")
	}
}

// openFDs counts the descriptors the process holds.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	return len(ents)
}

// TestScanDeepComb: a tree whose every level holds two folders, one going
// deeper, keeps more folders open at once than a scan holds (the rest are
// opened from the root): everything is found, and every descriptor is
// closed afterwards, on a full scan and on a rescan of the top folder.
func TestScanDeepComb(t *testing.T) {
	e, root := newEndpoint(t)
	const depth = 3 * maxHeld
	dir := root
	for i := range depth {
		must(t, os.Mkdir(filepath.Join(dir, "side"), 0o755))
		writeFile(t, filepath.Join(dir, "side", "f"), []byte(fmt.Sprint(i)), 0o644)
		dir = filepath.Join(dir, "d")
		must(t, os.Mkdir(dir, 0o755))
	}
	before := openFDs(t)
	s := scanOK(t, e)
	require.Len(t, s, 3*depth)
	deepest := strings.TrimSuffix(strings.Repeat("d/", depth), "/")
	require.Contains(t, s, deepest)
	require.Contains(t, s, strings.Repeat("d/", depth-1)+"side/f")
	sub, _, err := e.ScanPaths(t.Context(), []string{"d"})
	must(t, err)
	require.Len(t, sub, 3*depth-2) // all but side and side/f at the top
	require.Equal(t, before, openFDs(t))
}
