package engine

import (
	"runtime/debug"
	"sync/atomic"

	"github.com/zerosync/zerosync"
)

// What a running engine keeps between cycles is, per pair, the common
// state (pair.base) and, per tree, the last snapshot (tree.snap): three
// maps keyed by the same paths. A scan makes its own string for every
// path, so without care each map holds its own copy of every path. The
// helpers here keep one string per path across the maps, and give the
// memory of a full cycle back once it is over.

// memUse is what the engine knows about its own memory use.
type memUse struct {
	// scanned is set when a cycle scanned a tree in full; Run gives the
	// garbage of that cycle back to the system once it is over.
	scanned atomic.Bool
	// release returns freed memory to the system; debug.FreeOSMemory
	// unless a test counts the calls.
	release func()
}

// releaseAfterFull gives the memory a full scan left as garbage back to
// the system, once per cycle that scanned a tree in full. A full scan of a
// large tree leaves as much garbage as the trees it read, which the
// collector would otherwise keep for reuse; a running engine's next cycles
// are mostly small, and its resident size should be what it holds. It
// costs a collection, which is small beside the full scan that asked for
// it (an engine that scans in full every cycle, polling or on a schedule,
// pays it every cycle: holding releases back to one per 30 s left the
// bench's running engine over two 100k trees at 166 MiB resident, since the
// watchers' first full rescan comes right after the first cycle).
func (e *Engine) releaseAfterFull() {
	if e.mem.scanned.Swap(false) {
		e.release()
	}
}

// release gives freed memory back to the system.
func (e *Engine) release() {
	if e.mem.release != nil {
		e.mem.release()
		return
	}
	debug.FreeOSMemory()
}

// share makes every key of s that is also a key of like the string like
// holds, so that the two maps hold one copy of the path. Assigning to a
// present key stores the key given (the runtime updates string keys, as
// their backing storage may differ), so the entries are untouched and
// only the old string becomes garbage.
func share(s, like zerosync.Snapshot) {
	if len(s) == 0 || len(like) == 0 {
		return
	}
	for p := range like {
		if en, ok := s[p]; ok {
			s[p] = en
		}
	}
}

// shareOurs makes the common state of every pair hold the paths our
// tree's last full scan made, instead of those of earlier scans. It runs
// before the pairs of a cycle start.
func (e *Engine) shareOurs() {
	for _, p := range e.pairs {
		share(p.base, e.ours.snap)
		share(p.peer.snap, e.ours.snap)
	}
}

// shareTheirs makes the peer's snapshot of pair p hold the paths of our
// tree where they are the same, after a full scan of the peer.
func (e *Engine) shareTheirs(p *pair) {
	e.conc.ours.RLock()
	share(p.peer.snap, e.ours.snap)
	e.conc.ours.RUnlock()
}
