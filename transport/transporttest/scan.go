package transporttest

import (
	"errors"
	"io"
	"io/fs"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

var scanCases = []testCase{
	{"empty-root", func(e *env) {
		if s := e.scan(); len(s) != 0 {
			e.t.Fatalf("empty root scanned as %v", s.Paths())
		}
	}},
	{"entries", scanEntries},
	{"reserved-names", scanReserved},
	{"sees-edits", func(e *env) {
		// The same size and mode, edited right after a scan: a scan must
		// not trust a fingerprint that cannot tell the versions apart.
		e.write("f", []byte("version-1"), 0o644)
		e.scan()
		e.write("f", []byte("version-2"), 0o644)
		if got := e.scan().Get("f"); got == nil || got.Digest != digest.Sum([]byte("version-2")) {
			e.t.Fatalf("second scan reports %v, want the digest of version-2", got)
		}
		e.removeAll("f")
		if got := e.scan().Get("f"); got != nil {
			e.t.Fatalf("removed file still scanned as %v", got)
		}
	}},
	{"sees-applies", func(e *env) {
		v1, v2 := []byte("one"), []byte("two")
		e.mustApply(zerosync.Op{Path: "f", New: fileEntry(v1, 0o644)}, v1)
		old := e.scan().Get("f")
		e.mustApply(zerosync.Op{Path: "f", Old: old, New: fileEntry(v2, 0o600)}, v2)
		if got := e.scan().Get("f"); !got.Same(fileEntry(v2, 0o600)) {
			e.t.Fatalf("scan after apply reports %v, want %v", got, fileEntry(v2, 0o600))
		}
	}},
}

func scanEntries(e *env) {
	big := pattern(1<<20+12345, 7)
	files := map[string]struct {
		data []byte
		mode fs.FileMode
	}{
		"a.txt":             {[]byte("hello\n"), 0o644},
		"empty":             {nil, 0o600},
		"bin/run.sh":        {[]byte("#!/bin/sh\necho hi\n"), 0o755},
		"d1/d2/d3/deep.txt": {[]byte("deep"), 0o640},
		"private/secret":    {[]byte("s3cr3t"), 0o400},
		"big.bin":           {big, 0o644},
		"name with spaces":  {[]byte("x"), 0o644},
		"ünïcode-名前":        {[]byte("y"), 0o644},
	}
	dirs := map[string]fs.FileMode{
		"bin": 0o755, "d1": 0o755, "d1/d2": 0o750, "d1/d2/d3": 0o700, "private": 0o700, "emptydir": 0o775,
	}
	links := map[string]string{
		"ln-rel":      "a.txt",
		"ln-abs":      "/etc/passwd",
		"ln-dangling": "nowhere/at/all",
		"ln-up":       "../../outside",
		"d1/ln-dir":   "d2",
	}
	for _, p := range []string{"bin", "d1", "d1/d2", "d1/d2/d3", "private", "emptydir"} {
		e.mkdir(p, 0o755)
	}
	for p, f := range files {
		e.write(p, f.data, f.mode)
	}
	for p, target := range links {
		e.symlink(target, p)
	}
	// Set directory modes last: a directory without write permission
	// cannot be filled by a person who is not root.
	for _, p := range []string{"d1/d2/d3", "d1/d2", "d1", "bin", "private", "emptydir"} {
		e.mkdir(p, dirs[p])
	}

	s := e.scan()
	want := zerosync.Snapshot{}
	for p, f := range files {
		want[p] = *fileEntry(f.data, f.mode)
	}
	for p, m := range dirs {
		want[p] = *dirEntry(m)
	}
	for p, target := range links {
		want[p] = *linkEntry(target)
	}
	e.expectSameTree(want, s)
	for p, got := range s {
		switch got.Kind {
		case zerosync.KindDir:
			if got.Size != 0 || !got.Digest.IsZero() || got.Target != "" {
				e.t.Errorf("directory %q scanned with size, digest or target: %+v", p, got)
			}
		case zerosync.KindSymlink:
			if got.Mode != 0 || got.Size != 0 || !got.Digest.IsZero() {
				e.t.Errorf("symlink %q scanned with mode, size or digest: %+v", p, got)
			}
		case zerosync.KindFile:
			if got.Mode&^fs.ModePerm != 0 {
				e.t.Errorf("file %q scanned with mode %v beyond permission bits", p, got.Mode)
			}
			if got.ModTime.IsZero() {
				e.t.Errorf("file %q scanned without a modification time", p)
			}
		}
		if l := e.lstat(p); !l.Same(&got) {
			e.t.Errorf("scan says %q is %v, the tree says %v", p, &got, l)
		}
	}
	// A second scan (warm, for endpoints that cache) agrees with the first.
	e.expectSameTree(s, e.scan())
}

func scanReserved(e *env) {
	e.write(".zerosync/archive/x", []byte("archived"), 0o644)
	e.write(".zs-tmp-deadbeef", []byte("half-written"), 0o600)
	e.write("sub/.zs-tmp-1", []byte("half-written"), 0o600)
	e.write("notes.zs-conflict-20260101-000000.000-theirs.txt", []byte("conflict"), 0o644)
	e.write("sub/.zerosync/y", []byte("state"), 0o644)
	e.write("x.zs-conflict-dir/inner", []byte("inside a reserved dir"), 0o644)
	e.symlink("keep", "sub/.zs-tmp-link")
	e.write("sub/keep.txt", []byte("keep"), 0o644)
	e.write("keep", []byte("keep"), 0o644)
	s := e.scan()
	got := s.Paths()
	want := []string{"keep", "sub", "sub/keep.txt"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		e.t.Fatalf("scan reports %q, want %q", got, want)
	}
	// Conflict copies and the state folder are not temp files: a scan
	// leaves them alone.
	e.expectContent("notes.zs-conflict-20260101-000000.000-theirs.txt", []byte("conflict"))
	e.expectContent(".zerosync/archive/x", []byte("archived"))
}

var openCases = []testCase{
	{"file", func(e *env) {
		data := pattern(3<<20+17, 3)
		e.write("dir/f.bin", data, 0o644)
		rc, err := e.ep.Open(e.ctx, "dir/f.bin")
		if err != nil {
			e.t.Fatalf("Open: %v", err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil {
			e.t.Fatalf("read: %v", err)
		}
		if d := digest.Sum(got); d != digest.Sum(data) || len(got) != len(data) {
			e.t.Fatalf("Open read %d bytes (%s), want %d (%s)", len(got), d.Short(), len(data), digest.Sum(data).Short())
		}
		if err := rc.Close(); err != nil {
			e.t.Fatalf("Close: %v", err)
		}
	}},
	{"empty-file", func(e *env) {
		e.write("empty", nil, 0o644)
		rc, err := e.ep.Open(e.ctx, "empty")
		if err != nil {
			e.t.Fatalf("Open: %v", err)
		}
		defer rc.Close()
		if got, err := io.ReadAll(rc); err != nil || len(got) != 0 {
			e.t.Fatalf("read %q, %v; want nothing", got, err)
		}
	}},
	{"missing", func(e *env) {
		rc, err := e.ep.Open(e.ctx, "nope")
		if err == nil {
			rc.Close()
		}
		e.expectErr("Open of a missing file", err, fs.ErrNotExist)
		_, err = e.ep.Open(e.ctx, "no/such/dir")
		if err == nil {
			e.t.Fatal("Open beneath a missing directory succeeded")
		}
	}},
	{"not-a-file", func(e *env) {
		e.mkdir("dir", 0o755)
		e.write("target", []byte("through the link"), 0o644)
		e.symlink("target", "link")
		for _, p := range []string{"dir", "link"} {
			rc, err := e.ep.Open(e.ctx, p)
			if err == nil {
				b, _ := io.ReadAll(rc)
				rc.Close()
				e.t.Fatalf("Open %q succeeded and read %q; want an error", p, b)
			}
			if errors.Is(err, zerosync.ErrInvalidPath) {
				e.t.Fatalf("Open %q: %v; a valid path is not ErrInvalidPath", p, err)
			}
		}
	}},
}
