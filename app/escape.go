package app

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Name returns a name as a command prints it: a path from a tree, a
// conflict copy, a symlink target, a peer name or a location. A name made
// only of printable characters, with no space, quote or backslash, is
// printed as it is; any other name (empty, or holding a control character, an
// escape sequence, a newline, invalid UTF-8, a space or a quote) is
// Go-quoted, as the -v log quotes it. So a file name can neither write to the
// terminal nor start a line of its own, and a quoted name is unambiguous.
func Name(s string) string {
	if plain(s) {
		return s
	}
	return strconv.Quote(s)
}

func plain(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r == ' ', r == '"', r == '\'', r == '`', r == '\\':
			return false
		case !strconv.IsPrint(r):
			return false
		}
	}
	return true
}

// Text returns free text that may hold names, such as an error message or a
// resolver's note, with every character that is not printable (a control
// character, an escape sequence, a newline, invalid UTF-8) escaped as Go
// writes it (\x1b, \n, \u202e); printable text, spaces and quotes are kept.
// The result is one line.
func Text(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case strconv.IsPrint(r):
			b.WriteString(s[:n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[n:]
	}
	return b.String()
}
