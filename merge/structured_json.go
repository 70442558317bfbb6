package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonDoc is a parsed JSON file: its value and the blanks around it.
type jsonDoc struct {
	root        *value
	lead, trail []byte
}

// jsonLayout is how an object was written: the blanks after "{", between
// a key and its value (the colon included), between fields (the comma
// included) and before "}". A merged object is written with the layout of
// ours, so a one-line object stays on one line and an indented one keeps
// its indentation.
type jsonLayout struct {
	open, colon, comma, close []byte
	fields                    int
}

// parseJSON reads a JSON document, keeping the order of keys and the text
// of every value. A repeated key, trailing data, or nesting deeper than
// maxNesting is an error.
func parseJSON(data []byte) (*jsonDoc, error) {
	if !json.Valid(data) {
		// Valid names no position; Unmarshal's error does.
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &jsonParser{dec: dec, data: data}
	root, start, err := p.value(0)
	if err != nil {
		return nil, err
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value")
	}
	return &jsonDoc{root: root, lead: data[:start], trail: data[end:]}, nil
}

type jsonParser struct {
	dec  *json.Decoder
	data []byte
}

// token reads the next token and returns it with the text it was written
// as, and the offset where that text starts.
func (p *jsonParser) token() (json.Token, []byte, int64, error) {
	before := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, nil, 0, err
	}
	text := p.data[before:p.dec.InputOffset()]
	// The decoder consumes the separators before a token with it.
	trimmed := bytes.TrimLeft(text, " \t\r\n,:")
	return tok, trimmed, before + int64(len(text)-len(trimmed)), nil
}

// value reads one value; it returns the value and the offset where its
// text starts.
func (p *jsonParser) value(depth int) (*value, int64, error) {
	if depth > maxNesting {
		return nil, 0, errTooDeep
	}
	tok, text, start, err := p.token()
	if err != nil {
		return nil, 0, err
	}
	v := &value{kind: kindScalar}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			err = p.object(v, depth)
		} else {
			err = p.array(v, depth)
		}
		if err != nil {
			return nil, 0, err
		}
	case string:
		v.scalar = "string:" + t
	case json.Number:
		v.scalar = "number:" + string(t)
	case bool:
		v.scalar = fmt.Sprint("bool:", t)
	case nil:
		v.scalar = "null"
	default:
		return nil, 0, fmt.Errorf("unexpected JSON token %v", tok)
	}
	if v.kind == kindScalar {
		v.raw = text
	} else {
		v.raw = p.data[start:p.dec.InputOffset()]
	}
	v.seal()
	return v, start, nil
}

// object reads the fields of an object after its "{", and its "}".
func (p *jsonParser) object(v *value, depth int) error {
	v.kind = kindObject
	l := &jsonLayout{}
	v.json = l
	seen := map[string]bool{}
	prevEnd := p.dec.InputOffset() // after "{", then after each value
	for p.dec.More() {
		tok, keyText, keyStart, err := p.token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("unexpected JSON token %v for a key", tok)
		}
		if seen[key] {
			return fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		keyEnd := p.dec.InputOffset()
		if len(v.fields) == 0 {
			l.open = p.data[prevEnd:keyStart]
		} else if len(v.fields) == 1 {
			l.comma = p.data[prevEnd:keyStart]
		}
		val, valStart, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		if len(v.fields) == 0 {
			l.colon = p.data[keyEnd:valStart]
		}
		prevEnd = p.dec.InputOffset()
		v.fields = append(v.fields, &field{key: key, val: val, keyRaw: keyText})
	}
	if _, _, _, err := p.token(); err != nil { // "}"
		return err
	}
	if len(v.fields) > 0 {
		l.close = p.data[prevEnd : p.dec.InputOffset()-1]
	}
	l.fields = len(v.fields)
	return nil
}

// array reads the elements of an array after its "[", and its "]".
func (p *jsonParser) array(v *value, depth int) error {
	v.kind = kindArray
	for p.dec.More() {
		e, _, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		v.elems = append(v.elems, e)
	}
	_, _, _, err := p.token() // "]"
	return err
}

// renderJSON writes a merged document: the blanks around ours' value, and
// the value, every part of it that one side wrote as that side wrote it.
func renderJSON(root *value, ours, _ *jsonDoc) ([]byte, error) {
	var b bytes.Buffer
	b.Write(ours.lead)
	writeJSON(&b, root)
	b.Write(ours.trail)
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v *value) {
	if !v.built {
		b.Write(v.raw)
		return
	}
	// Only objects are built; the layout is ours'.
	l := v.json
	if l == nil {
		l = &jsonLayout{}
	}
	colon, comma := l.colon, l.comma
	if l.fields < 1 {
		colon = []byte(":")
	}
	if l.fields < 2 {
		// Ours had no second field to learn from: the blanks after "{"
		// give the indentation of the next key.
		comma = append([]byte(","), l.open...)
		if len(l.open) == 0 && bytes.HasSuffix(colon, []byte(" ")) {
			comma = []byte(", ")
		}
	}
	if len(v.fields) == 0 {
		b.WriteString("{}")
		return
	}
	b.WriteByte('{')
	b.Write(l.open)
	for i, f := range v.fields {
		if i > 0 {
			b.Write(comma)
		}
		b.Write(f.keyRaw)
		b.Write(colon)
		writeJSON(b, f.val)
	}
	b.Write(l.close)
	b.WriteByte('}')
}
