package merge

import (
	"fmt"
	"io/fs"

	"github.com/zerosync/zerosync"
)

// pass returns an error wrapping [zerosync.ErrPass] that says why the named
// resolver does not decide.
func pass(by, why string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", zerosync.ErrPass, by, fmt.Sprintf(why, args...))
}

// passErr returns an error wrapping both [zerosync.ErrPass] and err, the
// reason the named resolver does not decide.
func passErr(by string, err error) error {
	return fmt.Errorf("%w: %s: %w", zerosync.ErrPass, by, err)
}

// isFile reports whether e is a present regular file.
func isFile(e *zerosync.Entry) bool { return e != nil && e.Kind == zerosync.KindFile }

// mergeMode returns the permission bits for content merged from both sides:
// theirs when only they changed the bits since the base, ours otherwise.
func mergeMode(c zerosync.Conflict) fs.FileMode {
	ours, theirs := c.Ours.Mode.Perm(), c.Theirs.Mode.Perm()
	if isFile(c.Base) && ours == c.Base.Mode.Perm() {
		return theirs
	}
	return ours
}
