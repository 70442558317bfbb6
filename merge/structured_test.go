package merge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"github.com/zerosync/zerosync"
	"gopkg.in/yaml.v3"
)

// newStructured builds the resolver or fails the test.
func newStructured(t testing.TB, opts ...StructuredOption) zerosync.Resolver {
	t.Helper()
	r, err := Structured(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// structuredCase is a three-way merge and the file it must give.
type structuredCase struct {
	name, path, base, ours, theirs, want string
}

func runStructured(t *testing.T, tests []structuredCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustResolve(t, newStructured(t), textConflict(tt.path, tt.base, tt.ours, tt.theirs))
			if string(res.Merged) != tt.want {
				t.Errorf("Merged =\n%s\nwant\n%s", res.Merged, tt.want)
			}
			if res.By != "structured" || res.KeepOther || res.Merged == nil {
				t.Errorf("By = %q, KeepOther = %v, Merged nil = %v; want structured, false, false", res.By, res.KeepOther, res.Merged == nil)
			}
		})
	}
}

func TestStructuredJSON(t *testing.T) {
	pretty := "{\n  \"name\": \"app\",\n  \"server\": {\n    \"host\": \"localhost\",\n    \"port\": 80\n  },\n  \"debug\": false\n}\n"
	runStructured(t, []structuredCase{
		{"two keys on one line", "settings.json",
			`{"a": 1, "b": 2}`, `{"a": 10, "b": 2}`, `{"a": 1, "b": 20}`, `{"a": 10, "b": 20}`},
		{"compact, one line", "c.json",
			`{"a":1,"b":2,"c":3}`, `{"a":1,"b":5,"c":3}`, `{"a":1,"b":2,"c":3,"d":4}`, `{"a":1,"b":5,"c":3,"d":4}`},
		{"nested keys", "app.json", pretty,
			strings.Replace(pretty, `"localhost"`, `"example.org"`, 1),
			strings.Replace(pretty, `"port": 80`, `"port": 8080`, 1),
			"{\n  \"name\": \"app\",\n  \"server\": {\n    \"host\": \"example.org\",\n    \"port\": 8080\n  },\n  \"debug\": false\n}\n"},
		{"added and removed keys on different sides", "app.json", pretty,
			strings.Replace(pretty, "  \"debug\": false\n", "  \"debug\": false,\n  \"workers\": 4\n", 1),
			strings.Replace(pretty, "  \"name\": \"app\",\n", "", 1),
			"{\n  \"server\": {\n    \"host\": \"localhost\",\n    \"port\": 80\n  },\n  \"debug\": false,\n  \"workers\": 4\n}\n"},
		{"a key theirs added follows its neighbour", "k.json",
			`{"a": 1, "b": 2, "c": 3}`, `{"a": 1, "b": 2, "c": 30}`, `{"a": 1, "b": 2, "x": 9, "c": 3}`,
			`{"a": 1, "b": 2, "x": 9, "c": 30}`},
		{"values kept as written", "v.json",
			`{"n": 1.50, "s": "caf\u00e9", "t": 1}`, `{"n": 1.50, "s": "caf\u00e9", "t": 2}`, `{"n": 1.50, "s": "caf\u00e9", "t": 1, "u": [1, 2]}`,
			`{"n": 1.50, "s": "caf\u00e9", "t": 2, "u": [1, 2]}`},
		{"a side changed a whole nested object", "o.json",
			`{"a": {"x": 1}, "b": 1}`, `{"a": {"x": 1, "y": 2}, "b": 1}`, `{"a": {"x": 1}, "b": 2}`, `{"a": {"x": 1, "y": 2}, "b": 2}`},
		{"same change on both sides", "s.json", `{"a": 1, "b": 1}`, `{"a": 2, "b": 1}`, `{"a": 2, "b": 3}`, `{"a": 2, "b": 3}`},
		{"both added the same key", "s.json", `{"a": 1}`, `{"a": 1, "x": true}`, `{"a": 2, "x": true}`, `{"a": 2, "x": true}`},
		{"both added an object with different keys", "s.json",
			`{"a": 1}`, `{"a": 1, "o": {"x": 1}}`, `{"a": 1, "o": {"y": 2}}`, `{"a": 1, "o": {"x": 1, "y": 2}}`},
		{"a key theirs put first stays first", "s.json", `{"a": 1, "b": 2}`, `{"a": 1, "b": 3}`, `{"z": 0, "a": 1, "b": 2}`,
			`{"z": 0, "a": 1, "b": 3}`},
		{"ours had one field: the layout of theirs' separators", "s.json",
			"{\n    \"a\": 1\n}\n", "{\n    \"a\": 2\n}\n", "{\n    \"a\": 1,\n    \"b\": 3\n}\n", "{\n    \"a\": 2,\n    \"b\": 3\n}\n"},
		{"emptied by the merge", "e.json", "{\n  \"o\": {\"x\": 1, \"y\": 1},\n  \"p\": 1\n}\n", "{\n  \"o\": {\"y\": 1},\n  \"p\": 1\n}\n",
			"{\n  \"o\": {\"x\": 1},\n  \"p\": 2\n}\n", "{\n  \"o\": {},\n  \"p\": 2\n}\n"},
		{"crlf", "s.json", "{\r\n  \"a\": 1,\r\n  \"b\": 1\r\n}\r\n", "{\r\n  \"a\": 2,\r\n  \"b\": 1\r\n}\r\n",
			"{\r\n  \"a\": 1,\r\n  \"b\": 3\r\n}\r\n", "{\r\n  \"a\": 2,\r\n  \"b\": 3\r\n}\r\n"},
	})
}

func TestStructuredYAML(t *testing.T) {
	base := `# Service settings.

name: app # shown in the menu

server:
  host: localhost
  # The port to listen on.
  port: 80

features: [a, b]
`
	runStructured(t, []structuredCase{
		{"two keys on one line", "point.yaml", "point: {x: 1, y: 2}\n", "point: {x: 5, y: 2}\n", "point: {x: 1, y: 7}\n",
			"point: {x: 5, y: 7}\n"},
		{"nested keys, comments and blank lines kept", "config.yaml", base,
			strings.Replace(base, "localhost", "example.org", 1),
			strings.Replace(base, "port: 80", "port: 8080 # the new one", 1),
			`# Service settings.

name: app # shown in the menu

server:
  host: example.org
  # The port to listen on.
  port: 8080 # the new one

features: [a, b]
`},
		{"added and removed keys on different sides, with their comments", "config.yaml", base,
			strings.Replace(base, "  port: 80\n", "  port: 80\n  # Seconds.\n  timeout: 30\n", 1),
			strings.Replace(base, "name: app # shown in the menu\n", "", 1),
			`# Service settings.

server:
  host: localhost
  # The port to listen on.
  port: 80
  # Seconds.
  timeout: 30

features: [a, b]
`},
		{"a merged flow mapping is encoded, comments kept", "flow.yaml",
			"# head\na: {x: 1, y: 2} # line\nb: 1\n", "# head\na: {x: 5, y: 2} # line\nb: 1\n", "# head\na: {x: 1, y: 6} # line\nb: 2\n",
			"# head\na: {x: 5, y: 6} # line\nb: 2\n"},
		{"a deleted key takes the comment above it", "c.yaml", "a: 1\n# about b\nb: 2\nc: 3\n", "a: 5\n# about b\nb: 2\nc: 3\n",
			"a: 1\nc: 3\n", "a: 5\nc: 3\n"},
		{"crlf", "c.yaml", "a: 1\r\nb:\r\n  x: 1\r\n", "a: 2\r\nb:\r\n  x: 1\r\n", "a: 1\r\nb:\r\n  x: 1\r\n  y: 2\r\n",
			"a: 2\r\nb:\r\n  x: 1\r\n  y: 2\r\n"},
		{"no final line break", "c.yaml", "a: 1\nb: 2", "a: 2\nb: 2", "a: 1\nb: 2\nc: 3\n", "a: 2\nb: 2\nc: 3\n"},
		{"document start, block scalars and sequences kept", "c.yaml",
			"---\n# c\na: |\n  text\n  more\nl:\n  - x: 1\n  - x: 2\nb: 1\n",
			"---\n# c\na: |\n  text\n  changed\nl:\n  - x: 1\n  - x: 2\nb: 1\n",
			"---\n# c\na: |\n  text\n  more\nl:\n  - x: 1\n  - x: 3\nb: 2\n",
			"---\n# c\na: |\n  text\n  changed\nl:\n  - x: 1\n  - x: 3\nb: 2\n"},
		{"quoting kept", "q.yaml", "a: 'one'\nb: \"two\"\nc: 3\n", "a: 'uno'\nb: \"two\"\nc: 3\n", "a: 'one'\nb: \"two\"\nc: 4\n",
			"a: 'uno'\nb: \"two\"\nc: 4\n"},
	})
}

func TestStructuredTOML(t *testing.T) {
	base := `# Tool settings.
title = "tool" # shown on top

[server]
host = "localhost"
# The port to listen on.
port = 80

[[plugins]]
name = "a"

[[plugins]]
name = "b"
`
	runStructured(t, []structuredCase{
		{"two keys on one line", "p.toml", "point = { x = 1, y = 2 }\n", "point = { x = 5, y = 2 }\n", "point = { x = 1, y = 7 }\n",
			"point = { x = 5, y = 7 }\n"},
		{"nested keys, comments kept", "tool.toml", base,
			strings.Replace(base, `"localhost"`, `"example.org"`, 1),
			strings.Replace(base, "port = 80", "port = 8080 # the new one", 1),
			strings.Replace(strings.Replace(base, `"localhost"`, `"example.org"`, 1), "port = 80", "port = 8080 # the new one", 1)},
		{"added and removed keys and tables on different sides", "tool.toml", base,
			strings.Replace(base, "port = 80\n", "port = 80\n# Seconds.\ntimeout = 30\n", 1),
			strings.Replace(base, "[server]\n", "[log]\nlevel = \"info\"\n\n[server]\n", 1)[len("# Tool settings.\ntitle = \"tool\" # shown on top\n"):],
			"\n[log]\nlevel = \"info\"\n\n[server]\nhost = \"localhost\"\n# The port to listen on.\nport = 80\n# Seconds.\ntimeout = 30\n\n[[plugins]]\nname = \"a\"\n\n[[plugins]]\nname = \"b\"\n"},
		{"dotted keys", "d.toml", "a.x = 1\na.y = 2\nb = 3\n", "a.x = 5\na.y = 2\nb = 3\n", "a.x = 1\na.y = 2\na.z = 9\nb = 3\n",
			"a.x = 5\na.y = 2\na.z = 9\nb = 3\n"},
		{"a table theirs added keeps its place", "t.toml", "[a]\nx = 1\n\n[c]\nz = 3\n", "[a]\nx = 10\n\n[c]\nz = 3\n",
			"[a]\nx = 1\n\n[b]\ny = 2\n\n[c]\nz = 3\n", "[a]\nx = 10\n\n[b]\ny = 2\n\n[c]\nz = 3\n"},
		{"tables keep ours' order", "o.toml", "[a]\nx = 1\n[b]\ny = 1\n[a.c]\nz = 1\n", "[a]\nx = 2\n[b]\ny = 1\n[a.c]\nz = 1\n",
			"[a]\nx = 1\n[b]\ny = 1\n[a.c]\nz = 1\nw = 2\n", "[a]\nx = 2\n[b]\ny = 1\n[a.c]\nz = 1\nw = 2\n"},
		{"a key added to a table only named before", "i.toml", "[a.b]\nx = 1\n[c]\ny = 1\n", "[a.b]\nx = 2\n[c]\ny = 1\n",
			"[a]\nz = 1\n[a.b]\nx = 1\n[c]\ny = 1\n", "[a]\nz = 1\n[a.b]\nx = 2\n[c]\ny = 1\n"},
		{"crlf, no final line break", "c.toml", "a = 1\r\n[t]\r\nx = 1", "a = 2\r\n[t]\r\nx = 1", "a = 1\r\n[t]\r\nx = 1\r\ny = 2",
			"a = 2\r\n[t]\r\nx = 1\r\ny = 2\r\n"},
		{"quoted keys, nested inline tables", "q.toml",
			"\"my key\" = 1\nsrv = { host = \"h\", opts = { a = 1 } }\n", "\"my key\" = 2\nsrv = { host = \"h\", opts = { a = 1 } }\n",
			"\"my key\" = 1\nsrv = { host = \"h\", opts = { a = 1, b = 2 } }\n", "\"my key\" = 2\nsrv = { host = \"h\", opts = { a = 1, b = 2 } }\n"},
		{"a long array with comments, and a comment at the end", "l.toml",
			"l = [\n  1, # one\n  2,\n]\nb = 1\n# end\n", "l = [\n  1, # one\n  2,\n  3,\n]\nb = 1\n# end\n",
			"l = [\n  1, # one\n  2,\n]\nb = 2\n# end\n", "l = [\n  1, # one\n  2,\n  3,\n]\nb = 2\n# end\n"},
		{"sub-tables of arrays of tables", "s.toml",
			"top = 1\n[[srv]]\nname = \"a\"\n[srv.opt]\nx = 1\n[[srv]]\nname = \"b\"\n[other]\nk = 1\n",
			"top = 2\n[[srv]]\nname = \"a\"\n[srv.opt]\nx = 1\n[[srv]]\nname = \"b\"\n[other]\nk = 1\n",
			"top = 1\n[[srv]]\nname = \"a\"\n[srv.opt]\nx = 1\n[[srv]]\nname = \"b\"\n[other]\nk = 2\n",
			"top = 2\n[[srv]]\nname = \"a\"\n[srv.opt]\nx = 1\n[[srv]]\nname = \"b\"\n[other]\nk = 2\n"},
		{"arrays of tables as values", "p.toml", base,
			strings.Replace(base, "title = \"tool\"", "title = \"new\"", 1),
			base + "\n[[plugins]]\nname = \"c\"\n",
			strings.Replace(base, "title = \"tool\"", "title = \"new\"", 1) + "\n[[plugins]]\nname = \"c\"\n"},
	})
}

func TestStructuredConflictPasses(t *testing.T) {
	for _, tt := range []struct {
		name, path, base, ours, theirs, why string
	}{
		{"json: both changed one key", "a.json", `{"a": 1, "b": 2}`, `{"a": 5, "b": 2}`, `{"a": 6, "b": 2}`, `key "a": both sides changed it`},
		{"json: deleted and changed", "a.json", `{"a": {"x": 1}}`, `{}`, `{"a": {"x": 2}}`, `key "a": ours deleted it, theirs changed it`},
		{"json: arrays are values", "a.json", `{"l": [1, 2]}`, `{"l": [1, 2, 3]}`, `{"l": [0, 1, 2]}`, `key "l": both sides changed it`},
		{"json: both added a key", "a.json", `{}`, `{"n": {"x": 1}}`, `{"n": {"x": 2}}`, `key "n"."x": both sides added it with different values`},
		{"json: top-level scalars", "a.json", `1`, `2`, `3`, "the document"},
		{"yaml: both changed one nested key", "a.yaml", "s:\n  p: 1\n", "s:\n  p: 2\n", "s:\n  p: 3\n", `key "s"."p"`},
		{"yaml: changed and deleted", "a.yaml", "a: 1\nb: 2\n", "a: 2\nb: 2\n", "b: 2\n", `theirs deleted it, ours changed it`},
		{"toml: both changed one key", "a.toml", "[s]\np = 1\n", "[s]\np = 2\n", "[s]\np = 3\n", `key "s"."p"`},
		{"toml: same line, same key", "a.toml", "p = { x = 1, y = 2 }\n", "p = { x = 3, y = 2 }\n", "p = { x = 4, y = 2 }\n", `key "p"."x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := mustPass(t, newStructured(t), textConflict(tt.path, tt.base, tt.ours, tt.theirs))
			if !errors.Is(err, errStructConflict) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("pass error %q; want a conflict saying %q", err, tt.why)
			}
		})
	}
}

func TestStructuredPasses(t *testing.T) {
	for _, tt := range []struct {
		name, path, base, ours, theirs, why string
	}{
		{"not a config file", "notes.txt", `{"a": 1}`, `{"a": 2}`, `{"a": 1, "b": 1}`, "not a JSON, YAML or TOML file"},
		{"no extension", "Makefile", "a: 1\n", "a: 2\n", "a: 1\nb: 1\n", "not a JSON, YAML or TOML file"},
		{"invalid json", "a.json", `{"a": 1}`, `{"a": 2`, `{"a": 1, "b": 1}`, "ours is not JSON"},
		{"json with a repeated key", "a.json", `{"a": 1}`, `{"a": 2, "a": 3}`, `{"a": 1, "b": 1}`, "appears twice"},
		{"json with trailing data", "a.json", `{"a": 1}`, `{"a": 2} {}`, `{"a": 1, "b": 1}`, "ours is not JSON"},
		{"invalid yaml", "a.yaml", "a: 1\n", "a: [2\n", "a: 1\nb: 1\n", "ours is not YAML"},
		{"yaml anchors", "a.yaml", "a: &x 1\nb: *x\n", "a: &x 2\nb: *x\n", "a: &x 1\nb: *x\nc: 1\n", "anchors and aliases"},
		{"yaml merge keys", "a.yml", "d: {x: 1}\ne:\n  <<: {x: 1}\n", "d: {x: 2}\ne:\n  <<: {x: 1}\n", "d: {x: 1}\ne:\n  <<: {x: 1}\nf: 1\n", "merge keys"},
		{"several yaml documents", "a.yaml", "a: 1\n---\nb: 1\n", "a: 2\n---\nb: 1\n", "a: 1\n---\nb: 2\n", "more than one YAML document"},
		{"yaml with a wrongly tagged value", "a.yaml", "a: 1\n", "a: !!int x\n", "a: 1\nb: 1\n", "ours is not YAML"},
		{"invalid toml", "a.toml", "a = 1\n", "a = \n", "a = 1\nb = 1\n", "ours is not TOML"},
		{"toml with a key defined twice", "a.toml", "a = 1\n", "a = 2\na = 3\n", "a = 1\nb = 1\n", "ours is not TOML"},
		{"invalid base", "a.json", `{`, `{"a": 2}`, `{"a": 1, "b": 1}`, "base is not JSON"},
		{"too deep", "a.json", strings.Repeat(`{"a":`, 600) + "1" + strings.Repeat("}", 600), `{"a": 2}`, `{"b": 1}`, "nested more than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := mustPass(t, newStructured(t), textConflict(tt.path, tt.base, tt.ours, tt.theirs))
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("pass error %q does not say %q", err, tt.why)
			}
		})
	}
}

func TestStructuredBaseAndSize(t *testing.T) {
	c := noBase(textConflict("a.json", "", `{"a": 2}`, `{"b": 1}`))
	if err := mustPass(t, newStructured(t), c); !errors.Is(err, zerosync.ErrNoBase) {
		t.Errorf("no base: %v does not wrap ErrNoBase", err)
	}
	base, ours, theirs := `{"a": 1, "b": 1}`, `{"a": 2, "b": 1}`, `{"a": 1, "b": 2}`
	res := mustResolve(t, newStructured(t, StructuredMaxSize(int64(len(base)))), textConflict("a.json", base, ours, theirs))
	if string(res.Merged) != `{"a": 2, "b": 2}` {
		t.Errorf("at the limit: Merged = %s", res.Merged)
	}
	err := mustPass(t, newStructured(t, StructuredMaxSize(int64(len(base)))), textConflict("a.json", base, ours+" ", theirs))
	if !errors.Is(err, zerosync.ErrTooLarge) {
		t.Errorf("over the limit: %v does not wrap ErrTooLarge", err)
	}
	// Another ancestor, from the provider given.
	other := baseFunc(func(context.Context, zerosync.Conflict) ([]byte, error) {
		return []byte(`{"a": 2, "b": 1, "c": 1}`), nil
	})
	res = mustResolve(t, newStructured(t, StructuredBase(other)), textConflict("a.json", base, ours, theirs))
	if string(res.Merged) != `{"a": 1, "b": 2}` {
		t.Errorf("with the given base: Merged = %s", res.Merged)
	}
	big := baseFunc(func(context.Context, zerosync.Conflict) ([]byte, error) { return []byte(base + "   "), nil })
	mustPass(t, newStructured(t, StructuredMaxSize(int64(len(base))), StructuredBase(big)), textConflict("a.json", base, ours, theirs))
	failing := baseFunc(func(context.Context, zerosync.Conflict) ([]byte, error) { return nil, zerosync.ErrDigestMismatch })
	if _, err := newStructured(t, StructuredBase(failing)).Resolve(context.Background(), textConflict("a.json", base, ours, theirs)); !errors.Is(err, zerosync.ErrDigestMismatch) || errors.Is(err, zerosync.ErrPass) {
		t.Errorf("failing base: err = %v; want the failure, not a pass", err)
	}
}

func TestStructuredNotFiles(t *testing.T) {
	c := textConflict("a.json", `{"a": 1}`, `{"a": 2}`, `{"b": 1}`)
	c.Theirs = nil
	mustPass(t, newStructured(t), c)
	c = textConflict("a.json", `{"a": 1}`, `{"a": 2}`, `{"b": 1}`)
	c.Content = nil
	mustPass(t, newStructured(t), c)
}

func TestStructuredOptions(t *testing.T) {
	for name, opt := range map[string]StructuredOption{
		"nil base":   StructuredBase(nil),
		"zero size":  StructuredMaxSize(0),
		"below zero": StructuredMaxSize(-1),
	} {
		if r, err := Structured(opt); err == nil || r != nil {
			t.Errorf("%s: Structured = %v, %v; want an error", name, r, err)
		}
	}
}

// TestStructuredInChain runs the resolver where the example engines put it,
// after Diff3: a change of two keys on one line, which Diff3 cannot merge,
// is merged; a true conflict on one key falls through to the last resolver.
func TestStructuredInChain(t *testing.T) {
	chain := Chain(Identical(), newDiff3(t), newStructured(t), KeepBoth(zerosync.VersionOurs))
	res := mustResolve(t, chain, textConflict("settings.json", `{"a": 1, "b": 2}`+"\n", `{"a": 10, "b": 2}`+"\n", `{"a": 1, "b": 20}`+"\n"))
	if res.By != "structured" || string(res.Merged) != `{"a": 10, "b": 20}`+"\n" {
		t.Errorf("one-line change: by %s, %q", res.By, res.Merged)
	}
	res = mustResolve(t, chain, textConflict("settings.json", `{"a": 1, "b": 2}`, `{"a": 10, "b": 2}`, `{"a": 11, "b": 2}`))
	if res.By != "keep-both" || !res.KeepOther {
		t.Errorf("true conflict: by %s (KeepOther %v); want keep-both", res.By, res.KeepOther)
	}
}

// TestStructuredMergesDisjointEdits checks the merge against a reference:
// random documents, written by the standard encoders of each format, get
// random edits (changed, added and deleted keys at any depth) on each side,
// never to the same key or one beneath another's; the merge must decide,
// and decode to the base with both sides' edits applied.
func TestStructuredMergesDisjointEdits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 14))
	formats := []struct {
		path   string
		encode func(any) ([]byte, error)
		decode func([]byte) (any, error)
	}{
		{"a.json", func(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }, decodeJSON},
		{"one-line.json", json.Marshal, decodeJSON},
		{"a.yaml", yaml.Marshal, func(b []byte) (any, error) {
			var v any
			err := yaml.Unmarshal(b, &v)
			return v, err
		}},
		{"a.toml", toml.Marshal, func(b []byte) (any, error) {
			var v map[string]any
			err := toml.Unmarshal(b, &v)
			return v, err
		}},
	}
	for i := range 400 {
		f := formats[i%len(formats)]
		base := randomDoc(rng, 3)
		ours, theirs := deepCopy(base).(map[string]any), deepCopy(base).(map[string]any)
		want := deepCopy(base).(map[string]any)
		var taken [][]string
		for range 1 + rng.IntN(4) {
			for _, side := range []map[string]any{ours, theirs} {
				path, val, ok := randomEdit(rng, side, taken)
				if !ok {
					continue
				}
				taken = append(taken, path)
				applyEdit(side, path, val)
				applyEdit(want, path, val)
			}
		}
		var bodies [4][]byte
		for j, v := range []map[string]any{base, ours, theirs, want} {
			b, err := f.encode(v)
			if err != nil {
				t.Fatalf("case %d: encode: %v", i, err)
			}
			bodies[j] = b
		}
		res, err := newStructured(t).Resolve(context.Background(), textConflict(f.path, string(bodies[0]), string(bodies[1]), string(bodies[2])))
		if err != nil {
			if bytes.Equal(bodies[1], bodies[2]) {
				continue
			}
			t.Fatalf("case %d (%s): %v\nbase:\n%s\nours:\n%s\ntheirs:\n%s", i, f.path, err, bodies[0], bodies[1], bodies[2])
		}
		got, err := f.decode(res.Merged)
		if err != nil {
			t.Fatalf("case %d: merged does not decode: %v\n%s", i, err, res.Merged)
		}
		wantv, _ := f.decode(bodies[3])
		if !reflect.DeepEqual(got, wantv) {
			t.Fatalf("case %d (%s): merged\n%s\nwant\n%s\nbase:\n%s\nours:\n%s\ntheirs:\n%s", i, f.path, res.Merged, bodies[3], bodies[0], bodies[1], bodies[2])
		}
	}
}

func decodeJSON(b []byte) (any, error) {
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}

// randomDoc makes a random object of a few keys, nested up to depth.
func randomDoc(rng *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range rng.IntN(5) {
		m[fmt.Sprintf("k%d", rng.IntN(6))] = randomValue(rng, depth-1)
	}
	return m
}

func randomValue(rng *rand.Rand, depth int) any {
	switch rng.IntN(6) {
	case 0:
		return int64(rng.IntN(100))
	case 1:
		return fmt.Sprintf("s%d", rng.IntN(100))
	case 2:
		return rng.IntN(2) == 0
	case 3:
		return []any{int64(rng.IntN(3)), int64(rng.IntN(3))}
	}
	if depth <= 0 {
		return int64(rng.IntN(100))
	}
	return randomDoc(rng, depth)
}

// randomEdit picks a path in doc to change, add or delete (val nil), that
// is no other edit's path, nor beneath or above one.
func randomEdit(rng *rand.Rand, doc map[string]any, taken [][]string) ([]string, any, bool) {
	var path []string
	m := doc
	for {
		key := fmt.Sprintf("k%d", rng.IntN(7))
		path = append(path, key)
		next, isMap := m[key].(map[string]any)
		if !isMap || rng.IntN(2) == 0 {
			break
		}
		m = next
	}
	for _, p := range taken {
		n := min(len(p), len(path))
		if slices.Equal(p[:n], path[:n]) {
			return nil, nil, false
		}
	}
	if _, exists := m[path[len(path)-1]]; exists && rng.IntN(3) == 0 {
		return path, nil, true
	}
	return path, randomValue(rng, 1), true
}

// applyEdit sets path in doc to val, or deletes it when val is nil.
func applyEdit(doc map[string]any, path []string, val any) {
	m := doc
	for _, k := range path[:len(path)-1] {
		m = m[k].(map[string]any)
	}
	if val == nil {
		delete(m, path[len(path)-1])
		return
	}
	m[path[len(path)-1]] = deepCopy(val)
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// parseStructured parses a file of the format its name tells and returns
// its value.
func parseStructured(path string, data []byte) (*value, error) {
	switch {
	case strings.HasSuffix(path, ".json"):
		d, err := parseJSON(data)
		if err != nil {
			return nil, err
		}
		return d.root, nil
	case strings.HasSuffix(path, ".yaml"):
		d, err := parseYAML(data)
		if err != nil {
			return nil, err
		}
		return d.root, nil
	}
	d, err := parseTOML(data)
	if err != nil {
		return nil, err
	}
	return d.root, nil
}

func FuzzStructuredMerge(f *testing.F) {
	f.Add(uint8(0), `{"a": 1, "b": 2}`, `{"a": 10, "b": 2}`, `{"a": 1, "b": 20}`)
	f.Add(uint8(0), "{\n  \"a\": {\"x\": 1},\n  \"b\": [1]\n}\n", "{\n  \"a\": {\"x\": 2},\n  \"b\": [1]\n}\n", "{\n  \"a\": {\"x\": 1, \"y\": 3},\n  \"c\": null\n}\n")
	f.Add(uint8(0), `{}`, `{"n": {"x": 1}}`, `{"n": {"y": 2}}`)
	f.Add(uint8(1), "# c\na: 1 # x\n\nb:\n  c: 2\n  # d\n  d: 3\n", "# c\na: 5 # x\n\nb:\n  c: 2\n  # d\n  d: 3\n", "# c\na: 1 # x\n\nb:\n  c: 4\n  # d\n  d: 3\n  e: [1, 2]\n")
	f.Add(uint8(1), "p: {x: 1, y: 2}\n", "p: {x: 5, y: 2}\n", "p: {x: 1, y: 7}\n")
	f.Add(uint8(1), "a:\n- 1\n- 2\nb: 'q'\n", "a:\n- 1\nb: 'q'\n", "a:\n- 1\n- 2\nb: 'r'\nc: |\n  text\n")
	f.Add(uint8(2), "# t\ntitle = \"x\" # c\n\n[s]\np = 1\nq = 2\n", "# t\ntitle = \"y\" # c\n\n[s]\np = 1\nq = 2\n", "# t\ntitle = \"x\" # c\n\n[s]\np = 3\nq = 2\n\n[n]\nk = 1\n")
	f.Add(uint8(2), "p = { x = 1, y = 2 }\n", "p = { x = 5, y = 2 }\n", "p = { x = 1, y = 7 }\n")
	f.Add(uint8(2), "a.x = 1\n[[t]]\nn = 1\n[t.s]\nm = 2\n", "a.x = 2\n[[t]]\nn = 1\n[t.s]\nm = 2\n", "a.x = 1\na.y = 1\n[[t]]\nn = 1\n[t.s]\nm = 2\n[[t]]\nn = 2\n")
	f.Fuzz(func(t *testing.T, format uint8, base, ours, theirs string) {
		path := [...]string{"f.json", "f.yaml", "f.toml"}[format%3]
		res, err := newStructured(t).Resolve(context.Background(), textConflict(path, base, ours, theirs))
		if err != nil && !errors.Is(err, zerosync.ErrPass) {
			t.Fatalf("Resolve: %v", err)
		}
		if err == nil {
			if res.Merged == nil {
				t.Fatal("merged is nil")
			}
			if _, perr := parseStructured(path, res.Merged); perr != nil {
				t.Fatalf("merged does not parse: %v\n%s", perr, res.Merged)
			}
		}
		// A side equal to the base: the merge is the other side.
		for _, pair := range [][2]string{{ours, theirs}, {theirs, ours}} {
			if pair[0] != base {
				continue
			}
			if _, perr := parseStructured(path, []byte(base)); perr != nil {
				return
			}
			want, perr := parseStructured(path, []byte(pair[1]))
			if perr != nil {
				return
			}
			if err != nil {
				t.Fatalf("a side equals the base, yet: %v", err)
			}
			got, _ := parseStructured(path, res.Merged)
			if got.sum != want.sum {
				t.Fatalf("a side equals the base; merged\n%s\nis not the other side\n%s", res.Merged, pair[1])
			}
		}
	})
}

// BenchmarkStructured merges files of about 1 MiB, the default size limit,
// in which each side changed one key.
func BenchmarkStructured(b *testing.B) {
	doc := map[string]any{}
	for i := range 400 {
		sec := map[string]any{}
		for j := range 40 {
			sec[fmt.Sprintf("key%02d", j)] = fmt.Sprintf("value %d of section %d", j, i)
		}
		doc[fmt.Sprintf("section%03d", i)] = sec
	}
	for _, f := range []struct {
		path   string
		encode func(any) ([]byte, error)
	}{
		{"a.json", func(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }},
		{"a.yaml", yaml.Marshal},
		{"a.toml", toml.Marshal},
	} {
		base, _ := f.encode(doc)
		ours := bytes.Replace(base, []byte("value 3 of section 7"), []byte("changed"), 1)
		theirs := bytes.Replace(base, []byte("value 30 of section 300"), []byte("changed"), 1)
		c := textConflict(f.path, string(base), string(ours), string(theirs))
		r := newStructured(b)
		b.Run(f.path, func(b *testing.B) {
			b.SetBytes(int64(len(base)))
			for b.Loop() {
				if _, err := r.Resolve(context.Background(), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
