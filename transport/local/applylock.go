//go:build linux

package local

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// lockApply takes the root's apply lock, an flock(2) on the root
// directory through rootfd, and returns its release. Every writer of the
// root through this package takes it, in this process or another: the
// daemon of this host and the agents that the daemons of other hosts run
// here all write the same tree, and without it two of them could both
// find a path as they planned, and the later rename would silently
// replace what the earlier one wrote. rootfd is opened for each Apply (a
// description of its own), so the lock also orders the goroutines of one
// process. It is held only for the last check, the archive and the
// rename or removal, never while content is received.
func (e *Endpoint) lockApply(rootfd int) (func(), error) {
	var err error
	for {
		err = unix.Flock(rootfd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lock the root %s: %w", e.root, err)
	}
	return func() { unix.Flock(rootfd, unix.LOCK_UN) }, nil
}
