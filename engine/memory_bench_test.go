package engine

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// liveHeap returns the Go heap in use right after a collection, in bytes.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRetainedBytesPerEntry measures what a running engine over two
// identical local trees of 100,000 files (and 1,000 folders) each keeps
// between cycles: the live heap after a collection, less what the process
// held before the engine was made, per entry of one side (B/entry; the
// memory goal is at most 100 B per entry on top of 16 MiB), after the
// first cycle and the full rescan a watcher's "ready" asks for. Each
// iteration is another full cycle of both trees, so that what stays is
// what the running engine keeps, not what a single cycle happened to
// leave.
func BenchmarkRetainedBytesPerEntry(b *testing.B) {
	const n = 100_000
	before := liveHeap()
	e := identicalPair(b, n)
	watched(e)
	if _, err := e.SyncOnce(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		e.ours.markFull()
		e.pairs[0].peer.markFull()
		rep, err := e.SyncOnce(context.Background())
		if err != nil || rep.Changed() {
			b.Fatal(err, rep.Changed())
		}
		e.settleHeld() // as Run does between cycles
	}
	b.StopTimer()
	after := liveHeap()
	entries := float64(n + n/100)
	retained := float64(after) - float64(before)
	b.ReportMetric(retained/entries, "B/entry")
	b.ReportMetric(retained/(1<<20), "retained-MiB")
	runtime.KeepAlive(e)
}

// BenchmarkHeldBytesPerEntry measures what a held snapshot of 100,000
// files in 1,000 folders keeps once settled on a floor of its own, paths
// included: the bytes per entry of the snapshot a running engine holds
// for a tree between cycles. Each iteration packs the snapshot again.
func BenchmarkHeldBytesPerEntry(b *testing.B) {
	const n = 100_000
	mtime := time.Unix(1_700_000_000, 0)
	scan := func() zerosync.Snapshot {
		s := make(zerosync.Snapshot, n+n/100)
		for i := range n {
			if i%100 == 0 {
				s[fmt.Sprintf("src/d%04d", i/100)] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755, ModTime: mtime}
			}
			s[fmt.Sprintf("src/d%04d/f%06d.txt", i/100, i)] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(i), Digest: zerosync.Digest{byte(i), byte(i >> 8)}, ModTime: mtime}
		}
		return s
	}
	var h *held
	before := liveHeap()
	for b.Loop() {
		h = hold(scan())
		h.settle(nil)
	}
	b.StopTimer()
	kept := float64(liveHeap()) - float64(before)
	b.ReportMetric(kept/float64(h.Len()), "B/entry")
	runtime.KeepAlive(h)
}
