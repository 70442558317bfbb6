// Package enginetest is the core property test of zerosync, as test support
// that any package's tests can run over the endpoints they build.
//
// A [World] is a hub replica r0 and spokes r1, r2, ... with engines between
// them. Random histories of a person's edits (create, modify, delete,
// rename, mkdir, type changes, chmod, symlinks) are interleaved with sync
// cycles in random pair orders; at the end the replicas are synced until
// nothing changes, and [World.Check] asserts that they are identical and
// that every version a person wrote and did not knowingly replace is still
// present in some tree, archive or conflict copy.
//
// # Replicas
//
// A [Replica] is one tree seen from both sides: the edits a person makes
// behind the engines' backs, and endpoints for the engines. [Memory] wraps
// a memory endpoint; [Dir] is a directory of this host, edited with plain
// file-system calls, whose endpoints come from an [Opener] ([Local], or one
// the caller writes, such as an SSH endpoint on the same directory).
//
// # Seeds
//
// [Run] runs one subtest "seed=N" per history. Odd seeds build an engine per
// (hub, spoke) pair, each opening the hub for itself as separate processes
// would; even seeds build one hub engine syncing every spoke. Seeds 2 and 3
// mod 4 also start live watchers when [WithWatchers] is given, so cycles
// rescan and reconcile only what the hints name. ZS_SEED replays one
// history and ZS_SEQUENCES sets how many run; a failing seed is printed
// with the command that replays it. A hub engine syncs its pairs at once
// (concurrent pairs), so the order in which its pairs write the hub, and
// how their conflicts settle, may differ from one replay to the next; give
// [engine.WithConcurrentPairs](1) through [WithEngineOptions] to replay a
// history exactly.
package enginetest
