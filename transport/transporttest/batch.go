package transporttest

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerosync/zerosync"
)

// batchCases check [zerosync.ApplyBatch]: through an endpoint's
// [zerosync.BatchApplier] when it has one, otherwise through Apply; either
// way each op of a batch keeps the meaning Apply gives it.
var batchCases = []testCase{
	{"applies-each-op", func(e *env) {
		e.write("upd", []byte("old"), 0o644)
		e.write("gone", []byte("bye"), 0o644)
		e.symlink("there", "link")
		e.mkdir("d", 0o755)
		s := e.scan()
		a, b := []byte("made"), []byte("updated, longer")
		ops := []zerosync.BatchOp{
			{Op: zerosync.Op{Path: "d/new", New: fileEntry(a, 0o640)}, Content: newReader(a)},
			{Op: zerosync.Op{Path: "upd", Old: s.Get("upd"), New: fileEntry(b, 0o600)}, Content: newReader(b)},
			{Op: zerosync.Op{Path: "link", Old: s.Get("link"), New: linkEntry("elsewhere")}},
			{Op: zerosync.Op{Path: "newlink", New: linkEntry("upd")}},
			{Op: zerosync.Op{Path: "gone", Old: s.Get("gone")}},
			{Op: zerosync.Op{Path: "sub", New: dirEntry(0o750)}},
			{Op: zerosync.Op{Path: "empty", New: fileEntry(nil, 0o644)}, Content: newReader(nil)},
		}
		errs := zerosync.ApplyBatch(e.ctx, e.ep, ops)
		e.expectOutcomes(ops, errs, nil)
		e.expect("d/new", fileEntry(a, 0o640))
		e.expectContent("d/new", a)
		e.expect("upd", fileEntry(b, 0o600))
		e.expectContent("upd", b)
		e.expect("link", linkEntry("elsewhere"))
		e.expect("newlink", linkEntry("upd"))
		e.expect("gone", nil)
		e.expect("sub", dirEntry(0o750))
		e.expect("empty", fileEntry(nil, 0o644))
		if got := e.scan(); len(got) != 7 {
			e.t.Fatalf("scan after the batch holds %d paths, want 7", len(got))
		}
	}},
	{"errors-per-op", func(e *env) {
		e.write("stale", []byte("edited meanwhile"), 0o644)
		e.write("exists", []byte("here first"), 0o644)
		stale := fileEntry([]byte("as scanned"), 0o644)
		ok, lie := []byte("fine"), []byte("told")
		ops := []zerosync.BatchOp{
			{Op: zerosync.Op{Path: "ok", New: fileEntry(ok, 0o644)}, Content: newReader(ok)},
			{Op: zerosync.Op{Path: "stale", Old: stale, New: fileEntry(ok, 0o644)}, Content: newReader(ok)},
			{Op: zerosync.Op{Path: "exists", New: fileEntry(ok, 0o644)}, Content: newReader(ok)},
			{Op: zerosync.Op{Path: "liar", New: fileEntry(lie, 0o644)}, Content: newReader([]byte("sent"))},
			{Op: zerosync.Op{Path: "../escape", New: fileEntry(ok, 0o644)}, Content: newReader(ok)},
			{Op: zerosync.Op{Path: "nocontent", New: fileEntry(ok, 0o644)}},
			{Op: zerosync.Op{Path: "ok2", New: fileEntry(ok, 0o600)}, Content: newReader(ok)},
		}
		errs := zerosync.ApplyBatch(e.ctx, e.ep, ops)
		e.expectOutcomes(ops, errs, map[int]error{
			1: zerosync.ErrChanged, 2: zerosync.ErrChanged, 3: zerosync.ErrDigestMismatch,
			4: zerosync.ErrInvalidPath, 5: zerosync.ErrDigestMismatch,
		})
		e.expectContent("ok", ok)
		e.expectContent("ok2", ok)
		e.expectContent("stale", []byte("edited meanwhile"))
		e.expectContent("exists", []byte("here first"))
		e.expect("liar", nil)
		e.expect("nocontent", nil)
	}},
	{"archives", func(e *env) {
		old := []byte("the only copy")
		e.write("doc.txt", old, 0o644)
		s := e.scan()
		data := []byte("replacement")
		ops := []zerosync.BatchOp{{Op: zerosync.Op{Path: "doc.txt", Old: s.Get("doc.txt"), New: fileEntry(data, 0o644), Archive: true}, Content: newReader(data)},
			{Op: zerosync.Op{Path: "other", New: fileEntry(data, 0o644)}, Content: newReader(data)}}
		e.expectOutcomes(ops, zerosync.ApplyBatch(e.ctx, e.ep, ops), nil)
		e.expectContent("doc.txt", data)
		e.expectArchived("doc.txt", old)
	}},
	{"many", func(e *env) {
		// More ops than a piece of a batch, across directories, with a
		// file larger than goes inline in a request.
		for d := range 4 {
			e.mkdir(fmt.Sprintf("d%d", d), 0o755)
		}
		var ops []zerosync.BatchOp
		for i := range 300 {
			data := []byte(fmt.Sprintf("file %d", i))
			ops = append(ops, zerosync.BatchOp{Op: zerosync.Op{Path: fmt.Sprintf("d%d/f%03d", i%4, i), New: fileEntry(data, 0o644)}, Content: newReader(data)})
		}
		big := pattern(600<<10, 3)
		ops = append(ops, zerosync.BatchOp{Op: zerosync.Op{Path: "big", New: fileEntry(big, 0o644)}, Content: newReader(big)})
		e.expectOutcomes(ops, zerosync.ApplyBatch(e.ctx, e.ep, ops), nil)
		s := e.scan()
		for _, op := range ops {
			if got := s.Get(op.Path); !got.Same(op.New) {
				e.t.Fatalf("%q holds %v, want %v", op.Path, got, op.New)
			}
		}
	}},
	{"empty", func(e *env) {
		if errs := zerosync.ApplyBatch(e.ctx, e.ep, nil); len(errs) != 0 {
			e.t.Fatalf("an empty batch has %d outcomes", len(errs))
		}
	}},
	{"cancelled", func(e *env) {
		data := []byte("x")
		ops := []zerosync.BatchOp{{Op: zerosync.Op{Path: "x", New: fileEntry(data, 0o644)}, Content: newReader(data)}}
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		errs := zerosync.ApplyBatch(ctx, e.ep, ops)
		if len(errs) != 1 || errs[0] == nil {
			e.t.Fatalf("a batch under a cancelled context gave %v", errs)
		}
		e.expect("x", nil)
	}},
}

// expectOutcomes checks a batch's outcomes: one per op, nil but for the
// ops in want, whose errors wrap what want says.
func (e *env) expectOutcomes(ops []zerosync.BatchOp, errs []error, want map[int]error) {
	e.t.Helper()
	if len(errs) != len(ops) {
		e.t.Fatalf("a batch of %d ops gave %d outcomes", len(ops), len(errs))
	}
	for i, err := range errs {
		w := want[i]
		switch {
		case w == nil && err != nil:
			e.t.Fatalf("op %d (%v): %v", i, ops[i].Op, err)
		case w != nil && !errors.Is(err, w):
			e.t.Fatalf("op %d (%v): error %v, want one wrapping %v", i, ops[i].Op, err, w)
		}
	}
}
