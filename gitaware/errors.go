package gitaware

import (
	"errors"
	"fmt"
)

// Reasons a repository is held back, to branch on with [errors.Is]. A
// [HoldError] wraps one of them.
var (
	// ErrDiverged: the two sides' HEADs are different commits, so their
	// tracked files belong to different versions of the project.
	ErrDiverged = errors.New("HEADs differ")
	// ErrInProgress: a merge, rebase, cherry-pick, revert or bisect is under
	// way in the repository on one side.
	ErrInProgress = errors.New("git operation in progress")
	// ErrNoRepository: the repository exists on one side only.
	ErrNoRepository = errors.New("repository missing on one side")
	// ErrNoDirectory: one side's endpoint is not a directory on this host,
	// so its repositories cannot be read.
	ErrNoDirectory = errors.New("git-aware sync needs a local directory")
	// ErrUnreadable: a repository could not be read (a damaged index, an
	// unreadable HEAD).
	ErrUnreadable = errors.New("repository unreadable")
)

// ErrNoHistory: [History.Restore] was asked for a version the history does
// not hold.
var ErrNoHistory = errors.New("no such version in the history")

// HoldError says why a repository is held back for a pair: nothing in it is
// created, changed or deleted on either side until the cause goes away.
type HoldError struct {
	// Dir is the repository's directory relative to the sync root; empty
	// for the root itself.
	Dir string
	// Hosts are the pair's two trees, ours first.
	Hosts [2]string
	// Reason is one of the sentinel errors of this package.
	Reason error
	// Detail says, for people, what differs and what to do.
	Detail string
}

func (e *HoldError) Error() string {
	return fmt.Sprintf("git repository %s held back: %s", repoName(e.Dir), e.Detail)
}

// Unwrap returns the reason.
func (e *HoldError) Unwrap() error { return e.Reason }

// repoName names a repository directory for messages.
func repoName(dir string) string {
	if dir == "" {
		return "at the sync root"
	}
	return fmt.Sprintf("%q", dir)
}
