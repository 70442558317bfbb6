package merge

import (
	"context"

	"github.com/zerosync/zerosync"
)

// PreferNewer returns a resolver that keeps the version with the later
// modification time, ours when the times are equal, and keeps the other
// version as a conflict copy in the review queue (KeepOther), so nothing is
// lost. It suits files where the latest write is what counts, such as logs
// and caches. A zero ModTime is older than any other.
//
// Modification times come from the hosts' clocks, which may disagree; the
// conflict copy is what makes a wrong guess harmless. PreferNewer passes
// when either side is absent (deleted).
func PreferNewer() zerosync.Resolver {
	return zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		const by = "prefer-newer"
		if c.Ours == nil || c.Theirs == nil {
			return zerosync.Resolution{}, pass(by, "a side is deleted")
		}
		keep, note := zerosync.VersionOurs, "ours is newer"
		switch {
		case c.Theirs.ModTime.After(c.Ours.ModTime):
			keep, note = zerosync.VersionTheirs, "theirs is newer"
		case c.Theirs.ModTime.Equal(c.Ours.ModTime):
			note = "same modification time; ours kept"
		}
		return zerosync.Resolution{Keep: keep, KeepOther: true, By: by, Note: note}, nil
	})
}

// PreferHost returns a resolver that keeps the version of the side whose
// host is named host ([zerosync.Conflict.Hosts]), and keeps the other version
// as a conflict copy in the review queue (KeepOther), so nothing is lost.
// When neither side's host has that name, or host is empty, it passes. When
// both have it, ours is kept.
func PreferHost(host string) zerosync.Resolver {
	return zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		const by = "prefer-host"
		switch {
		case host == "":
		case c.Hosts[zerosync.Ours] == host:
			return zerosync.Resolution{Keep: zerosync.VersionOurs, KeepOther: true, By: by, Note: "kept the version of " + host}, nil
		case c.Hosts[zerosync.Theirs] == host:
			return zerosync.Resolution{Keep: zerosync.VersionTheirs, KeepOther: true, By: by, Note: "kept the version of " + host}, nil
		}
		return zerosync.Resolution{}, pass(by, "neither side is host %q", host)
	})
}
