package gitaware

import (
	"bytes"
	"fmt"
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
	base []gitignore.Pattern // excludes file, info/exclude
	// dirs are the patterns of the .gitignore files, by the file's
	// directory ("" is the top); they match paths relative to it.
	dirs     map[string][]gitignore.Pattern
	override []gitignore.Pattern
	memo     map[string]bool // directory -> ignored
	count    int             // patterns in dirs
}

func newRules(base, override []gitignore.Pattern) *rules {
	return &rules{base: base, dirs: map[string][]gitignore.Pattern{}, override: override, memo: map[string]bool{}}
}

// maxIgnorePatterns bounds the patterns of one .gitignore file. Each path
// beneath the file is tested against every pattern, every cycle, and a peer
// writes the file: a larger one would let it burn our CPU (real ones hold
// hundreds of lines, rarely a few thousand).
const maxIgnorePatterns = 10_000

// parsePatterns reads gitignore lines, at most limit patterns (no limit when
// limit is zero): a file with more is an error. The patterns match paths
// relative to the file's directory; they keep no copy of it, so their size
// is that of the file, whatever its depth.
func parsePatterns(data []byte, limit int) ([]gitignore.Pattern, error) {
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
		if limit > 0 && len(ps) == limit {
			return nil, fmt.Errorf("more than %d patterns", limit)
		}
		ps = append(ps, gitignore.ParsePattern(s, nil))
	}
	return ps, nil
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
	return r.match(rel, parts, isDir)
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

// match applies git's patterns to the path rel (made of parts) itself,
// highest priority first: the deepest .gitignore among the path's
// directories, then shallower ones, then info/exclude and the excludes file.
// The directories are prefixes of rel, not copies: a deep path costs no
// allocation per level.
func (r *rules) match(rel string, parts []string, isDir bool) bool {
	end := len(rel)
	for i := len(parts) - 1; i >= 0; i-- {
		// rel[:end] is parts[:i+1]; its directory is parts[:i].
		end -= len(parts[i])
		dir := rel[:max(end-1, 0)]
		end--
		if v, ok := matchLast(r.dirs[dir], parts[i:], isDir); ok {
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
