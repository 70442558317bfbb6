package ai

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zerosync/zerosync/merge"
)

func TestCheckAnswer(t *testing.T) {
	for _, tt := range []struct {
		name, path, ours, theirs, reply string
		want                            string // "" with why set: rejected
		why                             string
	}{
		{name: "plain", path: "a.txt", ours: "a\n", theirs: "b\n", reply: "a\nb\n", want: "a\nb\n"},
		{name: "fence stripped", path: "a.txt", ours: "a\n", theirs: "b\n", reply: "```\na\nb\n```", want: "a\nb\n"},
		{name: "fence with language stripped", path: "x.json", ours: `{"a":1}` + "\n", theirs: `{"b":2}` + "\n",
			reply: "\n```json\n{\"a\":1,\"b\":2}\n```\n", want: "{\"a\":1,\"b\":2}\n"},
		{name: "fence kept when the file has one", path: "README.md", ours: "```\ncode\n```\n", theirs: "```\ncode2\n```\n",
			reply: "```\ncode3\n```\n", want: "```\ncode3\n```\n"},
		{name: "crlf restored", path: "a.txt", ours: "a\r\nb\r\n", theirs: "a\r\nc\r\n", reply: "a\nb\nc\n", want: "a\r\nb\r\nc\r\n"},
		{name: "crlf answer kept", path: "a.txt", ours: "a\r\n", theirs: "b\r\n", reply: "a\r\nb", want: "a\r\nb\r\n"},
		{name: "lf not turned into crlf", path: "a.txt", ours: "a\r\n", theirs: "b\n", reply: "a\nb\n", want: "a\nb\n"},
		{name: "final newline added", path: "a.txt", ours: "a\n", theirs: "b\n", reply: "a\nb", want: "a\nb\n"},
		{name: "final newline removed", path: "a.txt", ours: "a", theirs: "b", reply: "a\nb\n", want: "a\nb"},
		{name: "final newline left when sides disagree", path: "a.txt", ours: "a", theirs: "b\n", reply: "ab", want: "ab"},
		{name: "both empty", path: "a.txt", ours: "", theirs: "", reply: "", want: ""},

		{name: "declined with blanks", path: "a.txt", ours: "a\n", theirs: "b\n", reply: "\n" + declined + "\n", why: "contradictory"},
		{name: "empty", path: "a.txt", ours: "a\n", theirs: "", reply: "", why: "empty"},
		{name: "too large", path: "a.txt", ours: "a\n", theirs: "b\n", reply: strings.Repeat("y", 4101), why: "too large"},
		{name: "separator marker", path: "a.txt", ours: "a\n", theirs: "b\n", reply: "a\n=======\nb\n", why: "conflict markers"},
		{name: "delimiter echoed", path: "a.txt", ours: "a\n", theirs: "b\n", reply: "-----END OURS TAG-----\n", why: "delimiters"},
		{name: "binary", path: "a.txt", ours: "a\n", theirs: "b\n", reply: "a\x00", why: "not text"},

		{name: "json", path: "x.json", ours: `{"a":1}`, theirs: `{"b":2}`, reply: `{"a":1,"b":2}`, want: `{"a":1,"b":2}`},
		{name: "bad json", path: "x.JSON", ours: `{"a":1}`, theirs: `{"b":2}`, reply: `{"a":1,"b":2`, why: "not valid JSON"},
		{name: "json not checked when a side is not json", path: "tsconfig.json", ours: "{// c\n}\n", theirs: "{}\n",
			reply: "{// c\n", want: "{// c\n"},
		{name: "yaml", path: "c.yml", ours: "a: 1\n", theirs: "b: 2\n", reply: "a: 1\nb: 2\n", want: "a: 1\nb: 2\n"},
		{name: "yaml documents", path: "c.yaml", ours: "a: 1\n---\nb: 2\n", theirs: "a: 1\n", reply: "a: 1\n---\nb: [2\n", why: "not valid YAML"},
		{name: "bad yaml", path: "c.yaml", ours: "a: 1\n", theirs: "b: 2\n", reply: "a: 1\n b: 2\n", why: "not valid YAML"},
		{name: "toml", path: "Cargo.toml", ours: "[a]\nx = 1\n", theirs: "[a]\ny = 2\n", reply: "[a]\nx = 1\ny = 2\n", want: "[a]\nx = 1\ny = 2\n"},
		{name: "bad toml", path: "Cargo.toml", ours: "[a]\nx = 1\n", theirs: "[a]\ny = 2\n", reply: "[a]\nx = 1\nx = 2\n", why: "not valid TOML"},
		{name: "go", path: "m.go", ours: "package m\n", theirs: "package m\n\nvar x = 1\n", reply: "package m\n\nvar x = 2\n", want: "package m\n\nvar x = 2\n"},
		{name: "bad go", path: "m.go", ours: "package m\n", theirs: "package m\n\nvar x = 1\n", reply: "package m\n\nvar x = \n", why: "not valid Go"},
		{name: "shell by name", path: "home/.bashrc", ours: "alias l=ls\n", theirs: "export A=1\n", reply: "alias l=ls\nif true; then\n", why: "not valid shell"},
		{name: "shell by extension", path: "run.sh", ours: "echo a\n", theirs: "echo b\n", reply: "echo a\necho b\n", want: "echo a\necho b\n"},
		{name: "shell by shebang", path: "bin/deploy", ours: "#!/usr/bin/env bash\necho a\n", theirs: "#!/usr/bin/env bash\necho b\n",
			reply: "#!/usr/bin/env bash\necho \"a\n", why: "not valid shell"},
		{name: "zsh", path: ".zshrc", ours: "setopt x\n", theirs: "setopt y\n", reply: "setopt x\nsetopt y\n", want: "setopt x\nsetopt y\n"},
		{name: "no format by name", path: "notes", ours: "a\n", theirs: "b\n", reply: "if then fi {\n", want: "if then fi {\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := answer{path: tt.path, ours: []byte(tt.ours), theirs: []byte(tt.theirs), tag: "TAG"}
			got, err := a.check(tt.reply)
			if tt.why != "" {
				if err == nil || !strings.Contains(err.Error(), tt.why) {
					t.Fatalf("check = %q, %v; want a rejection saying %q", got, err, tt.why)
				}
				return
			}
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("check = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPromptDelimits(t *testing.T) {
	p := prompt("dir/f.txt", []byte("base\n"), []byte("ours"), []byte("theirs\n"), "T1")
	for _, want := range []string{
		"Path: dir/f.txt\n",
		"-----BEGIN BASE T1-----\nbase\n-----END BASE T1-----\n",
		"-----BEGIN OURS T1-----\nours\n-----END OURS T1-----\n",
		"-----BEGIN THEIRS T1-----\ntheirs\n-----END THEIRS T1-----\n",
		"OURS ends without a final newline",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("prompt lacks %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, "THEIRS ends without") {
		t.Error("prompt says theirs lacks a final newline")
	}
	if a, b := newTag(), newTag(); a == b || len(a) != 24 {
		t.Errorf("tags %q and %q: want distinct, 24 hex digits", a, b)
	}
}

// FuzzCheckAnswer feeds the validator replies as a model may write them,
// against versions of any file: it never panics, and an answer it lets
// through is text, free of conflict markers and of the delimiter tag, not
// the refusal, within the size bound, not empty unless both versions are
// blank, and parses whenever both versions parse in the file's format.
func FuzzCheckAnswer(f *testing.F) {
	for _, s := range [][5]string{
		{"a.txt", "a\n", "b\n", "a\nb\n", "TAG"},
		{"a.txt", "a\r\nb\r\n", "a\r\nc\r\n", "```\na\nb\nc\n```", "TAG"},
		{"x.json", `{"a":1}`, `{"b":2}`, "```json\n{\"a\":1,\"b\":2}\n```\n", "T"},
		{"c.yaml", "a: 1\n---\nb: 2\n", "a: 1\n", "a: &x [*x]\n", "T"},
		{"Cargo.toml", "[a]\nx = 1\n", "[a]\ny = 2\n", "[a]\nx = 1\ny = 2\n", "T"},
		{"m.go", "package m\n", "package m\n\nvar x = 1\n", "package m\n\nvar x = (((1)))\n", "T"},
		{"bin/deploy", "#!/usr/bin/env bash\necho a\n", "#!/bin/sh\necho b\n", "#!/bin/sh\necho $((1+(2)))\n", "T"},
		{".zshrc", "setopt x\n", "setopt y\n", "setopt x\r\n=======\r\nsetopt y\r\n", "T"},
		{"a.txt", "a", "b", "<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs", "T"},
		{"a.txt", "a\n", "b\n", "\n" + declined + "\n", "T"},
		{"a.txt", "", "", "", ""},
	} {
		f.Add(s[0], []byte(s[1]), []byte(s[2]), s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, path string, ours, theirs []byte, reply, tag string) {
		a := answer{path: path, ours: ours, theirs: theirs, tag: tag}
		out, err := a.check(reply)
		if err != nil {
			return
		}
		larger := max(len(ours), len(theirs))
		switch {
		case bytes.IndexByte(out, 0) >= 0 || !utf8.Valid(out):
			t.Fatalf("accepted an answer that is not text: %q", out)
		case merge.HasConflictMarkers(out):
			t.Fatalf("accepted an answer with conflict markers: %q", out)
		case tag != "" && bytes.Contains(out, []byte(tag)):
			t.Fatalf("accepted an answer with the tag %q: %q", tag, out)
		case strings.TrimSpace(reply) == declined:
			t.Fatalf("accepted the refusal: %q", out)
		case len(out) > 2*larger+4096:
			t.Fatalf("accepted %d bytes for versions of %d and %d", len(out), len(ours), len(theirs))
		case len(bytes.TrimSpace(out)) == 0 && len(bytes.TrimSpace(ours))+len(bytes.TrimSpace(theirs)) > 0:
			t.Fatalf("accepted an empty answer for %q and %q", ours, theirs)
		}
		if fm := formatOf(path, ours); fm.parse != nil && fm.parse(ours) == nil && fm.parse(theirs) == nil {
			if err := fm.parse(out); err != nil {
				t.Fatalf("accepted invalid %s: %v\n%q", fm.name, err, out)
			}
		}
	})
}

// TestCheckAnswerDeepShell: the shell parser recurses once per level, so a
// deeply nested script, as an answer or as a version, is not parsed (a stack
// overflow is fatal, not a panic): it counts as not parsing.
func TestCheckAnswerDeepShell(t *testing.T) {
	ours := []byte("#!/bin/sh\n" + strings.Repeat("echo a\n", 17_000)) // 119 KB, as WithMaxSize allows
	theirs := []byte("#!/bin/sh\necho b\n")
	for _, deep := range []string{
		"#!/bin/sh\n" + strings.Repeat("((", 100_000), // overflowed the stack
		"#!/bin/sh\n" + strings.Repeat("((", 60_000),  // 600 MB of stack
	} {
		a := answer{path: "run.sh", ours: ours, theirs: theirs, tag: "T"}
		_, err := a.check(deep)
		if err == nil || !strings.Contains(err.Error(), "not valid shell") {
			t.Fatalf("a nested answer of %d bytes: %v, want a rejection as not valid shell", len(deep), err)
		}
	}
	// A nested version is not parsed either: the answer is not held to
	// shell syntax.
	deep := "#!/bin/sh\n" + strings.Repeat("((", 100_000)
	a := answer{path: "run.sh", ours: []byte(deep), theirs: theirs, tag: "T"}
	if _, err := a.check("#!/bin/sh\necho c\n"); err != nil {
		t.Fatalf("check against a nested version: %v", err)
	}
	for _, ok := range []string{"", "echo $(( (1 + 2) * 3 ))\nif [ ! -f x ]; then echo ${a:-b}; fi\n"} {
		if err := checkable([]byte(ok)); err != nil {
			t.Errorf("checkable(%q): %v", ok, err)
		}
	}
	if n := openers([]byte("if x; then for i in a; do case $i in a) while until select; esac; done; fi; iffy fort")); n != 6 {
		t.Errorf("openers counted %d keywords, want 6", n)
	}
	if err := checkable(bytes.Repeat([]byte("a"), maxShellSize+1)); err == nil {
		t.Errorf("checkable accepted %d bytes", maxShellSize+1)
	}
}
