package merge

import (
	"bytes"
	"slices"
	"testing"
)

func TestSplitLines(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a\n"}},
		{"a\r\nb", []string{"a\r\n", "b"}},
		{"\n\n", []string{"\n", "\n"}},
		{"a\rb\n", []string{"a\rb\n"}},
	} {
		var got []string
		for _, l := range splitLines([]byte(tt.in)) {
			got = append(got, string(l))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if joined := bytes.Join(splitLines([]byte(tt.in)), nil); string(joined) != tt.in {
			t.Errorf("joined lines of %q = %q", tt.in, joined)
		}
	}
}

func TestIsText(t *testing.T) {
	for in, want := range map[string]bool{
		"":            true,
		"héllo\r\n":   true,
		"a\x00b":      false,
		"\xff":        false,
		"\xe2\x82":    false, // a cut rune
		"tab\there\n": true,
	} {
		if got := isText([]byte(in)); got != want {
			t.Errorf("isText(%q) = %v, want %v", in, got, want)
		}
	}
}
