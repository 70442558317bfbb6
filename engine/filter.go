package engine

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/zerosync/zerosync"
)

// Patterns is a [zerosync.Filter] from gitignore-syntax patterns: a path is synced when
// it matches an include pattern (or there are none) and no exclude pattern.
// Negation ("!pattern") works as in .gitignore within each list.
type Patterns struct {
	include, exclude gitignore.Matcher
	hasInclude       bool
}

// NewPatterns compiles include and exclude patterns. Patterns are relative to
// the sync root; a pattern with a slash is anchored as in .gitignore.
func NewPatterns(include, exclude []string) (*Patterns, error) {
	compile := func(list []string) (gitignore.Matcher, error) {
		ps := make([]gitignore.Pattern, 0, len(list))
		for _, s := range list {
			if strings.TrimSpace(s) == "" || strings.IndexByte(s, 0) >= 0 {
				return nil, fmt.Errorf("engine: bad filter pattern %q", s)
			}
			ps = append(ps, gitignore.ParsePattern(s, nil))
		}
		return gitignore.NewMatcher(ps), nil
	}
	in, err := compile(include)
	if err != nil {
		return nil, err
	}
	ex, err := compile(exclude)
	if err != nil {
		return nil, err
	}
	return &Patterns{include: in, exclude: ex, hasInclude: len(include) > 0}, nil
}

// Match implements [zerosync.Filter].
func (f *Patterns) Match(p string, kind zerosync.Kind, inside bool) zerosync.Verdict {
	parts := strings.Split(p, "/")
	isDir := kind == zerosync.KindDir
	if f.exclude.Match(parts, isDir) {
		return zerosync.Exclude
	}
	if inside || !f.hasInclude || f.include.Match(parts, isDir) {
		return zerosync.Include
	}
	if isDir {
		return zerosync.Descend
	}
	return zerosync.Exclude
}

// applyFilter returns the part of s that f lets through. Directories answered
// Descend stay only when something beneath them does.
func applyFilter(s zerosync.Snapshot, f zerosync.Filter) zerosync.Snapshot {
	if f == nil {
		return s
	}
	out := make(zerosync.Snapshot, len(s))
	verdict := make(map[string]zerosync.Verdict)
	for _, p := range s.Paths() {
		e := s[p]
		dir := zerosync.Parent(p)
		inside := false
		if dir != "" {
			switch verdict[dir] {
			case zerosync.Exclude:
				verdict[p] = zerosync.Exclude
				continue
			case zerosync.Include:
				inside = true
			}
		}
		v := f.Match(p, e.Kind, inside)
		verdict[p] = v
		if v != zerosync.Include {
			continue
		}
		out[p] = e
		for d := dir; d != ""; d = zerosync.Parent(d) {
			if _, ok := out[d]; ok {
				break
			}
			out[d] = s[d]
		}
	}
	return out
}
