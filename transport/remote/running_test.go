package remote

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
)

// fullScans hides the path scans of a remote endpoint, so the engine
// rescans the far tree whole every cycle, as it did before path scans;
// every other ability stays.
type fullScans struct {
	zerosync.Endpoint
	zerosync.Watcher
	zerosync.Identifier
	zerosync.Copier
	zerosync.Archiver
	zerosync.DeltaOpener
}

func withoutPathScans(ep *Endpoint) zerosync.Endpoint {
	return fullScans{ep, ep, ep, ep, ep, ep}
}

// runningRig is an engine running (watchers and all) between a directory
// here and one behind an agent over net.Pipe, both holding the same tree.
type runningRig struct {
	e            *engine.Engine
	mine, theirs string
	cn           *conn
	agent        func() *countingEndpoint
	events       <-chan zerosync.Event
}

// newRunningRig builds the rig over the trees (filled by fill, the same
// on both sides), runs the engine until the test ends and waits until the
// far tree is watched and the full rescan its watcher asked for is done.
// With full, the engine cannot scan paths of the far tree.
func newRunningRig(t testing.TB, fill func(root string), full bool, opts ...engine.Option) *runningRig {
	t.Helper()
	tmp := t.TempDir()
	r := &runningRig{mine: filepath.Join(tmp, "mine"), theirs: filepath.Join(tmp, "theirs")}
	for _, d := range []string{r.mine, r.theirs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		fill(d)
	}
	if _, ok := t.(*testing.B); ok {
		// The trees reach the disk before the engine starts: the
		// write-back of a freshly written tree would otherwise slow the
		// fsyncs of the cycles measured.
		syscall.Sync()
	}
	var open func(context.Context, string) (zerosync.Endpoint, error)
	open, r.agent = openCounting(local.WithStatCache(filepath.Join(tmp, "agent.cache")), local.WithDebounce(time.Millisecond))
	r.cn = connect(t, open, nil)
	rep := r.cn.endpoint(t, r.theirs)
	var peer zerosync.Endpoint = rep
	if full {
		peer = withoutPathScans(rep)
	}
	lep, err := local.New(r.mine, local.WithStatCache(filepath.Join(tmp, "hub.cache")), local.WithDebounce(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lep.Close() })
	r.e, err = engine.New(engine.Peer{Name: "here", Endpoint: lep}, []engine.Peer{{Name: "there", Endpoint: peer}},
		append([]engine.Option{engine.WithStatePath(filepath.Join(tmp, "state.db"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	events, cancelEvents := r.e.Subscribe(1 << 16)
	r.events = events
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.e.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		cancelEvents()
		r.e.Close()
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ps, err := r.e.Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ps[0].Watched {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the far tree's watcher did not report ready within 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// This cycle waits for the one under way and finishes the full rescan
	// that "ready" asked for.
	if _, err := r.e.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	r.drain()
	return r
}

// drain drops the events so far.
func (r *runningRig) drain() {
	for {
		select {
		case <-r.events:
		default:
			return
		}
	}
}

// awaitApplied waits for the running engine to apply path and returns the
// report of that cycle, received as the cycle ended.
func (r *runningRig) awaitApplied(t testing.TB, path string) *zerosync.Report {
	t.Helper()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		select {
		case ev := <-r.events:
			if ev.Kind != zerosync.EventCycleEnd || ev.Report == nil {
				continue
			}
			for _, a := range ev.Report.Applied {
				if a.Path == path {
					return ev.Report
				}
			}
		case <-timeout.C:
			t.Fatalf("the running engine did not apply %q within a minute", path)
		}
	}
}

// A running engine with a watched peer behind an agent: once the watchers
// are ready, an edit on the far side reaches this side by a path scan of
// what the far watcher named, never a whole-tree scan of the far tree, and
// an edit here reaches the far side; an idle cycle scans nothing there.
func TestRunningEngineScansPathsOfRemote(t *testing.T) {
	r := newRunningRig(t, func(root string) { fillTree(t, root, 300) }, false)
	srv := r.agent()
	scans, pathScans := srv.scans.Load(), srv.pathScans.Load()
	for i := range 3 {
		data := fmt.Appendf(nil, "edit %d there\n", i)
		writeFile(t, filepath.Join(r.theirs, "d001/f00150.txt"), data, 0o644)
		r.awaitApplied(t, "d001/f00150.txt")
		expectBytes(t, filepath.Join(r.mine, "d001/f00150.txt"), data)

		data = fmt.Appendf(nil, "edit %d here\n", i)
		writeFile(t, filepath.Join(r.mine, "d002/f00250.txt"), data, 0o644)
		r.awaitApplied(t, "d002/f00250.txt")
		expectBytes(t, filepath.Join(r.theirs, "d002/f00250.txt"), data)
	}
	before := r.cn.c.Stats()
	if rep, err := r.e.SyncOnce(t.Context()); err != nil || rep.Changed() {
		t.Fatalf("an idle cycle: %v, changed %v", err, rep.Changed())
	}
	t.Logf("an idle cycle of a running engine: %d bytes on the wire", wire(r.cn.c, before))
	if got := srv.scans.Load(); got != scans {
		t.Fatalf("the far tree was scanned whole %d times after its watcher was ready", got-scans)
	}
	if got := srv.pathScans.Load(); got < pathScans+3 {
		t.Fatalf("%d path scans of the far tree for 3 edits there", got-pathScans)
	}
	sameTrees(t, r.mine, r.theirs)
}

// A safety rescan on a schedule ([engine.Every]) still scans the watched
// far tree whole.
func TestRunningEngineSafetyRescanOfRemote(t *testing.T) {
	r := newRunningRig(t, func(root string) { fillTree(t, root, 50) }, false, engine.WithSource(engine.Every(20*time.Millisecond)))
	srv := r.agent()
	scans := srv.scans.Load()
	deadline := time.Now().Add(time.Minute)
	for srv.scans.Load() < scans+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d whole-tree scans of the far tree in a minute of a 20ms schedule", srv.scans.Load()-scans)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// benchFill writes n files of 1 KiB into root, 100 to a folder.
func benchFill(b *testing.B, root string, n int) {
	content := make([]byte, 1024)
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("d%04d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		content[0], content[1], content[2] = byte(i), byte(i>>8), byte(i>>16)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%06d.txt", i)), content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRunningEngineRemote is the per-cycle cost of a running engine
// whose peer is a directory behind an agent (over net.Pipe), both trees
// watched, at 10k and 100k files: "noop" is a cycle when no watcher named
// anything, "one-edit" an edit of one file on the far side until the
// engine here applied it (the far watcher's 1 ms debounce included).
// scan=paths is the engine rescanning what the far watcher named;
// scan=full hides path scans, so the far tree is scanned whole every
// cycle, as before path scans. wire-B/op counts the bytes both ways per
// cycle, far-scans/op the whole-tree scans of the far tree per cycle,
// cpu-µs/op the CPU time of both sides (the agent runs in this process),
// and cycle-µs/op the engine's cycle alone (from its start to its report;
// its file and state fsyncs included).
func BenchmarkRunningEngineRemote(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, scan := range []string{"paths", "full"} {
			b.Run(fmt.Sprintf("files=%dk/scan=%s", n/1000, scan), func(b *testing.B) {
				r := newRunningRig(b, func(root string) { benchFill(b, root, n) }, scan == "full")
				srv := r.agent()
				b.Run("cycle=noop", func(b *testing.B) {
					s, scans, cpu := r.cn.c.Stats(), srv.scans.Load(), cpuTime(b)
					for b.Loop() {
						rep, err := r.e.SyncOnce(b.Context())
						if err != nil || rep.Changed() {
							b.Fatalf("a no-op cycle: %v, changed %v", err, rep.Changed())
						}
					}
					b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
					reportWire(b, r.cn.c, s, b.N)
					b.ReportMetric(float64(srv.scans.Load()-scans)/float64(b.N), "far-scans/op")
				})
				b.Run("cycle=one-edit", func(b *testing.B) {
					const path = "d0005/f000500.txt"
					r.drain()
					s, scans, cpu := r.cn.c.Stats(), srv.scans.Load(), cpuTime(b)
					var cycles time.Duration
					i := 0
					for b.Loop() {
						i++
						writeFile(b, filepath.Join(r.theirs, path), fmt.Appendf(nil, "edit %d", i), 0o644)
						rep := r.awaitApplied(b, path)
						cycles += time.Since(rep.Start)
					}
					b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
					reportWire(b, r.cn.c, s, b.N)
					b.ReportMetric(float64(srv.scans.Load()-scans)/float64(b.N), "far-scans/op")
					b.ReportMetric(float64(cycles.Microseconds())/float64(b.N), "cycle-µs/op")
				})
			})
		}
	}
}
