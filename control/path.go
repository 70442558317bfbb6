package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// Path is a name from a tree: a path, a conflict copy, a symlink target.
// Linux lets a name be any bytes, so in JSON a Path is a string when it is
// valid UTF-8 and otherwise an object {"bytes": "<base64>"} holding its
// bytes: every name survives the trip, and a script reading plain names
// sees strings.
type Path string

// MarshalJSON writes p as a JSON string, or as {"bytes": ...} when p is
// not valid UTF-8.
func (p Path) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(p)) {
		return json.Marshal(string(p))
	}
	return json.Marshal(struct {
		Bytes []byte `json:"bytes"`
	}{[]byte(p)})
}

// UnmarshalJSON reads either form MarshalJSON writes.
func (p *Path) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			Bytes *[]byte `json:"bytes"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		if o.Bytes == nil {
			return errors.New(`control: a path object needs "bytes"`)
		}
		*p = Path(*o.Bytes)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*p = Path(s)
	return nil
}

// marshal encodes v as JSON that is safe to print on a terminal: every
// character that is not printable (DEL, the C1 controls, bidirectional
// overrides, ...) is written as a \u escape, as encoding/json already does
// for the C0 controls. Outside strings JSON is ASCII, so only strings
// change, and only in form.
func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return escapeUnprintable(b), nil
}

// escapeUnprintable returns b with each rune that strconv.IsPrint refuses
// (other than ASCII, which encoding/json has escaped already where needed)
// written as a JSON \u escape.
func escapeUnprintable(b []byte) []byte {
	clean := true
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			if b[i] == 0x7f {
				clean = false
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			if b[i] == 0x7f {
				out = append(out, `\u007f`...)
			} else {
				out = append(out, b[i])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && strconv.IsPrint(r) {
			out = append(out, b[i:i+n]...)
		} else {
			out = appendEscape(out, r)
		}
		i += n
	}
	return out
}

// appendEscape appends r as \uXXXX, or as a surrogate pair beyond the
// basic plane.
func appendEscape(out []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	esc := func(out []byte, u rune) []byte {
		return append(out, '\\', 'u', hex[u>>12&0xf], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
	}
	if r < 0x10000 {
		return esc(out, r)
	}
	r -= 0x10000
	return esc(esc(out, 0xd800+(r>>10)&0x3ff), 0xdc00+r&0x3ff)
}
