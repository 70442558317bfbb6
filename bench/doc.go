// Command bench runs zerosync side by side with rsync and unison on the same
// generated trees and the same private sshd, and prints the figures as a
// markdown table with each peer's figure and the ratio zerosync/peer.
//
//	CGO_ENABLED=0 go run ./bench --quick            # small trees, a few runs: CI's end-to-end proof
//	CGO_ENABLED=0 go run ./bench --out RESULTS.md   # the full run (10k files, 256 MiB, 100k files)
//
// # What it does
//
// It starts sshd on a loopback port with its own host and client keys and a
// counting TCP proxy in front of it, generates deterministic trees from a
// seed (a developer tree of small source-like files in nested folders,
// medium files, large binaries, symlinks and empty folders; a single large
// file; a 100k-file tree), gives every tool its own copy of each, and runs
// the workloads on local folders and over SSH: the initial sync, no-op
// re-syncs (cold process and running engine), a few small edits, a small
// change in the middle of a large file (time and bytes on the wire),
// propagation latency in watch mode against an inotifywait + rsync loop, a
// running engine's memory on a large tree, and the raw SSH limit. Beside
// the initial sync runs this machine's floor: a plain copy of the tree
// (create and write, a worker per core, nothing made durable) locally, tar
// piped into ssh over SSH; a goal that asks for less than the floor says so.
//
// Every figure is the median of several runs after a warm-up. After each
// workload every tool's result tree is compared with its source (paths,
// kinds, permission bits, content digests, link targets); a difference makes
// the run fail. Timings are reported, never asserted.
//
// # Processes
//
// A cold zerosync process and the engine whose memory is measured are this
// program started again with the ZEROSYNC_BENCH_CHILD environment variable
// set to a JSON job; the test binary does the same in TestMain.
//
// It needs the Debian packages openssh-server, openssh-client, rsync,
// unison and, for the full run's latency peer, inotify-tools. See README.md.
package main
