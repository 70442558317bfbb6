// Package startheap lets a process's heap grow to a few tens of MiB before
// its first collection, as the Go compiler does for itself.
//
// A cold process that syncs once allocates its trees, stat caches and
// common state (about 15 MB for 10k files) in its first tens of
// milliseconds, and the collector, which starts at a 4 MB goal, ran three
// times meanwhile: 10 ms of a 57 ms no-op. Waiting for the first
// collection until the process holds limit bytes removes them; after that
// first collection the collector runs as GOGC says, so a running engine's
// heap is what it always was (its first full cycle ends with a collection).
package startheap

import (
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// Limit is the memory a process may hold before its first collection.
const Limit = 32 << 20

// Set makes the first collection wait until the Go runtime holds limit
// bytes (the soft memory limit's measure), then restores the collector's
// settings. It does nothing when GOGC or GOMEMLIMIT is set: the person
// running the program chose.
func Set(limit int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	type settings struct {
		percent int
		limit   int64
	}
	was := settings{debug.SetGCPercent(-1), debug.SetMemoryLimit(limit)}
	// The first collection finds the sentinel unreachable and runs the
	// cleanup, which puts the settings back.
	sentinel := new([64]byte)
	runtime.AddCleanup(sentinel, func(s settings) {
		debug.SetGCPercent(s.percent)
		debug.SetMemoryLimit(s.limit)
	}, was)
}

// NoMemProfile turns off the sampled memory profile of a program that
// serves none: its buckets, one per allocating call stack the sampler hit,
// are never freed, and held 1.4 MiB of a running engine watching 100k
// files that nobody read. It does nothing when GODEBUG sets
// memprofilerate: the person running the program asked for the profile.
// Call it first thing in main, before the program allocates.
func NoMemProfile() {
	for s := range strings.SplitSeq(os.Getenv("GODEBUG"), ",") {
		if strings.HasPrefix(strings.TrimSpace(s), "memprofilerate=") {
			return
		}
	}
	runtime.MemProfileRate = 0
}
