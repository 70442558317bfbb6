package ssh

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
)

// BenchmarkRunning10Edits is the harness's "10 small files edited, running
// engine" over the loopback sshd: a running engine (both trees watched)
// over 10,000 files of 1 KiB; each op rewrites 10 small files in place on
// the local side, as an editor would, and is timed from the first write
// until the engine is idle again after the cycle that applied the last of
// them to the far tree (the local watcher's debounce, the cycles and the
// far agent's fsyncs included). p50-µs is the median op (the mean,
// ns/op, suffers from a loaded machine), cycles/op counts the cycles that
// ran, cycle-µs/op the time inside them, wireB/op the bytes on the
// connection. versions=false is the same with the engine's versioning
// off: nothing archived on the far side.
func BenchmarkRunning10Edits(b *testing.B) {
	for _, versions := range []bool{true, false} {
		b.Run(fmt.Sprintf("versions=%v", versions), func(b *testing.B) { bench10Edits(b, versions) })
	}
}

// bench10Edits is one run of [BenchmarkRunning10Edits]; versions is the
// engine's versioning (on by default: every file an edit replaces on the
// far side is archived there first, and the archive made durable).
func bench10Edits(b *testing.B, versions bool) {
	f := newFixture(b)
	tr := f.transport(b)
	laptop, server := newDir(b, "laptop"), newDir(b, "server")
	const n = 10_000
	benchTree(b, laptop, n, 1024)
	benchTree(b, server, n, 1024)
	ep, err := tr.Endpoint(b.Context(), f.target(), server)
	if err != nil {
		b.Fatal(err)
	}
	lep, err := local.New(laptop)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lep.Close() })
	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: lep}, []engine.Peer{{Name: "server", Endpoint: ep}},
		engine.WithStatePath(filepath.Join(b.TempDir(), "state.db")), engine.WithVersioning(versions))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	events := runWatched(b, e)
	edit := func(run int) (int, time.Duration) {
		paths := make([]string, 10)
		for j := range paths {
			i := (run*10 + j) * 37 % n
			paths[j] = fmt.Sprintf("d%03d/f%05d.txt", i/100, i)
		}
		for j, p := range paths {
			full := filepath.Join(laptop, filepath.FromSlash(p))
			old, err := os.ReadFile(full)
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(full, append(fmt.Appendf(nil, "// edit %d.%d\n", run, j), old...), 0); err != nil {
				b.Fatal(err)
			}
		}
		return awaitAllApplied(b, events, paths)
	}
	edit(0) // the first cycle after the full rescan warms what it reads
	before := wire(tr)
	var cycles int
	var inCycles time.Duration
	run := 0
	var took []time.Duration
	for b.Loop() {
		run++
		start := time.Now()
		c, in := edit(run)
		took = append(took, time.Since(start))
		cycles += c
		inCycles += in
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(cycles)/float64(b.N), "cycles/op")
	b.ReportMetric(float64(inCycles.Microseconds())/float64(b.N), "cycle-µs/op")
	b.ReportMetric(float64(wire(tr)-before)/float64(b.N), "wireB/op")
}

// awaitAllApplied waits until cycles have applied every one of paths and
// no cycle is under way (the next event, if any, does not come within
// 50 ms), and returns the cycles that ran and the time spent in them.
func awaitAllApplied(b *testing.B, events <-chan zerosync.Event, paths []string) (int, time.Duration) {
	b.Helper()
	missing := map[string]bool{}
	for _, p := range paths {
		missing[p] = true
	}
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	busy, cycles := 0, 0
	var in time.Duration
	for {
		select {
		case ev := <-events:
			switch ev.Kind {
			case zerosync.EventCycleStart:
				busy++
			case zerosync.EventCycleEnd:
				busy--
				cycles++
				if ev.Report != nil {
					in += ev.Report.End.Sub(ev.Report.Start)
					for _, a := range ev.Report.Applied {
						delete(missing, a.Path)
					}
				}
				if len(missing) == 0 && busy <= 0 {
					return cycles, in
				}
			}
		case <-timeout.C:
			b.Fatalf("the running engine did not apply %d of %d paths within a minute", len(missing), len(paths))
		}
	}
}
