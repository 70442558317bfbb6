package ai

import (
	"strings"
	"testing"
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
