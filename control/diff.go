package control

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// conflictDiff is the text the command line shows for a queued conflict:
// from the base to each version, or, without a base, from the version in
// the tree to the one kept aside.
func conflictDiff(it engine.ReviewItem, base, cur, other []byte) string {
	kept, aside := name(it.Hosts[0]), name(it.Hosts[1])
	if it.Archive["kept"] == zerosync.Theirs.String() {
		kept, aside = aside, kept
	}
	var b strings.Builder
	if base != nil {
		diff(&b, "base", kept+" (in the tree)", base, cur)
		diff(&b, "base", aside+" (kept aside)", base, other)
	} else {
		b.WriteString("(no common base is known)\n")
		diff(&b, kept+" (in the tree)", aside+" (kept aside)", cur, other)
	}
	return b.String()
}

func diff(b *strings.Builder, fromName, toName string, from, to []byte) {
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(from)), B: difflib.SplitLines(string(to)),
		FromFile: fromName, ToFile: toName, Context: 3,
	})
	if text == "" {
		text = fmt.Sprintf("(%s and %s are the same)\n", fromName, toName)
	}
	b.WriteString(text)
}

// name returns a name as the command line prints it: as it is when it is
// printable with no space, quote or backslash, Go-quoted otherwise.
func name(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r == utf8.RuneError || r == ' ' || strings.ContainsRune("\"'`\\", r) || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
