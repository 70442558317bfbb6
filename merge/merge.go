package merge

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerosync/zerosync"
)

// Chain asks resolvers in order; the first that does not pass decides. When
// all pass, Chain passes too. A failing resolver (an error other than
// [zerosync.ErrPass]) is logged by the caller through the returned error only
// when no later resolver decides: a broken merge tool must not stop a safe
// fallback.
func Chain(rs ...zerosync.Resolver) zerosync.Resolver {
	return chain(rs)
}

type chain []zerosync.Resolver

func (c chain) Resolve(ctx context.Context, conflict zerosync.Conflict) (zerosync.Resolution, error) {
	var errs []error
	for _, r := range c {
		res, err := r.Resolve(ctx, conflict)
		if err == nil {
			return res, nil
		}
		if err := ctx.Err(); err != nil {
			return zerosync.Resolution{}, err
		}
		if !errors.Is(err, zerosync.ErrPass) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return zerosync.Resolution{}, fmt.Errorf("%w: %w", zerosync.ErrPass, errors.Join(errs...))
	}
	return zerosync.Resolution{}, zerosync.ErrPass
}

// Identical settles conflicts whose two versions hold the same data: ours is
// kept and nothing moves but permission bits.
func Identical() zerosync.Resolver {
	return zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		if c.Ours.SameContent(c.Theirs) {
			return zerosync.Resolution{Keep: zerosync.VersionOurs, By: "identical", Note: "same content on both sides"}, nil
		}
		return zerosync.Resolution{}, zerosync.ErrPass
	})
}

// KeepBoth keeps one version in the tree and the other beside it: the
// version named by keep (VersionOurs or VersionTheirs) stays, the other
// becomes a conflict copy on our side, goes to the archive, and enters the
// review queue. It never passes, so it belongs last in a chain.
func KeepBoth(keep zerosync.Version) zerosync.Resolver {
	return zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		return zerosync.Resolution{Keep: keep, KeepOther: true, By: "keep-both",
			Note: "both versions kept; review with the review queue"}, nil
	})
}
