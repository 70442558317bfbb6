package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// BenchmarkPropagationLocal is the bench's local propagation in a Go
// benchmark: a running engine (Run, both trees watched) over two
// directories of this host; each op writes one small file on the hub and
// polls the peer's copy until it holds the new content. p50-ms includes the
// watcher's quiet window; cycle-ms is the engine's cycle alone.
func BenchmarkPropagationLocal(b *testing.B) {
	e, hub, spokes := benchFanout(b, 1, WithWatch(true))
	var mu sync.Mutex
	var cycles []time.Duration
	started := make(chan struct{}, 16)
	e.observer = func(ev zerosync.Event) {
		switch ev.Kind {
		case zerosync.EventCycleStart:
			select {
			case started <- struct{}{}:
			default:
			}
		case zerosync.EventCycleEnd:
			if ev.Report != nil {
				mu.Lock()
				cycles = append(cycles, ev.Report.End.Sub(ev.Report.Start))
				mu.Unlock()
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	<-started
	time.Sleep(200 * time.Millisecond) // the first cycles and the watchers' start
	var took []time.Duration
	round := 0
	for b.Loop() {
		round++
		p := fmt.Sprintf("d%02d/f%03d.txt", round%10, round%100)
		want := fmt.Appendf(nil, "edit %d\n", round)
		dst := filepath.Join(spokes[0], filepath.FromSlash(p))
		start := time.Now()
		if err := os.WriteFile(filepath.Join(hub, filepath.FromSlash(p)), want, 0o644); err != nil {
			b.Fatal(err)
		}
		for {
			if got, err := os.ReadFile(dst); err == nil && bytes.Equal(got, want) {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s did not arrive in 10 s", p)
			}
			time.Sleep(100 * time.Microsecond)
		}
		took = append(took, time.Since(start))
		b.StopTimer()
		time.Sleep(20 * time.Millisecond) // the cycle ends, the echo settles
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	mu.Lock()
	defer mu.Unlock()
	if len(cycles) > 0 {
		slices.Sort(cycles)
		b.ReportMetric(float64(cycles[len(cycles)/2].Microseconds())/1000, "cycle-ms")
	}
}
