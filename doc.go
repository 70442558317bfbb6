// Package zerosync is the vocabulary of a library that keeps file trees in
// sync across many hosts: shell dotfiles, script folders, project trees,
// device configurations, a website.
//
// This package holds only interfaces and value types; the machinery lives in
// sub-packages that import it. A reader learns the whole model from sync.go.
//
// # Data flow
//
// One cycle of an engine, for each pair of trees (ours and a peer's):
//
//	Source (watcher events, schedule tick, on demand)
//	  -> Scan both sides            (stat cache: hash only what moved)
//	  -> Differ: Reconcile(base, ours, theirs) -> Plan (actions + conflicts)
//	  -> Resolver chain for each conflict (first that decides wins)
//	  -> Endpoint.Apply             (atomic, digest-verified, re-checked)
//	  -> State: the new base, after the target confirmed the write
//	  -> Report and events
//
// # Safety
//
// Digests, not clocks, decide what changed. A file that is overwritten or
// removed while the other side never knew its content is archived first. A
// missing root is an error wrapping [ErrRootMissing], never "everything was
// deleted", and a plan that deletes too much of a tree stops with
// [ErrMassDeletion]. Everything a peer reports is checked ([Snapshot.Validate],
// [CheckPath]) before it is used, and endpoints never write through a symlink.
//
// # Names and line endings
//
// Names are bytes, as on Linux: README.md and readme.md are two files, and
// so are é precomposed and decomposed. Where a side's directory takes such
// names for one ([NameFolder]: a Windows drive under WSL, exFAT, a
// casefolded ext4 directory), the names that would collide are not written
// there, each is reported as a [Problem] wrapping [ErrNameCollision], and
// none overwrites another. File content is bytes too: line endings are
// never converted; merging may be told to take CRLF and LF for the same
// text (package merge).
//
// # Packages
//
//   - engine: the [Engine], the three-way [Differ] and the sources.
//   - transport/memory: an in-process [Endpoint] for tests and examples.
//   - transport/local: a directory on this host.
//   - merge: resolvers.
package zerosync
