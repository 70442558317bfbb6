package engine

import (
	"runtime/debug"
	"sync/atomic"
	"time"

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
	// last is when memory was last given back (Unix nanoseconds);
	// pending is set while a release waits for releaseEvery to pass.
	last    atomic.Int64
	pending atomic.Bool
}

// releaseEvery is the least time between two releases: an engine that
// scans in full every cycle (polling, a schedule) collects at most this
// often; a full cycle that comes sooner has its release made when the time
// has passed (one for all of them).
const releaseEvery = 30 * time.Second

// releaseAfterFull gives the memory a full scan left as garbage back to
// the system, once per cycle that scanned a tree in full. A full scan of a
// large tree leaves as much garbage as the trees it read, which the
// collector would otherwise keep for reuse; a running engine's next cycles
// are mostly small, and its resident size should be what it holds. It
// costs a collection, which is small beside the full scan that asked for
// it; an engine that scans in full every cycle pays it at most every
// releaseEvery.
func (e *Engine) releaseAfterFull() {
	if !e.mem.scanned.Swap(false) {
		return
	}
	now := time.Now()
	last := e.mem.last.Load()
	if wait := time.Duration(last + int64(releaseEvery) - now.UnixNano()); last != 0 && wait > 0 {
		// Too soon after the last: once, when releaseEvery has passed,
		// however many full cycles come meanwhile.
		if e.mem.pending.CompareAndSwap(false, true) {
			time.AfterFunc(wait, func() {
				e.mem.pending.Store(false)
				e.mem.last.Store(time.Now().UnixNano())
				e.release()
			})
		}
		return
	}
	e.mem.last.Store(now.UnixNano())
	e.release()
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
