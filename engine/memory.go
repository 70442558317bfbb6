package engine

import (
	"errors"
	"runtime/debug"
	"sync/atomic"
)

// The helpers here keep what a running engine holds between cycles small
// (see [held]) and give the memory of a full cycle back once it is over.

// memUse is what the engine knows about its own memory use.
type memUse struct {
	// scanned is set when a cycle scanned a tree in full; Run gives the
	// garbage of that cycle back to the system once it is over.
	scanned atomic.Bool
	// release returns freed memory to the system; debug.FreeOSMemory
	// unless a test counts the calls.
	release func()
	// spillDir, when set, is where the floors of the held snapshots wait
	// between cycles (the state database's folder; none for a volatile
	// state).
	spillDir string
}

// errHeldLost is a pass's error when what the engine held of a tree could
// not be read back from its spill file.
var errHeldLost = errors.New("what the engine kept of the trees between cycles could not be read back from its file; the trees and their common state are read again in the next cycle")

// dropLost drops, at the start of a cycle, the held snapshots that stand
// on a floor that could not be read back: the trees are scanned again in
// full and the common state is loaded again from the database.
func (e *Engine) dropLost() {
	if e.ours.snap.lost() {
		e.ours.snap = nil
		e.ours.markFull()
	}
	for _, p := range e.pairs {
		if p.base.lost() {
			p.base = nil
		}
		if p.peer.snap.lost() {
			p.peer.snap = nil
			p.peer.markFull()
		}
	}
}

// releaseAfterFull settles the held snapshots, and gives the memory a full
// scan left as garbage back to the system, once per cycle that scanned a
// tree in full. A full scan of a
// large tree leaves as much garbage as the trees it read, which the
// collector would otherwise keep for reuse; a running engine's next cycles
// are mostly small, and its resident size should be what it holds. It
// costs a collection, which is small beside the full scan that asked for
// it (an engine that scans in full every cycle, polling or on a schedule,
// pays it every cycle: holding releases back to one per 30 s left the
// bench's running engine over two 100k trees at 166 MiB resident, since the
// watchers' first full rescan comes right after the first cycle).
func (e *Engine) releaseAfterFull() {
	e.settleHeld()
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

// dropWhole drops, at the end of a cycle, the whole maps of the held
// snapshots that have a floor: a full pass asked for them, and they are
// copies. It costs nothing else: a cold process that syncs once and ends
// does not make floors ([Engine.settleHeld] does, under Run).
func (e *Engine) dropWhole() {
	e.ours.snap.drop()
	for _, p := range e.pairs {
		p.base.drop()
		p.peer.snap.drop()
	}
}

// settleHeld makes what the engine keeps between cycles small (see
// [held]): every held snapshot becomes its floor, and the common state and
// the peer's tree of each pair stand on our tree's floor where they agree
// with it. It runs between the cycles of a running engine, when no pass
// runs, and costs a look at every path only when a full scan or a reload
// made a new floor.
func (e *Engine) settleHeld() {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	ours := e.ours.snap
	oursNew := ours.settle(nil)
	var like *floor
	if ours != nil {
		like = ours.f
	}
	for _, p := range e.pairs {
		for _, h := range [2]*held{p.base, p.peer.snap} {
			if !h.settle(like) && oursNew {
				h.standOn(like)
			}
		}
	}
	if e.mem.spillDir != "" {
		e.spillHeld()
	}
}

// spillHeld moves the entries of every floor the held snapshots stand on
// into a file (see [floor.spill]), once per floor. A floor that cannot be
// written stays in memory.
func (e *Engine) spillHeld() {
	hs := []*held{e.ours.snap}
	for _, p := range e.pairs {
		hs = append(hs, p.base, p.peer.snap)
	}
	done := map[*floor]*floor{}
	for _, h := range hs {
		if h == nil || h.f == nil || h.f.spilled() {
			continue
		}
		g, ok := done[h.f]
		if !ok {
			var err error
			if g, err = h.f.spill(e.mem.spillDir); err != nil {
				e.log.Warn("the trees wait between cycles in memory: their file could not be written", "err", err)
				g = h.f
			}
			done[h.f] = g
		}
		h.f = g
	}
}
