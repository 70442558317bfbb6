package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"notes.txt":                  "notes.txt",
		"dir/sub/file-1_2.go":        "dir/sub/file-1_2.go",
		"Grüße/日本.txt":               "Grüße/日本.txt",
		"":                           `""`,
		"a b":                        `"a b"`,
		`say "hi"`:                   `"say \"hi\""`,
		"it's":                       `"it's"`,
		`back\slash`:                 `"back\\slash"`,
		"evil\x1b[2J\nApplied: x":    `"evil\x1b[2J\nApplied: x"`,
		"tab\there":                  `"tab\there"`,
		"cr\rline":                   `"cr\rline"`,
		"bad\xffutf8":                `"bad\xffutf8"`,
		"right\u202eto-left":         `"right\u202eto-left"`,
		"no\u00a0break":              `"no\u00a0break"`,
		"c1\u009bcontrol":            `"c1\u009bcontrol"`,
		"replacement\ufffdcharacter": `"replacement�character"`,
	} {
		assert.Equal(t, want, Name(in), "Name(%q)", in)
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"apply server:notes.txt: disk full":      "apply server:notes.txt: disk full",
		`quotes "kept" and spaces`:               `quotes "kept" and spaces`,
		"apply evil\x1b[2J\nApplied: fake: boom": `apply evil\x1b[2J\nApplied: fake: boom`,
		"bell\a tab\t bad\xfe bidi\u202e":        `bell\a tab\t bad\xfe bidi\u202e`,
		"":                                       "",
	} {
		assert.Equal(t, want, Text(in), "Text(%q)", in)
	}
}
