package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
)

// reportWire reports the bytes both ways since s, per operation.
func reportWire(b *testing.B, c *Client, s Stats, ops int) {
	b.ReportMetric(float64(wire(c, s))/float64(ops), "wire-B/op")
}

// applyFiles applies n small files with 8 callers at once, as an engine's
// parallel writes do.
func applyFiles(b *testing.B, ep *Endpoint, n int) {
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				data := fmt.Appendf(nil, "content of small file number %d\n", i)
				op := zerosync.Op{Path: fmt.Sprintf("d%03d/f%05d.txt", i/100, i), New: fileEntry(data, 0o644)}
				if err := ep.Apply(b.Context(), op, bytes.NewReader(data)); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		if i%100 == 0 {
			dir := &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
			if err := ep.Apply(b.Context(), zerosync.Op{Path: fmt.Sprintf("d%03d", i/100), New: dir}, nil); err != nil {
				b.Fatal(err)
			}
		}
		work <- i
	}
	close(work)
	wg.Wait()
}

// The initial transfer of 10,000 small files: to an in-memory tree (the
// protocol's own cost) and to a directory (with the agent's atomic,
// synced writes).
func BenchmarkInitialTransfer10k(b *testing.B) {
	const n = 10_000
	b.Run("to=memory", func(b *testing.B) {
		for b.Loop() {
			tree := memory.New()
			cn := connect(b, func(context.Context, string) (zerosync.Endpoint, error) { return tree, nil }, nil)
			ep := cn.endpoint(b, "/mem")
			s := cn.c.Stats()
			applyFiles(b, ep, n)
			reportWire(b, cn.c, s, n)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
	})
	b.Run("to=local", func(b *testing.B) {
		for b.Loop() {
			cn := connect(b, openLocal, nil)
			ep := cn.endpoint(b, newRoot(b))
			s := cn.c.Stats()
			applyFiles(b, ep, n)
			reportWire(b, cn.c, s, n)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
	})
}

// A scan of an unchanged tree of 10,000 files: the agent rescans with its
// stat cache and answers with an empty diff.
func BenchmarkNoopScan10k(b *testing.B) {
	root := newRoot(b)
	makeTree(b, root, 10_000)
	cn := connect(b, openLocal, nil)
	ep := cn.endpoint(b, root)
	if _, _, err := ep.Scan(b.Context()); err != nil {
		b.Fatal(err)
	}
	s := cn.c.Stats()
	for b.Loop() {
		if _, _, err := ep.Scan(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	reportWire(b, cn.c, s, b.N)
}

// An update of a 64 MiB file with 4 KiB changed in the middle, pushed as
// a delta (Apply) and pulled as one (OpenDelta).
func BenchmarkDelta64MiB(b *testing.B) { benchDelta(b, 64<<20) }

// The bench's delta workload: 4 KiB changed in the middle of a 256 MiB
// file, pushed and pulled; wire-B/op is what rsync's bytes compare with.
func BenchmarkDelta256MiB(b *testing.B) { benchDelta(b, 256<<20) }

// benchDelta pushes and pulls an update of a file of size bytes with 4 KiB
// of random content written in its middle.
func benchDelta(b *testing.B, size int) {
	v1 := pattern(size, 1)
	v2 := bytes.Clone(v1)
	copy(v2[size/2:], pattern(4096, 2))
	versions := [2][]byte{v1, v2}
	entries := [2]*zerosync.Entry{fileEntry(v1, 0o644), fileEntry(v2, 0o644)}

	b.Run("dir=push", func(b *testing.B) {
		ep, cn, root := remoteLocal(b)
		writeFile(b, filepath.Join(root, "big"), v1, 0o644)
		b.SetBytes(int64(size))
		s := cn.c.Stats()
		i := 0
		for b.Loop() {
			op := zerosync.Op{Path: "big", Old: entries[i%2], New: entries[(i+1)%2]}
			if err := ep.Apply(b.Context(), op, bytes.NewReader(versions[(i+1)%2])); err != nil {
				b.Fatal(err)
			}
			i++
		}
		reportWire(b, cn.c, s, b.N)
	})
	b.Run("dir=pull", func(b *testing.B) {
		ep, cn, root := remoteLocal(b)
		writeFile(b, filepath.Join(root, "big"), v2, 0o644)
		b.SetBytes(int64(size))
		s := cn.c.Stats()
		for b.Loop() {
			rc, err := ep.OpenDelta(b.Context(), "big", bytes.NewReader(v1), int64(size))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
		reportWire(b, cn.c, s, b.N)
	})
}

// Reading a whole 32 MiB file over the wire, text and random, with and
// without compression.
func BenchmarkOpen32MiB(b *testing.B) {
	const size = 32 << 20
	text := textLike(size, 1)
	for _, data := range []struct {
		name string
		b    []byte
	}{{"text", text}, {"random", pattern(size, 3)}} {
		for _, comp := range []bool{true, false} {
			b.Run(fmt.Sprintf("data=%s/zstd=%v", data.name, comp), func(b *testing.B) {
				ep, cn, root := remoteLocal(b, WithCompression(comp))
				writeFile(b, filepath.Join(root, "f"), data.b, 0o644)
				b.SetBytes(size)
				s := cn.c.Stats()
				for b.Loop() {
					rc, err := ep.Open(b.Context(), "f")
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, rc); err != nil {
						b.Fatal(err)
					}
					rc.Close()
				}
				reportWire(b, cn.c, s, b.N)
			})
		}
	}
}

// Compressing one 128 KiB chunk: why the fastest level, and why a stream of
// incompressible data stops trying (a failed try costs as much as a
// successful one).
func BenchmarkCompress(b *testing.B) {
	text := textLike(chunkSize, 2)
	random := pattern(chunkSize, 4)
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1))
		if err != nil {
			b.Fatal(err)
		}
		for _, data := range []struct {
			name string
			b    []byte
		}{{"text", text}, {"random", random}} {
			b.Run(fmt.Sprintf("level=%s/data=%s", level, data.name), func(b *testing.B) {
				b.SetBytes(chunkSize)
				var out []byte
				for b.Loop() {
					out = enc.EncodeAll(data.b, out[:0])
				}
				b.ReportMetric(float64(len(out))/chunkSize, "ratio")
			})
		}
		enc.Close()
	}
}

// textLike returns n bytes of text-like data: lines of words drawn at
// random from a small vocabulary, numbers among them, which compresses
// about as well as source code or logs.
func textLike(n int, seed uint64) []byte {
	words := strings.Fields("the a of to and in is it that for on with as was be at by this from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three")
	b := make([]byte, 0, n+16)
	r := pattern(n, seed)
	for i := 0; len(b) < n; i++ {
		b = append(b, words[int(r[i%len(r)])%len(words)]...)
		switch r[(i+1)%len(r)] % 16 {
		case 0:
			b = append(b, '\n')
		case 1:
			b = fmt.Appendf(b, " %d ", int(r[(i+2)%len(r)])*97)
		default:
			b = append(b, ' ')
		}
	}
	return b[:n]
}
