package gitaware

import (
	"bytes"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/zerosync/zerosync"
)

// rules are the ignore rules of one repository on one side, as git applies
// them: the excludes file (core.excludesFile), .git/info/exclude, then the
// .gitignore files from the top down, a deeper file and a later line taking
// precedence; a path beneath an ignored directory is ignored. The project's
// own patterns ([WithIgnore]) come last and decide whenever one matches.
// rules are used from one goroutine.
type rules struct {
	base     []gitignore.Pattern            // excludes file, info/exclude
	dirs     map[string][]gitignore.Pattern // by directory of the .gitignore ("" is the top)
	override []gitignore.Pattern
	memo     map[string]bool // directory -> ignored
}

func newRules(base, override []gitignore.Pattern) *rules {
	return &rules{base: base, dirs: map[string][]gitignore.Pattern{}, override: override, memo: map[string]bool{}}
}

// parsePatterns reads gitignore lines; domain is the directory, relative to
// the repository's top, that the file lies in.
func parsePatterns(data []byte, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		s := strings.TrimSuffix(string(line), "\r")
		if strings.HasPrefix(s, "#") || strings.TrimSpace(s) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(s, domain))
	}
	return ps
}

// split returns the components of a relative path.
func split(rel string) []string {
	if rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

// ignored reports whether git ignores rel, a path relative to the
// repository's top. Whether a path is tracked is not its concern.
func (r *rules) ignored(rel string, isDir bool) bool {
	parts := split(rel)
	if v, ok := matchDeepest(r.override, parts, isDir); ok {
		return v
	}
	if dir := zerosync.Parent(rel); dir != "" && r.dirIgnored(dir) {
		return true
	}
	return r.match(parts, isDir)
}

// dirIgnored is ignored for a directory, remembered.
func (r *rules) dirIgnored(dir string) bool {
	if v, ok := r.memo[dir]; ok {
		return v
	}
	v := r.ignored(dir, true)
	r.memo[dir] = v
	return v
}

// match applies git's patterns to the path itself, highest priority first:
// the deepest .gitignore among the path's directories, then shallower ones,
// then info/exclude and the excludes file.
func (r *rules) match(parts []string, isDir bool) bool {
	for i := len(parts) - 1; i >= 0; i-- {
		ps := r.dirs[strings.Join(parts[:i], "/")]
		if v, ok := matchLast(ps, parts, isDir); ok {
			return v
		}
	}
	v, _ := matchLast(r.base, parts, isDir)
	return v
}

// matchLast returns the verdict of the last pattern of ps that matches.
func matchLast(ps []gitignore.Pattern, parts []string, isDir bool) (ignored, ok bool) {
	for j := len(ps) - 1; j >= 0; j-- {
		switch ps[j].Match(parts, isDir) {
		case gitignore.Exclude:
			return true, true
		case gitignore.Include:
			return false, true
		}
	}
	return false, false
}

// matchDeepest applies ps to the path and then to each of its directories,
// deepest first: the first that some pattern matches decides.
func matchDeepest(ps []gitignore.Pattern, parts []string, isDir bool) (ignored, ok bool) {
	if len(ps) == 0 {
		return false, false
	}
	for n := len(parts); n > 0; n-- {
		if v, ok := matchLast(ps, parts[:n], isDir || n < len(parts)); ok {
			return v, true
		}
	}
	return false, false
}

// patternCache keeps parsed .gitignore files by file and content, so an
// unchanged file is read once.
type patternCache struct {
	mu sync.Mutex
	m  map[patternKey][]gitignore.Pattern
}

type patternKey struct {
	file   string
	digest zerosync.Digest
}

// maxCachedPatterns bounds the cache; past it, it starts again empty.
const maxCachedPatterns = 1 << 14

func (c *patternCache) get(k patternKey) ([]gitignore.Pattern, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.m[k]
	return ps, ok
}

func (c *patternCache) put(k patternKey, ps []gitignore.Pattern) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedPatterns {
		c.m = map[patternKey][]gitignore.Pattern{}
	}
	c.m[k] = ps
}
