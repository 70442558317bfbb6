package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/zerosync/zerosync"
)

// Union returns a resolver for append-only files such as shell history:
// when both sides only added to the end of the base, both additions are
// kept, ours first, then theirs. Identical additions are kept once. Both
// sides get the result, with By "union".
//
// Union passes when a side did anything but append (the base is not a
// prefix of both versions), when the base does not end with a line break
// (an addition would continue its last line), when two additions both lack
// a final line break (they would run together; an addition without one goes
// last), when no base is known, and when a version is over [DefaultMaxSize].
// It reads the base through [StoredBase].
func Union() zerosync.Resolver {
	return unionResolver{base: StoredBase(DefaultMaxSize), max: DefaultMaxSize}
}

type unionResolver struct {
	base zerosync.BaseProvider
	max  int64
}

func (u unionResolver) Resolve(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
	const by = "union"
	if !isFile(c.Ours) || !isFile(c.Theirs) {
		return zerosync.Resolution{}, pass(by, "not two files")
	}
	if c.Content == nil {
		return zerosync.Resolution{}, pass(by, "no content reader")
	}
	base, err := u.base.Base(ctx, c)
	switch {
	case errors.Is(err, zerosync.ErrNoBase), errors.Is(err, zerosync.ErrTooLarge):
		return zerosync.Resolution{}, passErr(by, err)
	case err != nil:
		return zerosync.Resolution{}, fmt.Errorf("union: base of %s: %w", c.Path, err)
	}
	var adds [2][]byte
	for i, v := range []zerosync.Version{zerosync.VersionOurs, zerosync.VersionTheirs} {
		b, err := c.Content.ReadVersion(ctx, v, u.max)
		switch {
		case errors.Is(err, zerosync.ErrTooLarge):
			return zerosync.Resolution{}, passErr(by, err)
		case err != nil:
			return zerosync.Resolution{}, fmt.Errorf("union: read %s: %w", c.Path, err)
		case !bytes.HasPrefix(b, base):
			return zerosync.Resolution{}, pass(by, "%s did not only append", zerosync.Side(i))
		}
		adds[i] = b[len(base):]
	}
	if len(base) > 0 && base[len(base)-1] != '\n' {
		return zerosync.Resolution{}, pass(by, "base does not end with a line break")
	}
	ours, theirs := adds[0], adds[1]
	switch {
	case bytes.Equal(ours, theirs):
		theirs = nil
	case len(ours) == 0 || len(theirs) == 0:
	case !endsLine(ours) && !endsLine(theirs):
		return zerosync.Resolution{}, pass(by, "both additions end without a line break")
	case !endsLine(ours):
		ours, theirs = theirs, ours
	}
	merged := make([]byte, 0, len(base)+len(ours)+len(theirs))
	merged = append(append(append(merged, base...), ours...), theirs...)
	return zerosync.Resolution{Merged: merged, Mode: mergeMode(c), By: by,
		Note: "additions of both sides kept"}, nil
}

func endsLine(b []byte) bool { return len(b) > 0 && b[len(b)-1] == '\n' }
