package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
)

func file(content string) zerosync.Entry {
	var d zerosync.Digest
	copy(d[:], content)
	return zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(content)), Digest: d}
}

func exe(content string) zerosync.Entry {
	e := file(content)
	e.Mode = 0o755
	return e
}

func dir() zerosync.Entry          { return zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755} }
func link(t string) zerosync.Entry { return zerosync.Entry{Kind: zerosync.KindSymlink, Target: t} }
func snap(kv ...any) zerosync.Snapshot { // path, entry, path, entry...
	s := zerosync.Snapshot{}
	for i := 0; i < len(kv); i += 2 {
		s[kv[i].(string)] = kv[i+1].(zerosync.Entry)
	}
	return s
}

// describe renders a plan as one line per action and conflict.
func describe(p zerosync.Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		switch {
		case a.Old == nil:
			fmt.Fprintf(&b, "%s: create %s %s\n", a.Side, a.Path, a.New.Kind)
		case a.New == nil:
			fmt.Fprintf(&b, "%s: remove %s", a.Side, a.Path)
			if a.Archive {
				b.WriteString(" (archive)")
			}
			b.WriteString("\n")
		default:
			fmt.Fprintf(&b, "%s: update %s\n", a.Side, a.Path)
		}
	}
	for _, c := range p.Conflicts {
		fmt.Fprintf(&b, "conflict %s\n", c.Path)
	}
	return b.String()
}

func TestReconcileTable(t *testing.T) {
	tests := []struct {
		name               string
		base, ours, theirs zerosync.Snapshot
		want               string
	}{
		{"nothing", snap("a", file("1")), snap("a", file("1")), snap("a", file("1")), ""},
		{"create on ours", snap(), snap("a", file("1")), snap(), "theirs: create a file\n"},
		{"create on theirs", snap(), snap(), snap("a", file("1")), "ours: create a file\n"},
		{"create/create same", snap(), snap("a", file("1")), snap("a", file("1")), ""},
		{"create/create different", snap(), snap("a", file("1")), snap("a", file("2")), "conflict a\n"},
		{"modify/unchanged", snap("a", file("1")), snap("a", file("2")), snap("a", file("1")), "theirs: update a\n"},
		{"unchanged/modify", snap("a", file("1")), snap("a", file("1")), snap("a", file("2")), "ours: update a\n"},
		{"modify/modify same", snap("a", file("1")), snap("a", file("2")), snap("a", file("2")), ""},
		{"modify/modify different", snap("a", file("1")), snap("a", file("2")), snap("a", file("3")), "conflict a\n"},
		{"delete/unchanged", snap("a", file("1")), snap(), snap("a", file("1")), "theirs: remove a\n"},
		{"delete/modify keeps the modification", snap("a", file("1")), snap(), snap("a", file("2")), "ours: create a file\n"},
		{"modify/delete keeps the modification", snap("a", file("1")), snap("a", file("2")), snap(), "theirs: create a file\n"},
		{"delete/delete", snap("a", file("1")), snap(), snap(), ""},
		{"mode only", snap("a", file("1")), snap("a", exe("1")), snap("a", file("1")), "theirs: update a\n"},
		{"mode on one, content on other", snap("a", file("1")), snap("a", exe("1")), snap("a", file("2")), "conflict a\n"},
		{"mode on both", snap("a", file("1")), snap("a", exe("1")), snap("a", zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o600, Size: 1, Digest: file("1").Digest}), "theirs: update a\n"},
		{"file to dir", snap("a", file("1")), snap("a", dir(), "a/x", file("2")), snap("a", file("1")),
			"theirs: remove a\ntheirs: create a dir\ntheirs: create a/x file\n"},
		{"dir to file", snap("a", dir(), "a/x", file("1")), snap("a", dir(), "a/x", file("1")), snap("a", file("2")),
			"ours: remove a/x\nours: remove a\nours: create a file\n"},
		{"file to symlink", snap("a", file("1")), snap("a", link("b")), snap("a", file("1")), "theirs: remove a\ntheirs: create a symlink\n"},
		{"symlink retarget", snap("a", link("b")), snap("a", link("b")), snap("a", link("c")), "ours: update a\n"},
		{"symlink both retarget", snap("a", link("b")), snap("a", link("d")), snap("a", link("c")), "conflict a\n"},
		{"deleted dir gained files on the other side", snap("d", dir(), "d/x", file("1")), snap(), snap("d", dir(), "d/x", file("1"), "d/y", file("2")),
			"theirs: remove d/x\nours: create d dir\nours: create d/y file\n"},
		{"dir turned file while the other side added inside", snap("d", dir(), "d/x", file("1")), snap("d", file("f")), snap("d", dir(), "d/x", file("1"), "d/y", file("2")),
			"theirs: remove d/x\nours: create d/y file\nconflict d\n"},
		{"nested create", snap(), snap("a", dir(), "a/b", dir(), "a/b/c", file("1")), snap(),
			"theirs: create a dir\ntheirs: create a/b dir\ntheirs: create a/b/c file\n"},
		{"nested delete deepest first", snap("a", dir(), "a/b", dir(), "a/b/c", file("1")), snap(), snap("a", dir(), "a/b", dir(), "a/b/c", file("1")),
			"theirs: remove a/b/c\ntheirs: remove a/b\ntheirs: remove a\n"},
		{"rename is delete plus create", snap("a", file("1")), snap("b", file("1")), snap("a", file("1")),
			"theirs: remove a\ntheirs: create b file\n"},
		{"dir mode change against delete", snap("d", dir()), snap(), snap("d", zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o700}), "theirs: remove d\n"},
		{"file and dir created at once", snap(), snap("a", file("1")), snap("a", dir(), "a/x", file("2")), "ours: create a/x file\nconflict a\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := describe(Reconcile(tc.base, tc.ours, tc.theirs))
			if got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestReconcileArchivesUnseenContent(t *testing.T) {
	// Theirs modified a, ours turned it into a directory: the directory
	// wins only through a conflict; but a file replaced because the other
	// side changed its type must be archived when the content was never
	// synced.
	p := Reconcile(snap("a", file("1")), snap("a", file("1")), snap())
	if len(p.Actions) != 1 || p.Actions[0].Archive {
		t.Fatalf("removing synced content must not archive: %+v", p.Actions)
	}
	p = Reconcile(snap(), snap("a", dir(), "a/x", file("2")), snap("a", dir(), "a/x", file("2")))
	if len(p.Actions) != 0 {
		t.Fatalf("identical trees need nothing: %+v", p.Actions)
	}
}

func TestReconcileDeterministic(t *testing.T) {
	base := snap("d", dir(), "d/x", file("1"), "e", file("2"))
	ours := snap("d", dir(), "d/x", file("3"), "f", file("4"))
	theirs := snap("d", file("5"), "e", file("2"), "g", link("x"))
	first := describe(Reconcile(base, ours, theirs))
	for range 50 {
		if got := describe(Reconcile(base, ours, theirs)); got != first {
			t.Fatalf("plan changed between runs:\n%s\nvs\n%s", got, first)
		}
	}
}

func BenchmarkReconcile100k(b *testing.B) {
	base, ours, theirs := zerosync.Snapshot{}, zerosync.Snapshot{}, zerosync.Snapshot{}
	for i := range 100_000 {
		dirp := fmt.Sprintf("d%03d", i/1000)
		base[dirp], ours[dirp], theirs[dirp] = dir(), dir(), dir()
		p := fmt.Sprintf("%s/f%05d", dirp, i)
		e := file(p)
		base[p], ours[p], theirs[p] = e, e, e
	}
	// 1% changed on each side.
	for i := 0; i < 100_000; i += 100 {
		p := fmt.Sprintf("d%03d/f%05d", i/1000, i)
		ours[p] = file("o" + p)
		q := fmt.Sprintf("d%03d/f%05d", (i+50)/1000, i+50)
		theirs[q] = file("t" + q)
	}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		p := Reconcile(base, ours, theirs)
		if len(p.Actions) != 2000 {
			b.Fatalf("got %d actions", len(p.Actions))
		}
	}
	cpu.report(b)
}
