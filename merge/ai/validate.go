package ai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"github.com/zerosync/zerosync/merge"
	"gopkg.in/yaml.v3"
	"mvdan.cc/sh/v3/syntax"
)

// answer is the model's reply and what it is checked against.
type answer struct {
	path               string
	base, ours, theirs []byte // base is nil when unknown
	tag                string
}

// check turns the model's reply into the merged file, or says why it must
// not be used. It strips a code fence the versions do not have, restores
// CRLF line endings and the final newline where both versions agree on
// them, and then requires: not the refusal word, not empty unless both
// versions are, at most twice the larger version plus 4 KiB, text, no
// conflict markers and no delimiter lines, and, when both versions parse as
// JSON, YAML, TOML, Go or shell (by the path), that the result parses too.
func (a answer) check(reply string) ([]byte, error) {
	if strings.TrimSpace(reply) == declined {
		return nil, errors.New("the model found the changes contradictory")
	}
	out := []byte(reply)
	if !fenced(a.ours) && !fenced(a.theirs) {
		out = unfence(out)
	}
	out = a.restoreLineEnds(out)

	larger := max(len(a.ours), len(a.theirs))
	switch {
	case len(bytes.TrimSpace(out)) == 0 && (len(bytes.TrimSpace(a.ours)) > 0 || len(bytes.TrimSpace(a.theirs)) > 0):
		return nil, errors.New("empty answer")
	case len(out) > 2*larger+4096:
		return nil, fmt.Errorf("answer of %d bytes is too large for versions of %d and %d", len(out), len(a.ours), len(a.theirs))
	case bytes.IndexByte(out, 0) >= 0 || !utf8.Valid(out):
		return nil, errors.New("answer is not text")
	case merge.HasConflictMarkers(out):
		return nil, errors.New("answer holds conflict markers")
	case a.tag != "" && bytes.Contains(out, []byte(a.tag)):
		return nil, errors.New("answer holds the version delimiters")
	}
	if f := formatOf(a.path, a.ours); f.parse != nil && f.parse(a.ours) == nil && f.parse(a.theirs) == nil {
		if err := f.parse(out); err != nil {
			return nil, fmt.Errorf("answer is not valid %s: %w", f.name, err)
		}
	}
	return out, nil
}

// fenced reports whether b starts with a markdown code fence.
func fenced(b []byte) bool { return bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("```")) }

// unfence removes a markdown code fence around the whole of b: a first line
// starting with ``` and a last line that is ```; blank lines outside the
// fence go too.
func unfence(b []byte) []byte {
	t := bytes.Trim(b, " \t\r\n")
	if !bytes.HasPrefix(t, []byte("```")) || !bytes.HasSuffix(t, []byte("```")) {
		return b
	}
	start := bytes.IndexByte(t, '\n')
	end := bytes.LastIndexByte(t, '\n')
	if start < 0 || end < start || strings.TrimSpace(string(t[end+1:])) != "```" {
		return b
	}
	return t[start+1 : end+1]
}

// restoreLineEnds gives the answer the CRLF line endings and the final
// newline, or its absence, that both versions share; models tend to lose
// both.
func (a answer) restoreLineEnds(out []byte) []byte {
	if crlf(a.ours) && crlf(a.theirs) && !bytes.Contains(out, []byte("\r\n")) {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	eol := []byte("\n")
	if crlf(a.ours) && crlf(a.theirs) {
		eol = []byte("\r\n")
	}
	endsOurs, endsTheirs := bytes.HasSuffix(a.ours, []byte("\n")), bytes.HasSuffix(a.theirs, []byte("\n"))
	switch {
	case len(out) == 0:
	case endsOurs && endsTheirs && !bytes.HasSuffix(out, []byte("\n")):
		out = append(out, eol...)
	case !endsOurs && !endsTheirs && len(a.ours) > 0 && len(a.theirs) > 0:
		out = bytes.TrimSuffix(out, []byte("\n"))
		out = bytes.TrimSuffix(out, []byte("\r"))
	}
	return out
}

// crlf reports whether every line of b ends with CRLF and there is at
// least one.
func crlf(b []byte) bool {
	n := bytes.Count(b, []byte("\n"))
	return n > 0 && bytes.Count(b, []byte("\r\n")) == n
}

// format is a file format whose syntax can be checked.
type format struct {
	name  string
	parse func([]byte) error
}

// formatOf tells the format of a file by its name, and for shell scripts
// without an extension by the first line of content.
func formatOf(p string, content []byte) format {
	name := strings.ToLower(path.Base(p))
	switch path.Ext(name) {
	case ".json":
		return format{"JSON", parseJSON}
	case ".yaml", ".yml":
		return format{"YAML", parseYAML}
	case ".toml":
		return format{"TOML", parseTOML}
	case ".go":
		return format{"Go", func(b []byte) error { return parseGo(p, b) }}
	case ".sh", ".bash", ".ksh":
		return shell(p, syntax.LangBash)
	case ".zsh":
		return shell(p, syntax.LangZsh)
	}
	switch name {
	case ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".bash_aliases", ".profile":
		return shell(p, syntax.LangBash)
	case ".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout":
		return shell(p, syntax.LangZsh)
	}
	if first, _, _ := bytes.Cut(content, []byte("\n")); bytes.HasPrefix(first, []byte("#!")) {
		fields := strings.Fields(strings.TrimPrefix(string(first), "#!"))
		if len(fields) > 0 && path.Base(fields[0]) == "env" {
			fields = fields[1:]
		}
		if len(fields) > 0 {
			switch path.Base(fields[0]) {
			case "sh", "bash", "dash", "ksh":
				return shell(p, syntax.LangBash)
			case "zsh":
				return shell(p, syntax.LangZsh)
			}
		}
	}
	return format{}
}

func parseJSON(b []byte) error {
	var v any
	return json.Unmarshal(b, &v)
}

func parseYAML(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func parseTOML(b []byte) error {
	var v map[string]any
	return toml.Unmarshal(b, &v)
}

func parseGo(name string, b []byte) error {
	_, err := parser.ParseFile(token.NewFileSet(), name, b, parser.SkipObjectResolution)
	return err
}

func shell(name string, lang syntax.LangVariant) format {
	return format{"shell", func(b []byte) error {
		if err := checkable(b); err != nil {
			return err
		}
		_, err := syntax.NewParser(syntax.Variant(lang)).Parse(bytes.NewReader(b), name)
		return err
	}}
}

// The shell parser recurses once per level of nesting, with up to 14 KiB of
// stack a level, and has no limit of its own: a script nested 100,000 deep
// (200 KB of "((") overflows the stack, a fatal error that ends the
// process. A version or an answer over these bounds is not parsed; it counts
// as not parsing.
const (
	maxShellSize = 128 << 10
	// maxShellOpeners bounds what can open a level: brackets, backquotes,
	// '?' and '!' (arithmetic and test operators), and the keywords that
	// open a compound command. It is a bound on the nesting that quoting
	// cannot hide.
	maxShellOpeners = 8000
)

// checkable says whether b is within the bounds of the shell parser.
func checkable(b []byte) error {
	if len(b) > maxShellSize {
		return fmt.Errorf("%d bytes, over the %d that are checked", len(b), maxShellSize)
	}
	if n := openers(b); n > maxShellOpeners {
		return fmt.Errorf("%d nesting constructs, over the %d that are checked", n, maxShellOpeners)
	}
	return nil
}

// openers counts what may open a level of nesting in a shell script.
func openers(b []byte) int {
	n := 0
	for _, c := range b {
		switch c {
		case '(', '[', '{', '`', '?', '!':
			n++
		}
	}
	notWord := func(r rune) bool {
		return r != '_' && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}
	for w := range bytes.FieldsFuncSeq(b, notWord) {
		switch string(w) {
		case "if", "while", "until", "for", "select", "case":
			n++
		}
	}
	return n
}
