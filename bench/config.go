package main

import (
	"io"
	"time"
)

// config is one run of the harness: the sizes of its trees and how often it
// repeats each workload. [quickConfig] and [fullConfig] are the two sizes
// the program offers.
type config struct {
	Quick bool
	Seed  uint64
	// Dir is the work folder; empty makes (and removes) a temporary one.
	Dir string
	// Keep leaves the work folder in place.
	Keep bool
	// Profile, when set, is a folder for CPU profiles of zerosync.
	Profile string
	// HeapProfile, with Profile, also takes the heap profile of the
	// running engine on the large tree; its sampler's buckets then count
	// in the engine's memory.
	HeapProfile bool
	// Modes are the transports to run: "local", "ssh", "fleet".
	Modes []string
	// Log receives progress lines; nil discards them.
	Log io.Writer

	// Dev is the developer tree of the initial sync, no-op, edit and
	// latency workloads.
	Dev treeSpec
	// Edits is how many small files the edit workload changes.
	Edits int
	// BigSize is the size of the file of the delta workload, DeltaSize the
	// size of the change in its middle.
	BigSize   int64
	DeltaSize int
	// Mem is the tree of the memory workload; MemNoops the number of timed
	// no-op cycles of the engine on it.
	Mem      treeSpec
	MemNoops int

	// Warmup runs precede the Runs measured runs of each workload;
	// InitialRuns is the count for the (long) initial sync.
	Warmup, Runs, InitialRuns int
	// Settle is how long a workload waits before it measures the steady
	// state: longer than the stat caches' racy window (a file modified less
	// than a second before it was hashed is hashed again next time).
	Settle time.Duration
	// LatencyTrials are measured after LatencyWarmup trials.
	LatencyTrials, LatencyWarmup int
	// LatencyPeer runs the inotifywait + rsync loop (it needs
	// inotify-tools; a missing inotifywait is then an error).
	LatencyPeer bool
	// Memory runs the resident-memory workload.
	Memory bool

	// FleetHosts are the sizes of the fleets the fleet workloads run,
	// one after the other: how many hosts (each in a network namespace of
	// its own) besides the hub. FleetTree is the tree each starts
	// with. FleetTrials are the trials of an edit on the hub and of one
	// on a host, FleetAllTrials those of an edit on every tree at once,
	// FleetLoopTrials those of the inotifywait + rsync fan-out; each after
	// FleetWarmup trials.
	FleetHosts                                   []int
	FleetTree                                    treeSpec
	FleetTrials, FleetAllTrials, FleetLoopTrials int
	FleetWarmup                                  int

	// DeepDepth is the depth of the deep tree (local mode), DeepRuns the
	// running engine's timed no-op cycles on it.
	DeepDepth, DeepRuns int
}

// fullConfig is the run RESULTS.md reports: a developer tree of about 10k
// files and 300 MB, a 256 MiB file, a 100k-file tree for memory.
func fullConfig() config {
	return config{
		Seed:  1,
		Modes: []string{"local", "ssh", "fleet"},
		Dev: treeSpec{
			Small: 9_900, SmallMax: 32 << 10, FilesPerDir: 20,
			Medium: 80, MediumMin: 64 << 10, MediumMax: 2 << 20,
			Large: 4, LargeSize: 36 << 20,
			Symlinks: 60, EmptyDirs: 40,
		},
		Edits:     10,
		BigSize:   256 << 20,
		DeltaSize: 4 << 10,
		Mem: treeSpec{
			Small: 100_000, SmallMax: 4 << 10, FilesPerDir: 25,
		},
		MemNoops:      10,
		Warmup:        1,
		Runs:          5,
		InitialRuns:   5,
		Settle:        1100 * time.Millisecond,
		LatencyTrials: 200,
		LatencyWarmup: 10,
		LatencyPeer:   true,
		Memory:        true,

		FleetHosts:      []int{8, 32},
		FleetTree:       treeSpec{Small: 1_000, SmallMax: 8 << 10, FilesPerDir: 20},
		FleetTrials:     60,
		FleetAllTrials:  15,
		FleetLoopTrials: 8,
		FleetWarmup:     3,

		DeepDepth: 2_000,
		DeepRuns:  3,
	}
}

// quickConfig is the end-to-end proof CI runs: every workload but latency's
// peer loop, on small trees, one run each without warm-up or settling, two
// raw ssh variants, a fleet of 8 hosts with a few trials: its figures mean
// nothing, its tree checks everything.
func quickConfig() config {
	return config{
		Quick: true,
		Seed:  1,
		Modes: []string{"local", "ssh", "fleet"},
		Dev: treeSpec{
			Small: 200, SmallMax: 16 << 10, FilesPerDir: 10,
			Medium: 4, MediumMin: 32 << 10, MediumMax: 256 << 10,
			Large: 1, LargeSize: 1 << 20,
			Symlinks: 6, EmptyDirs: 3,
		},
		Edits:         10,
		BigSize:       4 << 20,
		DeltaSize:     4 << 10,
		Mem:           treeSpec{Small: 1_000, SmallMax: 2 << 10, FilesPerDir: 20},
		MemNoops:      2,
		Warmup:        0,
		Runs:          1,
		InitialRuns:   1,
		LatencyTrials: 5,
		LatencyWarmup: 1,
		Memory:        true,

		FleetHosts:      []int{8},
		FleetTree:       treeSpec{Small: 100, SmallMax: 4 << 10, FilesPerDir: 10},
		FleetTrials:     10,
		FleetAllTrials:  5,
		FleetLoopTrials: 3,
		FleetWarmup:     1,

		DeepDepth: 200,
		DeepRuns:  1,
	}
}
