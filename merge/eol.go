package merge

import "bytes"

// Line endings are bytes like any other, by default: a file is synced byte
// for byte, a CRLF file stays CRLF on every host, and a merge compares lines
// together with their terminators. [WithEOLInsensitive] is the opt-in that
// merges a CRLF version with an LF one as the same text.

// eol is the line ending style of a text.
type eol uint8

const (
	eolNone  eol = iota // no line is terminated
	eolLF               // every terminated line ends in "\n" alone
	eolCRLF             // every terminated line ends in "\r\n"
	eolMixed            // both
)

// eolOf tells the line ending style of b.
func eolOf(b []byte) eol {
	lf := bytes.Count(b, []byte("\n"))
	crlf := bytes.Count(b, []byte("\r\n"))
	switch {
	case lf == 0:
		return eolNone
	case crlf == 0:
		return eolLF
	case crlf == lf:
		return eolCRLF
	}
	return eolMixed
}

// toLF turns every "\r\n" of b into "\n".
func toLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// toCRLF turns every "\n" of b into "\r\n".
func toCRLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

// mergeEOL merges base, ours and theirs as [merge3] does, but with "\r\n"
// and "\n" taken as the same line ending; the result has the style of ours
// (or, when no line of ours is terminated, of theirs, then of the base; LF
// when none is). A version of ours that mixes the two styles cannot be
// rebuilt in its style, so the versions are then merged byte for byte.
func mergeEOL(merge func(base, ours, theirs []byte) ([]byte, error), base, ours, theirs []byte) ([]byte, error) {
	style := eolOf(ours)
	for _, b := range [][]byte{theirs, base} {
		if style == eolNone {
			style = eolOf(b)
		}
	}
	switch style {
	case eolMixed:
		if eolOf(ours) == eolMixed {
			return merge(base, ours, theirs)
		}
		style = eolLF
	case eolNone:
		style = eolLF
	}
	merged, err := merge(toLF(base), toLF(ours), toLF(theirs))
	if err != nil || style == eolLF {
		return merged, err
	}
	return toCRLF(merged), nil
}
