package merge

import "testing"

func TestPatternMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		yes, no []string
	}{
		{"*.log", []string{"a.log", "var/log/a.log", "x.log/inner.txt"}, []string{"a.log.1", "log", "a.txt"}},
		{".bash_history", []string{".bash_history", "home/u/.bash_history"}, []string{".bash_history.bak", "x.bash_history"}},
		{"cache", []string{"cache", "cache/x", "a/cache/b/c"}, []string{"cached", "a/mycache"}},
		{"logs/", []string{"logs/a", "x/logs/y/z"}, []string{"logs", "x/logs"}},
		{"/notes.md", []string{"notes.md"}, []string{"a/notes.md"}},
		{"etc/hosts", []string{"etc/hosts", "etc/hosts/x"}, []string{"x/etc/hosts", "etc/hostsx"}},
		{"/etc/*.conf", []string{"etc/a.conf", "etc/.conf"}, []string{"etc/a/b.conf", "a/etc/a.conf"}},
		{"**/build", []string{"build", "a/build", "a/b/build/x.o"}, []string{"rebuild"}},
		{"a/**/b", []string{"a/b", "a/x/b", "a/x/y/b", "a/x/b/c"}, []string{"b", "x/a/b", "a/bb"}},
		{"a/**", []string{"a/x", "a/x/y"}, []string{"a", "b/a/x"}},
		{"src/*/gen/", []string{"src/x/gen/f.go"}, []string{"src/x/gen", "src/x/y/gen/f.go"}},
		{"f?le.[ch]", []string{"file.c", "d/fXle.h"}, []string{"file.go", "fle.c"}},
		{`\*.txt`, []string{"*.txt"}, []string{"a.txt"}},
		{"**", []string{"a", "a/b"}, nil},
	} {
		pt, err := compilePattern(tt.pattern)
		if err != nil {
			t.Fatalf("compilePattern(%q): %v", tt.pattern, err)
		}
		for _, p := range tt.yes {
			if !pt.match(p) {
				t.Errorf("%q does not match %q; want a match", tt.pattern, p)
			}
		}
		for _, p := range tt.no {
			if pt.match(p) {
				t.Errorf("%q matches %q; want none", tt.pattern, p)
			}
		}
	}
}

func TestPatternInvalid(t *testing.T) {
	for _, p := range []string{"", "  ", "!*.log", "# comment", "/", "a//b", "[", "a/[b/c"} {
		if _, err := compilePattern(p); err == nil {
			t.Errorf("compilePattern(%q) succeeded; want an error", p)
		}
	}
}
