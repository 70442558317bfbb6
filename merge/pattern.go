package merge

import (
	"fmt"
	"path"
	"strings"
)

// pattern is a compiled gitignore-style pattern over slash-separated paths.
//
// A pattern without a slash (other than a trailing one) matches a name at
// any depth: "*.log" matches "a.log" and "var/a.log", and "cache" matches a
// file named cache and everything beneath a directory named cache. A pattern
// with a slash is anchored at the root ("/etc/hosts" and "etc/hosts" are the
// same) and matches that path and everything beneath it. A trailing slash
// matches directories only, so "logs/" matches what lies beneath a
// directory named logs but not a file named logs. In each component, "*",
// "?", "[...]" and "\" work as in [path.Match]; a component "**" matches any
// number of directories, so "**/x" is "x", "a/**/b" matches "a/b" and
// "a/x/y/b", and "a/**" matches everything beneath a.
type pattern struct {
	parts    []string
	anchored bool
	dirOnly  bool
}

func compilePattern(p string) (pattern, error) {
	bad := func(why string) (pattern, error) {
		return pattern{}, fmt.Errorf("merge: pattern %q: %s", p, why)
	}
	s := p
	var pt pattern
	switch {
	case strings.TrimSpace(s) == "":
		return bad("empty")
	case strings.HasPrefix(s, "!"):
		return bad("negation has no meaning for a route")
	case strings.HasPrefix(s, "#"):
		return bad("a comment is not a pattern")
	}
	if strings.HasSuffix(s, "/") {
		pt.dirOnly = true
		s = strings.TrimSuffix(s, "/")
	}
	if strings.Contains(s, "/") {
		pt.anchored = true
		s = strings.TrimPrefix(s, "/")
	}
	if s == "" {
		return bad("matches nothing")
	}
	pt.parts = strings.Split(s, "/")
	for _, part := range pt.parts {
		if part == "" {
			return bad("empty component")
		}
		if _, err := path.Match(part, ""); err != nil {
			return bad(err.Error())
		}
	}
	return pt, nil
}

// match reports whether the file at p (a valid slash-separated path) is
// matched.
func (pt pattern) match(p string) bool {
	names := strings.Split(p, "/")
	// The file itself, or a directory holding it.
	last := len(names)
	if pt.dirOnly {
		last--
	}
	if !pt.anchored {
		for _, name := range names[:last] {
			if ok, _ := path.Match(pt.parts[0], name); ok {
				return true
			}
		}
		return false
	}
	for n := 1; n <= last; n++ {
		if matchParts(pt.parts, names[:n]) {
			return true
		}
	}
	return false
}

// matchParts matches path components against pattern components, where "**"
// stands for any number of components (at least one when it ends the
// pattern).
func matchParts(pat, names []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			pat = pat[1:]
			if len(pat) == 0 {
				return len(names) > 0
			}
			for i := range len(names) + 1 {
				if matchParts(pat, names[i:]) {
					return true
				}
			}
			return false
		}
		if len(names) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], names[0]); !ok {
			return false
		}
		pat, names = pat[1:], names[1:]
	}
	return len(names) == 0
}
