package ssh

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
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

// benchTree writes n files of size bytes in directories of 100.
func benchTree(b *testing.B, root string, n, size int) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, size)
	for i := range n {
		for j := range buf {
			buf[j] = byte('a' + r.IntN(26))
		}
		writeFile(b, root, fmt.Sprintf("d%03d/f%05d.txt", i/100, i), buf)
	}
}

// wire returns the bytes that crossed the transport's connections.
func wire(tr *Transport) int64 {
	st := tr.Stats()
	return st.Sent + st.Received
}

func benchEngine(b *testing.B, laptop string, ep zerosync.Endpoint) *engine.Engine {
	b.Helper()
	lep, err := local.New(laptop)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lep.Close() })
	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: lep}, []engine.Peer{{Name: "server", Endpoint: ep}},
		engine.WithStatePath(filepath.Join(b.TempDir(), "state.db")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// BenchmarkInitialSync10k: the first sync of 10,000 files of 1 KiB from a
// local folder to an empty folder, over the loopback sshd ("ssh") and, as
// the baseline, between two local folders ("local"). Every file is
// written atomically (temp file, fsync, rename, directory fsync) either
// way.
func BenchmarkInitialSync10k(b *testing.B) {
	for _, kind := range []string{"ssh", "local"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			var tr *Transport
			var f *fixture
			if kind == "ssh" {
				f = newFixture(b)
				tr = f.transport(b)
			}
			laptop := newDir(b, "laptop")
			benchTree(b, laptop, 10000, 1024)
			var bytes int64
			for b.Loop() {
				b.StopTimer()
				server := newDir(b, "server")
				var peer interface{ Close() error }
				var e *engine.Engine
				var before int64
				if kind == "ssh" {
					ep, err := tr.Endpoint(ctx, f.target(), server)
					if err != nil {
						b.Fatal(err)
					}
					peer, e, before = ep, benchEngine(b, laptop, ep), wire(tr)
				} else {
					ep, err := local.New(server)
					if err != nil {
						b.Fatal(err)
					}
					peer, e = ep, benchEngine(b, laptop, ep)
				}
				b.StartTimer()
				syncOnce(b, ctx, e)
				b.StopTimer()
				if tr != nil {
					bytes += wire(tr) - before
				}
				e.Close()
				peer.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "wireMiB/op")
		})
	}
}

// BenchmarkNoopCycle: a cycle over 10,000 synced files where nothing
// changed.
func BenchmarkNoopCycle(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	tr := f.transport(b)
	laptop, server := newDir(b, "laptop"), newDir(b, "server")
	benchTree(b, laptop, 10000, 1024)
	ep, err := tr.Endpoint(ctx, f.target(), server)
	if err != nil {
		b.Fatal(err)
	}
	e := benchEngine(b, laptop, ep)
	syncOnce(b, ctx, e)
	syncOnce(b, ctx, e) // the stat caches are warm
	before := wire(tr)
	for b.Loop() {
		if rep := syncOnce(b, ctx, e); rep.Changed() {
			b.Fatal("a no-op cycle changed something")
		}
	}
	b.ReportMetric(float64(wire(tr)-before)/float64(b.N), "wireB/op")
}

// BenchmarkChange4KiBIn256MiB: 4 KiB rewritten in the middle of a 256 MiB
// file, then a cycle; "push" edits the local copy, "pull" the remote one.
// wireB/op is what crossed the connection per cycle.
func BenchmarkChange4KiBIn256MiB(b *testing.B) {
	for _, dir := range []string{"push", "pull"} {
		b.Run(dir, func(b *testing.B) {
			ctx := context.Background()
			f := newFixture(b)
			tr := f.transport(b)
			laptop, server := newDir(b, "laptop"), newDir(b, "server")
			big := make([]byte, 256<<20)
			r := rand.New(rand.NewPCG(3, 4))
			for i := 0; i < len(big); i += 8 {
				v := r.Uint64()
				for j := range 8 {
					big[i+j] = byte(v >> (8 * j))
				}
			}
			writeFile(b, laptop, "big.bin", big)
			ep, err := tr.Endpoint(ctx, f.target(), server)
			if err != nil {
				b.Fatal(err)
			}
			e := benchEngine(b, laptop, ep)
			syncOnce(b, ctx, e)
			edited := laptop
			if dir == "pull" {
				edited = server
			}
			patch := make([]byte, 4096)
			var bytes int64
			for b.Loop() {
				b.StopTimer()
				for j := range patch {
					patch[j] = byte(r.Uint32())
				}
				fh, err := os.OpenFile(filepath.Join(edited, "big.bin"), os.O_WRONLY, 0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := fh.WriteAt(patch, int64(r.IntN(len(big)-len(patch)))); err != nil {
					b.Fatal(err)
				}
				fh.Close()
				before := wire(tr)
				b.StartTimer()
				if rep := syncOnce(b, ctx, e); len(rep.Applied) != 1 {
					b.Fatalf("applied %v", rep.Applied)
				}
				b.StopTimer()
				bytes += wire(tr) - before
				b.StartTimer()
			}
			b.ReportMetric(float64(bytes)/float64(b.N), "wireB/op")
		})
	}
}

// BenchmarkCipher: raw throughput of a session through the loopback sshd
// with each preferred cipher (the data goes to cat > /dev/null).
func BenchmarkCipher(b *testing.B) {
	for _, aes := range []bool{true, false} {
		name := ciphers(aes)[0]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			f := newFixture(b)
			tr := f.transport(b)
			tr.hasAESGCM = aes
			hc, err := tr.cfg.resolve(nil, f.target())
			if err != nil {
				b.Fatal(err)
			}
			c, _, err := tr.dial(ctx, hc)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			chunk := make([]byte, 64<<20)
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				sess, err := c.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				w, err := sess.StdinPipe()
				if err != nil {
					b.Fatal(err)
				}
				if err := sess.Start("cat > /dev/null"); err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(chunk); err != nil {
					b.Fatal(err)
				}
				w.Close()
				if err := sess.Wait(); err != nil && err != io.EOF {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuTime is the CPU time this process (the hub: the agent runs on the
// far side of sshd) has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRunningCycle is the per-cycle cost of a running engine (both
// trees watched) with a peer over the loopback sshd, at 10k and 100k files
// of 1 KiB: "noop" is a cycle when no watcher named anything, "one-edit"
// an edit of one file on the far side until the engine here applied it
// (the far watcher's debounce included; cycle-µs/op is the engine's cycle
// alone, from its start to its report). wireB/op counts the bytes that
// crossed the TCP connection per cycle, hub-cpu-µs/op the CPU time of
// this process per cycle. BenchmarkNoopCycle is the same
// no-op without watchers, every tree scanned whole.
func BenchmarkRunningCycle(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("files=%dk", n/1000), func(b *testing.B) {
			f := newFixture(b)
			tr := f.transport(b)
			laptop, server := newDir(b, "laptop"), newDir(b, "server")
			benchTree(b, laptop, n, 1024)
			benchTree(b, server, n, 1024) // the same content: nothing to move
			syscall.Sync()                // no write-back of the trees under the cycles
			ep, err := tr.Endpoint(context.Background(), f.target(), server)
			if err != nil {
				b.Fatal(err)
			}
			e := benchEngine(b, laptop, ep)
			events := runWatched(b, e)
			b.Run("cycle=noop", func(b *testing.B) {
				before, cpu := wire(tr), cpuTime(b)
				for b.Loop() {
					if rep := syncOnce(b, b.Context(), e); rep.Changed() {
						b.Fatal("a no-op cycle changed something")
					}
				}
				b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "hub-cpu-µs/op")
				b.ReportMetric(float64(wire(tr)-before)/float64(b.N), "wireB/op")
			})
			b.Run("cycle=one-edit", func(b *testing.B) {
				const path = "d005/f00500.txt"
				drainEvents(events)
				before, cpu := wire(tr), cpuTime(b)
				var cycles time.Duration
				i := 0
				for b.Loop() {
					i++
					writeFile(b, server, path, fmt.Appendf(nil, "edit %d", i))
					rep := awaitApplied(b, events, path)
					cycles += time.Since(rep.Start)
				}
				b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "hub-cpu-µs/op")
				b.ReportMetric(float64(wire(tr)-before)/float64(b.N), "wireB/op")
				b.ReportMetric(float64(cycles.Microseconds())/float64(b.N), "cycle-µs/op")
			})
		})
	}
}

// runWatched runs e until the benchmark ends, waits until its peer's tree
// is watched and the full rescan its watcher asked for is done, and
// returns the engine's events from then on.
func runWatched(b *testing.B, e *engine.Engine) <-chan zerosync.Event {
	b.Helper()
	events, cancelEvents := e.Subscribe(1 << 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.Run(ctx) })
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		cancelEvents()
	})
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ps, err := e.Peers(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if ps[0].Watched {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the far tree's watcher did not report ready within 5 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	syncOnce(b, ctx, e) // waits for the cycle under way; the full rescan "ready" asked for
	drainEvents(events)
	return events
}

func drainEvents(events <-chan zerosync.Event) {
	for {
		select {
		case <-events:
		default:
			return
		}
	}
}

// awaitApplied waits for a cycle that applied path and returns its
// report, received as the cycle ended.
func awaitApplied(b *testing.B, events <-chan zerosync.Event, path string) *zerosync.Report {
	b.Helper()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		select {
		case ev := <-events:
			if ev.Kind != zerosync.EventCycleEnd || ev.Report == nil {
				continue
			}
			for _, a := range ev.Report.Applied {
				if a.Path == path {
					return ev.Report
				}
			}
		case <-timeout.C:
			b.Fatalf("the running engine did not apply %q within a minute", path)
		}
	}
}
