package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/zerosync/zerosync"
)

// Verdict is a filter's answer for one path.
type Verdict uint8

// The answers of a [Filter].
const (
	// Include: the path is synced.
	Include Verdict = iota
	// Exclude: the path, and everything beneath it, is invisible to the pair:
	// never created, changed or deleted on either side.
	Exclude
	// Descend: a directory that is not synced for itself, but may hold synced
	// paths; it is synced only when something beneath it is.
	Descend
)

// Filter decides which paths a pair syncs. Match is called for every path of
// every scan, parents before children, never for a path beneath an excluded
// directory; inside says whether the parent directory was included for
// itself. It must be safe for concurrent use.
type Filter interface {
	Match(path string, kind zerosync.Kind, inside bool) Verdict
}

// Patterns is a [Filter] from gitignore-syntax patterns: a path is synced when
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

// Match implements [Filter].
func (f *Patterns) Match(p string, kind zerosync.Kind, inside bool) Verdict {
	parts := strings.Split(p, "/")
	isDir := kind == zerosync.KindDir
	if f.exclude.Match(parts, isDir) {
		return Exclude
	}
	if inside || !f.hasInclude || f.include.Match(parts, isDir) {
		return Include
	}
	if isDir {
		return Descend
	}
	return Exclude
}

// applyFilter returns the part of s that f lets through. Directories answered
// Descend stay only when something beneath them does.
func applyFilter(s zerosync.Snapshot, f Filter) zerosync.Snapshot {
	if f == nil {
		return s
	}
	out := make(zerosync.Snapshot, len(s))
	verdict := make(map[string]Verdict)
	for _, p := range s.Paths() {
		e := s[p]
		dir := zerosync.Parent(p)
		inside := false
		if dir != "" {
			switch verdict[dir] {
			case Exclude:
				verdict[p] = Exclude
				continue
			case Include:
				inside = true
			}
		}
		v := f.Match(p, e.Kind, inside)
		verdict[p] = v
		if v != Include {
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

// View narrows what a pair sees in a cycle, with both sides in hand: a path
// it takes out of Base, Ours and Theirs is invisible to the cycle (never
// created, changed or deleted), as with a [Filter], but a View can decide
// from both trees at once and from what lies outside them (a repository's
// HEAD, a rebase under way). Views run after the filter, in the order
// given, once per pair per cycle, from the engine's goroutine.
type View interface {
	View(ctx context.Context, p *ViewPair) error
}

// ViewPair is what a [View] sees and changes. The snapshots are the
// engine's: replace them with new maps rather than changing them in place.
type ViewPair struct {
	// Names and Endpoints of the two sides, ours first.
	Names     [2]string
	Endpoints [2]zerosync.Endpoint
	Base      zerosync.Snapshot
	Ours      zerosync.Snapshot
	Theirs    zerosync.Snapshot
	// Problems the view wants reported (a repository held back, and why).
	Problems []zerosync.Problem
}
