package transporttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	"github.com/zerosync/zerosync"
)

var archiveCases = []testCase{
	{"update-keeps-old-content", func(e *env) {
		old := []byte("content the other side never saw")
		e.write("doc.txt", old, 0o644)
		s := e.scan()
		data := []byte("incoming")
		e.mustApply(zerosync.Op{Path: "doc.txt", Old: s.Get("doc.txt"), New: fileEntry(data, 0o644), Archive: true}, data)
		e.expectContent("doc.txt", data)
		e.expectArchived("doc.txt", old)
		if p := e.scan().Paths(); len(p) != 1 || p[0] != "doc.txt" {
			e.t.Fatalf("archiving left visible paths %q", p)
		}
	}},
	{"remove-keeps-old-content", func(e *env) {
		old := []byte("deleted elsewhere, edited here")
		e.write("d/doc.txt", old, 0o600)
		s := e.scan()
		e.mustApply(zerosync.Op{Path: "d/doc.txt", Old: s.Get("d/doc.txt"), Archive: true}, nil)
		e.expect("d/doc.txt", nil)
		e.expectArchived("d/doc.txt", old)
	}},
	{"archive-of-non-file", func(e *env) {
		// Directories and symlinks have no content to lose; asking to
		// archive them is not an error.
		e.mkdir("d", 0o755)
		e.symlink("t", "ln")
		s := e.scan()
		e.mustApply(zerosync.Op{Path: "d", Old: s.Get("d"), Archive: true}, nil)
		e.mustApply(zerosync.Op{Path: "ln", Old: s.Get("ln"), New: linkEntry("u"), Archive: true}, nil)
		e.expect("d", nil)
		e.expect("ln", linkEntry("u"))
	}},
	{"failed-apply-archives-nothing-visible", func(e *env) {
		e.write("f", []byte("v1"), 0o644)
		s := e.scan()
		e.write("f", []byte("v2"), 0o644)
		data := []byte("v3")
		e.expectErr("Apply", e.apply(zerosync.Op{Path: "f", Old: s.Get("f"), New: fileEntry(data, 0o644), Archive: true}, data), zerosync.ErrChanged)
		e.expectContent("f", []byte("v2"))
	}},
	{"keep-conflict", func(e *env) {
		ar, ok := e.ep.(zerosync.Archiver)
		if !ok {
			return // not an Archiver: nothing to check
		}
		mine := []byte("my version")
		e.write("notes/todo.txt", mine, 0o644)
		before := e.scan()
		theirs := []byte("their version")
		theirs2 := []byte("their other version")
		cp1, err := ar.KeepConflict(e.ctx, "notes/todo.txt", *fileEntry(theirs, 0o644), newReader(theirs), "from host-b ../../etc/x")
		if err != nil {
			e.t.Fatalf("KeepConflict: %v", err)
		}
		cp2, err := ar.KeepConflict(e.ctx, "notes/todo.txt", *fileEntry(theirs2, 0o644), newReader(theirs2), "from host-b ../../etc/x")
		if err != nil {
			e.t.Fatalf("second KeepConflict: %v", err)
		}
		for _, cp := range []string{cp1, cp2} {
			if err := zerosync.ValidPath(cp); err != nil {
				e.t.Fatalf("conflict copy path: %v", err)
			}
			if zerosync.Parent(cp) != "notes" || !strings.Contains(path.Base(cp), zerosync.ConflictMarker) || !zerosync.IsReserved(cp) {
				e.t.Fatalf("conflict copy %q is not a reserved name beside notes/todo.txt", cp)
			}
			if !strings.HasSuffix(cp, ".txt") || !strings.HasPrefix(path.Base(cp), "todo") {
				e.t.Fatalf("conflict copy %q does not keep the name and extension", cp)
			}
		}
		if cp1 == cp2 {
			e.t.Fatalf("two conflict copies share the name %q", cp1)
		}
		e.expectContent(cp1, theirs)
		e.expectContent(cp2, theirs2)
		e.expectContent("notes/todo.txt", mine)
		e.expectSameTree(before, e.scan())
		e.expectArchived("notes/todo.txt", theirs)

		// A conflict copy does not keep its directory alive: removing the
		// directory takes the (archived) copies with it.
		s := e.scan()
		e.mustApply(zerosync.Op{Path: "notes/todo.txt", Old: s.Get("notes/todo.txt")}, nil)
		e.mustApply(zerosync.Op{Path: "notes", Old: s.Get("notes")}, nil)
		e.expect("notes", nil)
	}},
	{"keep-conflict-lying-content", func(e *env) {
		ar, ok := e.ep.(zerosync.Archiver)
		if !ok {
			return
		}
		e.write("f", []byte("mine"), 0o644)
		before := e.scan()
		want := fileEntry([]byte("declared"), 0o644)
		_, err := ar.KeepConflict(e.ctx, "f", *want, newReader([]byte("delivered something else")), "x")
		e.expectErr("KeepConflict with lying content", err, zerosync.ErrDigestMismatch)
		_, err = ar.KeepConflict(e.ctx, "../f", *want, newReader([]byte("declared")), "x")
		e.expectErr("KeepConflict of an invalid path", err, zerosync.ErrInvalidPath)
		e.expectSameTree(before, e.scan())
	}},
}

// expectArchived checks, when the harness can look, that data was archived
// for p.
func (e *env) expectArchived(p string, data []byte) {
	e.t.Helper()
	if e.h.Archived == nil {
		return
	}
	got, err := e.h.Archived(p)
	if err != nil {
		e.t.Fatalf("harness Archived %q: %v", p, err)
	}
	for _, b := range got {
		if bytes.Equal(b, data) {
			return
		}
	}
	e.t.Fatalf("archive for %q holds %d versions, none of them %q", p, len(got), clip(data))
}

var copyCases = []testCase{
	{"copies", func(e *env) {
		cp, ok := e.ep.(zerosync.Copier)
		if !ok {
			return // not a Copier: nothing to check
		}
		data := pattern(200_000, 4)
		e.write("src/a.bin", data, 0o644)
		e.mkdir("dst", 0o755)
		want := fileEntry(data, 0o600)
		if err := cp.Copy(e.ctx, "src/a.bin", zerosync.Op{Path: "dst/b.bin", New: want}); err != nil {
			e.t.Fatalf("Copy: %v", err)
		}
		e.expect("dst/b.bin", want)
		e.expectContent("dst/b.bin", data)
		e.expect("src/a.bin", fileEntry(data, 0o644))
	}},
	{"refuses", func(e *env) {
		cp, ok := e.ep.(zerosync.Copier)
		if !ok {
			return
		}
		data := []byte("source")
		e.write("src", data, 0o644)
		e.write("taken", []byte("already here"), 0o644)
		e.symlink("src", "srclink")
		e.mkdir("dir", 0o755)
		before := e.scan()
		other := fileEntry([]byte("other"), 0o644)
		cases := []struct {
			src  string
			op   zerosync.Op
			want error // nil: any error
		}{
			{"src", zerosync.Op{Path: "dst", New: other}, zerosync.ErrDigestMismatch},
			{"missing", zerosync.Op{Path: "dst", New: fileEntry(data, 0o644)}, nil},
			{"srclink", zerosync.Op{Path: "dst", New: fileEntry(data, 0o644)}, nil},
			{"dir", zerosync.Op{Path: "dst", New: fileEntry(data, 0o644)}, nil},
			{"src", zerosync.Op{Path: "taken", New: fileEntry(data, 0o644)}, zerosync.ErrChanged},
			{"src", zerosync.Op{Path: "dst", New: dirEntry(0o755)}, nil},
			{"../src", zerosync.Op{Path: "dst", New: fileEntry(data, 0o644)}, zerosync.ErrInvalidPath},
			{"src", zerosync.Op{Path: "../dst", New: fileEntry(data, 0o644)}, zerosync.ErrInvalidPath},
			{".zerosync/x", zerosync.Op{Path: "dst", New: fileEntry(data, 0o644)}, zerosync.ErrReserved},
		}
		for _, c := range cases {
			err := cp.Copy(e.ctx, c.src, c.op)
			what := fmt.Sprintf("Copy %q to %v", c.src, c.op)
			if c.want != nil {
				e.expectErr(what, err, c.want)
			} else if err == nil {
				e.t.Fatalf("%s succeeded", what)
			}
		}
		e.expectContent("taken", []byte("already here"))
		e.expectSameTree(before, e.scan())
	}},
}

var concurrencyCases = []testCase{
	{"applies-on-different-paths", func(e *env) {
		const workers, each = 8, 12
		for w := range workers {
			e.mkdir(fmt.Sprintf("w%d", w), 0o755)
		}
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		var wg, scanners sync.WaitGroup
		errs := make(chan error, workers*each*3)
		for range 2 { // scans run alongside the applies
			scanners.Go(func() {
				for ctx.Err() == nil {
					if _, _, err := e.ep.Scan(ctx); err != nil && ctx.Err() == nil {
						errs <- fmt.Errorf("Scan: %w", err)
						return
					}
				}
			})
		}
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					p := fmt.Sprintf("w%d/f%d", w, i)
					v1 := []byte(p + " v1")
					v2 := []byte(p + " version two")
					if err := e.ep.Apply(ctx, zerosync.Op{Path: p, New: fileEntry(v1, 0o644)}, newReader(v1)); err != nil {
						errs <- err
						continue
					}
					if err := e.ep.Apply(ctx, zerosync.Op{Path: p, Old: fileEntry(v1, 0o644), New: fileEntry(v2, 0o600)}, newReader(v2)); err != nil {
						errs <- err
					}
					if i%3 == 0 {
						if err := e.ep.Apply(ctx, zerosync.Op{Path: p, Old: fileEntry(v2, 0o600)}, nil); err != nil {
							errs <- err
						}
					}
				}
			})
		}
		wg.Wait()
		cancel()
		scanners.Wait()
		close(errs)
		for err := range errs {
			e.t.Error(err)
		}
		s := e.scan()
		for w := range workers {
			for i := range each {
				p := fmt.Sprintf("w%d/f%d", w, i)
				var want *zerosync.Entry
				if i%3 != 0 {
					want = fileEntry([]byte(p+" version two"), 0o600)
				}
				if got := s.Get(p); !got.Same(want) {
					e.t.Errorf("%s: %v, want %v", p, got, want)
				}
			}
		}
	}},
	{"creates-racing-on-one-path", func(e *env) {
		// Of several creates of the same path, exactly one wins; the rest
		// find the path taken.
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				data := fmt.Appendf(nil, "writer %d", i)
				errs[i] = e.ep.Apply(e.ctx, zerosync.Op{Path: "contested", New: fileEntry(data, 0o644)}, newReader(data))
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				e.t.Fatalf("writers %d and %d both created the path", winner, i)
			case err == nil:
				winner = i
			default:
				e.expectErr(fmt.Sprintf("losing writer %d", i), err, zerosync.ErrChanged)
			}
		}
		if winner < 0 {
			e.t.Fatal("no writer created the path")
		}
		e.expectContent("contested", fmt.Appendf(nil, "writer %d", winner))
	}},
}

var contextCases = []testCase{
	{"cancelled", func(e *env) {
		e.write("f", []byte("content"), 0o644)
		before := e.scan()
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		if _, _, err := e.ep.Scan(ctx); err == nil {
			e.t.Fatal("Scan with a cancelled context succeeded")
		}
		if rc, err := e.ep.Open(ctx, "f"); err == nil {
			rc.Close()
			e.t.Fatal("Open with a cancelled context succeeded")
		}
		data := []byte("new")
		for _, op := range []zerosync.Op{
			{Path: "g", New: fileEntry(data, 0o644)},
			{Path: "d", New: dirEntry(0o755)},
			{Path: "f", Old: before.Get("f"), New: fileEntry(data, 0o644)},
			{Path: "f", Old: before.Get("f")},
		} {
			err := e.ep.Apply(ctx, op, newReader(data))
			e.expectErr("Apply "+op.String()+" with a cancelled context", err, context.Canceled)
		}
		if cp, ok := e.ep.(zerosync.Copier); ok {
			err := cp.Copy(ctx, "f", zerosync.Op{Path: "h", New: fileEntry([]byte("content"), 0o644)})
			e.expectErr("Copy with a cancelled context", err, context.Canceled)
		}
		e.expectSameTree(before, e.scan())
	}},
	{"cancelled-while-reading-content", func(e *env) {
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		data := pattern(1<<20, 2)
		r := &cancelAfter{data: data, n: 64 << 10, cancel: cancel}
		err := e.ep.Apply(ctx, zerosync.Op{Path: "slow", New: fileEntry(data, 0o644)}, r)
		if err == nil {
			e.t.Fatal("Apply whose context was cancelled halfway succeeded")
		}
		e.expect("slow", nil)
		if s := e.scan(); len(s) != 0 {
			e.t.Fatalf("cancelled apply left %q", s.Paths())
		}
	}},
}

// cancelAfter delivers data and cancels its context after n bytes; it goes
// on delivering, as a stream that does not know its reader gave up.
type cancelAfter struct {
	data   []byte
	off, n int
	cancel func()
}

func (r *cancelAfter) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	k := copy(p, r.data[r.off:min(len(r.data), r.off+4096)])
	r.off += k
	if r.off >= r.n {
		r.cancel()
	}
	return k, nil
}

var rootCases = []testCase{
	{"missing", func(e *env) {
		if e.h.HideRoot == nil {
			return // the harness cannot take the root away
		}
		data := []byte("content")
		e.write("f", data, 0o644)
		before := e.scan()
		restore, err := e.h.HideRoot()
		if err != nil {
			e.t.Fatalf("harness HideRoot: %v", err)
		}
		_, _, err = e.ep.Scan(e.ctx)
		e.expectErr("Scan of a missing root", err, zerosync.ErrRootMissing)
		if err := e.apply(zerosync.Op{Path: "g", New: fileEntry(data, 0o644)}, data); err == nil {
			e.t.Fatal("Apply on a missing root succeeded")
		}
		if rc, err := e.ep.Open(e.ctx, "f"); err == nil {
			rc.Close()
			e.t.Fatal("Open on a missing root succeeded")
		}
		if err := restore(); err != nil {
			e.t.Fatalf("harness restore: %v", err)
		}
		e.expectSameTree(before, e.scan())
	}},
}
