package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	for b.Loop() {
		rep, err := e.SyncOnce(context.Background())
		if err != nil || rep.Changed() {
			b.Fatal(err, rep.Changed())
		}
	}
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
func BenchmarkSync10EditsWatched10k(b *testing.B) {
	e, da, _ := benchPair(b, 10_000)
	watched(e)
	e.SyncOnce(context.Background())
	round := 0
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
		}
		e.ours.hint(zerosync.Hint{Paths: paths})
		b.StartTimer()
		rep, err := e.SyncOnce(context.Background())
		if err != nil || len(rep.Applied) != 10 {
			b.Fatalf("%v: %d applied", err, len(rep.Applied))
		}
	}
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
