package merge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlDoc is a parsed YAML file: its value, its document node (nil for an
// empty file) and its lines, for writing back parts of it unchanged.
type yamlDoc struct {
	root  *value
	doc   *yaml.Node
	data  []byte
	lines [][]byte // the lines of data, terminators kept
}

// parseYAML reads a YAML file of one document into a value tree over its
// nodes. Anchors, aliases and merge keys ("<<") are refused: a change to
// an anchored value changes every alias of it, which a merge by key cannot
// see. So are keys that are not scalars, repeated keys, and nesting deeper
// than maxNesting.
func parseYAML(data []byte) (*yamlDoc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	switch {
	case errors.Is(err, io.EOF):
		// Empty, or only comments: a null document.
		d := &yamlDoc{root: &value{kind: kindScalar, scalar: "!!null"}, data: data, lines: splitLines(data)}
		d.root.seal()
		return d, nil
	case err != nil:
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("not a YAML document")
	}
	root, err := yamlValue(doc.Content[0], 0)
	if err != nil {
		return nil, err
	}
	// Decoding checks what the node tree does not: that tagged scalars
	// hold what their tags say. Without aliases it cannot blow up.
	var v any
	if err := doc.Decode(&v); err != nil {
		return nil, err
	}
	return &yamlDoc{root: root, doc: &doc, data: data, lines: splitLines(data)}, nil
}

// yamlValue converts a node and what it holds.
func yamlValue(n *yaml.Node, depth int) (*value, error) {
	if depth > maxNesting {
		return nil, errTooDeep
	}
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return nil, fmt.Errorf("line %d: anchors and aliases are not merged", n.Line)
	}
	v := &value{node: n}
	switch n.Kind {
	case yaml.ScalarNode:
		v.kind = kindScalar
		v.scalar = yamlScalar(n)
	case yaml.SequenceNode:
		v.kind = kindArray
		for _, c := range n.Content {
			e, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			v.elems = append(v.elems, e)
		}
	case yaml.MappingNode:
		v.kind = kindObject
		if len(n.Content)%2 != 0 {
			return nil, fmt.Errorf("line %d: mapping with a key and no value", n.Line)
		}
		seen := map[string]bool{}
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Anchor != "" {
				return nil, fmt.Errorf("line %d: only plain scalar keys are merged", k.Line)
			}
			if k.ShortTag() == "!!merge" {
				return nil, fmt.Errorf("line %d: merge keys are not merged", k.Line)
			}
			key := yamlScalar(k)
			if strings.HasPrefix(key, "!!str\x00") {
				key = k.Value // the common case, named so in messages
			}
			if seen[key] {
				return nil, fmt.Errorf("line %d: key %q appears twice", k.Line, k.Value)
			}
			seen[key] = true
			val, err := yamlValue(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			v.fields = append(v.fields, &field{key: key, val: val, keyNode: k})
		}
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	v.seal()
	return v, nil
}

// yamlScalar is the canonical form of a scalar: its resolved tag and its
// text, or "!!null" for every way of writing null.
func yamlScalar(n *yaml.Node) string {
	tag := n.ShortTag()
	if tag == "!!null" {
		return tag
	}
	return tag + "\x00" + n.Value
}

// renderYAML writes a merged document. A value one side has unchanged is
// that side's file as it is. Otherwise the merged mappings are written
// line by line from the lines each side wrote for its keys (comments, blank
// lines, quoting and indentation kept). It fails when a merged mapping is
// written on one line (a flow mapping), or a key comes from one; then
// [encodeYAML] writes the merge.
func renderYAML(root *value, ours, theirs *yamlDoc) ([]byte, error) {
	switch {
	case root == ours.root:
		return ours.data, nil
	case root == theirs.root:
		return theirs.data, nil
	}
	out, ok := yamlLines(root, ours, theirs)
	if !ok {
		return nil, errors.New("a merged mapping is not written line by line")
	}
	return out, nil
}

// lineSpan is the lines a key of a block mapping takes, first and last
// (0-based, inclusive): the comment lines right above it at its
// indentation, the key, its value, and what follows up to the next key's
// span or the end of the mapping.
type lineSpan struct{ first, last int }

// yamlSpans finds the spans of the keys of the block mappings under n,
// which ends at line end (0-based, inclusive).
func yamlSpans(d *yamlDoc, n *yaml.Node, end int, spans map[*yaml.Node]lineSpan) bool {
	if n.Kind != yaml.MappingNode {
		return true
	}
	if n.Style&yaml.FlowStyle != 0 {
		return true // no spans: a merge inside it is encoded
	}
	var firsts []int
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		line := k.Line - 1
		if line < 0 || line >= len(d.lines) || (len(firsts) > 0 && line <= firsts[len(firsts)-1]) {
			return false
		}
		first := line
		for first > 0 {
			above := d.lines[first-1]
			trimmed := bytes.TrimLeft(above, " ")
			if !bytes.HasPrefix(trimmed, []byte("#")) || len(above)-len(trimmed) != k.Column-1 {
				break
			}
			first--
		}
		if len(firsts) > 0 && first <= firsts[len(firsts)-1] {
			first = line
		}
		firsts = append(firsts, first)
	}
	for i, first := range firsts {
		last := end
		if i+1 < len(firsts) {
			last = firsts[i+1] - 1
		}
		if last < first {
			return false
		}
		k := n.Content[2*i]
		spans[k] = lineSpan{first, last}
		if !yamlSpans(d, n.Content[2*i+1], last, spans) {
			return false
		}
	}
	return true
}

// yamlLines writes a merged document from the lines of both sides; false
// when the merge cannot be written so.
func yamlLines(root *value, ours, theirs *yamlDoc) ([]byte, bool) {
	if !root.built || ours.doc == nil || theirs.doc == nil {
		return nil, false
	}
	docs := []*yamlDoc{ours, theirs}
	spans := []map[*yaml.Node]lineSpan{{}, {}}
	for i, d := range docs {
		if !yamlSpans(d, d.doc.Content[0], len(d.lines)-1, spans[i]) {
			return nil, false
		}
	}
	var b bytes.Buffer
	write := func(d *yamlDoc, first, last int) {
		for _, l := range d.lines[first : last+1] {
			b.Write(l)
		}
		if b.Len() > 0 && b.Bytes()[b.Len()-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	// firstLine is where the span of a built mapping's first key starts
	// in ours.
	firstLine := func(v *value) (int, bool) {
		if v.node == nil || len(v.node.Content) == 0 {
			return 0, false
		}
		sp, ok := spans[0][v.node.Content[0]]
		return sp.first, ok
	}
	var mapping func(v *value) bool
	mapping = func(v *value) bool {
		for _, f := range v.fields {
			side := 0
			sp, ok := spans[0][f.keyNode]
			if !ok {
				side = 1
				if sp, ok = spans[1][f.keyNode]; !ok {
					return false
				}
			}
			if !f.val.built {
				write(docs[side], sp.first, sp.last)
				continue
			}
			// A mapping merged in turn (always ours' key): the lines
			// before its first key, then its keys.
			start, ok := firstLine(f.val)
			if side != 0 || !ok || start <= sp.first {
				return false
			}
			write(ours, sp.first, start-1)
			if !mapping(f.val) {
				return false
			}
		}
		return true
	}
	start, ok := firstLine(root)
	if !ok {
		return nil, false
	}
	if start > 0 {
		write(ours, 0, start-1)
	}
	if !mapping(root) {
		return nil, false
	}
	return b.Bytes(), true
}

// encodeYAML writes a merged document by encoding its node tree: ours'
// document node with the merged value in it. It keeps comments and key
// order, but not blank lines, and indents as ours mostly does.
func encodeYAML(root *value, ours, _ *yamlDoc) ([]byte, error) {
	doc := yaml.Node{Kind: yaml.DocumentNode}
	if ours.doc != nil {
		doc = *ours.doc
	}
	doc.Content = []*yaml.Node{yamlNode(root)}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(yamlIndent(ours.data))
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// yamlNode returns a copy of the node of a value, the mappings the merge
// built made from ours' mapping node with the merged keys and values in
// it. A null written as nothing becomes "null": the encoder would write it
// as an empty string inside a flow mapping.
func yamlNode(v *value) *yaml.Node {
	if v.node == nil && !v.built {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if v.node != nil {
		c := *v.node
		n = &c
	}
	switch v.kind {
	case kindScalar:
		if n.Value == "" && n.ShortTag() == "!!null" {
			n.Value = "null"
		}
	case kindArray:
		n.Content = make([]*yaml.Node, 0, len(v.elems))
		for _, e := range v.elems {
			n.Content = append(n.Content, yamlNode(e))
		}
	case kindObject:
		n.Content = make([]*yaml.Node, 0, 2*len(v.fields))
		for _, f := range v.fields {
			n.Content = append(n.Content, f.keyNode, yamlNode(f.val))
		}
	}
	return n
}

// yamlIndent guesses the indentation of a YAML file: the smallest
// indentation of a line that holds more than a comment, from 2 to 8; 2
// when nothing is indented.
func yamlIndent(data []byte) int {
	indent := 0
	for _, l := range strings.Split(string(data), "\n") {
		t := strings.TrimLeft(l, " ")
		if n := len(l) - len(t); n > 0 && t != "" && t[0] != '#' && strings.TrimSpace(t) != "" && (indent == 0 || n < indent) {
			indent = n
		}
	}
	return min(max(indent, 2), 8)
}
