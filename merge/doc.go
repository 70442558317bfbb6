// Package merge holds the resolvers that settle conflicts, and [Chain],
// which asks them in order.
//
// A resolver is asked about one [zerosync.Conflict] and answers with a
// [zerosync.Resolution], or with [zerosync.ErrPass] when the conflict is not
// one it decides. The default chain is
//
//	Identical -> KeepBoth
//
// KeepBoth never passes, so nothing is lost whatever comes before it: the
// version not kept becomes a conflict copy, is archived, and waits in the
// review queue.
package merge
