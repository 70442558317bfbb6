// Package local is a directory on this host as a [zerosync.Endpoint], with
// the optional abilities [zerosync.Copier], [zerosync.Archiver],
// [zerosync.Versioner], [zerosync.Watcher] and [zerosync.BatchApplier]. It is Linux only: it relies on openat2(2) and the
// other *at system calls.
//
// # Confinement
//
// Every path comes from a peer and is checked with [zerosync.CheckPath]
// before use. Its parent directory is then opened relative to the root with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so no component may be a
// symlink or lead outside the root, and the last component is handled on
// that directory's descriptor (openat with O_NOFOLLOW|O_EXCL, renameat2,
// unlinkat, mkdirat, symlinkat, linkat); permission bits and times are set
// on the open file, never by path afterwards. [os.Root] alone would not do:
// it keeps paths beneath the root but follows symlinks that stay inside it.
// Reads refuse symlinks too. Symlinks are synced as links, never followed.
//
// # Atomic apply
//
// A file is written to a temp file (".zs-tmp-<random>") in its target
// directory while it is hashed, capped at the declared size, checked against
// the declared size and digest, given its mode and time, synced, and renamed
// into place after a last check that the path still holds what the op
// expects; then the directory is synced. A crash leaves the old file or the
// new one, and at worst a temp file, which the next scan removes.
//
// # Batches
//
// [Endpoint.ApplyBatch] pays for durability once per batch: it writes the
// temp files of up to 256 ops, makes them durable together (one
// syncfs(2) of the file system when there are 64 or more, otherwise an
// fsync of each file, eight at once, which the file system commits in one
// journal transaction), then checks each path again and renames each temp
// file into place, and last syncs each directory that changed once (or
// the file system once more, for a large batch over several directories).
// Measured on the reference disk (ext4 on a virtual disk, BenchmarkApplyFiles:
// 1,000 files of 1 KiB in 10 directories), a file costs 814 µs with
// Apply one at a time, 486 µs with Apply from 8 goroutines, 304 µs in
// batches synced file by file and 98 µs in batches synced with syncfs. A
// crash at any moment leaves each path old or new: nothing is renamed
// before every file of the batch is durable.
//
// # Stat cache
//
// A scan hashes a file only when its fingerprint (size, modification and
// change times in nanoseconds, inode, mode) moved since it was last hashed,
// or when it was modified less than a second before it was hashed (two
// edits within one tick of the file system's clock could leave the same
// fingerprint). [WithStatCache] persists the cache between processes, and
// keeps in memory only the folders that changed since the file was written.
//
// # Archive
//
// Content replaced or removed by an op with [zerosync.Op.Archive] set, and
// every conflict copy, is kept as <archive>/<UTC stamp>-<reason>/<path>
// (reason: replaced, removed or conflict), by default beneath the root's
// reserved .zerosync folder, where keeping it is a hard link. Each of those
// folders holds one version, and its name is the version's ID
// ([Endpoint.Versions], [Endpoint.OpenVersion]). The archive is pruned by a
// [zerosync.Retention] ([WithRetention]; by default
// [zerosync.DefaultRetention]) after archiving, at most once a minute, and
// on [Endpoint.PruneVersions].
package local
