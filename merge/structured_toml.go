package merge

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// tomlDoc is a parsed TOML file: its value, the tables its headers define
// (in the order written) and what follows the last line that holds a key
// or a header.
type tomlDoc struct {
	root  *value
	data  []byte
	tail  []byte
	eol   []byte
	ranks map[string]int // the position of each header, by the path of its table
}

// tomlStyle is how a table (or an array of tables) is written.
type tomlStyle uint8

const (
	tomlSection       tomlStyle = iota // a [header] (the root too)
	tomlImplicit                       // only named on the way to another table: [a.b] names a
	tomlDotted                         // made by a dotted key: a.b = 1 makes a
	tomlInline                         // { ... }
	tomlElement                        // an element of an array of tables: [[a]]
	tomlArrayOfTables                  // the array [[a]] headers make
)

// tomlTable is how a table or an array of tables was written.
type tomlTable struct {
	style  tomlStyle
	pre    []byte // the comment and blank lines before the header
	header []byte // the header line, its comment and line break included
	spaced bool   // inline: "{ a = 1 }" rather than "{a = 1}"
}

// tomlLine is a line (or lines, for a long value) that gives a key a
// value.
type tomlLine struct {
	pre    []byte   // the comment and blank lines before it
	indent []byte   // the blanks before the key
	key    []byte   // the key as written, dots and all
	rel    []string // the parts of that key: the path from its table
	sep    []byte   // between key and value: " = "
	trail  []byte   // after the value: blanks and a comment
	eol    []byte   // the line break; empty at the end of the file
}

// parseTOML reads a TOML file into a value tree that keeps the order of
// keys and tables, the text of every value and the comments, through
// go-toml's parser of the file's syntax (its unstable package). The file
// must also decode with go-toml, which checks what the syntax does not
// (keys defined twice, tables reopened), and the tree must have the shape
// of what go-toml decodes.
func parseTOML(data []byte) (*tomlDoc, error) {
	var check map[string]any
	if err := toml.Unmarshal(data, &check); err != nil {
		return nil, err
	}
	b := &tomlBuilder{data: data, index: map[*value]map[string]*field{}}
	root := &value{kind: kindObject, toml: &tomlTable{style: tomlSection}}
	d := &tomlDoc{root: root, data: data, eol: []byte("\n"), ranks: map[string]int{}}
	headers := map[*tomlTable]int{}
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		d.eol = []byte("\r\n")
	}
	p := &unstable.Parser{KeepComments: true}
	p.Reset(data)
	cur := root
	pending := 0 // where the lines not yet given to a key or header start
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Comment:
			// Comment lines go with the next key or header.
		case unstable.KeyValue:
			parts := b.key(e.Key())
			first, lastEnd := b.keySpan(e.Key())
			kvEnd := int(e.Raw.Offset + e.Raw.Length)
			valStart, err := b.valueStart(lastEnd, kvEnd)
			if err != nil {
				return nil, err
			}
			end := kvEnd
			if c := e.Next(); c != nil && c.Kind == unstable.Comment {
				end = int(c.Raw.Offset + c.Raw.Length)
			}
			ls, le := lineStart(data, first), lineEnd(data, end)
			if ls < pending {
				return nil, errors.New("two keys on one line")
			}
			eol := lineBreak(data[:le])
			line := &tomlLine{pre: data[pending:ls], indent: data[ls:first], key: data[first:lastEnd],
				sep: data[lastEnd:valStart], trail: data[kvEnd : le-len(eol)], eol: eol}
			for _, k := range parts {
				line.rel = append(line.rel, k.name)
			}
			pending = le
			val, err := b.value(e.Value(), data[valStart:kvEnd], 0)
			if err != nil {
				return nil, err
			}
			if err := b.set(cur, parts, val, line, tomlDotted); err != nil {
				return nil, err
			}
		case unstable.Table, unstable.ArrayTable:
			parts := b.key(e.Key())
			first, lastEnd := b.keySpan(e.Key())
			ls, le := lineStart(data, first), lineEnd(data, lastEnd)
			if ls < pending {
				return nil, errors.New("a header after a key on one line")
			}
			t := &tomlTable{style: tomlSection, pre: data[pending:ls], header: data[ls:le]}
			pending = le
			headers[t] = len(headers)
			var err error
			if e.Kind == unstable.Table {
				cur, err = b.table(root, parts, t)
			} else {
				t.style = tomlElement
				cur, err = b.arrayTable(root, parts, t)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if err := p.Error(); err != nil {
		return nil, err
	}
	d.tail = data[pending:]
	if err := sealTree(root, 0); err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(shapeOfValue(root), shapeOf(check)) {
		return nil, errors.New("the TOML file reads differently from how go-toml decodes it")
	}
	var sections []tomlSectionAt
	collectSections(root, nil, "", &sections)
	for _, s := range sections {
		if r, ok := headers[s.obj.toml]; ok {
			d.ranks[s.key] = r
		}
	}
	return d, nil
}

// tomlKey is one part of a dotted key.
type tomlKey struct {
	name string
	raw  []byte
}

type tomlBuilder struct {
	data  []byte
	index map[*value]map[string]*field
}

func (b *tomlBuilder) key(it unstable.Iterator) []tomlKey {
	var parts []tomlKey
	for it.Next() {
		k := it.Node()
		parts = append(parts, tomlKey{name: string(k.Data), raw: b.data[k.Raw.Offset : k.Raw.Offset+k.Raw.Length]})
	}
	return parts
}

// keySpan returns where a key starts and ends in the file.
func (b *tomlBuilder) keySpan(it unstable.Iterator) (first, end int) {
	first = -1
	for it.Next() {
		k := it.Node()
		if first < 0 {
			first = int(k.Raw.Offset)
		}
		end = int(k.Raw.Offset + k.Raw.Length)
	}
	return first, end
}

// valueStart finds the value after a key that ends at keyEnd: past the
// blanks, the "=" and the blanks.
func (b *tomlBuilder) valueStart(keyEnd, limit int) (int, error) {
	i := keyEnd
	for i < limit && (b.data[i] == ' ' || b.data[i] == '\t') {
		i++
	}
	if i >= limit || b.data[i] != '=' {
		return 0, errors.New("no '=' after a key")
	}
	i++
	for i < limit && (b.data[i] == ' ' || b.data[i] == '\t') {
		i++
	}
	return i, nil
}

// lookup returns the field of obj named name, or nil.
func (b *tomlBuilder) lookup(obj *value, name string) *field {
	return b.index[obj][name]
}

// add appends a field to obj.
func (b *tomlBuilder) add(obj *value, f *field) {
	m := b.index[obj]
	if m == nil {
		m = map[string]*field{}
		b.index[obj] = m
	}
	m[f.key] = f
	obj.fields = append(obj.fields, f)
}

// walk goes from obj to the table named k, making it with style when
// missing; an array of tables stands for its last element.
func (b *tomlBuilder) walk(obj *value, k tomlKey, style tomlStyle) (*value, error) {
	f := b.lookup(obj, k.name)
	if f == nil {
		f = &field{key: k.name, keyRaw: k.raw, val: &value{kind: kindObject, toml: &tomlTable{style: style}}}
		b.add(obj, f)
	}
	v := f.val
	if v.kind == kindArray && v.toml != nil && v.toml.style == tomlArrayOfTables && len(v.elems) > 0 {
		v = v.elems[len(v.elems)-1]
	}
	if v.kind != kindObject || v.toml == nil || (v.toml.style == tomlInline) != (style == tomlInline) {
		return nil, fmt.Errorf("key %q is not a table", k.name)
	}
	return v, nil
}

// set gives the key parts, from table cur, the value val.
func (b *tomlBuilder) set(cur *value, parts []tomlKey, val *value, line *tomlLine, style tomlStyle) error {
	for _, k := range parts[:len(parts)-1] {
		var err error
		if cur, err = b.walk(cur, k, style); err != nil {
			return err
		}
	}
	k := parts[len(parts)-1]
	if b.lookup(cur, k.name) != nil {
		return fmt.Errorf("key %q defined twice", k.name)
	}
	b.add(cur, &field{key: k.name, keyRaw: k.raw, val: val, toml: line})
	return nil
}

// table opens the table a [header] names.
func (b *tomlBuilder) table(root *value, parts []tomlKey, t *tomlTable) (*value, error) {
	obj := root
	for _, k := range parts {
		var err error
		if obj, err = b.walk(obj, k, tomlImplicit); err != nil {
			return nil, err
		}
	}
	if obj.toml.style != tomlImplicit {
		return nil, errors.New("table defined twice")
	}
	obj.toml = t
	return obj, nil
}

// arrayTable adds the element a [[header]] names to its array.
func (b *tomlBuilder) arrayTable(root *value, parts []tomlKey, t *tomlTable) (*value, error) {
	obj := root
	for _, k := range parts[:len(parts)-1] {
		var err error
		if obj, err = b.walk(obj, k, tomlImplicit); err != nil {
			return nil, err
		}
	}
	k := parts[len(parts)-1]
	f := b.lookup(obj, k.name)
	if f == nil {
		f = &field{key: k.name, keyRaw: k.raw, val: &value{kind: kindArray, toml: &tomlTable{style: tomlArrayOfTables}}}
		b.add(obj, f)
	}
	arr := f.val
	if arr.kind != kindArray || arr.toml == nil || arr.toml.style != tomlArrayOfTables {
		return nil, fmt.Errorf("key %q is not an array of tables", k.name)
	}
	elem := &value{kind: kindObject, toml: t}
	arr.elems = append(arr.elems, elem)
	return elem, nil
}

// value converts a value node; raw is its text when it is the value of a
// key, nil inside an array.
func (b *tomlBuilder) value(n *unstable.Node, raw []byte, depth int) (*value, error) {
	if depth > maxNesting {
		return nil, errTooDeep
	}
	v := &value{raw: raw}
	switch n.Kind {
	case unstable.Array:
		v.kind = kindArray
		for it := n.Children(); it.Next(); {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			e, err := b.value(c, nil, depth+1)
			if err != nil {
				return nil, err
			}
			v.elems = append(v.elems, e)
		}
	case unstable.InlineTable:
		v.kind = kindObject
		v.toml = &tomlTable{style: tomlInline, spaced: len(raw) > 1 && raw[1] == ' '}
		for it := n.Children(); it.Next(); {
			kv := it.Node()
			if kv.Kind != unstable.KeyValue {
				continue
			}
			parts := b.key(kv.Key())
			_, lastEnd := b.keySpan(kv.Key())
			kvEnd := int(kv.Raw.Offset + kv.Raw.Length)
			start, err := b.valueStart(lastEnd, kvEnd)
			if err != nil {
				return nil, err
			}
			c, err := b.value(kv.Value(), b.data[start:kvEnd], depth+1)
			if err != nil {
				return nil, err
			}
			if err := b.set(v, parts, c, nil, tomlInline); err != nil {
				return nil, err
			}
		}
	case unstable.String, unstable.Integer, unstable.Float, unstable.Bool,
		unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		v.kind = kindScalar
		v.scalar = n.Kind.String() + "\x00" + string(n.Data)
	default:
		return nil, fmt.Errorf("unexpected TOML value %s", n.Kind)
	}
	return v, nil
}

// sealTree computes the sums of a tree built without them, and checks its
// depth.
func sealTree(v *value, depth int) error {
	if depth > maxNesting {
		return errTooDeep
	}
	for _, e := range v.elems {
		if err := sealTree(e, depth+1); err != nil {
			return err
		}
	}
	for _, f := range v.fields {
		if err := sealTree(f.val, depth+1); err != nil {
			return err
		}
	}
	v.seal()
	return nil
}

// shapeOf is the shape of a decoded value: its maps and slices, with every
// scalar replaced by nil.
func shapeOf(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = shapeOf(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = shapeOf(e)
		}
		return s
	}
	return nil
}

// shapeOfValue is the shape of a value tree, as shapeOf gives it.
func shapeOfValue(v *value) any {
	switch v.kind {
	case kindObject:
		m := make(map[string]any, len(v.fields))
		for _, f := range v.fields {
			m[f.key] = shapeOfValue(f.val)
		}
		return m
	case kindArray:
		s := make([]any, len(v.elems))
		for i, e := range v.elems {
			s[i] = shapeOfValue(e)
		}
		return s
	}
	return nil
}

// lineStart returns where the line holding offset i starts.
func lineStart(data []byte, i int) int {
	return bytes.LastIndexByte(data[:i], '\n') + 1
}

// lineEnd returns where the line holding offset i ends, after its line
// break.
func lineEnd(data []byte, i int) int {
	if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(data)
}

// lineBreak returns the line break that ends b: "\r\n", "\n", or none.
func lineBreak(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n")):
		return b[len(b)-2:]
	case bytes.HasSuffix(b, []byte("\n")):
		return b[len(b)-1:]
	}
	return nil
}

// renderTOML writes a merged document: ours' or theirs' file when the
// merge is one of them, and otherwise the merged tree, each key/value line
// and header as the side it came from wrote it, with its comments. Tables
// keep ours' order; one only theirs has follows the table before it in the
// tree.
func renderTOML(root *value, ours, theirs *tomlDoc) ([]byte, error) {
	switch {
	case root == ours.root:
		return ours.data, nil
	case root == theirs.root:
		return theirs.data, nil
	}
	w := &tomlWriter{eol: ours.eol}
	if err := w.keyvals(root, nil); err != nil {
		return nil, err
	}
	var sections []tomlSectionAt
	collectSections(root, nil, "", &sections)
	// Runs of tables: one ours has a header for, then those it has not
	// after it in the tree; the runs in ours' order.
	var runs [][]tomlSectionAt
	var ranks []int
	for _, s := range sections {
		r, ok := ours.ranks[s.key]
		if ok || len(runs) == 0 {
			if !ok {
				r = -1
			}
			runs = append(runs, nil)
			ranks = append(ranks, r)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], s)
	}
	idx := make([]int, len(runs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return ranks[a] - ranks[b] })
	for _, i := range idx {
		for _, s := range runs[i] {
			if err := w.section(s); err != nil {
				return nil, err
			}
		}
	}
	w.b.Write(ours.tail)
	return w.b.Bytes(), nil
}

// tomlSectionAt is a table written under a header, the keys to it, and
// its path as a string (the keys, and the index of each element of an
// array of tables on the way).
type tomlSectionAt struct {
	obj  *value
	path []*field
	key  string
}

// collectSections lists the tables under obj, whose path is key, that need
// a header, in the order of the tree.
func collectSections(obj *value, path []*field, key string, out *[]tomlSectionAt) {
	for _, f := range obj.fields {
		v := f.val
		p := append(path[:len(path):len(path)], f)
		k := key + "\x00" + f.key
		switch {
		case v.toml == nil:
		case v.kind == kindObject && (v.toml.style == tomlSection || v.toml.style == tomlImplicit):
			*out = append(*out, tomlSectionAt{v, p, k})
			collectSections(v, p, k, out)
		case v.kind == kindObject && v.toml.style == tomlDotted:
			collectSections(v, p, k, out)
		case v.kind == kindArray && v.toml.style == tomlArrayOfTables:
			for i, e := range v.elems {
				ek := fmt.Sprintf("%s\x00#%d", k, i)
				*out = append(*out, tomlSectionAt{e, p, ek})
				collectSections(e, p, ek, out)
			}
		}
	}
}

type tomlWriter struct {
	b   bytes.Buffer
	eol []byte
}

// section writes a header and the keys of its table; a table only named
// on the way to others gets a header only when it has keys of its own.
func (w *tomlWriter) section(s tomlSectionAt) error {
	t := s.obj.toml
	switch {
	case t.header != nil:
		w.b.Write(t.pre)
		w.b.Write(t.header)
		if lineBreak(t.header) == nil {
			w.b.Write(w.eol)
		}
	case !hasKeyvals(s.obj):
		return nil
	case t.style == tomlElement:
		w.b.WriteString("[[")
		w.b.Write(joinKeys(s.path))
		w.b.WriteString("]]")
		w.b.Write(w.eol)
	default:
		w.b.WriteString("[")
		w.b.Write(joinKeys(s.path))
		w.b.WriteString("]")
		w.b.Write(w.eol)
	}
	return w.keyvals(s.obj, nil)
}

// isSection reports whether v is written under a header of its own (or
// its elements are).
func isSection(v *value) bool {
	if v.toml == nil {
		return false
	}
	switch v.toml.style {
	case tomlSection, tomlImplicit, tomlArrayOfTables:
		return true
	}
	return false
}

// hasKeyvals reports whether a table has keys written under its header.
func hasKeyvals(obj *value) bool {
	for _, f := range obj.fields {
		switch {
		case isSection(f.val):
		case f.val.kind == kindObject && f.val.toml != nil && f.val.toml.style == tomlDotted:
			if hasKeyvals(f.val) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// keyvals writes the key/value lines of a table, those of tables made by
// dotted keys included; prefix is the keys from the table to obj.
func (w *tomlWriter) keyvals(obj *value, prefix []*field) error {
	for _, f := range obj.fields {
		v := f.val
		switch {
		case isSection(v):
		case v.kind == kindObject && v.toml != nil && v.toml.style == tomlDotted:
			if err := w.keyvals(v, append(prefix[:len(prefix):len(prefix)], f)); err != nil {
				return err
			}
		default:
			if err := w.line(f, prefix); err != nil {
				return err
			}
		}
	}
	return nil
}

// line writes one key/value line: as its side wrote it when the key is
// written from the same table, with the merged value.
func (w *tomlWriter) line(f *field, prefix []*field) error {
	path := append(prefix[:len(prefix):len(prefix)], f)
	val, err := tomlValueText(f.val)
	if err != nil {
		return err
	}
	l := f.toml
	if l == nil {
		l = &tomlLine{sep: []byte(" = ")}
	}
	w.b.Write(l.pre)
	w.b.Write(l.indent)
	names := make([]string, len(path))
	for i, p := range path {
		names[i] = p.key
	}
	if l.key != nil && slices.Equal(names, l.rel) {
		w.b.Write(l.key)
	} else {
		w.b.Write(joinKeys(path))
	}
	w.b.Write(l.sep)
	w.b.Write(val)
	w.b.Write(l.trail)
	if l.eol != nil {
		w.b.Write(l.eol)
	} else {
		w.b.Write(w.eol)
	}
	return nil
}

// tomlValueText returns a value as written, or an inline table for an
// object merged or made by keys.
func tomlValueText(v *value) ([]byte, error) {
	if v.raw != nil && !v.built {
		return v.raw, nil
	}
	if v.kind != kindObject {
		return nil, errors.New("a TOML value without its text")
	}
	spaced := v.toml != nil && v.toml.spaced
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range v.fields {
		if i > 0 {
			b.WriteByte(',')
		}
		if i > 0 || spaced {
			b.WriteByte(' ')
		}
		t, err := tomlValueText(f.val)
		if err != nil {
			return nil, err
		}
		b.Write(f.keyRaw)
		b.WriteString(" = ")
		b.Write(t)
	}
	if spaced && len(v.fields) > 0 {
		b.WriteByte(' ')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// joinKeys writes a dotted key of parts as each was written.
func joinKeys(path []*field) []byte {
	var b []byte
	for i, f := range path {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, f.keyRaw...)
	}
	return b
}
