package engine

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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

// reconcileBefore is Reconcile as it was before it skipped the base for
// paths both sides agree on and the paths deleted on both sides: the
// reference TestReconcileMatchesReference compares with.
func reconcileBefore(base, ours, theirs zerosync.Snapshot) zerosync.Plan {
	decisions := make(map[string]*decision)
	look := func(p string, a zerosync.Entry, inA bool, b zerosync.Entry, inB bool) {
		o, inO := base[p]
		if inA && inB && inO && a.Same(&b) && a.Same(&o) {
			return
		}
		decisions[p] = decide(ptr(o, inO), ptr(a, inA), ptr(b, inB))
	}
	for p, a := range ours {
		b, inB := theirs[p]
		look(p, a, true, b, inB)
	}
	for p, b := range theirs {
		if _, ok := ours[p]; !ok {
			look(p, zerosync.Entry{}, false, b, true)
		}
	}
	for p := range base {
		if _, ok := decisions[p]; ok {
			continue
		}
		if _, ok := ours[p]; ok {
			continue
		}
		if _, ok := theirs[p]; !ok {
			decisions[p] = &decision{}
		}
	}
	keepParents(decisions, base, ours, theirs)
	var plan zerosync.Plan
	for p, d := range decisions {
		if d.conflict {
			plan.Conflicts = append(plan.Conflicts, zerosync.Conflict{
				Path: p, Base: base.Get(p), Ours: ours.Get(p), Theirs: theirs.Get(p),
			})
			continue
		}
		o := base.Get(p)
		plan.Actions = appendOps(plan.Actions, zerosync.Ours, d, p, o, ours.Get(p))
		plan.Actions = appendOps(plan.Actions, zerosync.Theirs, d, p, o, theirs.Get(p))
	}
	SortActions(plan.Actions)
	slices.SortFunc(plan.Conflicts, func(a, b zerosync.Conflict) int { return strings.Compare(a.Path, b.Path) })
	return plan
}

// randomTree returns a valid tree over a few paths: entries drawn at
// random, parents made directories, and nothing beneath a file or link.
func randomTree(r *rand.Rand) zerosync.Snapshot {
	paths := []string{"a", "a/x", "a/x/q", "a/y", "b", "b/z", "c"}
	s := zerosync.Snapshot{}
	for _, p := range paths {
		switch r.IntN(6) {
		case 0, 1:
		case 2:
			s[p] = dir()
		case 3:
			e := dir()
			e.Mode = 0o700
			s[p] = e
		case 4:
			s[p] = file(fmt.Sprint(r.IntN(3)))
		case 5:
			if r.IntN(2) == 0 {
				s[p] = exe(fmt.Sprint(r.IntN(3)))
			} else {
				s[p] = link(fmt.Sprint(r.IntN(2)))
			}
		}
	}
	for _, p := range paths { // sorted: parents first
		if _, ok := s[p]; !ok {
			continue
		}
		if d := zerosync.Parent(p); d != "" {
			if pe, ok := s[d]; !ok || pe.Kind != zerosync.KindDir {
				delete(s, p)
			}
		}
	}
	return s
}

// edit returns s with a few random changes, still a valid tree.
func edit(r *rand.Rand, s zerosync.Snapshot) zerosync.Snapshot {
	if r.IntN(3) == 0 {
		return randomTree(r)
	}
	out := maps.Clone(s)
	for p := range out {
		if r.IntN(4) == 0 {
			out[p] = file("edit" + fmt.Sprint(r.IntN(2)))
		}
	}
	for p := range out {
		if d := zerosync.Parent(p); d != "" {
			if pe, ok := out[d]; !ok || pe.Kind != zerosync.KindDir {
				delete(out, p)
			}
		}
	}
	for p := range out { // a second round for grandchildren
		if d := zerosync.Parent(p); d != "" {
			if _, ok := out[d]; !ok {
				delete(out, p)
			}
		}
	}
	return out
}

// TestReconcileMatchesReference: on random trees, Reconcile plans exactly
// what it planned before it skipped the base for agreeing paths and the
// paths deleted on both sides.
func TestReconcileMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	for i := range 20_000 {
		base := randomTree(r)
		ours, theirs := edit(r, base), edit(r, base)
		require.NoError(t, ours.Validate())
		require.NoError(t, theirs.Validate())
		want := reconcileBefore(base, ours, theirs)
		got := Reconcile(base, ours, theirs)
		if len(want.Actions) == 0 {
			want.Actions = nil
		}
		if len(got.Actions) == 0 {
			got.Actions = nil
		}
		require.Equal(t, want, got, "case %d: base %v ours %v theirs %v", i, base, ours, theirs)
	}
}
