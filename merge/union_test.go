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

func TestUnionMerges(t *testing.T) {
	hist := "ls\ncd src\n"
	for _, tt := range []struct {
		name, base, ours, theirs, want string
	}{
		{"both appended", hist, hist + "make\n", hist + "git status\ngit log\n", hist + "make\ngit status\ngit log\n"},
		{"identical additions kept once", hist, hist + "make\n", hist + "make\n", hist + "make\n"},
		{"only ours appended", hist, hist + "make\n", hist, hist + "make\n"},
		{"empty base", "", "a\n", "b\n", "a\nb\n"},
		{"unterminated addition goes last", hist, hist + "vim", hist + "make\n", hist + "make\nvim"},
		{"crlf", "a\r\n", "a\r\nb\r\n", "a\r\nc\r\n", "a\r\nb\r\nc\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := mustResolve(t, Union(), textConflict(".bash_history", tt.base, tt.ours, tt.theirs))
			if string(res.Merged) != tt.want || res.By != "union" || res.KeepOther {
				t.Errorf("got %q by %q (KeepOther %v); want %q by union", res.Merged, res.By, res.KeepOther, tt.want)
			}
		})
	}
}

func TestUnionEmptyResultIsMerged(t *testing.T) {
	res := mustResolve(t, Union(), textConflict("h", "", "", ""))
	if res.Merged == nil || len(res.Merged) != 0 {
		t.Errorf("Merged = %#v; want empty, not nil", res.Merged)
	}
}

func TestUnionPasses(t *testing.T) {
	hist := "ls\ncd src\n"
	for _, tt := range []struct {
		name, base, ours, theirs, why string
	}{
		{"ours edited", hist, "ls -l\ncd src\nmake\n", hist + "x\n", "ours did not only append"},
		{"theirs truncated", hist, hist + "x\n", "ls\n", "theirs did not only append"},
		{"base without final newline", "ls", "ls\nmake\n", "ls\nvim\n", "line break"},
		{"both unterminated", hist, hist + "a", hist + "b", "line break"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := mustPass(t, Union(), textConflict(".bash_history", tt.base, tt.ours, tt.theirs))
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("pass error %q does not say %q", err, tt.why)
			}
		})
	}
	big := strings.Repeat("x\n", DefaultMaxSize/2+1)
	err := mustPass(t, Union(), textConflict("h", "", big, "b\n"))
	if !errors.Is(err, zerosync.ErrTooLarge) {
		t.Errorf("too large: %v does not wrap ErrTooLarge", err)
	}
	c := textConflict("h", "a\n", "a\nb\n", "a\nc\n")
	c.Ours = &zerosync.Entry{Kind: zerosync.KindDir}
	mustPass(t, Union(), c)
}

func TestUnionReadFailure(t *testing.T) {
	c := textConflict("h", "a\n", "a\nb\n", "a\nc\n")
	c.Content.(*fakeContent).errs = map[zerosync.Version]error{zerosync.VersionOurs: zerosync.ErrDigestMismatch}
	_, err := Union().Resolve(context.Background(), c)
	if !errors.Is(err, zerosync.ErrDigestMismatch) || errors.Is(err, zerosync.ErrPass) {
		t.Errorf("err = %v; want ErrDigestMismatch, not a pass", err)
	}
}

func TestUnionWithoutBase(t *testing.T) {
	for _, tt := range []struct {
		name, ours, theirs, want string
	}{
		{"unrelated histories: ours, then theirs", "ls\nmake\n", "vim x\ngit log\n", "ls\nmake\nvim x\ngit log\n"},
		{"theirs extends ours", "ls\n", "ls\nmake\n", "ls\nmake\n"},
		{"ours extends theirs", "ls\nmake\n", "ls\n", "ls\nmake\n"},
		{"both extend a shared start", "ls\ncd src\nmake\n", "ls\ncd src\ngit pull\n", "ls\ncd src\nmake\ngit pull\n"},
		{"oldest lines trimmed on ours", lines("\n", "3", "4", "5", "6", "7"), lines("\n", "1", "2", "3", "4", "5"),
			lines("\n", "1", "2", "3", "4", "5", "6", "7")},
		{"runs between common lines: ours, then theirs", "a\nx\nb\n", "a\ny\nb\nz\n", "a\nx\ny\nb\nz\n"},
		{"repeated lines kept as often as a side has them", "ls\nls\nls\n", "ls\n", "ls\nls\nls\n"},
		{"repeated lines of both", "ls\nmake\nls\n", "ls\nvim\nls\n", "ls\nmake\nvim\nls\n"},
		{"empty ours", "", "a\n", "a\n"},
		{"crlf", "a\r\nb\r\n", "a\r\nc\r\n", "a\r\nb\r\nc\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := mustResolve(t, Union(), noBase(textConflict(".bash_history", "", tt.ours, tt.theirs)))
			if string(res.Merged) != tt.want || res.By != "union" || res.KeepOther {
				t.Errorf("got %q by %q (KeepOther %v); want %q by union", res.Merged, res.By, res.KeepOther, tt.want)
			}
		})
	}
}

func TestUnionWithoutBasePasses(t *testing.T) {
	for _, tt := range []struct{ name, ours, theirs string }{
		{"ours unterminated", "a\nb", "a\nc\n"},
		{"theirs unterminated", "a\n", "c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := mustPass(t, Union(), noBase(textConflict(".bash_history", "", tt.ours, tt.theirs)))
			if !strings.Contains(err.Error(), "line break") {
				t.Errorf("pass error %q does not say why", err)
			}
		})
	}
}

// TestUnionLinesKeepsEveryLine checks on random histories, near and far
// apart, and with the common-line search cut short, that each version is a
// subsequence of the union, that nothing else is in it, and that the result
// does not depend on anything but the two versions.
func TestUnionLinesKeepsEveryLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 6))
	words := []string{"ls", "cd ..", "make", "git status", "vim", "ssh host", "exit"}
	history := func(n int) []string {
		h := make([]string, n)
		for i := range h {
			h[i] = words[rng.IntN(len(words))]
		}
		return h
	}
	for i := range 300 {
		shared := history(rng.IntN(20))
		o := append(history(rng.IntN(5)), append(slices.Clone(shared), history(rng.IntN(8))...)...)
		th := append(history(rng.IntN(5)), append(slices.Clone(shared), history(rng.IntN(8))...)...)
		ours, theirs := lines("\n", o...), lines("\n", th...)
		for _, maxEdits := range []int{unionEdits, 3, 0} {
			got, err := unionLines(context.Background(), []byte(ours), []byte(theirs), maxEdits, diffWork)
			if err != nil {
				t.Fatal(err)
			}
			merged := strings.SplitAfter(string(got), "\n")
			merged = merged[:len(merged)-1]
			for side, want := range [][]string{o, th} {
				if !isSubsequence(want, merged) {
					t.Fatalf("case %d, edits %d: %s %q is not a subsequence of %q", i, maxEdits, zerosync.Side(side), want, merged)
				}
			}
			if len(merged) > len(o)+len(th) {
				t.Fatalf("case %d: %d lines from %d and %d", i, len(merged), len(o), len(th))
			}
			again, _ := unionLines(context.Background(), []byte(ours), []byte(theirs), maxEdits, diffWork)
			if !bytes.Equal(got, again) {
				t.Fatalf("case %d: two runs differ: %q and %q", i, got, again)
			}
			if maxEdits == unionEdits && len(merged) != len(o)+len(th)-lcsLen(o, th) {
				t.Fatalf("case %d: %d lines, want %d+%d minus %d shared", i, len(merged), len(o), len(th), lcsLen(o, th))
			}
		}
	}
}

// isSubsequence reports whether sub is a subsequence of s (each line with
// its terminator).
func isSubsequence(sub, s []string) bool {
	i := 0
	for _, l := range s {
		if i < len(sub) && sub[i]+"\n" == l {
			i++
		}
	}
	return i == len(sub)
}

// lcsLen is the length of a longest common subsequence, by dynamic
// programming.
func lcsLen(a, b []string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			switch {
			case a[i] == b[j]:
				cur[j+1] = prev[j] + 1
			default:
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func TestUnionLinesStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := unionLines(ctx, []byte("a\nb\n"), []byte("c\nd\n"), unionEdits, diffWork); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// BenchmarkUnionLines measures the union without a base of two histories
// of 1 MiB each: one the other with its oldest lines trimmed and new ones
// added, and two with nothing in common (the search gives up at the edit
// bound).
func BenchmarkUnionLines(b *testing.B) {
	const n = 40000 // lines of about 26 bytes
	hist := func(prefix string, from, to int) []byte {
		var buf bytes.Buffer
		for i := from; i < to; i++ {
			fmt.Fprintf(&buf, "%s command number %07d\n", prefix, i)
		}
		return buf.Bytes()
	}
	for _, bc := range []struct {
		name         string
		ours, theirs []byte
	}{
		{"trimmed-and-appended", hist("git", 500, n+500), hist("git", 0, n)},
		{"nothing-shared", hist("ours", 0, n), hist("theirs", 0, n)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.ours) + len(bc.theirs)))
			for b.Loop() {
				if _, err := unionLines(context.Background(), bc.ours, bc.theirs, unionEdits, diffWork); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
