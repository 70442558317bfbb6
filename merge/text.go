package merge

import (
	"bytes"
	"unicode/utf8"
)

// isText reports whether b is text a line merge may touch: valid UTF-8 with
// no NUL byte.
func isText(b []byte) bool {
	return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b)
}

// splitLines cuts b after every '\n'. Each line keeps its terminator ("\n"
// or "\r\n"), and a last line without one is kept as it is, so joining the
// lines gives b back byte for byte.
func splitLines(b []byte) [][]byte {
	var lines [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lines = append(lines, b)
			break
		}
		lines = append(lines, b[:i+1])
		b = b[i+1:]
	}
	return lines
}
