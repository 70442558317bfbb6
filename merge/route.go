package merge

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerosync/zerosync"
)

// Rule sends the conflicts whose path matches a pattern to a resolver; build
// one with [Match]. The zero Rule is invalid.
type Rule struct {
	pattern  pattern
	resolver zerosync.Resolver
	err      error
}

// Match returns a [Rule] that routes conflicts whose path matches pattern to
// r. The pattern is gitignore-style: "*.log" matches at any depth,
// "/notes/*.md" or "notes/*.md" only under the root's notes directory,
// "build/" everything beneath a directory named build, "a/**/b" any depth in
// between; within a component, "*", "?", "[...]" and "\" work as in
// [path.Match]. Negation ("!") is not supported. An invalid pattern or a nil
// resolver is reported by [Route].
func Match(pattern string, r zerosync.Resolver) Rule {
	pt, err := compilePattern(pattern)
	if err == nil && r == nil {
		err = fmt.Errorf("merge: pattern %q: nil resolver", pattern)
	}
	return Rule{pattern: pt, resolver: r, err: err}
}

// Route returns a resolver that asks the resolver of the first rule whose
// pattern matches the conflict's path, and only that one: its answer, a pass
// included, is Route's answer. A path no rule matches is passed on. Put
// Route in a [Chain] ahead of the default resolvers:
//
//	r, err := merge.Route(
//		merge.Match("*.log", merge.PreferNewer()),
//		merge.Match(".bash_history", merge.Union()),
//	)
//	diff3, err := merge.Diff3()
//	chain := merge.Chain(merge.Identical(), r, diff3, merge.KeepBoth(zerosync.VersionOurs))
//
// Route returns an error naming every invalid rule.
func Route(rules ...Rule) (zerosync.Resolver, error) {
	var errs []error
	for i, r := range rules {
		switch {
		case r.err != nil:
			errs = append(errs, r.err)
		case r.resolver == nil:
			errs = append(errs, fmt.Errorf("merge: rule %d: not made by Match", i))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return router(rules), nil
}

type router []Rule

func (rt router) Resolve(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
	for _, r := range rt {
		if r.pattern.match(c.Path) {
			return r.resolver.Resolve(ctx, c)
		}
	}
	return zerosync.Resolution{}, pass("route", "no rule matches %s", c.Path)
}
