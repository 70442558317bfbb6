//go:build linux

package local

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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
