package gitaware

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/stretchr/testify/assert"
)

func TestRulesIgnored(t *testing.T) {
	r := newRules(parsePatterns([]byte("*.swp\n# comment\n\n/secret\n"), nil),
		[]gitignore.Pattern{gitignore.ParsePattern("!keep.log", nil), gitignore.ParsePattern("!node_modules/ok/", nil)})
	r.dirs[""] = parsePatterns([]byte("*.log\r\nbuild/\nnode_modules/\n!important.log\n"), nil)
	r.dirs["src"] = parsePatterns([]byte("*.gen\n!keep.swp\n"), []string{"src"})
	r.dirs["build/sub"] = parsePatterns([]byte("!x\n"), []string{"build", "sub"})

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
