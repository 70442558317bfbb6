package transporttest

import (
	"errors"
	"io"
	"testing/iotest"
	"time"

	"github.com/zerosync/zerosync"
)

var applyCases = []testCase{
	{"create-file", func(e *env) {
		data := []byte("fresh content\n")
		want := fileEntry(data, 0o640)
		e.mustApply(zerosync.Op{Path: "new.txt", New: want}, data)
		e.expect("new.txt", want)
		e.expectContent("new.txt", data)
		got := e.scan().Get("new.txt")
		if !got.Same(want) || got.Size != want.Size {
			e.t.Fatalf("scan reports %v, want %v", got, want)
		}
		if d := got.ModTime.Sub(want.ModTime).Abs(); d > time.Second {
			e.t.Fatalf("modification time %v, want %v", got.ModTime, want.ModTime)
		}
	}},
	{"create-empty-file", func(e *env) {
		want := fileEntry(nil, 0o600)
		e.mustApply(zerosync.Op{Path: "empty", New: want}, []byte{})
		e.expect("empty", want)
		e.expectContent("empty", nil)
	}},
	{"create-large-file", func(e *env) {
		data := pattern(5<<20+3, 11)
		want := fileEntry(data, 0o644)
		// A reader that returns short reads, as a network stream does.
		if err := e.ep.Apply(e.ctx, zerosync.Op{Path: "large.bin", New: want}, iotest.HalfReader(newReader(data))); err != nil {
			e.t.Fatalf("Apply: %v", err)
		}
		e.expect("large.bin", want)
	}},
	{"create-in-subdir", func(e *env) {
		e.mkdir("a/b", 0o755)
		data := []byte("nested")
		e.mustApply(zerosync.Op{Path: "a/b/c.txt", New: fileEntry(data, 0o644)}, data)
		e.expectContent("a/b/c.txt", data)
	}},
	{"create-with-missing-parent", func(e *env) {
		data := []byte("orphan")
		if err := e.apply(zerosync.Op{Path: "nope/x", New: fileEntry(data, 0o644)}, data); err == nil {
			e.t.Fatal("Apply beneath a missing directory succeeded")
		}
		e.expect("nope", nil)
	}},
	{"update-file", func(e *env) {
		e.write("f", []byte("old content"), 0o644)
		old := e.scan().Get("f")
		data := []byte("new content, longer than before")
		want := fileEntry(data, 0o600)
		e.mustApply(zerosync.Op{Path: "f", Old: old, New: want}, data)
		e.expect("f", want)
		e.expectContent("f", data)
	}},
	{"update-file-shorter", func(e *env) {
		e.write("f", pattern(100_000, 1), 0o644)
		old := e.scan().Get("f")
		data := []byte("short")
		e.mustApply(zerosync.Op{Path: "f", Old: old, New: fileEntry(data, 0o644)}, data)
		e.expectContent("f", data)
	}},
	{"chmod-file", func(e *env) {
		data := []byte("#!/bin/sh\n")
		e.write("run", data, 0o644)
		old := e.scan().Get("run")
		want := fileEntry(data, 0o755)
		e.mustApply(zerosync.Op{Path: "run", Old: old, New: want}, data)
		e.expect("run", want)
	}},
	{"remove-file", func(e *env) {
		e.write("gone", []byte("bye"), 0o644)
		e.write("stays", []byte("hi"), 0o644)
		old := e.scan().Get("gone")
		e.mustApply(zerosync.Op{Path: "gone", Old: old}, nil)
		e.expect("gone", nil)
		e.expectContent("stays", []byte("hi"))
		if e.scan().Get("gone") != nil {
			e.t.Fatal("removed file still scanned")
		}
	}},
	{"create-dir", func(e *env) {
		want := dirEntry(0o750)
		e.mustApply(zerosync.Op{Path: "d", New: want}, nil)
		e.expect("d", want)
		e.mustApply(zerosync.Op{Path: "d/e", New: dirEntry(0o700)}, nil)
		e.expect("d/e", dirEntry(0o700))
	}},
	{"chmod-dir", func(e *env) {
		e.mkdir("d", 0o755)
		e.write("d/child", []byte("child"), 0o644)
		old := e.scan().Get("d")
		want := dirEntry(0o700)
		e.mustApply(zerosync.Op{Path: "d", Old: old, New: want}, nil)
		e.expect("d", want)
		e.expectContent("d/child", []byte("child"))
	}},
	{"remove-empty-dir", func(e *env) {
		e.mkdir("d", 0o755)
		old := e.scan().Get("d")
		e.mustApply(zerosync.Op{Path: "d", Old: old}, nil)
		e.expect("d", nil)
	}},
	{"remove-non-empty-dir", func(e *env) {
		e.mkdir("d/sub", 0o755)
		e.write("e/child", []byte("precious"), 0o644)
		s := e.scan()
		for _, p := range []string{"d", "e"} {
			if err := e.apply(zerosync.Op{Path: p, Old: s.Get(p)}, nil); err == nil {
				e.t.Fatalf("removing non-empty directory %q succeeded", p)
			}
		}
		e.expectContent("e/child", []byte("precious"))
		e.expectSameTree(s, e.scan())
	}},
	{"remove-dir-holding-excluded-file", func(e *env) {
		// A file the scan left out (here a reserved state folder) is still
		// something the directory holds.
		e.mkdir("d", 0o755)
		s := e.scan()
		e.write("d/.zerosync/keep", []byte("not ours to drop"), 0o644)
		if err := e.apply(zerosync.Op{Path: "d", Old: s.Get("d")}, nil); err == nil {
			e.t.Fatal("removing a directory holding an excluded file succeeded")
		}
		e.expectContent("d/.zerosync/keep", []byte("not ours to drop"))
	}},
	{"create-symlink", func(e *env) {
		for p, target := range map[string]string{
			"rel":      "some/where/../x",
			"abs":      "/etc/hostname",
			"dangling": "does-not-exist",
			"up":       "../../../../etc",
		} {
			want := linkEntry(target)
			e.mustApply(zerosync.Op{Path: p, New: want}, nil)
			e.expect(p, want)
		}
	}},
	{"retarget-symlink", func(e *env) {
		e.symlink("first", "ln")
		old := e.scan().Get("ln")
		want := linkEntry("second")
		e.mustApply(zerosync.Op{Path: "ln", Old: old, New: want}, nil)
		e.expect("ln", want)
	}},
	{"remove-symlink", func(e *env) {
		e.write("target", []byte("stays"), 0o644)
		e.symlink("target", "ln")
		old := e.scan().Get("ln")
		e.mustApply(zerosync.Op{Path: "ln", Old: old}, nil)
		e.expect("ln", nil)
		e.expectContent("target", []byte("stays"))
	}},
	{"type-changes", func(e *env) {
		// Each change of kind is a removal followed by a creation.
		data := []byte("file body")
		e.write("f2d", data, 0o644)
		e.mkdir("d2f", 0o755)
		e.write("f2l", data, 0o644)
		e.symlink("x", "l2d")
		e.mkdir("d2l", 0o755)
		e.symlink("y", "l2f")
		s := e.scan()
		steps := []struct {
			path string
			new  *zerosync.Entry
			data []byte
		}{
			{"f2d", dirEntry(0o755), nil},
			{"d2f", fileEntry(data, 0o644), data},
			{"f2l", linkEntry("target"), nil},
			{"l2d", dirEntry(0o700), nil},
			{"d2l", linkEntry("elsewhere"), nil},
			{"l2f", fileEntry(data, 0o600), data},
		}
		for _, st := range steps {
			e.mustApply(zerosync.Op{Path: st.path, Old: s.Get(st.path)}, nil)
			e.mustApply(zerosync.Op{Path: st.path, New: st.new}, st.data)
			e.expect(st.path, st.new)
		}
	}},
}

var preconditionCases = []testCase{
	{"content-changed", func(e *env) {
		e.write("f", []byte("scanned version"), 0o644)
		old := e.scan().Get("f")
		e.write("f", []byte("edited behind our back"), 0o644)
		e.expectChanged(zerosync.Op{Path: "f", Old: old, New: fileEntry([]byte("incoming"), 0o644)}, []byte("incoming"))
		e.expectContent("f", []byte("edited behind our back"))
	}},
	{"content-changed-same-size", func(e *env) {
		e.write("f", []byte("aaaa"), 0o644)
		old := e.scan().Get("f")
		e.write("f", []byte("bbbb"), 0o644)
		e.expectChanged(zerosync.Op{Path: "f", Old: old, New: fileEntry([]byte("cccc"), 0o644)}, []byte("cccc"))
		e.expectContent("f", []byte("bbbb"))
	}},
	{"mode-changed", func(e *env) {
		data := []byte("same bytes")
		e.write("f", data, 0o644)
		old := e.scan().Get("f")
		e.write("f", data, 0o600)
		e.expectChanged(zerosync.Op{Path: "f", Old: old, New: fileEntry([]byte("new"), 0o644)}, []byte("new"))
		e.expect("f", fileEntry(data, 0o600))
	}},
	{"created-when-expected-absent", func(e *env) {
		e.write("f", []byte("a person's new file"), 0o644)
		e.expectChanged(zerosync.Op{Path: "f", New: fileEntry([]byte("ours"), 0o644)}, []byte("ours"))
		e.expectContent("f", []byte("a person's new file"))
	}},
	{"dir-created-when-expected-absent", func(e *env) {
		e.write("d", []byte("a file where a directory was planned"), 0o644)
		e.expectChanged(zerosync.Op{Path: "d", New: dirEntry(0o755)}, nil)
		e.expectContent("d", []byte("a file where a directory was planned"))
	}},
	{"symlink-created-when-expected-absent", func(e *env) {
		e.write("ln", []byte("a file where a link was planned"), 0o644)
		e.expectChanged(zerosync.Op{Path: "ln", New: linkEntry("target")}, nil)
		e.expectContent("ln", []byte("a file where a link was planned"))
	}},
	{"removed-when-expected-present", func(e *env) {
		e.write("f", []byte("soon gone"), 0o644)
		old := e.scan().Get("f")
		e.removeAll("f")
		e.expectChanged(zerosync.Op{Path: "f", Old: old, New: fileEntry([]byte("update"), 0o644)}, []byte("update"))
		e.expect("f", nil)
		e.expectChanged(zerosync.Op{Path: "f", Old: old}, nil)
		e.expect("f", nil)
	}},
	{"kind-changed", func(e *env) {
		e.write("p", []byte("was a file"), 0o644)
		old := e.scan().Get("p")
		e.removeAll("p")
		e.mkdir("p", 0o755)
		e.expectChanged(zerosync.Op{Path: "p", Old: old, New: fileEntry([]byte("x"), 0o644)}, []byte("x"))
		e.expectChanged(zerosync.Op{Path: "p", Old: old}, nil)
		e.expect("p", dirEntry(0o755))
	}},
	{"symlink-retargeted", func(e *env) {
		e.symlink("a", "ln")
		old := e.scan().Get("ln")
		e.removeAll("ln")
		e.symlink("b", "ln")
		e.expectChanged(zerosync.Op{Path: "ln", Old: old, New: linkEntry("c")}, nil)
		e.expectChanged(zerosync.Op{Path: "ln", Old: old}, nil)
		e.expect("ln", linkEntry("b"))
	}},
	{"remove-of-edited-file", func(e *env) {
		e.write("f", []byte("v1"), 0o644)
		old := e.scan().Get("f")
		e.write("f", []byte("v2, edited"), 0o644)
		e.expectChanged(zerosync.Op{Path: "f", Old: old}, nil)
		e.expectContent("f", []byte("v2, edited"))
	}},
	{"dir-replaced-by-file", func(e *env) {
		e.mkdir("d", 0o755)
		old := e.scan().Get("d")
		e.removeAll("d")
		e.write("d", []byte("now a file"), 0o644)
		e.expectChanged(zerosync.Op{Path: "d", Old: old}, nil)
		e.expectChanged(zerosync.Op{Path: "d", Old: old, New: dirEntry(0o700)}, nil)
		e.expectContent("d", []byte("now a file"))
	}},
}

// expectChanged applies op and checks that it fails with ErrChanged and
// leaves the scanned tree as it was.
func (e *env) expectChanged(op zerosync.Op, data []byte) {
	e.t.Helper()
	before := e.scan()
	e.expectErr("Apply "+op.String()+" after an edit behind its back", e.apply(op, data), zerosync.ErrChanged)
	e.expectSameTree(before, e.scan())
}

var lyingCases = []testCase{
	{"short", func(e *env) {
		e.lie(func(want *zerosync.Entry, data []byte) io.Reader {
			return newReader(data[:len(data)/2])
		})
	}},
	{"long", func(e *env) {
		e.lie(func(want *zerosync.Entry, data []byte) io.Reader {
			return newReader(append(append([]byte{}, data...), "and then some"...))
		})
	}},
	{"wrong-digest", func(e *env) {
		e.lie(func(want *zerosync.Entry, data []byte) io.Reader {
			bad := append([]byte{}, data...)
			bad[len(bad)/2] ^= 0xff
			return newReader(bad)
		})
	}},
	{"endless", func(e *env) {
		// An endless stream must be cut off just past the declared size.
		e.lie(func(want *zerosync.Entry, data []byte) io.Reader {
			return io.MultiReader(newReader(data), endless{})
		})
	}},
	{"nil-content", func(e *env) {
		e.lie(func(want *zerosync.Entry, data []byte) io.Reader { return nil })
	}},
	{"huge-declared-size", func(e *env) {
		// A size from the wire must not make the endpoint allocate or
		// reserve it before the bytes arrive: the apply fails with
		// ErrDigestMismatch, or ErrTooLarge when it is refused up front.
		e.write("f", []byte("old"), 0o644)
		before := e.scan()
		data := []byte("ten bytes!")
		want := fileEntry(data, 0o644)
		want.Size = 1 << 50
		err := e.ep.Apply(e.ctx, zerosync.Op{Path: "f", Old: before.Get("f"), New: want}, newReader(data))
		if !errors.Is(err, zerosync.ErrTooLarge) { // refused up front, or
			e.expectErr("Apply with a huge declared size", err, zerosync.ErrDigestMismatch)
		}
		e.expectContent("f", []byte("old"))
		e.expectSameTree(before, e.scan())
	}},
	{"reader-fails", func(e *env) {
		// The connection drops halfway: nothing changes, whatever the error.
		e.write("f", []byte("old content"), 0o644)
		before := e.scan()
		data := pattern(256<<10, 5)
		r := io.MultiReader(newReader(data[:100<<10]), iotest.ErrReader(io.ErrUnexpectedEOF))
		for _, op := range []zerosync.Op{
			{Path: "f", Old: before.Get("f"), New: fileEntry(data, 0o644)},
			{Path: "g", New: fileEntry(data, 0o644)},
		} {
			if err := e.ep.Apply(e.ctx, op, r); err == nil {
				e.t.Fatalf("Apply %v with a failing reader succeeded", op)
			}
		}
		e.expectContent("f", []byte("old content"))
		e.expect("g", nil)
		e.expectSameTree(before, e.scan())
	}},
}

// lie applies content made by bad, for a create and for an update, and
// checks that both fail with ErrDigestMismatch and change nothing.
func (e *env) lie(bad func(want *zerosync.Entry, data []byte) io.Reader) {
	e.t.Helper()
	e.write("existing", []byte("the old file stays intact"), 0o644)
	before := e.scan()
	data := pattern(64<<10+1, 9)
	want := fileEntry(data, 0o644)
	for _, op := range []zerosync.Op{
		{Path: "created", New: want},
		{Path: "existing", Old: before.Get("existing"), New: want},
	} {
		err := e.ep.Apply(e.ctx, op, bad(want, data))
		e.expectErr("Apply "+op.String()+" with lying content", err, zerosync.ErrDigestMismatch)
	}
	e.expect("created", nil)
	e.expectContent("existing", []byte("the old file stays intact"))
	e.expectSameTree(before, e.scan())
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}
