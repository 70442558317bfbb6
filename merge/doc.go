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
//
// # Resolvers
//
//   - [Identical]: both versions hold the same data.
//   - [Diff3]: a line merge of text files whose changes do not overlap, as
//     diff3 and git do it.
//   - [Structured]: JSON, YAML and TOML files merged key by key, when the
//     two sides changed different keys (even on one line).
//   - [Union]: both sides only appended (shell history); both additions
//     are kept. Without a base (a first sync), the union of both
//     versions' lines.
//   - [PreferNewer] and [PreferHost]: one version is kept by modification
//     time or by host, the other as a conflict copy.
//   - [Route] with [Match]: each path goes to the resolver its
//     gitignore-style pattern names.
//   - [KeepBoth]: both versions kept; it never passes.
//   - Package [github.com/zerosync/zerosync/merge/ai] (opt-in): a language
//     model merges, and its answer is checked before it is used.
//
// A chain that uses them all, first to last:
//
//	Identical -> Route(...) -> Diff3 -> Structured -> ai -> KeepBoth
//
// # Line endings
//
// Bytes are bytes: files are synced byte for byte, no host converts line
// endings, and a file saved with Windows line endings ("\r\n") on one host
// stays so on every host. A file whose only change is its line endings
// changed like any other, and [Diff3] compares lines together with their
// endings. [WithEOLInsensitive] is the opt-in for trees edited from Windows
// and Linux alike: Diff3 then merges a CRLF version with an LF one as the
// same text and keeps the endings of ours in the result.
package merge
