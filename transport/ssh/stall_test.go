package ssh

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/remote"
)

// The agent deadlines of the stall tests: short, so the tests end soon.
const (
	stallInterval = 200 * time.Millisecond
	stallTimeout  = 2 * time.Second
)

// stopAgent stops the only agent of the fixture with SIGSTOP, as a process
// stuck on a hung disk or frozen by a debugger: its SSH connection stays
// healthy (sshd answers keepalives), only the agent's own deadlines can
// tell. The agent is killed, by its pid, when the test ends.
func stopAgent(t *testing.T, f *fixture) {
	t.Helper()
	pids := f.agentPIDs(t)
	if len(pids) != 1 {
		t.Fatalf("%d agents running, want 1", len(pids))
	}
	pid := pids[0]
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
}

// stalledCycle runs a cycle against a stalled agent. It must fail because
// of the agent deadline, well before the bound of its context (which
// would mean no deadline fired), with an error wrapping ErrDisconnected
// and remote.ErrStalled, as an error or as a problem.
func stalledCycle(t *testing.T, ctx context.Context, sync func(context.Context) (zerosync.Report, error)) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*stallTimeout)
	defer cancel()
	start := time.Now()
	rep, err := sync(ctx)
	elapsed := time.Since(start)
	errs := []error{err}
	for _, p := range rep.Problems {
		errs = append(errs, p.Err)
	}
	for _, e := range errs {
		if errors.Is(e, remote.ErrStalled) && errors.Is(e, ErrDisconnected) {
			t.Logf("the cycle failed after %v (deadline %v): %v", elapsed, stallTimeout, e)
			return elapsed
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("the stalled agent was not dropped: the cycle ran until its context ended after %v (err=%v problems=%v)", elapsed, err, rep.Problems)
	}
	t.Fatalf("the cycle did not fail on the agent deadline: err=%v problems=%v", err, rep.Problems)
	return 0
}

// TestStalledAgentReconnects: the agent stops while the engine waits on it
// (idle, then in the middle of a large download). The stalled session is
// dropped by the agent deadline, with its SSH connection, the cycle fails
// saying so, and the next cycle reconnects to a healthy agent and
// converges.
func TestStalledAgentReconnects(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		ctx := testContext(t)
		f := newFixture(t)
		tr := f.transport(t, WithAgentKeepalive(stallInterval, stallTimeout))
		laptop, server := newDir(t, "laptop"), newDir(t, "server")
		writeFile(t, laptop, "a.txt", []byte("a"))
		ep, err := tr.Endpoint(ctx, f.target(), server)
		if err != nil {
			t.Fatal(err)
		}
		e := syncPair(t, laptop, ep, filepath.Join(t.TempDir(), "state.db"))
		syncOnce(t, ctx, e)

		stopAgent(t, f)
		writeFile(t, laptop, "b.txt", []byte("b"))
		stalledCycle(t, ctx, e.SyncOnce)

		syncOnce(t, ctx, e)
		sameTrees(t, laptop, server)
		// The stalled agent took its connection with it.
		if st := tr.Stats(); st.Dials != 2 || st.Agents != 2 || st.Reconnects != 1 || st.Uploads != 1 {
			t.Errorf("stats %+v, want a second dial and agent, one reconnect, one upload", st)
		}
	})
	t.Run("mid-download", func(t *testing.T) {
		ctx := testContext(t)
		f, p, tr, target := proxied(t, WithAgentKeepalive(stallInterval, stallTimeout))
		laptop, server := newDir(t, "laptop"), newDir(t, "server")
		big := randomBytes(t, 32<<20)
		writeFile(t, server, "big.bin", big)
		ep, err := tr.Endpoint(ctx, target, server)
		if err != nil {
			t.Fatal(err)
		}
		e := syncPair(t, laptop, ep, filepath.Join(t.TempDir(), "state.db"))

		// Slow the wire so the download is surely under way when the
		// agent stops.
		p.rate.Store(8 << 20)
		done := make(chan struct{})
		go func() {
			defer close(done)
			stalledCycle(t, ctx, e.SyncOnce)
		}()
		waitFor(t, "the download to start", func() bool { return len(tempFiles(laptop)) > 0 })
		stopAgent(t, f)
		<-done
		p.rate.Store(0)
		assertWhole(t, laptop, "big.bin", big)

		syncOnce(t, ctx, e)
		sameTrees(t, laptop, server)
		if temps := tempFiles(laptop); len(temps) > 0 {
			t.Errorf("temp files left: %v", temps)
		}
		// The stalled agent took its connection with it.
		if st := tr.Stats(); st.Dials != 2 || st.Agents != 2 || st.Reconnects != 1 || st.Uploads != 1 {
			t.Errorf("stats %+v, want a second dial and agent, one reconnect, one upload", st)
		}
	})
}

// The endpoint tells where its root is without I/O, and reads and marks
// the root's identity through the agent.
func TestEndpointIdentity(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	tr := f.transport(t)
	server := newDir(t, "server")
	ep, err := tr.Endpoint(ctx, f.target(), server)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ep.Location(), (zerosync.Location{Host: f.target(), Path: server}); got != want {
		t.Fatalf("location %+v, want %+v", got, want)
	}
	id, err := ep.RootID(ctx)
	if err != nil || id.Replica != "" || id.Filesystem == "" {
		t.Fatalf("identity of an unmarked root: %+v, %v", id, err)
	}
	marked, err := ep.MarkRoot(ctx)
	if err != nil || zerosync.CheckReplicaID(marked.Replica) != nil || marked.Filesystem != id.Filesystem {
		t.Fatalf("marked: %+v, %v", marked, err)
	}
	if again, err := ep.RootID(ctx); err != nil || again != marked {
		t.Fatalf("identity after marking: %+v, %v; want %+v", again, err, marked)
	}
}

func TestAgentKeepaliveOption(t *testing.T) {
	base := []Option{WithConfigFile("none"), WithKnownHosts(filepath.Join(t.TempDir(), "known_hosts"))}
	for _, c := range []struct {
		interval, timeout time.Duration
		ok                bool
	}{
		{time.Second, 5 * time.Second, true},
		{0, 0, true},
		{5 * time.Second, 5 * time.Second, false},
		{0, time.Second, false},
		{-time.Second, time.Second, false},
		{time.Second, 48 * time.Hour, false},
	} {
		tr, err := New(append(base, WithAgentKeepalive(c.interval, c.timeout))...)
		if (err == nil) != c.ok {
			t.Errorf("WithAgentKeepalive(%v, %v): %v", c.interval, c.timeout, err)
		}
		if err == nil {
			tr.Close()
		}
	}
}
