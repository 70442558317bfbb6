package ssh

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
)

// BenchmarkColdNoop is the no-op re-sync of a cold process over the
// loopback sshd, in process: each op opens a new transport (connection,
// agent), a local endpoint with its saved stat cache and the engine with
// its state file, runs one cycle over 10,000 synced files where nothing
// changed, and closes them all. ms-dial/op is the time to a working
// agent with the root open (TCP, SSH handshake, session, the user's shell
// and its start-up files, the start script, the agent's handshake),
// ms-sync/op the cycle, ms-local/op, ms-engine/op and ms-close/op opening
// the local endpoint and the engine and closing everything.
func BenchmarkColdNoop(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	laptop, server := newDir(b, "laptop"), newDir(b, "server")
	benchTree(b, laptop, 10000, 1024)
	statePath := filepath.Join(b.TempDir(), "state.db")
	cache := filepath.Join(b.TempDir(), "laptop.cache")
	var tDial, tLocal, tEngine, tSync, tClose time.Duration
	cycle := func() {
		t0 := time.Now()
		tr, err := New(append([]Option{WithSelfInstall()}, f.opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		ep, err := tr.Endpoint(ctx, f.target(), server)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		tDial += t1.Sub(t0)
		lep, err := local.New(laptop, local.WithStatCache(cache))
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		tLocal += t2.Sub(t1)
		e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: lep}, []engine.Peer{{Name: "server", Endpoint: ep}},
			engine.WithStatePath(statePath))
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		tEngine += t3.Sub(t2)
		syncOnce(b, ctx, e)
		t4 := time.Now()
		tSync += t4.Sub(t3)
		defer func() { tClose += time.Since(t4) }()
		for _, c := range []interface{ Close() error }{e, lep, ep, tr} {
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	cycle() // the first sync
	cycle() // the stat caches are saved warm
	tDial, tLocal, tEngine, tSync, tClose = 0, 0, 0, 0, 0
	for b.Loop() {
		cycle()
	}
	for _, m := range []struct {
		d    time.Duration
		name string
	}{{tDial, "dial"}, {tLocal, "local"}, {tEngine, "engine"}, {tSync, "sync"}, {tClose, "close"}} {
		b.ReportMetric(float64(m.d.Microseconds())/1000/float64(b.N), "ms-"+m.name+"/op")
	}
}
