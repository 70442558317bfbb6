package merge

import (
	"context"
	"errors"
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
	err := mustPass(t, Union(), noBase(textConflict("h", "", "a\n", "b\n")))
	if !errors.Is(err, zerosync.ErrNoBase) {
		t.Errorf("no base: %v does not wrap ErrNoBase", err)
	}
	big := strings.Repeat("x\n", DefaultMaxSize/2+1)
	err = mustPass(t, Union(), textConflict("h", "", big, "b\n"))
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
