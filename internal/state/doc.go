// Package state keeps the durable, crash-safe state of an engine's pairs of
// trees in one database file (go.etcd.io/bbolt), one bucket per pair.
//
// For each pair it holds:
//
//   - the base: the tree both sides held after the last sync, the
//     ancestor of three-way reconciliation ([Pair.Base]);
//   - ancestor bodies: the content of small files of the base, the merge
//     base of later three-way merges ([Pair.Body]), kept only while a base
//     file refers to them;
//   - the journal: sequence-numbered records of applied changes
//     ([Pair.Journal]);
//   - the review queue: conflicts waiting for a person ([Pair.Reviews]);
//   - the staging area: changes from a staged peer waiting for a person,
//     one per path, with the peer's content ([Pair.Staged]);
//   - metadata: small strings such as a sync mode ([Pair.Meta]).
//
// # Durability
//
// Every write is one bbolt transaction, synced to disk before the method
// returns. [Pair.Commit] changes base, bodies and journal together: after a
// crash the pair holds all of a commit or none of it. An engine commits a
// change after the target confirmed the write, never before.
//
// # Files and locking
//
// [DefaultDir] is the conventional place for database files. A file is held
// by one open [DB] at a time; another [Open] of it, from this process or
// another, fails with [ErrLocked] after a short wait.
//
// # Encoding
//
// Values are compact, versioned binary encodings: each starts with a version
// byte, lengths are prefixed and capped, and modification times are stored
// exactly. Bytes that do not decode are reported as a *[CorruptError]
// naming the pair, bucket and key; decoding never panics and never
// allocates more than the capped lengths allow.
//
// # Concurrency
//
// [DB] and [Pair] are safe for concurrent use. Writers are serialised;
// readers see the last committed state and do not wait for writers.
package state
