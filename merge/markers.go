package merge

import "bytes"

// HasConflictMarkers reports whether b holds a line that looks like a merge
// conflict marker: a line starting with "<<<<<<<", ">>>>>>>" or "|||||||",
// or a line that is exactly "=======" (a trailing carriage return or blanks
// aside).
//
// Resolvers use it to refuse a result that still carries an unresolved
// conflict. It errs on the safe side: a text whose own lines look like
// markers (a heading underlined with exactly seven '=') is reported too, and
// a resolver then passes rather than write it.
func HasConflictMarkers(b []byte) bool {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if isMarkerLine(line) {
			return true
		}
	}
	return false
}

var markerPrefixes = [][]byte{[]byte("<<<<<<<"), []byte(">>>>>>>"), []byte("|||||||")}

func isMarkerLine(line []byte) bool {
	for _, p := range markerPrefixes {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	return string(bytes.TrimRight(line, " \t\r")) == "======="
}
