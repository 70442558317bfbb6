//go:build linux

package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zerosync/zerosync"
)

// outside makes a directory beside the root holding a sentinel file, and
// returns a check that nothing in it changed.
func outside(t *testing.T, root string) (dir string, unchanged func()) {
	t.Helper()
	dir = filepath.Join(filepath.Dir(root), "outside")
	sentinel := filepath.Join(dir, "sentinel")
	writeFile(t, sentinel, []byte("outside the root"), 0o644)
	return dir, func() {
		t.Helper()
		expectBytes(t, sentinel, []byte("outside the root"))
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("the directory outside the root now holds %q", names)
		}
	}
}

// attack runs every kind of write at p and expects each to fail.
func attack(t *testing.T, e *Endpoint, p string, old *zerosync.Entry) {
	t.Helper()
	data := []byte("written through a link")
	ops := []zerosync.Op{
		{Path: p, New: fileEntry(data, 0o644)},
		{Path: p, Old: old, New: fileEntry(data, 0o644)},
		{Path: p, New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}},
		{Path: p, New: &zerosync.Entry{Kind: zerosync.KindSymlink, Target: "x"}},
		{Path: p, Old: old},
		{Path: p, Old: old, New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o700}},
	}
	for _, op := range ops {
		if op.Old == nil && op.New == nil {
			continue
		}
		var r io.Reader
		if op.New != nil && op.New.Kind == zerosync.KindFile {
			r = newBytesReader(data)
		}
		if err := e.Apply(t.Context(), op, r); err == nil {
			t.Errorf("Apply %v succeeded", op)
		}
	}
	if rc, err := e.Open(t.Context(), p); err == nil {
		rc.Close()
		t.Errorf("Open %q succeeded", p)
	}
	// A conflict copy is made beside p, so only a symlinked parent must
	// stop it.
	if zerosync.Parent(p) != "" {
		if _, err := e.KeepConflict(t.Context(), p, *fileEntry(data, 0o644), newBytesReader(data), "x"); err == nil {
			t.Errorf("KeepConflict %q succeeded", p)
		}
	}
}

func TestConfinement(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		name := "openat2"
		if fallback {
			name = "component-walk"
		}
		t.Run(name, func(t *testing.T) {
			if fallback {
				noOpenat2.Store(true)
				defer noOpenat2.Store(false)
			}
			t.Run("dir-symlink-escaping-the-root", func(t *testing.T) {
				e, root := newEndpoint(t)
				out, unchanged := outside(t, root)
				must(t, os.Symlink("../..", filepath.Join(root, "d")))
				must(t, os.Symlink(out, filepath.Join(root, "abs")))
				must(t, os.Symlink("../outside", filepath.Join(root, "rel")))
				sentinel := fileEntry([]byte("outside the root"), 0o644)
				for _, p := range []string{"d/x", "abs/x", "abs/sentinel", "rel/sentinel", "d/outside/sentinel"} {
					attack(t, e, p, sentinel)
				}
				unchanged()
			})
			t.Run("dir-symlink-inside-the-root", func(t *testing.T) {
				e, root := newEndpoint(t)
				writeFile(t, filepath.Join(root, "real", "f"), []byte("real"), 0o644)
				must(t, os.Symlink("real", filepath.Join(root, "dl")))
				must(t, os.MkdirAll(filepath.Join(root, "a", "b"), 0o755))
				must(t, os.Symlink("../../real", filepath.Join(root, "a", "b", "deep")))
				for _, p := range []string{"dl/x", "dl/f", "a/b/deep/f", "a/b/deep/x"} {
					attack(t, e, p, fileEntry([]byte("real"), 0o644))
				}
				ents, err := os.ReadDir(filepath.Join(root, "real"))
				must(t, err)
				if len(ents) != 1 {
					t.Fatalf("real/ holds %d entries, want only f", len(ents))
				}
				expectBytes(t, filepath.Join(root, "real", "f"), []byte("real"))
			})
			t.Run("file-symlink", func(t *testing.T) {
				e, root := newEndpoint(t)
				out, unchanged := outside(t, root)
				writeFile(t, filepath.Join(root, "target"), []byte("in-root target"), 0o644)
				must(t, os.Symlink("target", filepath.Join(root, "ln")))
				must(t, os.Symlink(filepath.Join(out, "sentinel"), filepath.Join(root, "out")))
				attack(t, e, "ln", fileEntry([]byte("in-root target"), 0o644))
				attack(t, e, "out", fileEntry([]byte("outside the root"), 0o644))
				expectBytes(t, filepath.Join(root, "target"), []byte("in-root target"))
				for _, l := range []string{"ln", "out"} {
					if fi, err := os.Lstat(filepath.Join(root, l)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
						t.Fatalf("%s is no longer a symlink: %v", l, err)
					}
				}
				unchanged()
			})
		})
	}
}

// TestConfinementRace swaps a directory for a symlink that leads outside,
// over and over, while applies write beneath it: none may land outside.
func TestConfinementRace(t *testing.T) {
	e, root := newEndpoint(t)
	out, unchanged := outside(t, root)
	d := filepath.Join(root, "d")
	must(t, os.Mkdir(d, 0o755))
	real := filepath.Join(root, "real")
	link := filepath.Join(root, "link")
	must(t, os.Symlink(out, link))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			os.Rename(d, real) // the directory leaves...
			os.Rename(link, d) // ...a link to outside takes its place...
			os.Rename(d, link)
			os.Rename(real, d) // ...and the directory comes back
		}
	})
	data := []byte("racing")
	wrote := 0
	for i := range 3000 {
		p := fmt.Sprintf("d/f%d", i)
		err := e.Apply(t.Context(), zerosync.Op{Path: p, New: fileEntry(data, 0o644)}, newBytesReader(data))
		if err == nil {
			wrote++
		}
	}
	stop.Store(true)
	wg.Wait()
	unchanged()
	t.Logf("%d of 3000 applies found the real directory", wrote)
}

func TestOpenRefusesSpecialFiles(t *testing.T) {
	e, root := newEndpoint(t)
	must(t, mkfifo(filepath.Join(root, "fifo")))
	_, err := e.Open(t.Context(), "fifo")
	if err == nil || !errors.Is(err, errNotRegular) {
		t.Fatalf("Open of a named pipe: %v, want errNotRegular", err)
	}
}

func TestOpenBeneathRefusesEscapes(t *testing.T) {
	_, root := newEndpoint(t)
	fd, err := openatRetry(-100, root, 0, 0)
	must(t, err)
	defer closeFD(fd)
	must(t, os.Symlink("..", filepath.Join(root, "up")))
	for _, fallback := range []bool{false, true} {
		noOpenat2.Store(fallback)
		for _, p := range []string{"..", "../root", "up", "up/root", "a/../.."} {
			if got, err := openBeneath(fd, p, 0); err == nil {
				closeFD(got)
				t.Errorf("openBeneath(%q) (fallback %v) succeeded", p, fallback)
			}
		}
	}
	noOpenat2.Store(false)
}

func TestSplitAndJoin(t *testing.T) {
	for _, p := range []string{"a", "a/b", "a/b/c"} {
		dir, name := splitPath(p)
		if got := joinPath(dir, name); got != p {
			t.Errorf("joinPath(splitPath(%q)) = %q", p, got)
		}
	}
	if dir, name := splitPath("top"); dir != "" || name != "top" {
		t.Errorf("splitPath(top) = %q, %q", dir, name)
	}
}
