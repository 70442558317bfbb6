//go:build linux

package local

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

// tree10k writes 10,000 files of about 1 KiB in 110 nested directories,
// modified an hour ago (so the stat cache trusts them at once).
func tree10k(b *testing.B) string {
	b.Helper()
	root := newRoot(b)
	past := time.Now().Add(-time.Hour)
	body := bytes.Repeat([]byte("0123456789abcdef"), 64)
	for i := range 10_000 {
		p := filepath.Join(root, fmt.Sprintf("top%02d", i%10), fmt.Sprintf("mid%02d", i/10%10), fmt.Sprintf("file%05d.txt", i))
		copy(body, fmt.Sprintf("%08d", i))
		writeFile(b, p, body, 0o644)
		must(b, os.Chtimes(p, past, past))
	}
	return root
}

func BenchmarkScan10k(b *testing.B) {
	root := tree10k(b)
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			e, err := New(root) // a new process: empty cache
			must(b, err)
			s, _, err := e.Scan(b.Context())
			must(b, err)
			if len(s) != 10_110 {
				b.Fatalf("scanned %d entries", len(s))
			}
			e.Close()
		}
	})
	b.Run("warm", func(b *testing.B) {
		e, err := New(root)
		must(b, err)
		defer e.Close()
		_, _, err = e.Scan(b.Context())
		must(b, err)
		before := e.hashed.Load()
		for b.Loop() {
			s, _, err := e.Scan(b.Context())
			must(b, err)
			if len(s) != 10_110 {
				b.Fatalf("scanned %d entries", len(s))
			}
		}
		if e.hashed.Load() != before {
			b.Fatalf("warm scans hashed %d files", e.hashed.Load()-before)
		}
	})
	b.Run("warm-from-file", func(b *testing.B) {
		cache := filepath.Join(b.TempDir(), "statcache")
		e, err := New(root, WithStatCache(cache))
		must(b, err)
		_, _, err = e.Scan(b.Context())
		must(b, err)
		must(b, e.Close())
		for b.Loop() {
			e, err := New(root, WithStatCache(cache)) // a new process, warm
			must(b, err)
			_, _, err = e.Scan(b.Context())
			must(b, err)
			if e.hashed.Load() != 0 {
				b.Fatalf("hashed %d files", e.hashed.Load())
			}
			e.Close()
		}
	})
}

func BenchmarkApplySmall(b *testing.B) {
	e, root := newEndpoint(b)
	must(b, os.Mkdir(filepath.Join(root, "d"), 0o755))
	data := bytes.Repeat([]byte("x"), 4096)
	want := fileEntry(data, 0o644)
	r := bytes.NewReader(data)
	i := 0
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r.Reset(data)
		if err := e.Apply(b.Context(), zerosync.Op{Path: fmt.Sprintf("d/f%d", i), New: want}, r); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkApplyLarge replaces a 64 MiB file, durably: read, hash, write
// and fsync, the last step of a delta's rebuild on an agent.
func BenchmarkApplyLarge(b *testing.B) {
	e, root := newEndpoint(b)
	const size = 64 << 20
	versions := [2][]byte{bytes.Repeat([]byte("0123456789abcdef"), size/16), bytes.Repeat([]byte("fedcba9876543210"), size/16)}
	entries := [2]*zerosync.Entry{fileEntry(versions[0], 0o644), fileEntry(versions[1], 0o644)}
	must(b, os.WriteFile(filepath.Join(root, "big"), versions[0], 0o644))
	b.SetBytes(size)
	i := 0
	for b.Loop() {
		op := zerosync.Op{Path: "big", Old: entries[i%2], New: entries[(i+1)%2]}
		if err := e.Apply(b.Context(), op, bytes.NewReader(versions[(i+1)%2])); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkApplyFiles compares ways of writing 1,000 files of 1 KiB into
// 10 directories, durably: Apply one at a time, Apply from 8 goroutines
// (what the engine does without batches), and ApplyBatch made durable by
// one syncfs or by an fsync of each file, 8 at once.
func BenchmarkApplyFiles(b *testing.B) {
	const n = 1000
	body := bytes.Repeat([]byte("0123456789abcdef"), 64)
	ops := func(round int) []zerosync.BatchOp {
		out := make([]zerosync.BatchOp, n)
		for i := range out {
			data := append([]byte(fmt.Sprintf("%08d %08d", round, i)), body...)
			out[i] = zerosync.BatchOp{Op: zerosync.Op{Path: fmt.Sprintf("d%d/f%04d", i%10, i), New: fileEntry(data, 0o644)}, Content: bytes.NewReader(data)}
		}
		return out
	}
	run := func(b *testing.B, apply func(e *Endpoint, ops []zerosync.BatchOp)) {
		round := 0
		for b.Loop() {
			b.StopTimer()
			e, root := newEndpoint(b)
			for d := range 10 {
				must(b, os.Mkdir(filepath.Join(root, fmt.Sprintf("d%d", d)), 0o755))
			}
			round++
			o := ops(round)
			b.StartTimer()
			apply(e, o)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/file")
	}
	b.Run("apply", func(b *testing.B) {
		run(b, func(e *Endpoint, ops []zerosync.BatchOp) {
			for _, o := range ops {
				must(b, e.Apply(b.Context(), o.Op, o.Content))
			}
		})
	})
	b.Run("apply-parallel", func(b *testing.B) {
		run(b, func(e *Endpoint, ops []zerosync.BatchOp) {
			next := make(chan zerosync.BatchOp)
			done := make(chan error, 8)
			for range 8 {
				go func() {
					var first error
					for o := range next {
						if err := e.Apply(b.Context(), o.Op, o.Content); err != nil && first == nil {
							first = err
						}
					}
					done <- first
				}()
			}
			for _, o := range ops {
				next <- o
			}
			close(next)
			for range 8 {
				must(b, <-done)
			}
		})
	})
	batch := func(b *testing.B, min int) {
		old := syncfsMin
		syncfsMin = min
		defer func() { syncfsMin = old }()
		run(b, func(e *Endpoint, ops []zerosync.BatchOp) {
			for _, err := range e.ApplyBatch(b.Context(), ops) {
				must(b, err)
			}
		})
	}
	b.Run("batch-syncfs", func(b *testing.B) { batch(b, 1) })
	b.Run("batch-fsync", func(b *testing.B) { batch(b, 1<<30) })
}

// BenchmarkReplaceArchived10 is the far side of "10 small edits": one
// batch replacing 10 files of 16 KiB in 10 directories, each archived
// first, as the engine sends it with versioning on. µs/batch-step gives
// the time to each step of the batch.
func BenchmarkReplaceArchived10(b *testing.B) {
	e, root := newEndpoint(b)
	const n = 10
	body := bytes.Repeat([]byte("0123456789abcdef"), 1024)
	cur := make([][]byte, n)
	for i := range n {
		must(b, os.Mkdir(filepath.Join(root, fmt.Sprintf("d%d", i)), 0o755))
		cur[i] = append([]byte(fmt.Sprintf("%08d %08d", 0, i)), body...)
		must(b, os.WriteFile(filepath.Join(root, fmt.Sprintf("d%d/f", i)), cur[i], 0o644))
	}
	steps := map[string]time.Duration{}
	var start time.Time
	e.onBatchStep = func(step string) { steps[step] += time.Since(start) }
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		ops := make([]zerosync.BatchOp, n)
		next := make([][]byte, n)
		for i := range ops {
			next[i] = append([]byte(fmt.Sprintf("%08d %08d", round, i)), body...)
			ops[i] = zerosync.BatchOp{Op: zerosync.Op{Path: fmt.Sprintf("d%d/f", i), Old: fileEntry(cur[i], 0o644), New: fileEntry(next[i], 0o644), Archive: true},
				Content: bytes.NewReader(next[i])}
		}
		unix.Sync()
		b.StartTimer()
		start = time.Now()
		for _, err := range e.ApplyBatch(b.Context(), ops) {
			must(b, err)
		}
		cur = next
	}
	for step, d := range steps {
		b.ReportMetric(float64(d.Microseconds())/float64(b.N), "µs/"+step)
	}
}

// BenchmarkReplaceArchived1 is the far side of one edit with a running
// engine: Apply replacing a file of 1 KiB two folders deep, archived
// first, durably. µs/visible is the time until the new content is in
// place (the rename), which a reader on that host sees.
func BenchmarkReplaceArchived1(b *testing.B) {
	e, root := newEndpoint(b)
	must(b, os.MkdirAll(filepath.Join(root, "src", "pkg"), 0o755))
	const path = "src/pkg/notes.txt"
	cur := []byte("version 0\n")
	must(b, os.WriteFile(filepath.Join(root, filepath.FromSlash(path)), cur, 0o644))
	var visible time.Duration
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		next := fmt.Appendf(nil, "version %d\n%s", round, bytes.Repeat([]byte("x"), 1024))
		op := zerosync.Op{Path: path, Old: fileEntry(cur, 0o644), New: fileEntry(next, 0o644), Archive: true}
		unix.Sync()
		b.StartTimer()
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path))); err == nil && bytes.Equal(got, next) {
					visible += time.Since(start)
					return
				}
				time.Sleep(50 * time.Microsecond)
			}
		}()
		must(b, e.Apply(b.Context(), op, bytes.NewReader(next)))
		<-done
		cur = next
	}
	b.ReportMetric(float64(visible.Microseconds())/float64(b.N), "µs/visible")
}
