package zerosync_test

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
)

func TestValidPath(t *testing.T) {
	good := []string{"a", "a/b", ".bashrc", "dir/.hidden", "a b/c", "a\\b", "..a", "a..", strings.Repeat("x", 255)}
	for _, p := range good {
		if err := zerosync.CheckPath(p); err != nil {
			t.Errorf("CheckPath(%q) = %v, want nil", p, err)
		}
	}
	bad := map[string]string{
		"":                         "empty",
		"/etc/passwd":              "absolute",
		"../x":                     `".." component`,
		"a/../../b":                `".." component`,
		"a/./b":                    `"." component`,
		".":                        `"." component`,
		"a//b":                     "empty component",
		"a/":                       "empty component",
		"a\x00b":                   "NUL",
		strings.Repeat("x", 256):   "component longer",
		strings.Repeat("x/", 2049): "longer than",
	}
	for p, why := range bad {
		err := zerosync.ValidPath(p)
		if !errors.Is(err, zerosync.ErrInvalidPath) || !strings.Contains(err.Error(), why) {
			t.Errorf("ValidPath(%q) = %v, want ErrInvalidPath saying %q", p, err, why)
		}
	}
	for _, p := range []string{".zerosync", "a/.zerosync/b", "d/.zs-tmp-123", "x.zs-conflict-20260101-b.txt"} {
		if err := zerosync.CheckPath(p); !errors.Is(err, zerosync.ErrReserved) {
			t.Errorf("CheckPath(%q) = %v, want ErrReserved", p, err)
		}
	}
}

func TestSnapshotValidate(t *testing.T) {
	dir := zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
	f := zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: 1}
	ok := zerosync.Snapshot{"d": dir, "d/f": f, "l": {Kind: zerosync.KindSymlink, Target: "d/f"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]zerosync.Snapshot{
		"under symlink": {"l": {Kind: zerosync.KindSymlink, Target: "../.."}, "l/x": f},
		"under file":    {"f": f, "f/x": f},
		"no parent":     {"a/b": f},
		"bad kind":      {"a": {Kind: 9}},
		"setuid":        {"a": {Kind: zerosync.KindFile, Mode: 0o4755}},
		"empty link":    {"a": {Kind: zerosync.KindSymlink}},
		"dir digest":    {"a": {Kind: zerosync.KindDir, Digest: zerosync.Digest{1}}},
	} {
		var pe *zerosync.PathError
		if err := s.Validate(); !errors.As(err, &pe) {
			t.Errorf("%s: Validate() = %v, want a *PathError", name, err)
		}
	}
}

// FuzzCheckPath: a path that passes is clean, relative, and joined to any
// root stays beneath it.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../x", "/etc/passwd", "a/../../b", "a\x00b", ".", "a//b", ".zs-tmp-1", "x/.zerosync/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if zerosync.CheckPath(p) != nil {
			return
		}
		if path.Clean(p) != p || path.IsAbs(p) || p == "." {
			t.Fatalf("%q passed but is not clean and relative", p)
		}
		root := "/srv/root"
		if j := filepath.Join(root, filepath.FromSlash(p)); !strings.HasPrefix(j, root+"/") {
			t.Fatalf("%q passed but escapes: %s", p, j)
		}
		for _, name := range strings.Split(p, "/") {
			if zerosync.ReservedName(name) {
				t.Fatalf("%q passed with reserved name %q", p, name)
			}
		}
	})
}

func TestEntrySame(t *testing.T) {
	a := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Digest: zerosync.Digest{1}}
	b := *a
	b.Mode = 0o755
	if a.Same(&b) || !a.SameContent(&b) {
		t.Fatal("mode must count for Same and not for SameContent")
	}
	var n *zerosync.Entry
	if !n.Same(nil) || n.Same(a) || a.Same(nil) {
		t.Fatal("nil handling")
	}
}

// FuzzSnapshotValidate: Validate, which checks only the last component of
// a path whose parent is present, agrees with the full check of every path
// in sorted order, and names the same bad path.
func FuzzSnapshotValidate(f *testing.F) {
	for _, s := range []string{"d\nf:d/f", "a//b\na/\na", "/a\n/", "d\nd/..\nf:d/../x", "f:f\nf:f/x", "d\nd/.zs-tmp-1", "l:l\nf:l/x", "d\nd/e\nd/e/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := zerosync.Snapshot{}
		for line := range strings.SplitSeq(in, "\n") {
			e := zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
			if p, ok := strings.CutPrefix(line, "f:"); ok {
				line, e = p, zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644}
			} else if p, ok := strings.CutPrefix(line, "l:"); ok {
				line, e = p, zerosync.Entry{Kind: zerosync.KindSymlink, Target: "x"}
			}
			s[line] = e
		}
		got, want := s.Validate(), s.ValidatePaths(s.Paths())
		if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
			t.Fatalf("Validate() = %v, full check = %v", got, want)
		}
	})
}

func BenchmarkValidate100k(b *testing.B) {
	s := zerosync.Snapshot{}
	for i := range 100_000 {
		d := fmt.Sprintf("d%03d", i/1000)
		s[d] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
		s[fmt.Sprintf("%s/f%05d", d, i)] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: 1}
	}
	for b.Loop() {
		if err := s.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
