package merge

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNesting bounds how deep objects and arrays of a structured file may
// nest; deeper files are not merged.
const maxNesting = 512

// errTooDeep is the parse error of a file nested deeper than maxNesting.
var errTooDeep = fmt.Errorf("nested more than %d levels deep", maxNesting)

// kind is the shape of a structured value.
type kind uint8

const (
	kindScalar kind = iota
	kindArray
	kindObject
)

// value is one value of a parsed JSON, YAML or TOML file: an object of
// keyed fields in the order written, an array, or a scalar. A value parsed
// from a file also says how it was written there, so the merge can write it
// back unchanged; a value the merge built from two sides (built) has
// fields of both, and the layout of ours.
type value struct {
	kind   kind
	fields []*field    // kindObject, in order
	elems  []*value    // kindArray
	scalar string      // kindScalar: a canonical form; equal forms, equal scalars
	sum    [32]byte    // digest of the canonical form of the whole value
	built  bool        // made by the merge: raw and node describe ours' version
	raw    []byte      // JSON and TOML: the value as written
	node   *yaml.Node  // YAML: the node the value was read from
	json   *jsonLayout // JSON objects: how the object was laid out
	toml   *tomlTable  // TOML tables and arrays of tables: how they were written
}

// field is one key of an object.
type field struct {
	key     string // decoded, compared
	val     *value
	keyRaw  []byte     // JSON and TOML: the key as written
	keyNode *yaml.Node // YAML: the key node
	toml    *tomlLine  // TOML: the key/value line that wrote a scalar, array or inline table
}

// index returns the fields of an object by key. It fails on a repeated key.
func (v *value) index() (map[string]*field, error) {
	m := make(map[string]*field, len(v.fields))
	for _, f := range v.fields {
		if _, dup := m[f.key]; dup {
			return nil, fmt.Errorf("key %q appears twice", f.key)
		}
		m[f.key] = f
	}
	return m, nil
}

// seal computes v.sum from its parts, whose sums must be computed. Objects
// compare without regard to the order of their keys; arrays in order.
func (v *value) seal() {
	h := sha256.New()
	switch v.kind {
	case kindScalar:
		h.Write([]byte{'s'})
		h.Write([]byte(v.scalar))
	case kindArray:
		h.Write([]byte{'a'})
		for _, e := range v.elems {
			h.Write(e.sum[:])
		}
	case kindObject:
		h.Write([]byte{'o'})
		pairs := make([][64]byte, len(v.fields))
		for i, f := range v.fields {
			k := sha256.Sum256([]byte(f.key))
			copy(pairs[i][:32], k[:])
			copy(pairs[i][32:], f.val.sum[:])
		}
		slices.SortFunc(pairs, func(a, b [64]byte) int { return bytes.Compare(a[:], b[:]) })
		for _, p := range pairs {
			h.Write(p[:])
		}
	}
	h.Sum(v.sum[:0])
}

// same reports whether a and b are both absent or hold equal values.
func same(a, b *value) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.sum == b.sum
}

// errStructConflict is why a structured merge gives up: both sides changed
// one key in different ways.
var errStructConflict = errors.New("conflicting changes")

// merge3Values merges the changes of ours and theirs to base, key by key. A
// nil value is absent. Where only one side changed a value, its version is
// taken whole; where both changed an object, its keys are merged; any other
// change on both sides, to different values, is a conflict, reported as an
// error wrapping errStructConflict that names the key.
func merge3Values(base, ours, theirs *value, path []string) (*value, error) {
	switch {
	case same(ours, theirs):
		return ours, nil
	case base != nil && same(base, ours):
		return theirs, nil
	case base != nil && same(base, theirs):
		return ours, nil
	case base == nil && ours == nil:
		return theirs, nil
	case base == nil && theirs == nil:
		return ours, nil
	case ours != nil && theirs != nil && ours.kind == kindObject && theirs.kind == kindObject:
		switch {
		case base == nil:
			// Both added the object: merge as if it had been empty.
			base = &value{kind: kindObject}
		case base.kind != kindObject:
			return nil, fmt.Errorf("%w: %s: both sides replaced it", errStructConflict, keyPath(path))
		}
		return mergeObjects(base, ours, theirs, path)
	case ours == nil:
		return nil, fmt.Errorf("%w: %s: ours deleted it, theirs changed it", errStructConflict, keyPath(path))
	case theirs == nil:
		return nil, fmt.Errorf("%w: %s: theirs deleted it, ours changed it", errStructConflict, keyPath(path))
	case base == nil:
		return nil, fmt.Errorf("%w: %s: both sides added it with different values", errStructConflict, keyPath(path))
	}
	return nil, fmt.Errorf("%w: %s: both sides changed it", errStructConflict, keyPath(path))
}

// mergeObjects merges three objects key by key. The keys keep ours' order;
// a key only theirs added follows the key before it in theirs' order (when
// none is left, it precedes the key of ours after it in theirs, or comes
// last). The result has ours' layout.
func mergeObjects(base, ours, theirs *value, path []string) (*value, error) {
	bi, err := base.index()
	if err != nil {
		return nil, err
	}
	oi, err := ours.index()
	if err != nil {
		return nil, err
	}
	ti, err := theirs.index()
	if err != nil {
		return nil, err
	}
	merged := map[string]*field{}
	mergeKey := func(k string) error {
		if _, done := merged[k]; done {
			return nil
		}
		var b, o, t *value
		if f := bi[k]; f != nil {
			b = f.val
		}
		if f := oi[k]; f != nil {
			o = f.val
		}
		if f := ti[k]; f != nil {
			t = f.val
		}
		m, err := merge3Values(b, o, t, append(path[:len(path):len(path)], k))
		if err != nil {
			return err
		}
		var f *field
		switch {
		case m == nil:
		case o != nil && m == o:
			f = oi[k]
		case t != nil && m == t:
			f = ti[k]
		case oi[k] != nil:
			c := *oi[k]
			c.val = m
			f = &c
		default:
			c := *ti[k]
			c.val = m
			f = &c
		}
		merged[k] = f
		return nil
	}
	for _, fs := range [][]*field{base.fields, ours.fields, theirs.fields} {
		for _, f := range fs {
			if err := mergeKey(f.key); err != nil {
				return nil, err
			}
		}
	}
	// Order: ours' keys, and each key only theirs has after the key
	// before it in theirs. Those before any such key go before the first
	// key of ours that follows them in theirs, or last.
	after := map[string][]*field{}
	var front []*field
	last, hasLast := "", false
	anchor, hasAnchor := "", false
	for _, f := range theirs.fields {
		m := merged[f.key]
		if m == nil {
			continue
		}
		switch {
		case oi[f.key] != nil:
			if !hasAnchor {
				anchor, hasAnchor = f.key, true
			}
		case hasLast:
			after[last] = append(after[last], m)
		default:
			front = append(front, m)
		}
		last, hasLast = f.key, true
	}
	out := &value{kind: kindObject, built: true, raw: ours.raw, node: ours.node, json: ours.json, toml: ours.toml}
	// A JSON object is written like ours, unless ours has fewer than
	// two fields and so does not show how fields are separated.
	for _, v := range []*value{theirs, base} {
		if v.json != nil && (out.json == nil || out.json.fields < 2 && v.json.fields > out.json.fields) {
			out.json = v.json
		}
	}
	out.fields = make([]*field, 0, len(merged))
	var emit func(fs []*field)
	emit = func(fs []*field) {
		for _, f := range fs {
			out.fields = append(out.fields, f)
			emit(after[f.key])
		}
	}
	for _, f := range ours.fields {
		if hasAnchor && f.key == anchor {
			emit(front)
		}
		if m := merged[f.key]; m != nil {
			emit([]*field{m})
		}
	}
	if !hasAnchor {
		emit(front)
	}
	out.seal()
	return out, nil
}

// keyPath names a key for people: the keys from the root, Go-quoted and
// joined by dots; the root itself is "the document".
func keyPath(path []string) string {
	if len(path) == 0 {
		return "the document"
	}
	q := make([]string, len(path))
	for i, k := range path {
		q[i] = fmt.Sprintf("%q", k)
	}
	return "key " + strings.Join(q, ".")
}
