package gitaware

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
)

func TestRulesIgnored(t *testing.T) {
	parse := func(s string) []gitignore.Pattern {
		ps, err := parsePatterns([]byte(s), maxIgnorePatterns)
		require.NoError(t, err)
		return ps
	}
	r := newRules(parse("*.swp\n# comment\n\n/secret\n"),
		[]gitignore.Pattern{gitignore.ParsePattern("!keep.log", nil), gitignore.ParsePattern("!node_modules/ok/", nil)})
	r.dirs[""] = parse("*.log\r\nbuild/\nnode_modules/\n!important.log\n")
	r.dirs["src"] = parse("*.gen\n!keep.swp\n/anchored\nsub/deep\n")
	r.dirs["build/sub"] = parse("!x\n")

	for _, c := range []struct {
		path  string
		dir   bool
		want  bool
		about string
	}{
		{"a.swp", false, true, "excludes file"},
		{"secret", false, true, "anchored"},
		{"src/secret", false, false, "anchored to the top"},
		{"debug.log", false, true, ".gitignore"},
		{"src/deep/debug.log", false, true, "a pattern without a slash matches at any depth"},
		{"important.log", false, false, "negated later"},
		{"build", true, true, "directory pattern"},
		{"build", false, false, "a file named like a directory pattern"},
		{"build/sub/x", false, true, "beneath an ignored directory, no re-inclusion"},
		{"src/a.gen", false, true, "nested .gitignore"},
		{"src/anchored", false, true, "anchored to the nested .gitignore's directory"},
		{"src/x/anchored", false, false, "anchored, one level down"},
		{"anchored", false, false, "anchored, above the nested .gitignore"},
		{"src/sub/deep", false, true, "a pattern with a slash, relative to its directory"},
		{"sub/deep", false, false, "a pattern with a slash, outside its directory"},
		{"a.gen", false, false, "nested .gitignore applies beneath its directory only"},
		{"src/keep.swp", false, false, "a deeper .gitignore overrules the excludes file"},
		{"keep.log", false, false, "a project pattern overrules git"},
		{"node_modules/ok/index.js", false, false, "a project pattern on a directory"},
		{"node_modules/other/index.js", false, true, "the rest of an ignored directory"},
		{"main.go", false, false, "nothing matches"},
	} {
		assert.Equal(t, c.want, r.ignored(c.path, c.dir), "%s: %s", c.path, c.about)
	}
}

func TestHasGitComponent(t *testing.T) {
	for p, want := range map[string]bool{
		".git": true, "a/.git": true, ".git/HEAD": true, "a/.GIT/x": true, "a/.git/b/c": true,
		"a.git": false, ".gitignore": false, "git/x": false, "a/.gitmodules": false,
	} {
		assert.Equal(t, want, hasGitComponent(p), p)
	}
}

func TestRepoSet(t *testing.T) {
	s := newRepoSet(map[string]location{"": {}, "a/b": {}}, map[string]location{"a/b/c": {}})
	for p, want := range map[string]string{
		"x": "", "a": "", "a/b": "", "a/b/f": "a/b", "a/b/c": "a/b", "a/b/c/d/e": "a/b/c", "a/bc/f": "",
	} {
		got, ok := s.of(p)
		assert.True(t, ok, p)
		assert.Equal(t, want, got, p)
	}
	s = newRepoSet(map[string]location{"r": {}})
	_, ok := s.of("x/y")
	assert.False(t, ok)
	_, ok = s.enclosing("r")
	assert.False(t, ok)
	assert.Equal(t, []string{"r"}, s.sorted)
}

func TestParsePatternsLimit(t *testing.T) {
	var b strings.Builder
	for i := range maxIgnorePatterns {
		fmt.Fprintf(&b, "# comment\n\nf%d\n", i)
	}
	ps, err := parsePatterns([]byte(b.String()), maxIgnorePatterns)
	require.NoError(t, err, "comments and blank lines are not patterns")
	assert.Len(t, ps, maxIgnorePatterns)
	b.WriteString("one-more\n")
	_, err = parsePatterns([]byte(b.String()), maxIgnorePatterns)
	assert.ErrorContains(t, err, "more than 10000 patterns")
	ps, err = parsePatterns([]byte(b.String()), 0)
	require.NoError(t, err, "no limit")
	assert.Len(t, ps, maxIgnorePatterns+1)
}

// FuzzGitignore feeds .gitignore files as a peer may write them, with the
// directory they lie in and a path to decide: parsing and matching never
// panic, make at most one pattern a line and at most [maxIgnorePatterns],
// decide only paths beneath the file's directory, and decide a path
// beneath it as the same file at the top decides the path relative to it.
func FuzzGitignore(f *testing.F) {
	for _, s := range []struct{ data, dir, path string }{
		{"*.o\nbuild/\n!keep.o\n", "src", "src/a.o"},
		{"# comment\r\n\r\n/anchored\n\\#literal\n\\!bang\n", "", "anchored"},
		{"**/x/**\n**\na/**/b\n**/\n/**/\n", "a/b", "a/b/c/x/d"},
		{"[a-\n*[\n[]]\n[!]\n\\\n", "", "a["},
		{"!\n/\n!/\n \n\\ \ntrailing \t\n", "d", "d/ "},
		{"*/*/*/*/*\n?\n[[:alpha:]]\n", "x", "x/a/b/c/d/e"},
		{"build/\n", "", "build/sub/file"},
	} {
		f.Add([]byte(s.data), s.dir, s.path, false)
		f.Add([]byte(s.data), s.dir, s.path, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, dir, path string, isDir bool) {
		if len(data) > maxIgnoreFile {
			data = data[:maxIgnoreFile]
		}
		ps, err := parsePatterns(data, maxIgnorePatterns)
		if err != nil {
			if bytes.Count(data, []byte("\n")) < maxIgnorePatterns {
				t.Fatalf("%d lines refused: %v", bytes.Count(data, []byte("\n"))+1, err)
			}
			return
		}
		if n := bytes.Count(data, []byte("\n")) + 1; len(ps) > n || len(ps) > maxIgnorePatterns {
			t.Fatalf("%d patterns from %d lines", len(ps), n)
		}
		if (dir != "" && zerosync.ValidPath(dir) != nil) || zerosync.ValidPath(path) != nil {
			return
		}
		r := newRules(nil, nil)
		r.dirs[dir] = ps
		got := r.ignored(path, isDir)
		if dir == "" {
			return
		}
		if rest, beneath := strings.CutPrefix(path, dir+"/"); beneath {
			top := newRules(nil, nil)
			top.dirs[""] = ps
			if want := top.ignored(rest, isDir); got != want {
				t.Fatalf("%q in %q: ignored %v, but %v for %q at the top", path, dir, got, want, rest)
			}
		} else if got {
			t.Fatalf("%q is ignored by the .gitignore of %q", path, dir)
		}
	})
}
