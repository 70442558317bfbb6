package control_test

import (
	"fmt"
	"testing"

	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// benchDaemon serves a running engine over two in-memory trees of n files.
func benchDaemon(b *testing.B, n int) *daemon {
	a, m := memory.New(), memory.New()
	for i := range n {
		a.WriteFile(fmt.Sprintf("d%02d/f%04d", i%50, i), []byte("content"), 0o644)
	}
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: m}},
		engine.WithName("ctl"), engine.WithVolatileState(), engine.WithWatch(false))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	d := &daemon{e: e}
	d.serve(b)
	return d
}

// BenchmarkStatus: one status request over the socket.
func BenchmarkStatus(b *testing.B) {
	d := benchDaemon(b, 1000)
	for b.Loop() {
		if _, err := d.c.Status(bg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlush: a flush of 1,000 files in sync: the request, a full
// cycle in the running engine, and its report.
func BenchmarkFlush(b *testing.B) {
	d := benchDaemon(b, 1000)
	if _, err := d.c.Flush(bg); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := d.c.Flush(bg); err != nil {
			b.Fatal(err)
		}
	}
}
