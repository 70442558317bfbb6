// Command soak is a long randomized test of zerosync's first promise, that
// no version a person wrote is lost, under crashes and broken connections.
// It is kept out of go test's default run (its own test runs a handful of
// sequences); run it with
//
//	go run ./bench/soak -sequences 10000 -seed 1
//
// # The world
//
// Three replicas are directories under a work folder: a hub r0 and two
// spokes r1 and r2. An engine process (this program, started again) syncs
// the hub, a local directory, with the spokes, which it reaches through
// the agent protocol of transport/remote: each spoke is served by an agent
// process (this program again, as the agent) on one end of a socket pair
// whose other end the engine holds. The engine keeps its state in a real
// state database, so a kill tests what a crash leaves on disk.
//
// # A sequence
//
// Each sequence makes one to four random edits on random replicas, as a
// person would (create, modify, delete, rename, mkdir, chmod, file to
// directory and back, symlinks, large files that travel as deltas), one in
// six being edits of the same path on two replicas before a sync; then it
// runs one cycle of the engine. Half of the cycles (-faults) suffer a
// fault: the engine process killed with SIGKILL, a spoke's agent killed
// with SIGKILL, or a spoke's connection shut down. A fault fires at a
// marker: an engine event (the cycle's start, the Nth applied action,
// which precedes the state commit, a settled conflict, the cycle's end) or
// a byte count crossing a spoke's connection in one direction, which lands
// inside scans, uploads, downloads and deltas, a write cut mid-frame. The
// engine process is started again (and the agents with it) whenever a
// fault broke it. With -timed the driver also kills the engine after a
// random delay, which reaches points no marker does.
//
// # What is checked
//
// After every cycle, every file in every tree and every conflict copy must
// hold content some person wrote (each version is unique): anything else is
// a torn or mixed file. Every -check-every sequences and at the end, every
// version is looked for in every tree, conflict copy and .zerosync folder
// (the archive). At the end, fault-free cycles must bring the three trees
// to the same entries, kinds, permission bits, contents and link targets
// (conflict copies and .zerosync left out) within a bound; then no temp
// file may be left in any replica.
//
// A version is owed unless the person of every replica that held it
// removed or overwrote it there: its author before any other replica had
// it, or each replica's person their own copy (all three overwrite a
// synced file before the next cycle, say), in which case no engine ever
// removed or replaced it and there was nothing to keep. A replica holds a
// version from its author's write, or from a cycle after which its tree
// held it; its person removing it ends that, the engine removing it does
// not. A lost version is classified by what the driver saw between cycles:
//
//   - never synced: no other replica's tree ever held it. The engine must
//     archive such content before replacing it; this loss is always a
//     failure.
//   - synced, then replaced or deleted: another replica held it, and a later
//     change replaced it everywhere without keeping it. With versioning
//     (every replaced or deleted version kept, -versioning, the default)
//     this is a failure when the version is the last its author wrote at
//     its path; losses of earlier versions are reported only, since a
//     retention policy may prune them. With -versioning=false these losses
//     are reported and do not fail the run.
//   - synced, then removed by its author: the removal (or its author's
//     next version) travelled to a replica whose person still held it, and
//     that replica did not keep the copy the engine removed. With
//     versioning this is a failure under the same rule as the class
//     above; without, it is reported.
//
// The engine process ending unasked, a process hanging past its bound, or
// an engine that cannot start again are failures too.
//
// # Replay
//
// The edits and the faults come from -seed, on separate streams, and the
// engine writes one file at a time (-parallel 1), so a run with the same
// seed makes the same edits and fires the same faults at the same markers;
// what a fault does to requests in flight on the other connection may
// vary. Timed kills (-timed) do not replay exactly. A failing run keeps its
// work folder: soak.log has every edit, applied action, conflict and
// fault; processes.log has what the processes wrote to standard error.
//
// # Figures
//
// The run ends with its figures: sequences and their rate, edits by kind,
// versions, cycles, engine starts, faults armed and fired (by action and by
// marker), conflicts, what is kept, and the losses by class, each with its
// history in the log.
package main
