package transporttest

import (
	"errors"
	"io"
	"strings"

	"github.com/zerosync/zerosync"
)

// badPaths are paths a hostile or broken peer might send.
var badPaths = []string{
	"",
	".",
	"..",
	"../x",
	"/etc/passwd",
	"a/../../b",
	"a/./b",
	"a//b",
	"a/",
	"./a",
	"a\x00b",
	strings.Repeat("n", zerosync.MaxNameLen+1),
	strings.Repeat("d/", zerosync.MaxPathLen/2) + "x",
	".zerosync",
	".zerosync/archive/x",
	"d/.zerosync",
	".zs-tmp-0123",
	"d/.zs-tmp-x",
	"f.zs-conflict-20260101-000000.000-x.txt",
	"d.zs-conflict-1/f",
}

// wantPathErr returns the sentinel an endpoint must report for p.
func wantPathErr(p string) error {
	if errors.Is(zerosync.CheckPath(p), zerosync.ErrInvalidPath) {
		return zerosync.ErrInvalidPath
	}
	return zerosync.ErrReserved
}

var pathCases = []testCase{
	{"apply-refuses", func(e *env) {
		e.mkdir("d", 0o755)
		e.write("a", []byte("a"), 0o644)
		before := e.scan()
		data := []byte("payload")
		for _, p := range badPaths {
			want := wantPathErr(p)
			e.expectErr("Apply create of "+quote(p), e.apply(zerosync.Op{Path: p, New: fileEntry(data, 0o644)}, data), want)
			e.expectErr("Apply mkdir of "+quote(p), e.apply(zerosync.Op{Path: p, New: dirEntry(0o755)}, nil), want)
			e.expectErr("Apply symlink of "+quote(p), e.apply(zerosync.Op{Path: p, New: linkEntry("a")}, nil), want)
			e.expectErr("Apply remove of "+quote(p), e.apply(zerosync.Op{Path: p, Old: fileEntry(data, 0o644)}, nil), want)
		}
		e.expectSameTree(before, e.scan())
	}},
	{"open-refuses", func(e *env) {
		e.write(".zerosync/state", []byte("private"), 0o644)
		e.write("d/.zs-tmp-x", []byte("private"), 0o644)
		e.write("f.zs-conflict-20260101-000000.000-x.txt", []byte("private"), 0o644)
		for _, p := range badPaths {
			rc, err := e.ep.Open(e.ctx, p)
			if err == nil {
				b, _ := io.ReadAll(rc)
				rc.Close()
				e.t.Fatalf("Open %s succeeded and read %q", quote(p), clip(b))
			}
			e.expectErr("Open "+quote(p), err, wantPathErr(p))
		}
	}},
}

var confinementCases = []testCase{
	{"create-through-dir-symlink", func(e *env) {
		e.mkdir("real", 0o755)
		e.symlink("real", "link")
		before := e.scan()
		data := []byte("must not land in real/")
		for _, op := range []zerosync.Op{
			{Path: "link/x", New: fileEntry(data, 0o644)},
			{Path: "link/d", New: dirEntry(0o755)},
			{Path: "link/l", New: linkEntry("x")},
		} {
			var content []byte
			if op.New.Kind == zerosync.KindFile {
				content = data
			}
			if err := e.apply(op, content); err == nil {
				e.t.Fatalf("Apply %v through a symlinked directory succeeded", op)
			}
		}
		for _, p := range []string{"real/x", "real/d", "real/l"} {
			e.expect(p, nil)
		}
		e.expect("link", linkEntry("real"))
		e.expectSameTree(before, e.scan())
	}},
	{"update-through-file-symlink", func(e *env) {
		data := []byte("the link's target")
		e.write("target", data, 0o644)
		e.symlink("target", "ln")
		before := e.scan()
		// A peer claims ln is the file; the endpoint must see a symlink and
		// refuse, never write to what the link points at.
		claimed := fileEntry(data, 0o644)
		incoming := []byte("overwrite attempt")
		e.expectErr("Apply through a symlink", e.apply(zerosync.Op{Path: "ln", Old: claimed, New: fileEntry(incoming, 0o644)}, incoming), zerosync.ErrChanged)
		e.expectErr("remove through a symlink", e.apply(zerosync.Op{Path: "ln", Old: claimed}, nil), zerosync.ErrChanged)
		e.expectContent("target", data)
		e.expect("ln", linkEntry("target"))
		e.expectSameTree(before, e.scan())
	}},
	{"remove-through-dir-symlink", func(e *env) {
		data := []byte("precious")
		e.write("real/f", data, 0o644)
		e.symlink("real", "link")
		before := e.scan()
		if err := e.apply(zerosync.Op{Path: "link/f", Old: fileEntry(data, 0o644)}, nil); err == nil {
			e.t.Fatal("removing through a symlinked directory succeeded")
		}
		e.expectContent("real/f", data)
		e.expectSameTree(before, e.scan())
	}},
	{"open-through-symlink", func(e *env) {
		e.write("real/f", []byte("secret"), 0o644)
		e.symlink("real", "link")
		e.symlink("real/f", "flink")
		for _, p := range []string{"link/f", "flink"} {
			rc, err := e.ep.Open(e.ctx, p)
			if err == nil {
				b, _ := io.ReadAll(rc)
				rc.Close()
				e.t.Fatalf("Open %q read %q through a symlink", p, b)
			}
		}
	}},
	{"escaping-symlink", func(e *env) {
		e.symlink("../../../../../../..", "up")
		e.symlink("/", "slash")
		before := e.scan()
		data := []byte("escape attempt")
		for _, p := range []string{"up/tmp/escaped", "slash/tmp/escaped", "up/x", "slash/x"} {
			if err := e.apply(zerosync.Op{Path: p, New: fileEntry(data, 0o644)}, data); err == nil {
				e.t.Fatalf("Apply to %q through an escaping symlink succeeded", p)
			}
		}
		e.expectSameTree(before, e.scan())
	}},
}

func quote(p string) string {
	if len(p) > 40 {
		return strings.ReplaceAll(p[:40], "\x00", `\0`) + "..."
	}
	return `"` + strings.ReplaceAll(p, "\x00", `\0`) + `"`
}
