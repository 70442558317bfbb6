package engine

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/remote"
)

// benchTree writes n files of 1 KiB, 100 per folder, beneath a new
// directory and returns it.
func benchTree(b *testing.B, n int) string {
	b.Helper()
	root := filepath.Join(b.TempDir(), "src")
	content := make([]byte, 1024)
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", i/100))
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
	return root
}

// remoteDir serves root from an agent over a pipe and returns the client's
// endpoint for it, closed at the end of the benchmark.
func remoteDir(b *testing.B, root string) zerosync.Endpoint {
	b.Helper()
	c1, c2 := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- remote.Serve(ctx, c2, func(ctx context.Context, root string) (zerosync.Endpoint, error) { return local.New(root) })
	}()
	cl, err := remote.Dial(ctx, c1)
	if err != nil {
		b.Fatal(err)
	}
	ep, err := cl.Endpoint(ctx, root)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ep.Close()
		cl.Close()
		cancel()
		<-served
	})
	return ep
}

// BenchmarkInitialSync10k is a first sync of 10,000 files of 1 KiB in 100
// folders into an empty directory: on this host (to=local), and behind an
// agent over a pipe (to=remote).
func BenchmarkInitialSync10k(b *testing.B) {
	src := benchTree(b, 10_000)
	for _, kind := range []string{"local", "remote"} {
		b.Run("to="+kind, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				tmp := b.TempDir()
				dst := filepath.Join(tmp, "dst")
				if err := os.Mkdir(dst, 0o755); err != nil {
					b.Fatal(err)
				}
				a, err := local.New(src)
				if err != nil {
					b.Fatal(err)
				}
				var theirs zerosync.Endpoint
				if kind == "local" {
					l, err := local.New(dst)
					if err != nil {
						b.Fatal(err)
					}
					theirs = l
				} else {
					theirs = remoteDir(b, dst)
				}
				e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: theirs}}, WithStatePath(filepath.Join(tmp, "state.db")))
				if err != nil {
					b.Fatal(err)
				}
				// Our side scanned and hashed before the clock starts: the
				// transfer is what is measured.
				if _, _, err := a.Scan(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rep, err := e.SyncOnce(context.Background())
				b.StopTimer()
				if err != nil || len(rep.Applied) != 10_100 || len(rep.Problems) > 0 {
					b.Fatalf("%v: %d applied, problems %v", err, len(rep.Applied), rep.Problems)
				}
				e.Close()
				a.Close()
				theirs.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkSync10EditsWatchedRemote10k is BenchmarkSync10EditsWatched10k
// with the peer behind an agent over a pipe: ten edits here pushed there.
func BenchmarkSync10EditsWatchedRemote10k(b *testing.B) {
	src := benchTree(b, 10_000)
	tmp := b.TempDir()
	dst := filepath.Join(tmp, "dst")
	if err := os.Mkdir(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	a, err := local.New(src, local.WithStatCache(filepath.Join(tmp, "a.cache")))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: remoteDir(b, dst)}}, WithStatePath(filepath.Join(tmp, "state.db")))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if _, err := e.SyncOnce(context.Background()); err != nil {
		b.Fatal(err)
	}
	watched(e)
	e.SyncOnce(context.Background())
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		var paths []string
		for i := range 10 {
			p := fmt.Sprintf("d%03d/f%05d.txt", i*7, i*700)
			if err := os.WriteFile(filepath.Join(src, filepath.FromSlash(p)), fmt.Appendf(nil, "edit %d of %d", round, i), 0o644); err != nil {
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
