package merge

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/zerosync/zerosync"
)

// TestDiff3LineEndingsAreBytes: by default a version whose lines were saved
// with other line endings changed every line, so a change of the other side
// next to them is not merged.
func TestDiff3LineEndingsAreBytes(t *testing.T) {
	base := lines("\n", "a", "b", "c", "d", "e")
	ours := lines("\r\n", "A", "b", "c", "d", "e")
	theirs := lines("\n", "a", "b", "c", "d", "E")
	mustPass(t, newDiff3(t), textConflict("notes.txt", base, ours, theirs))
}

// TestDiff3EOLInsensitive: with the option, CRLF and LF versions of a text
// are the same text; the merge keeps the line endings of ours.
func TestDiff3EOLInsensitive(t *testing.T) {
	base5 := lines("\n", "a", "b", "c", "d", "e")
	tests := []struct {
		name, base, ours, theirs, want string
	}{
		{"ours saved as CRLF", base5, lines("\r\n", "A", "b", "c", "d", "e"), lines("\n", "a", "b", "c", "d", "E"),
			lines("\r\n", "A", "b", "c", "d", "E")},
		{"theirs saved as CRLF", base5, lines("\n", "A", "b", "c", "d", "e"), lines("\r\n", "a", "b", "c", "d", "E"),
			lines("\n", "A", "b", "c", "d", "E")},
		{"CRLF base, LF ours", lines("\r\n", "a", "b", "c", "d", "e"), lines("\n", "a", "b", "x", "c", "d", "e"), lines("\r\n", "a", "b", "c", "d", "e", "f"),
			lines("\n", "a", "b", "x", "c", "d", "e", "f")},
		{"only endings differ", base5, lines("\r\n", "a", "b", "c", "d", "e"), base5 + "f\n",
			lines("\r\n", "a", "b", "c", "d", "e", "f")},
		{"no final newline", "a\nb\nc\nd", "A\r\nb\r\nc\r\nd", "a\nb\nc\nD", "A\r\nb\r\nc\r\nD"},
		{"all LF: as without the option", base5, lines("\n", "A", "b", "c", "d", "e"), lines("\n", "a", "b", "c", "d", "E"),
			lines("\n", "A", "b", "c", "d", "E")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustResolve(t, newDiff3(t, WithEOLInsensitive()), textConflict("notes.txt", tt.base, tt.ours, tt.theirs))
			if string(res.Merged) != tt.want {
				t.Errorf("Merged = %q, want %q", res.Merged, tt.want)
			}
		})
	}
}

// TestMergeEOLStyle: the style of ours, else of theirs, else of the base,
// else LF.
func TestMergeEOLStyle(t *testing.T) {
	echo := func(base, ours, theirs []byte) ([]byte, error) { return []byte("x\ny\n"), nil }
	for _, tc := range []struct{ base, ours, theirs, want string }{
		{"a\n", "a\r\n", "a\n", "x\r\ny\r\n"},
		{"a\r\n", "a\n", "a\r\n", "x\ny\n"},
		{"a\n", "a", "a\r\n", "x\r\ny\r\n"},
		{"a\r\n", "a", "b", "x\r\ny\r\n"},
		{"a", "a", "b", "x\ny\n"},
		{"a\r\nb\n", "a", "b\r\nc\n", "x\ny\n"},
	} {
		got, err := mergeEOL(echo, []byte(tc.base), []byte(tc.ours), []byte(tc.theirs))
		if err != nil || string(got) != tc.want {
			t.Errorf("base %q, ours %q, theirs %q: %q, %v; want %q", tc.base, tc.ours, tc.theirs, got, err, tc.want)
		}
	}
}

// TestDiff3EOLInsensitiveMixedOurs: a version of ours with both endings
// cannot be rebuilt in its style, so it merges byte for byte.
func TestDiff3EOLInsensitiveMixedOurs(t *testing.T) {
	r := newDiff3(t, WithEOLInsensitive())
	base := lines("\n", "a", "b", "c", "d", "e")
	mixed := "a\r\nb\nc\nd\ne\n"
	mustPass(t, r, textConflict("f", base, mixed, lines("\r\n", "a", "b", "c", "d", "E")))
	res := mustResolve(t, r, textConflict("f", base, mixed, lines("\n", "a", "b", "c", "d", "E")))
	if want := "a\r\nb\nc\nd\nE\n"; string(res.Merged) != want {
		t.Errorf("Merged = %q, want %q", res.Merged, want)
	}
}

// FuzzDiff3EOLInsensitive: on any versions, a merge that ignores line
// endings is the byte merge of the versions with LF endings, in the style
// of ours when ours has one.
func FuzzDiff3EOLInsensitive(f *testing.F) {
	f.Add("a\nb\nc\n", "A\r\nb\r\nc\r\n", "a\nb\nC\n")
	f.Add("a\r\nb", "a\nb\n", "A\r\nb")
	f.Add("a\r\r\nb\n", "a\r\r\nB\r\n", "a\nb\nc")
	f.Add("", "x\r\n", "y\n")
	f.Add("a\n", "a\r\n", "")
	f.Fuzz(func(t *testing.T, base, ours, theirs string) {
		ctx := context.Background()
		res, err := newDiff3(t, WithEOLInsensitive()).Resolve(ctx, textConflict("f", base, ours, theirs))
		if err != nil {
			if !errors.Is(err, zerosync.ErrPass) {
				t.Fatalf("Resolve: %v", err)
			}
			return
		}
		style := eolOf([]byte(ours))
		if style == eolMixed {
			return // merged byte for byte, as FuzzDiff3 checks
		}
		lf, err := merge3(ctx, toLF([]byte(base)), toLF([]byte(ours)), toLF([]byte(theirs)), diffWork)
		if err != nil {
			t.Fatalf("the LF merge fails (%v) where the resolver merged %q", err, res.Merged)
		}
		want := lf
		switch style {
		case eolCRLF:
			want = toCRLF(lf)
		case eolNone:
			// In the style of theirs or the base: the same text once both
			// are LF (toLF twice, as a lone CR before CRLF turns into a line
			// end of its own).
			if got := toLF(res.Merged); !bytes.Equal(got, toLF(lf)) {
				t.Fatalf("merged %q; the LF merge is %q", res.Merged, lf)
			}
			return
		}
		if !bytes.Equal(res.Merged, want) {
			t.Fatalf("merged %q; the LF merge is %q, in the style of ours %q", res.Merged, lf, want)
		}
	})
}
