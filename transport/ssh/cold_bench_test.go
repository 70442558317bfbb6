package ssh

import (
	"context"
	"fmt"
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
// the local endpoint and the engine and closing everything. "exec" starts
// an agent for each process; "linger" reaches the agent the first one left
// (WithAgentLinger, WithLingeringAgents), as the command line does.
func BenchmarkColdNoop(b *testing.B) {
	b.Run("exec", func(b *testing.B) { coldNoop(b) })
	b.Run("linger", func(b *testing.B) { coldNoop(b, WithAgentLinger(time.Minute, b.TempDir()), WithLingeringAgents()) })
}

func coldNoop(b *testing.B, extra ...Option) {
	ctx := context.Background()
	f := newFixture(b)
	b.Cleanup(func() { f.killAgents(b) })
	laptop, server := newDir(b, "laptop"), newDir(b, "server")
	benchTree(b, laptop, 10000, 1024)
	statePath := filepath.Join(b.TempDir(), "state.db")
	cache := filepath.Join(b.TempDir(), "laptop.cache")
	var tDial, tLocal, tEngine, tSync, tClose time.Duration
	cycle := func() {
		t0 := time.Now()
		tr, err := New(append(append([]Option{WithSelfInstall()}, f.opts...), extra...)...)
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

// BenchmarkColdPeers is a cold process's one cycle with four peers, each
// a host of its own (its own sshd), nothing to do: a new transport, four
// endpoints, the engine, one cycle, all closed. "first" connects each
// endpoint before the next is made, as Endpoint does by default; "later"
// makes them with WithConnectLater, as the command line does, so they
// connect at once while the engine opens.
func BenchmarkColdPeers(b *testing.B) {
	ctx := context.Background()
	const n = 4
	fs := make([]*fixture, n)
	roots := make([]string, n)
	laptop := newDir(b, "laptop")
	benchTree(b, laptop, 100, 1024)
	for i := range fs {
		fs[i] = newFixture(b)
		roots[i] = newDir(b, fmt.Sprintf("server%d", i))
	}
	for _, mode := range []string{"first", "later"} {
		b.Run(mode, func(b *testing.B) {
			statePath := filepath.Join(b.TempDir(), "state.db")
			cycle := func() {
				// One transport takes every fixture's key and known_hosts;
				// the agent is installed once, in the first one's cache.
				var keys, known []string
				for _, f := range fs {
					keys, known = append(keys, f.srv.KeyFile), append(known, f.srv.KnownHosts)
				}
				opts := []Option{WithSelfInstall(), WithConfigFile("none"), WithAgentSocket(""),
					WithIdentityFile(keys...), WithKnownHosts(known...), WithRemoteCacheDir(fs[0].cache)}
				if mode == "later" {
					opts = append(opts, WithConnectLater())
				}
				tr, err := New(opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer tr.Close()
				var peers []engine.Peer
				for i, f := range fs {
					ep, err := tr.Endpoint(ctx, f.target(), roots[i])
					if err != nil {
						b.Fatal(err)
					}
					defer ep.Close()
					peers = append(peers, engine.Peer{Name: fmt.Sprintf("server%d", i), Endpoint: ep})
				}
				lep, err := local.New(laptop)
				if err != nil {
					b.Fatal(err)
				}
				defer lep.Close()
				e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: lep}, peers, engine.WithStatePath(statePath))
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				syncOnce(b, ctx, e)
			}
			cycle() // the first sync
			for b.Loop() {
				cycle()
			}
		})
	}
}
