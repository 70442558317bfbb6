package transporttest

import (
	"errors"
	"io"
	"io/fs"

	"github.com/zerosync/zerosync"
)

// versionCases check [zerosync.Versioner], for endpoints that have it.
var versionCases = []testCase{
	{"replaced-and-removed", func(e *env) {
		vr, ok := e.ep.(zerosync.Versioner)
		if !ok {
			return // not a Versioner: nothing to check
		}
		v1, v2 := []byte("first version"), []byte("second version")
		e.write("d/f.txt", v1, 0o644)
		s := e.scan()
		e.mustApply(zerosync.Op{Path: "d/f.txt", Old: s.Get("d/f.txt"), New: fileEntry(v2, 0o644), Archive: true}, v2)
		s = e.scan()
		e.mustApply(zerosync.Op{Path: "d/f.txt", Old: s.Get("d/f.txt"), Archive: true}, nil)
		// Not archived: asked for no archive.
		e.write("g", []byte("gone for good"), 0o644)
		s = e.scan()
		e.mustApply(zerosync.Op{Path: "g", Old: s.Get("g")}, nil)

		vs, err := vr.Versions(e.ctx, "d/f.txt")
		if err != nil {
			e.t.Fatalf("Versions: %v", err)
		}
		if len(vs) != 2 {
			e.t.Fatalf("Versions(d/f.txt) = %+v, want 2", vs)
		}
		want := []struct {
			data   []byte
			reason zerosync.ArchiveReason
		}{{v2, zerosync.ReasonRemoved}, {v1, zerosync.ReasonReplaced}}
		for i, v := range vs {
			if err := zerosync.CheckVersionID(v.ID); err != nil {
				e.t.Fatalf("version ID: %v", err)
			}
			if v.Path != "d/f.txt" || v.Size != int64(len(want[i].data)) || v.Reason != want[i].reason {
				e.t.Errorf("version %d: %+v, want %d bytes, %s", i, v, len(want[i].data), want[i].reason)
			}
			rc, err := vr.OpenVersion(e.ctx, v.ID)
			if err != nil {
				e.t.Fatalf("OpenVersion(%q): %v", v.ID, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(got) != string(want[i].data) {
				e.t.Errorf("version %d holds %q, %v; want %q", i, clip(got), err, clip(want[i].data))
			}
		}
		if vs[0].Time.Before(vs[1].Time) {
			e.t.Errorf("versions are not newest first: %+v", vs)
		}
		all, err := vr.Versions(e.ctx, "")
		if err != nil || len(all) != 2 {
			e.t.Fatalf("Versions(\"\") = %+v, %v; want the two of d/f.txt", all, err)
		}
		if e.scan().Get("d/f.txt") != nil {
			e.t.Fatal("the removed file is back")
		}
	}},
	{"refuses-bad-ids", func(e *env) {
		vr, ok := e.ep.(zerosync.Versioner)
		if !ok {
			return
		}
		e.write("f", []byte("old"), 0o644)
		s := e.scan()
		e.mustApply(zerosync.Op{Path: "f", Old: s.Get("f"), Archive: true}, nil)
		for _, id := range []string{"", ".", "..", "../f", "/etc/passwd", "f", "a/b", "a\x00b", "-x", ".zerosync"} {
			rc, err := vr.OpenVersion(e.ctx, id)
			if err == nil {
				rc.Close()
				e.t.Errorf("OpenVersion(%q) succeeded", id)
				continue
			}
			if !errors.Is(err, zerosync.ErrInvalidPath) && !errors.Is(err, fs.ErrNotExist) {
				e.t.Errorf("OpenVersion(%q): %v, want an invalid ID or no such version", id, err)
			}
		}
		if _, err := vr.Versions(e.ctx, "../f"); !errors.Is(err, zerosync.ErrInvalidPath) {
			e.t.Errorf("Versions(../f): %v, want an invalid path", err)
		}
		if vs, err := vr.Versions(e.ctx, "never-archived"); err != nil || len(vs) != 0 {
			e.t.Errorf("Versions(never-archived) = %+v, %v; want none", vs, err)
		}
	}},
	{"keeps-the-newest", func(e *env) {
		vr, ok := e.ep.(zerosync.Versioner)
		if !ok {
			return
		}
		e.write("f", []byte("old"), 0o644)
		s := e.scan()
		e.mustApply(zerosync.Op{Path: "f", Old: s.Get("f"), Archive: true}, nil)
		if _, err := vr.PruneVersions(e.ctx, nil); err != nil {
			e.t.Fatalf("PruneVersions: %v", err)
		}
		if vs, err := vr.Versions(e.ctx, "f"); err != nil || len(vs) != 1 {
			e.t.Fatalf("after pruning: %+v, %v; the newest version of a path stays", vs, err)
		}
	}},
}
