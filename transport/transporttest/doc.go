// Package transporttest is a conformance suite for [zerosync.Endpoint]
// implementations. Every transport runs the same suite, so an engine tested
// on one behaves the same on all of them:
//
//	func TestConformance(t *testing.T) {
//		t.Run("kind=local", func(t *testing.T) {
//			transporttest.Run(t, func(t *testing.T) transporttest.Harness { ... })
//		})
//	}
//
// # What the suite proves
//
// [Run] checks the whole contract written on [zerosync.Endpoint] and its
// optional abilities ([zerosync.Copier], [zerosync.Archiver]): what a scan
// reports (kinds, permission bits, sizes, digests, symlink targets, and never a
// reserved name), that Apply creates, updates and removes files, directories
// and symlinks, that it refuses to act when the path moved since the scan
// ([zerosync.ErrChanged]) or when content lies about its size or digest
// ([zerosync.ErrDigestMismatch]) and then leaves the tree as it was, that
// invalid and reserved paths are refused before anything is touched, that
// nothing is written through a symlink, that concurrent applies to different
// paths do not interfere, and that a cancelled context stops every call.
//
// # The harness
//
// A [Harness] is an endpoint plus the hands of a person who edits the same
// tree behind the endpoint's back. The suite uses those hands to build trees
// and to change them between a scan and an apply, and to look at the result
// without going through the endpoint under test.
package transporttest
