package engine

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/local"
)

// benchPair makes two synced directories of n files (1 KiB each, 100 per
// folder) and an engine over them.
func benchPair(b *testing.B, n int) (*Engine, string, string) {
	b.Helper()
	tmp := b.TempDir()
	da, db := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	content := make([]byte, 1024)
	for i := range n {
		dir := filepath.Join(da, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		content[0], content[1] = byte(i), byte(i>>8)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.txt", i)), content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	os.Mkdir(db, 0o755)
	a, err := local.New(da, local.WithStatCache(filepath.Join(tmp, "a.cache")))
	if err != nil {
		b.Fatal(err)
	}
	bb, err := local.New(db, local.WithStatCache(filepath.Join(tmp, "b.cache")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(); bb.Close() })
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: bb}}, WithStatePath(filepath.Join(tmp, "state.db")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if _, err := e.SyncOnce(context.Background()); err != nil {
		b.Fatal(err)
	}
	return e, da, db
}

// BenchmarkSyncNoopFull is a cycle with nothing changed and no watcher:
// both trees are scanned (warm stat caches) and reconciled whole.
func BenchmarkSyncNoopFull10k(b *testing.B) {
	e, _, _ := benchPair(b, 10_000)
	cpu := startCPU()
	for b.Loop() {
		rep, err := e.SyncOnce(context.Background())
		if err != nil || rep.Changed() {
			b.Fatal(err, rep.Changed())
		}
	}
	cpu.report(b)
}

// watched marks both trees as reported by a live watcher, as Run does once
// the watchers are ready, so cycles take only what hints name.
func watched(e *Engine) {
	for _, t := range []*tree{e.ours, e.pairs[0].peer} {
		t.hint(zerosync.Hint{Full: true, Reason: "ready"})
	}
}

// BenchmarkSyncNoopWatched is a cycle of a running engine when its watchers
// reported nothing.
func BenchmarkSyncNoopWatched10k(b *testing.B) {
	e, _, _ := benchPair(b, 10_000)
	watched(e)
	e.SyncOnce(context.Background()) // the full rescan after "ready"
	for b.Loop() {
		rep, err := e.SyncOnce(context.Background())
		if err != nil || rep.Changed() {
			b.Fatal(err, rep.Changed())
		}
	}
}

// BenchmarkSync10EditsWatched is a running engine's cycle after ten small
// files were edited on one side and its watcher named them: rescan,
// reconcile, transfer and commit of ten files (the watcher's own debounce
// is not included).
func BenchmarkSync10EditsWatched10k(b *testing.B) { bench10Edits(b, false) }

// BenchmarkSync10EditsDirsWatched10k is BenchmarkSync10EditsWatched10k
// with the folders of the ten files hinted too, as a watcher reports a
// file replaced by a rename: each folder is rescanned, not the tree.
func BenchmarkSync10EditsDirsWatched10k(b *testing.B) { bench10Edits(b, true) }

func bench10Edits(b *testing.B, dirs bool) {
	e, da, _ := benchPair(b, 10_000)
	watched(e)
	e.SyncOnce(context.Background())
	round := 0
	cpu := startCPU()
	defer cpu.report(b)
	for b.Loop() {
		b.StopTimer()
		round++
		var paths []string
		for i := range 10 {
			p := fmt.Sprintf("d%03d/f%05d.txt", i*7, i*700)
			if err := os.WriteFile(filepath.Join(da, filepath.FromSlash(p)), fmt.Appendf(nil, "edit %d of %d", round, i), 0o644); err != nil {
				b.Fatal(err)
			}
			paths = append(paths, p)
			if dirs {
				paths = append(paths, zerosync.Parent(p))
			}
		}
		e.ours.hint(zerosync.Hint{Paths: paths})
		b.StartTimer()
		rep, err := e.SyncOnce(context.Background())
		if err != nil || len(rep.Applied) != 10 {
			b.Fatalf("%v: %d applied", err, len(rep.Applied))
		}
	}
}

// deepPair makes two synced directories holding one chain of depth
// directories with a file at the bottom, and an engine over them.
func deepPair(b *testing.B, depth int) (*Engine, string) {
	b.Helper()
	tmp := b.TempDir()
	da, db := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	rel := strings.Repeat("d/", depth)
	if err := os.MkdirAll(filepath.Join(da, filepath.FromSlash(rel)), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(da, filepath.FromSlash(rel), "f"), []byte("deep"), 0o644); err != nil {
		b.Fatal(err)
	}
	os.Mkdir(db, 0o755)
	a, err := local.New(da)
	if err != nil {
		b.Fatal(err)
	}
	bb, err := local.New(db)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(); bb.Close() })
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: bb}}, WithStatePath(filepath.Join(tmp, "state.db")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	rep, err := e.SyncOnce(context.Background())
	if err != nil || len(rep.Applied) != depth+1 {
		b.Fatalf("first sync: %v, %d applied", err, len(rep.Applied))
	}
	return e, da
}

// BenchmarkSyncNoopDeep2000 is a cycle with nothing changed and no watcher
// over a tree 2,000 directories deep: both trees scanned and reconciled
// whole.
func BenchmarkSyncNoopDeep2000(b *testing.B) {
	e, _ := deepPair(b, 2000)
	cpu := startCPU()
	for b.Loop() {
		rep, err := e.SyncOnce(context.Background())
		if err != nil || rep.Changed() {
			b.Fatal(err, rep.Changed())
		}
	}
	cpu.report(b)
}

// BenchmarkSyncNoopDeep2000Unsure is BenchmarkSyncNoopDeep2000 with a
// named pipe at the bottom: a path the scans report as a problem, which
// each cycle hides from both sides.
func BenchmarkSyncNoopDeep2000Unsure(b *testing.B) {
	e, da := deepPair(b, 2000)
	if err := syscall.Mkfifo(filepath.Join(da, filepath.FromSlash(strings.Repeat("d/", 2000)), "pipe"), 0o644); err != nil {
		b.Fatal(err)
	}
	cpu := startCPU()
	for b.Loop() {
		rep, err := e.SyncOnce(context.Background())
		if err != nil || rep.Changed() || len(rep.Problems) != 1 {
			b.Fatal(err, rep.Changed(), rep.Problems)
		}
	}
	cpu.report(b)
}

// BenchmarkSyncEditWatchedDeep2000 is a running engine's cycle after the
// file at the bottom of a tree 2,000 directories deep was edited, its
// watcher naming the file and its directory.
func BenchmarkSyncEditWatchedDeep2000(b *testing.B) {
	e, da := deepPair(b, 2000)
	watched(e)
	e.SyncOnce(context.Background())
	dir := strings.Repeat("d/", 2000)
	round := 0
	cpu := startCPU()
	defer cpu.report(b)
	for b.Loop() {
		b.StopTimer()
		round++
		if err := os.WriteFile(filepath.Join(da, filepath.FromSlash(dir), "f"), fmt.Appendf(nil, "edit %d", round), 0o644); err != nil {
			b.Fatal(err)
		}
		e.ours.hint(zerosync.Hint{Paths: []string{dir[:len(dir)-1], dir + "f"}})
		b.StartTimer()
		rep, err := e.SyncOnce(context.Background())
		if err != nil || len(rep.Applied) != 1 {
			b.Fatalf("%v: %d applied", err, len(rep.Applied))
		}
	}
}

// identicalPair makes two directories holding the same n small files (100
// per folder), without syncing them, and an engine over them; the first
// cycle finds them equal and only records the common state. Every file
// has the same modification time on both sides, as after a sync (which
// keeps them) or a copy that keeps them.
func identicalPair(b *testing.B, n int) *Engine {
	b.Helper()
	tmp := b.TempDir()
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var eps [2]zerosync.Endpoint
	for i, name := range []string{"a", "b"} {
		root := filepath.Join(tmp, name)
		for j := range n {
			dir := filepath.Join(root, fmt.Sprintf("d%04d", j/100))
			if j%100 == 0 {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					b.Fatal(err)
				}
			}
			f := filepath.Join(dir, fmt.Sprintf("f%06d.txt", j))
			if err := os.WriteFile(f, fmt.Appendf(nil, "file %d", j), 0o644); err != nil {
				b.Fatal(err)
			}
			if err := os.Chtimes(f, epoch, epoch); err != nil {
				b.Fatal(err)
			}
		}
		ep, err := local.New(root, local.WithStatCache(filepath.Join(tmp, name+".cache")))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ep.Close() })
		eps[i] = ep
	}
	e, err := New(Peer{Name: "a", Endpoint: eps[0]}, []Peer{{Name: "b", Endpoint: eps[1]}}, WithStatePath(filepath.Join(tmp, "state.db")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if _, err := e.SyncOnce(context.Background()); err != nil {
		b.Fatal(err)
	}
	return e
}

// heapProfile names a file for the live heap of the running engine that
// BenchmarkMemoryRunning100k measures.
var heapProfile = flag.String("heapprofile", "", "write the running engine's live heap to this `file`")

// BenchmarkMemoryRunning100k measures a running engine over two trees of
// 100,000 files (and 1,000 folders) each: the live heap after a collection
// per entry of a side (heap-B/entry), and the resident set (rss-MiB), after
// the watchers' first full cycle; each iteration is another full cycle,
// whose allocations are what a scan of both trees costs (B/op).
func BenchmarkMemoryRunning100k(b *testing.B) {
	const n = 100_000
	e := identicalPair(b, n)
	watched(e)
	if _, err := e.SyncOnce(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
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
	entries := float64(n + n/100)
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/entries/2, "heap-B/entry")
	// The spans holding it: what the live heap costs in memory.
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
	if *heapProfile != "" {
		f, err := os.Create(*heapProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	debug.FreeOSMemory()
	if st, err := os.ReadFile("/proc/self/status"); err == nil {
		// VmRSS, and its part in files mapped (the state database).
		for line := range strings.Lines(string(st)) {
			for field, unit := range map[string]string{"VmRSS:": "rss-MiB", "RssFile:": "rss-file-MiB"} {
				if rest, ok := strings.CutPrefix(line, field); ok {
					var kb float64
					fmt.Sscan(rest, &kb)
					b.ReportMetric(kb/1024, unit)
				}
			}
		}
	}
	runtime.KeepAlive(e)
}

// cpuClock measures the CPU time (user and system, every thread) the
// process spends in a benchmark's loop: on a shared machine the wall time
// of an iteration says more about the neighbours than about the code.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{cpuNow()} }

// report adds the CPU time per iteration as cpu-ms/op.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(cpuNow()-c.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// benchFanout makes a hub and n spokes, directories of this host with 100
// files each (1 KiB), synced, every tree marked as watched.
func benchFanout(b *testing.B, n int, opts ...Option) (*Engine, string, []string) {
	b.Helper()
	tmp := b.TempDir()
	hub := filepath.Join(tmp, "hub")
	content := make([]byte, 1024)
	for i := range 100 {
		dir := filepath.Join(hub, fmt.Sprintf("d%02d", i/10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		content[0] = byte(i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.txt", i)), content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	open := func(name string) *local.Endpoint {
		ep, err := local.New(filepath.Join(tmp, name), local.WithStatCache(filepath.Join(tmp, name+".cache")))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ep.Close() })
		return ep
	}
	var peers []Peer
	var dirs []string
	for i := range n {
		name := fmt.Sprint("s", i)
		dirs = append(dirs, filepath.Join(tmp, name))
		if err := os.Mkdir(dirs[i], 0o755); err != nil {
			b.Fatal(err)
		}
		peers = append(peers, Peer{Name: name, Endpoint: open(name)})
	}
	e, err := New(Peer{Name: "hub", Endpoint: open("hub")}, peers, append([]Option{WithStatePath(filepath.Join(tmp, "state.db"))}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if _, err := e.SyncOnce(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, t := range e.trees() {
		t.hint(zerosync.Hint{Full: true, Reason: "ready"})
	}
	if _, err := e.SyncOnce(context.Background()); err != nil { // the full rescan after "ready"
		b.Fatal(err)
	}
	return e, hub, dirs
}

// benchEdit times, per iteration, one watched edit of a small file on
// tree from (-1: the hub) until every other tree holds it: one cycle of a
// running engine (the watcher's own debounce is not included). It reports
// the median and the 99th percentile.
func benchEdit(b *testing.B, e *Engine, hub string, spokes []string, from int) {
	roots := append([]string{hub}, spokes...)
	var took []time.Duration
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		p := fmt.Sprintf("d%02d/f%03d.txt", round%10, round%100)
		want := fmt.Sprintf("edit %d from %d\n", round, from)
		if err := os.WriteFile(filepath.Join(roots[from+1], filepath.FromSlash(p)), []byte(want), 0o644); err != nil {
			b.Fatal(err)
		}
		t := e.ours
		if from >= 0 {
			t = e.pairs[from].peer
		}
		t.hint(zerosync.Hint{Paths: []string{p}})
		b.StartTimer()
		start := time.Now()
		rep, err := e.SyncOnce(context.Background())
		took = append(took, time.Since(start))
		b.StopTimer()
		if err != nil || len(rep.Problems) > 0 {
			b.Fatal(err, rep.Problems)
		}
		for _, root := range roots {
			got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
			if err != nil || string(got) != want {
				b.Fatalf("%s lacks the edit after one cycle: %q, %v", root, got, err)
			}
		}
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkFanout8Local is one edit reaching 8 spokes, directories of this
// host: from the hub (all pairs push at once), and from a spoke (our tree
// is written, then the 7 other spokes get it in the same cycle). serial
// syncs one pair at a time, for comparison.
func BenchmarkFanout8Local(b *testing.B) {
	for _, c := range []struct {
		name string
		from int
		opts []Option
	}{
		{"from=hub", -1, nil},
		{"from=spoke", 3, nil},
		{"from=hub/serial", -1, []Option{WithConcurrentPairs(1)}},
		{"from=spoke/serial", 3, []Option{WithConcurrentPairs(1)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, hub, spokes := benchFanout(b, 8, c.opts...)
			benchEdit(b, e, hub, spokes, c.from)
		})
	}
}

// BenchmarkEditOneLocal is one edit reaching one peer, a directory of this
// host: the cycle of a running engine after its watcher named the path,
// which is the local propagation of the bench minus the watcher's quiet
// window.
func BenchmarkEditOneLocal(b *testing.B) {
	e, hub, spokes := benchFanout(b, 1)
	benchEdit(b, e, hub, spokes, -1)
}
