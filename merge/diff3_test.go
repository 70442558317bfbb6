package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
)

func TestDiff3Merges(t *testing.T) {
	base5 := lines("\n", "a", "b", "c", "d", "e")
	tests := []struct {
		name, base, ours, theirs, want string
	}{
		{"far apart", base5, lines("\n", "A", "b", "c", "d", "e"), lines("\n", "a", "b", "c", "d", "E"),
			lines("\n", "A", "b", "c", "d", "E")},
		{"insert and delete", base5, lines("\n", "a", "new", "b", "c", "d", "e"), lines("\n", "a", "b", "c", "d"),
			lines("\n", "a", "new", "b", "c", "d")},
		{"same change on both sides", base5, lines("\n", "a", "b", "C", "d", "e"), lines("\n", "a", "b", "C", "d", "e"),
			lines("\n", "a", "b", "C", "d", "e")},
		{"same change plus one each", base5, lines("\n", "A", "b", "C", "d", "e"), lines("\n", "a", "b", "C", "d", "E"),
			lines("\n", "A", "b", "C", "d", "E")},
		{"only theirs changed", base5, base5, lines("\n", "a", "x", "e"), lines("\n", "a", "x", "e")},
		{"empty base", "", "", "theirs\n", "theirs\n"},
		{"all deleted", base5, "", base5, ""},

		// CRLF is kept byte for byte.
		{"crlf", lines("\r\n", "a", "b", "c", "d"), lines("\r\n", "A", "b", "c", "d"), lines("\r\n", "a", "b", "c", "D"),
			lines("\r\n", "A", "b", "c", "D")},
		{"crlf without final newline", "a\r\nb\r\nc\r\nd", "A\r\nb\r\nc\r\nd", "a\r\nb\r\nc\r\nD",
			"A\r\nb\r\nc\r\nD"},
		{"crlf insert", lines("\r\n", "a", "b", "c", "d"), lines("\r\n", "a", "x", "b", "c", "d"), lines("\r\n", "a", "b", "c", "d", "y"),
			lines("\r\n", "a", "x", "b", "c", "d", "y")},

		// A missing final newline stays missing, or is added or removed by
		// the side that did so.
		{"no final newline anywhere", "a\nb\nc\nd", "A\nb\nc\nd", "a\nb\nc\nD", "A\nb\nc\nD"},
		{"theirs drops final newline", base5, lines("\n", "A", "b", "c", "d", "e"), "a\nb\nc\nd\ne",
			"A\nb\nc\nd\ne"},
		{"ours adds final newline", "a\nb\nc\nd", "a\nb\nc\nd\n", "A\nb\nc\nd", "A\nb\nc\nd\n"},
		{"ours appends to unterminated file", "a\nb\nc\nd", "a\nb\nc\nd\ne", "A\nb\nc\nd", "A\nb\nc\nd\ne"},
		{"unicode", lines("\n", "ä", "ö", "ü", "ß"), lines("\n", "Ä", "ö", "ü", "ß"), lines("\n", "ä", "ö", "ü", "ẞ"),
			lines("\n", "Ä", "ö", "ü", "ẞ")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustResolve(t, newDiff3(t), textConflict("notes.txt", tt.base, tt.ours, tt.theirs))
			if res.Merged == nil {
				t.Fatalf("Merged is nil; want %q", tt.want)
			}
			if string(res.Merged) != tt.want {
				t.Errorf("Merged = %q, want %q", res.Merged, tt.want)
			}
			if res.By != "diff3" || res.KeepOther {
				t.Errorf("By = %q, KeepOther = %v; want diff3, false", res.By, res.KeepOther)
			}
			if HasConflictMarkers(res.Merged) {
				t.Errorf("clean merge holds conflict markers: %q", res.Merged)
			}
		})
	}
}

func TestDiff3Passes(t *testing.T) {
	base5 := lines("\n", "a", "b", "c", "d", "e")
	tests := []struct {
		name, base, ours, theirs string
		why                      string // part of the pass error
	}{
		{"same line", base5, lines("\n", "a", "b", "X", "d", "e"), lines("\n", "a", "b", "Y", "d", "e"), "overlap"},
		{"adjacent lines", base5, lines("\n", "a", "B", "c", "d", "e"), lines("\n", "a", "b", "C", "d", "e"), "overlap"},
		{"both insert at one place", base5, lines("\n", "a", "x", "b", "c", "d", "e"), lines("\n", "a", "y", "b", "c", "d", "e"), "overlap"},
		{"both append", "a\n", "a\nx\n", "a\ny\n", "overlap"},
		{"ours changed line endings", lines("\n", "a", "b", "c", "d"), lines("\r\n", "a", "b", "c", "d"), lines("\n", "a", "b", "c", "D"), "overlap"},
		{"final newline against last line", "a\nb\n", "a\nb", "a\nB\n", "overlap"},
		{"nul byte", base5, "a\x00\n" + base5[2:], lines("\n", "a", "b", "c", "d", "E"), "not text"},
		{"invalid utf-8", base5, lines("\n", "a", "b", "c", "d", "E"), "\xff\xfe\n" + base5[2:], "not text"},
		{"binary base", "\x00\x01", "x", "y", "not text"},
		{"markers in the result", lines("\n", "Title", "=======", "a", "b", "c"), lines("\n", "Title", "=======", "A", "b", "c"),
			lines("\n", "Title", "=======", "a", "b", "C"), "conflict markers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mustPass(t, newDiff3(t), textConflict("f.txt", tt.base, tt.ours, tt.theirs))
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("pass error %q does not say %q", err, tt.why)
			}
		})
	}
}

func TestDiff3NoBase(t *testing.T) {
	c := noBase(textConflict("f.txt", "", "a\n", "b\n"))
	err := mustPass(t, newDiff3(t), c)
	if !errors.Is(err, zerosync.ErrNoBase) {
		t.Errorf("pass error %v does not wrap ErrNoBase", err)
	}
}

func TestDiff3NotFiles(t *testing.T) {
	c := textConflict("f", "a\n", "b\n", "c\n")
	c.Theirs = nil
	mustPass(t, newDiff3(t), c)
	c = textConflict("f", "a\n", "b\n", "c\n")
	c.Ours = &zerosync.Entry{Kind: zerosync.KindSymlink, Target: "x"}
	mustPass(t, newDiff3(t), c)
	c = textConflict("f", "a\n", "b\n", "c\n")
	c.Content = nil
	mustPass(t, newDiff3(t), c)
}

func TestDiff3SizeLimit(t *testing.T) {
	base := lines("\n", "a", "b", "c", "d", "e")
	ours := lines("\n", "A", "b", "c", "d", "e")
	theirs := lines("\n", "a", "b", "c", "d", "E")
	// At exactly the limit the merge happens.
	limit := int64(len(base))
	res := mustResolve(t, newDiff3(t, WithMaxSize(limit)), textConflict("f", base, ours, theirs))
	if want := lines("\n", "A", "b", "c", "d", "E"); string(res.Merged) != want {
		t.Fatalf("Merged = %q, want %q", res.Merged, want)
	}
	// One byte more on one side is over it.
	err := mustPass(t, newDiff3(t, WithMaxSize(limit)), textConflict("f", base, ours+"x", theirs))
	if !errors.Is(err, zerosync.ErrTooLarge) {
		t.Errorf("pass error %v does not wrap ErrTooLarge", err)
	}
	// A base provider that ignores the limit is held to it.
	big := baseFunc(func(context.Context, zerosync.Conflict) ([]byte, error) { return []byte(base + "zz\n"), nil })
	mustPass(t, newDiff3(t, WithMaxSize(limit), WithBase(big)), textConflict("f", base, ours, theirs))
}

type baseFunc func(ctx context.Context, c zerosync.Conflict) ([]byte, error)

func (f baseFunc) Base(ctx context.Context, c zerosync.Conflict) ([]byte, error) { return f(ctx, c) }

func TestDiff3WithBase(t *testing.T) {
	head := lines("\n", "a", "b", "c", "d", "e")
	c := noBase(textConflict("f", "", lines("\n", "A", "b", "c", "d", "e"), lines("\n", "a", "b", "c", "d", "E")))
	var asked string
	p := baseFunc(func(ctx context.Context, c zerosync.Conflict) ([]byte, error) {
		asked = c.Path
		return []byte(head), nil
	})
	res := mustResolve(t, newDiff3(t, WithBase(p)), c)
	if want := lines("\n", "A", "b", "c", "d", "E"); string(res.Merged) != want {
		t.Errorf("Merged = %q, want %q", res.Merged, want)
	}
	if asked != "f" {
		t.Errorf("provider asked about %q, want f", asked)
	}
	if slices.Contains(c.Content.(*fakeContent).reads, zerosync.VersionBase) {
		t.Error("the stored base was read although a provider was set")
	}

	// A provider that fails for another reason is a failure, not a pass.
	boom := errors.New("repository unreadable")
	failing := baseFunc(func(context.Context, zerosync.Conflict) ([]byte, error) { return nil, boom })
	_, err := newDiff3(t, WithBase(failing)).Resolve(context.Background(), c)
	if !errors.Is(err, boom) || errors.Is(err, zerosync.ErrPass) {
		t.Errorf("err = %v; want the provider's error, not a pass", err)
	}
}

func TestDiff3ReadFailure(t *testing.T) {
	c := textConflict("f", "a\n", "b\n", "c\n")
	c.Content.(*fakeContent).errs = map[zerosync.Version]error{zerosync.VersionTheirs: zerosync.ErrDigestMismatch}
	_, err := newDiff3(t).Resolve(context.Background(), c)
	if !errors.Is(err, zerosync.ErrDigestMismatch) || errors.Is(err, zerosync.ErrPass) {
		t.Errorf("err = %v; want ErrDigestMismatch, not a pass", err)
	}
}

func TestDiff3BadOptions(t *testing.T) {
	for name, opt := range map[string]Diff3Option{
		"zero size":     WithMaxSize(0),
		"negative size": WithMaxSize(-1),
		"nil base":      WithBase(nil),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := Diff3(opt)
			if err == nil || errors.Is(err, zerosync.ErrPass) || r != nil {
				t.Errorf("Diff3 = %v, %v; want a configuration error", r, err)
			}
		})
	}
}

func TestDiff3Mode(t *testing.T) {
	base := lines("\n", "a", "b", "c", "d")
	ours := lines("\n", "A", "b", "c", "d")
	theirs := lines("\n", "a", "b", "c", "D")
	for _, tt := range []struct {
		name              string
		base, ours, their uint32
		want              uint32
	}{
		{"unchanged", 0o644, 0o644, 0o644, 0o644},
		{"theirs made it executable", 0o644, 0o644, 0o755, 0o755},
		{"ours made it executable", 0o644, 0o755, 0o644, 0o755},
		{"both changed: ours", 0o644, 0o600, 0o755, 0o600},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := textConflict("run.sh", base, ours, theirs)
			c.Base.Mode, c.Ours.Mode, c.Theirs.Mode = fsMode(tt.base), fsMode(tt.ours), fsMode(tt.their)
			if got := mustResolve(t, newDiff3(t), c).Mode; got != fsMode(tt.want) {
				t.Errorf("Mode = %o, want %o", got, tt.want)
			}
		})
	}
}

func TestDiff3TooFarApart(t *testing.T) {
	var base, ours, theirs []string
	for i := range 400 {
		base = append(base, fmt.Sprintf("line %d", i))
		ours = append(ours, fmt.Sprintf("rewritten %d", i))
	}
	theirs = slices.Clone(base)
	theirs[0] = "changed"
	c := textConflict("f", lines("\n", base...), lines("\n", ours...), lines("\n", theirs...))
	r := newDiff3(t).(*diff3Resolver)
	r.work = 100 * 800 // at most 100 edits for 800 lines
	err := mustPass(t, r, c)
	if !strings.Contains(err.Error(), errTooFar.Error()) {
		t.Errorf("pass error %q does not say %q", err, errTooFar)
	}
	// The same rewrite is within the default effort, and the rewrite
	// overlaps theirs, so the pass is for the overlap.
	err = mustPass(t, newDiff3(t), c)
	if !strings.Contains(err.Error(), errOverlap.Error()) {
		t.Errorf("pass error %q does not say %q", err, errOverlap)
	}
}

func TestDiff3Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := textConflict("f", "a\n", "b\n", "a\n")
	_, err := newDiff3(t).Resolve(ctx, c)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	// merge3 itself checks ctx before diffing.
	if _, err := merge3(ctx, []byte("a\n"), []byte("b\n"), []byte("a\n"), diffWork); !errors.Is(err, context.Canceled) {
		t.Errorf("merge3 err = %v, want context.Canceled", err)
	}
}

// TestDiff3Random merges random edits that cannot overlap: each side edits
// its own half of the file, away from the middle. Every merge must be clean
// and equal the edits applied together.
func TestDiff3Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "c", "", "}", "x y", "\t"} // repeats on purpose
	for i := range 500 {
		n := 10 + rng.IntN(60)
		base := make([]string, n)
		for j := range base {
			base[j] = alphabet[rng.IntN(len(alphabet))]
		}
		mid := n / 2
		// Ours edits lines [0, mid-2), theirs edits [mid+1, n); both keep
		// the three lines in between. Those are unique: around a run of
		// equal lines a minimal diff may place an edit anywhere in the
		// run, next to the other side's edit.
		base[mid-2], base[mid-1], base[mid] = "keep 1", "keep 2", "keep 3"
		top := edit(rng, base[:mid-2], alphabet)
		bottom := edit(rng, base[mid+1:], alphabet)
		ours := slices.Concat(top, base[mid-2:])
		theirs := slices.Concat(base[:mid+1], bottom)
		want := slices.Concat(top, base[mid-2:mid+1], bottom)
		eol := []string{"\n", "\r\n"}[i%2]
		got, err := merge3(context.Background(), []byte(lines(eol, base...)), []byte(lines(eol, ours...)), []byte(lines(eol, theirs...)), diffWork)
		if err != nil {
			t.Fatalf("case %d: %v\nbase   %q\nours   %q\ntheirs %q", i, err, base, ours, theirs)
		}
		if string(got) != lines(eol, want...) {
			t.Fatalf("case %d:\nbase   %q\nours   %q\ntheirs %q\ngot    %q\nwant   %q", i, base, ours, theirs, got, lines(eol, want...))
		}
	}
}

// edit returns ls with random lines replaced, inserted and deleted.
func edit(rng *rand.Rand, ls, alphabet []string) []string {
	out := slices.Clone(ls)
	for range rng.IntN(4) {
		switch p := rng.IntN(len(out) + 1); rng.IntN(3) {
		case 0:
			out = slices.Insert(out, p, alphabet[rng.IntN(len(alphabet))]+"+")
		case 1:
			if p < len(out) {
				out = slices.Delete(out, p, p+1)
			}
		case 2:
			if p < len(out) {
				out[p] = "changed"
			}
		}
	}
	return out
}

// newDiff3 builds the resolver or fails the test.
func newDiff3(t testing.TB, opts ...Diff3Option) zerosync.Resolver {
	t.Helper()
	r, err := Diff3(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func FuzzDiff3(f *testing.F) {
	f.Add("a\nb\nc\n", "A\nb\nc\n", "a\nb\nC\n")
	f.Add("a\r\nb\r\n", "a\r\nB\r\n", "a\r\nb\r\nc")
	f.Add("a\nb", "a\nb\n", "A\nb")
	f.Add("", "x", "y")
	f.Add("a\n=======\nb\n", "a\n=======\nB\n", "A\n=======\nb\n")
	f.Add("x\n\n\n}\n", "\n\n}\n", "x\n\n\n\n}\n}\n")
	f.Fuzz(func(t *testing.T, base, ours, theirs string) {
		ctx := context.Background()
		// The line merge itself, on any bytes.
		got, err := merge3(ctx, []byte(base), []byte(ours), []byte(theirs), diffWork)
		switch {
		case errors.Is(err, errOverlap):
		case errors.Is(err, errTooFar):
			// Only versions this long can be too far apart: below, the
			// effort bound allows as many edits as there are lines.
			if n := len(splitLines([]byte(base))) + max(len(splitLines([]byte(ours))), len(splitLines([]byte(theirs)))); n*n <= diffWork {
				t.Fatalf("merge3: %v for %d lines", err, n)
			}
			return
		case err != nil:
			t.Fatalf("merge3: %v", err)
		default:
			if got == nil {
				t.Fatal("clean merge is nil")
			}
			// Every line of a clean merge comes from one of the versions.
			have := map[string]bool{}
			for _, v := range []string{base, ours, theirs} {
				for _, l := range splitLines([]byte(v)) {
					have[string(l)] = true
				}
			}
			for _, l := range splitLines(got) {
				if !have[string(l)] {
					t.Fatalf("merged line %q is in no version", l)
				}
			}
		}
		check := func(what, want string) {
			t.Helper()
			if err != nil || string(got) != want {
				t.Fatalf("%s: merge3 = %q, %v; want %q", what, got, err, want)
			}
		}
		switch {
		case ours == base:
			check("ours == base", theirs)
		case theirs == base:
			check("theirs == base", ours)
		case ours == theirs:
			check("ours == theirs", ours)
		}

		// The resolver: a clean result never holds conflict markers, and
		// the identities hold whenever the versions are text.
		res, rerr := newDiff3(t).Resolve(ctx, textConflict("f", base, ours, theirs))
		if rerr != nil {
			if !errors.Is(rerr, zerosync.ErrPass) {
				t.Fatalf("Resolve: %v", rerr)
			}
			text := isText([]byte(base)) && isText([]byte(ours)) && isText([]byte(theirs))
			if err == nil && text && !HasConflictMarkers(got) {
				t.Fatalf("Resolve passed (%v) on a clean text merge", rerr)
			}
			return
		}
		if HasConflictMarkers(res.Merged) {
			t.Fatalf("clean result holds conflict markers: %q", res.Merged)
		}
		if err != nil || !bytes.Equal(res.Merged, got) {
			t.Fatalf("Resolve merged %q; merge3 = %q, %v", res.Merged, got, err)
		}
	})
}

func BenchmarkDiff3(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		base := make([]string, n)
		for i := range base {
			base[i] = fmt.Sprintf("line %d of a file that is being merged", i)
		}
		ours, theirs := slices.Clone(base), slices.Clone(base)
		for i := 0; i < n; i += 100 {
			ours[i] = "ours changed this"
			theirs[i+50] = "theirs changed this"
		}
		bb, ob, tb := []byte(lines("\n", base...)), []byte(lines("\n", ours...)), []byte(lines("\n", theirs...))
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(bb)))
			for b.Loop() {
				if _, err := merge3(context.Background(), bb, ob, tb, diffWork); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The worst case the effort bound allows: one side rewritten.
	n := 20000
	base, ours := make([]string, n), make([]string, n)
	for i := range base {
		base[i] = fmt.Sprintf("line %d", i)
		ours[i] = fmt.Sprintf("other %d", i)
	}
	bb, ob := []byte(lines("\n", base...)), []byte(lines("\n", ours...))
	b.Run("rewrite/lines=20000", func(b *testing.B) {
		for b.Loop() {
			if _, err := merge3(context.Background(), bb, ob, bb, diffWork); !errors.Is(err, errTooFar) {
				b.Fatalf("err = %v, want errTooFar", err)
			}
		}
	})
	// Just within the bound: one line in twelve changed, 3,332 edits of
	// the 3,355 allowed for 40,000 lines.
	near := slices.Clone(base)
	for i := 0; i < n; i += 12 {
		near[i] = "changed"
	}
	nb := []byte(lines("\n", near...))
	b.Run("near-bound/lines=20000", func(b *testing.B) {
		for b.Loop() {
			if _, err := merge3(context.Background(), bb, nb, bb, diffWork); err != nil {
				b.Fatal(err)
			}
		}
	})
}
