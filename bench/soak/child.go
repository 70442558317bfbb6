package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/remote"
)

// engineEnv names the environment variable that makes the soak program (or
// its test binary) the engine process; its value is a JSON [engineJob].
const engineEnv = "ZEROSYNC_SOAK_ENGINE"

// engineJob is what the engine process syncs. The connections to the
// spokes' agents are inherited: spoke i's is file descriptor 2+i.
type engineJob struct {
	Hub      string // the hub's root, a local directory
	HubCache string // the hub endpoint's stat cache file
	State    string // the state database
	Parallel int
	Spokes   []spokeJob
}

type spokeJob struct {
	Name string // r1, r2
	Root string // the root the agent serves
	PID  int    // the agent's process, for kill-agent faults
}

// command is one line the driver sends the engine process: run a cycle,
// suffering Fault if it is set.
type command struct {
	Cycle int
	Fault *fault `json:",omitempty"`
}

// reply is one line the engine process answers: Ready once it is up, then
// one per cycle. A process that could not start says why in Err and exits.
type reply struct {
	Ready     bool     `json:",omitempty"`
	Cycle     int      `json:",omitempty"`
	Err       string   `json:",omitempty"`
	Applied   []string `json:",omitempty"` // "r1 update d/a", in order
	Conflicts []string `json:",omitempty"` // "d/a by keep-both"
	Problems  []string `json:",omitempty"`
	Bytes     int64    `json:",omitempty"`
	// Fired is the fault that fired in this cycle and left the process
	// alive (kill-agent, cut); the process exits after this reply.
	Fired string `json:",omitempty"`
}

// isEngine reports whether this process was started as the engine.
func isEngine() bool { return os.Getenv(engineEnv) != "" }

// engineMain runs the engine process and returns its exit code: 0 when the
// driver closed its input, 3 after a fault that broke a connection (the
// driver starts everything again), 1 when it could not start.
func engineMain() int {
	var job engineJob
	out := json.NewEncoder(os.Stdout)
	fail := func(err error) int {
		out.Encode(reply{Err: err.Error()})
		fmt.Fprintln(os.Stderr, "soak engine:", err)
		return 1
	}
	if err := json.Unmarshal([]byte(os.Getenv(engineEnv)), &job); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	k := &faults{}
	hub, err := local.New(job.Hub, local.WithName("r0"), local.WithStatCache(job.HubCache), local.WithLogger(log), keepAll)
	if err != nil {
		return fail(err)
	}
	defer hub.Close()
	var peers []engine.Peer
	for i, s := range job.Spokes {
		f := os.NewFile(uintptr(3+i), s.Name)
		nc, err := net.FileConn(f) // a pollable duplicate: Close ends blocked reads
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("connection to %s: %w", s.Name, err))
		}
		uc, ok := nc.(*net.UnixConn)
		if !ok {
			return fail(fmt.Errorf("connection to %s is a %T, not a socket pair", s.Name, nc))
		}
		conn := &countConn{UnixConn: uc, spoke: i + 1, k: k}
		k.conns = append(k.conns, conn)
		k.pids = append(k.pids, s.PID)
		hctx, hcancel := context.WithTimeout(ctx, time.Minute)
		c, err := remote.Dial(hctx, conn, remote.WithName(s.Name), remote.WithLogger(log))
		hcancel()
		if err != nil {
			return fail(fmt.Errorf("dial %s: %w", s.Name, err))
		}
		defer c.Close()
		ep, err := c.Endpoint(ctx, s.Root)
		if err != nil {
			return fail(fmt.Errorf("open %s: %w", s.Name, err))
		}
		defer ep.Close()
		peers = append(peers, engine.Peer{Name: s.Name, Endpoint: ep})
	}
	e, err := engine.New(engine.Peer{Name: "r0", Endpoint: hub}, peers,
		engine.WithName("soak"),
		engine.WithStatePath(job.State),
		engine.WithParallel(job.Parallel),
		engine.WithLogger(log),
		engine.WithObserver(k.event))
	if err != nil {
		return fail(err)
	}
	defer e.Close()
	if err := out.Encode(reply{Ready: true}); err != nil {
		return 1
	}

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var cmd command
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			return fail(fmt.Errorf("command %q: %w", in.Bytes(), err))
		}
		k.arm(cmd.Fault)
		// The guards against mass deletion have their own tests; here a
		// person may empty a tree on purpose.
		e.ConfirmDeletions()
		rep, err := e.SyncOnce(ctx)
		r := reply{Cycle: cmd.Cycle, Bytes: rep.Bytes}
		r.Fired, r.Applied, r.Conflicts = k.result()
		if err != nil {
			r.Err = err.Error()
		}
		for _, p := range rep.Problems {
			r.Problems = append(r.Problems, p.Error())
		}
		if err := out.Encode(r); err != nil {
			return 1
		}
		if r.Fired != "" {
			return 3
		}
	}
	return 0
}

// faults arms one cycle's fault and fires it at its marker.
type faults struct {
	conns []*countConn
	pids  []int

	mu     sync.Mutex
	f      *fault
	events map[string]int
	bytes  [3][2]int64 // by spoke, by direction (0 read, 1 write)
	done   string      // what fired, when the process survived it
	// applied and conflicts describe the cycle's work for the driver's
	// log: "r1 update d/a", "conflict d/a with r2 by keep-both".
	applied, conflicts []string
}

func (k *faults) arm(f *fault) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.f, k.events, k.bytes, k.done = f, map[string]int{}, [3][2]int64{}, ""
	k.applied, k.conflicts = nil, nil
}

// result returns what fired in the cycle and the work it did.
func (k *faults) result() (fired string, applied, conflicts []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.done, k.applied, k.conflicts
}

// event counts an engine event and fires the fault at its marker.
func (k *faults) event(ev zerosync.Event) {
	var name string
	switch ev.Kind {
	case zerosync.EventCycleStart:
		name = evStart
	case zerosync.EventApplied:
		name = evApplied
	case zerosync.EventConflict:
		name = evConflict
	case zerosync.EventCycleEnd:
		name = evEnd
	default:
		return
	}
	k.mu.Lock()
	switch {
	case ev.Action != nil:
		side := "r0"
		if ev.Action.Side == zerosync.Theirs {
			side = ev.Peer
		}
		k.applied = append(k.applied, fmt.Sprintf("%s %s %s", side, verb(ev.Action.Op), ev.Action.Path))
	case ev.Conflict != nil:
		c := ev.Conflict
		k.conflicts = append(k.conflicts, fmt.Sprintf("%s with %s by %s, copy %q", c.Path, ev.Peer, c.Resolution.By, c.CopyPath))
	}
	k.events[name]++
	f := k.f
	hit := f != nil && f.Event == name && k.events[name] == f.Nth
	if hit {
		k.f = nil
	}
	k.mu.Unlock()
	if hit {
		k.fire(f)
	}
}

// pass counts n bytes crossing spoke's connection in direction dir and
// returns how many of them go through before the fault's marker; it fires
// the fault when the marker lies within them (after they went through, for
// a read; the caller fires it for a write, with fire, after writing the
// part that goes through).
func (k *faults) pass(spoke, dir int, n int) (int, *fault) {
	k.mu.Lock()
	defer k.mu.Unlock()
	before := k.bytes[spoke][dir]
	k.bytes[spoke][dir] += int64(n)
	f := k.f
	if f == nil || f.Event != "" || f.Spoke != spoke || (f.Dir == "read") != (dir == 0) {
		return n, nil
	}
	if before+int64(n) < f.Bytes {
		return n, nil
	}
	k.f = nil
	return int(max(f.Bytes-before, 0)), f
}

// fire carries out the fault. An engine kill does not return.
func (k *faults) fire(f *fault) {
	switch f.Action {
	case actKillEngine:
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	case actKillAgent:
		syscall.Kill(k.pids[f.Spoke-1], syscall.SIGKILL)
	case actCut:
		c := k.conns[f.Spoke-1]
		c.CloseRead()
		c.CloseWrite()
	}
	k.mu.Lock()
	k.done = f.String()
	k.mu.Unlock()
}

// verb says what an op does: create, update or remove.
func verb(op zerosync.Op) string {
	switch {
	case op.Old == nil:
		return "create"
	case op.New == nil:
		return "remove"
	}
	return "update"
}

// countConn is the connection to one spoke's agent, counting the bytes
// that cross it for the faults' markers.
type countConn struct {
	*net.UnixConn
	spoke int
	k     *faults
}

// Read cuts what it read at the marker when the fault is a cut: the rest
// never arrived. Bytes read before an agent kill were sent before it, and
// are delivered.
func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.UnixConn.Read(p)
	if n > 0 {
		if ok, f := c.k.pass(c.spoke, 0, n); f != nil {
			c.k.fire(f)
			if f.Action == actCut {
				return ok, nil
			}
		}
	}
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	ok, f := c.k.pass(c.spoke, 1, len(p))
	if f == nil {
		return c.UnixConn.Write(p)
	}
	n, err := c.UnixConn.Write(p[:ok])
	c.k.fire(f)
	if err == nil {
		var m int
		m, err = c.UnixConn.Write(p[ok:])
		n += m
	}
	return n, err
}

// agentEnv makes the program serve a spoke as its agent, on standard input
// and output, keeping every version it archives.
const agentEnv = "ZS_SOAK_AGENT"

// keepAll is the retention of every replica in a soak: no version is ever
// pruned, so the checker can find every last-written one.
var keepAll = local.WithRetention(zerosync.Retention{})

// agentMain serves a spoke until its input ends.
func agentMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := agent.Serve(ctx, os.Stdin, os.Stdout, agent.WithLogger(log), agent.WithLocalOptions(keepAll)); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "soak agent:", err)
		return 1
	}
	return 0
}

// child runs the process as the soak's engine or as a spoke's agent when it
// was started as one, and returns its exit code; ok is false otherwise.
func child() (code int, ok bool) {
	switch {
	case isEngine():
		return engineMain(), true
	case os.Getenv(agentEnv) != "":
		return agentMain(), true
	}
	return 0, false
}
