package transporttest

import (
	"bytes"
	"io"
	"maps"
	"slices"

	"github.com/zerosync/zerosync"
)

// scanPathsCases check [zerosync.PathScanner]: a partial scan agrees with a
// full one on the paths it covers.
var scanPathsCases = []testCase{
	{"agrees-with-scan", func(e *env) {
		ps, ok := e.ep.(zerosync.PathScanner)
		if !ok {
			return // not a PathScanner: nothing to check
		}
		e.write("a", []byte("a"), 0o644)
		e.write("d/x", []byte("x"), 0o600)
		e.write("d/sub/y", []byte("y"), 0o644)
		e.symlink("../a", "d/link")
		e.write("other", []byte("o"), 0o644)
		full := e.scan()
		got, _, err := ps.ScanPaths(e.ctx, []string{"a", "d", "gone", "a/under-a-file", "nothere/x"})
		if err != nil {
			e.t.Fatalf("ScanPaths: %v", err)
		}
		want := zerosync.Snapshot{}
		for _, p := range []string{"a", "d", "d/x", "d/sub", "d/sub/y", "d/link"} {
			want[p] = full[p]
		}
		if !sameTrees(got, want) {
			e.t.Fatalf("ScanPaths = %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
	}},
	{"sees-changes", func(e *env) {
		ps, ok := e.ep.(zerosync.PathScanner)
		if !ok {
			return
		}
		e.write("f", []byte("one"), 0o644)
		e.write("d/x", []byte("x"), 0o644)
		e.scan()
		e.write("f", []byte("two, longer"), 0o644)
		e.removeAll("d")
		e.write("d", []byte("now a file"), 0o644)
		got, _, err := ps.ScanPaths(e.ctx, []string{"f", "d", "d/x"})
		if err != nil {
			e.t.Fatalf("ScanPaths: %v", err)
		}
		if g := got.Get("f"); g == nil || g.Digest != fileEntry([]byte("two, longer"), 0o644).Digest {
			e.t.Fatalf("f = %v, want the new content", g)
		}
		if g := got.Get("d"); g == nil || g.Kind != zerosync.KindFile {
			e.t.Fatalf("d = %v, want a file", g)
		}
		if g := got.Get("d/x"); g != nil {
			e.t.Fatalf("d/x = %v, want absent", g)
		}
	}},
	{"refuses-bad-paths", func(e *env) {
		ps, ok := e.ep.(zerosync.PathScanner)
		if !ok {
			return
		}
		for _, p := range []string{"../x", "/etc", "a\x00b", ".zerosync"} {
			if _, _, err := ps.ScanPaths(e.ctx, []string{p}); err == nil {
				e.t.Errorf("ScanPaths(%q) succeeded", p)
			}
		}
	}},
}

func sameTrees(a, b zerosync.Snapshot) bool {
	if len(a) != len(b) {
		return false
	}
	for p, x := range a {
		y, ok := b[p]
		if !ok || !x.Same(&y) {
			return false
		}
	}
	return true
}

// conflictStoreCases check [zerosync.ConflictStore] together with
// [zerosync.Archiver].
var conflictStoreCases = []testCase{
	{"read-and-remove", func(e *env) {
		ar, ok1 := e.ep.(zerosync.Archiver)
		cs, ok2 := e.ep.(zerosync.ConflictStore)
		if !ok1 || !ok2 {
			return
		}
		e.write("notes.txt", []byte("mine"), 0o644)
		theirs := []byte("theirs")
		cp, err := ar.KeepConflict(e.ctx, "notes.txt", *fileEntry(theirs, 0o644), bytes.NewReader(theirs), "peer")
		if err != nil {
			e.t.Fatalf("KeepConflict: %v", err)
		}
		rc, err := cs.OpenConflict(e.ctx, cp)
		if err != nil {
			e.t.Fatalf("OpenConflict(%q): %v", cp, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, theirs) {
			e.t.Fatalf("conflict copy holds %q, want %q", got, theirs)
		}
		for _, bad := range []string{"notes.txt", "../x.zs-conflict-1", ".zerosync/a.zs-conflict-1"} {
			if _, err := cs.OpenConflict(e.ctx, bad); err == nil {
				e.t.Errorf("OpenConflict(%q) succeeded", bad)
			}
			if err := cs.RemoveConflict(e.ctx, bad); err == nil {
				e.t.Errorf("RemoveConflict(%q) succeeded", bad)
			}
		}
		if err := cs.RemoveConflict(e.ctx, cp); err != nil {
			e.t.Fatalf("RemoveConflict: %v", err)
		}
		if err := cs.RemoveConflict(e.ctx, cp); err != nil {
			e.t.Fatalf("RemoveConflict of a copy already gone: %v", err)
		}
		if _, err := cs.OpenConflict(e.ctx, cp); err == nil {
			e.t.Fatal("OpenConflict after RemoveConflict succeeded")
		}
		if string(e.read("notes.txt")) != "mine" {
			e.t.Fatal("the file itself changed")
		}
	}},
}
