//go:build linux

package local

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zerosync/zerosync"
)

// FuzzApplyPaths feeds arbitrary paths to every call that takes one, over a
// root planted with symlinks that lead outside it: nothing may ever be
// written outside the root, and nothing may panic.
func FuzzApplyPaths(f *testing.F) {
	for _, p := range []string{
		"x", "sub/x", "../x", "/etc/passwd", "a/../../b", "a\x00b", "", ".", "a//b",
		"up/x", "up/outside/sentinel", "abs/sentinel", "abs/x", "dl/x", "sub/deeper/x",
		"f", "f/x", "up", "abs", ".zerosync/archive/x", ".zs-tmp-1", "x.zs-conflict-y",
	} {
		for op := range uint8(8) {
			f.Add(p, op)
		}
	}
	top := f.TempDir()
	root := filepath.Join(top, "root")
	out := filepath.Join(top, "outside")
	sentinel := filepath.Join(out, "sentinel")
	writeFile(f, sentinel, []byte("outside the root"), 0o644)
	writeFile(f, filepath.Join(root, "f"), []byte("f"), 0o644)
	must(f, os.MkdirAll(filepath.Join(root, "sub", "deeper"), 0o755))
	must(f, os.Symlink("..", filepath.Join(root, "up")))
	must(f, os.Symlink(out, filepath.Join(root, "abs")))
	must(f, os.Symlink("sub", filepath.Join(root, "dl")))
	must(f, os.Symlink(sentinel, filepath.Join(root, "sub", "slink")))
	e, err := New(root)
	must(f, err)
	f.Cleanup(func() { e.Close() })

	data := []byte("fuzzed content")
	file := fileEntry(data, 0o644)
	sentinelEntry := fileEntry([]byte("outside the root"), 0o644)
	f.Fuzz(func(t *testing.T, p string, op uint8) {
		ctx := t.Context()
		switch op % 8 {
		case 0:
			e.Apply(ctx, zerosync.Op{Path: p, New: file}, bytes.NewReader(data))
		case 1:
			e.Apply(ctx, zerosync.Op{Path: p, Old: sentinelEntry, New: file}, bytes.NewReader(data))
		case 2:
			e.Apply(ctx, zerosync.Op{Path: p, New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}}, nil)
		case 3:
			e.Apply(ctx, zerosync.Op{Path: p, New: &zerosync.Entry{Kind: zerosync.KindSymlink, Target: p + "x"}}, nil)
		case 4:
			e.Apply(ctx, zerosync.Op{Path: p, Old: sentinelEntry, Archive: true}, nil)
		case 5:
			if rc, err := e.Open(ctx, p); err == nil {
				b, _ := io.ReadAll(rc)
				rc.Close()
				if bytes.Equal(b, []byte("outside the root")) {
					t.Fatalf("Open %q read the sentinel outside the root", p)
				}
			}
		case 6:
			e.KeepConflict(ctx, p, *file, bytes.NewReader(data), p)
		case 7:
			e.Copy(ctx, p, zerosync.Op{Path: "copy", New: sentinelEntry})
		}
		got, err := os.ReadFile(sentinel)
		if err != nil || !bytes.Equal(got, []byte("outside the root")) {
			t.Fatalf("after %d on %q the sentinel holds %q (%v)", op%8, p, got, err)
		}
		for dir, want := range map[string][]string{out: {"sentinel"}, top: {"outside", "root"}} {
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range ents {
				names = append(names, d.Name())
			}
			if !slices.Equal(names, want) {
				t.Fatalf("after %d on %q, %s holds %q", op%8, p, dir, names)
			}
		}
	})
}
