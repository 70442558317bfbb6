package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/zerosync/zerosync/agent"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// memory measures a running engine on a large tree: the time of its no-op
// cycle, and the resident memory of its process while it watches both
// trees; first with both trees local folders, then (when the ssh mode ran)
// with B reached over SSH, where the far agent's memory is read too. The
// peer figure is inotifywait -m -r on one of the trees, the watching half
// of the inotifywait + rsync loop.
func (r *runner) memory(ctx context.Context) error {
	dir := filepath.Join(r.work, "memory")
	if !r.cfg.Keep {
		defer os.RemoveAll(dir)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	var st treeStats
	for _, d := range []string{a, b} {
		start := time.Now()
		var err error
		if st, err = generate(d, r.cfg.Mem, r.cfg.Seed); err != nil {
			return err
		}
		r.logf("memory: generated %s in %v: %s", d, time.Since(start).Round(time.Millisecond), st)
	}
	r.res.Trees = append(r.res.Trees, "large tree (memory, both sides): "+st.String())
	r.quiet()

	peer := absent("inotifywait not installed")
	if _, err := exec.LookPath("inotifywait"); err == nil {
		kib, err := inotifyRSS(a)
		if err != nil {
			return err
		}
		peer = single(float64(kib)*1024, unitBytes)
	}

	sec := r.res.section("Running engine on a large tree (local folders)", "A child process runs the engine with watchers on two identical trees. Once a new file written on A has reached B, it times explicit no-op cycles, and then its VmRSS is read from /proc. Then the same engine is started again on the state it left, as a service restarted, and measured the same way.")
	if err := r.memoryRun(ctx, sec, "local", filepath.Join(dir, "state-local"), newZSSpec(a, b, "", nil), st.Entries(), peer); err != nil {
		return err
	}
	if r.ssh == nil {
		r.res.Notes = append(r.res.Notes, "The large tree over SSH was not measured: the ssh mode did not run.")
		return nil
	}
	m := &mode{name: "ssh", ssh: r.ssh, dir: dir}
	sec = r.res.section("Running engine on a large tree over SSH", "The same, with B reached through the benchmark's sshd (and its proxy): the engine's process and the zerosync agent on the far side, which watches B, each read from /proc.")
	// The trees are identical again: the local runs' two probes reached B.
	return r.memoryRun(ctx, sec, "ssh", filepath.Join(dir, "state-ssh"), newZSSpec(a, b, "", m.remote()), st.Entries()+2, peer)
}

// memoryRun runs the engine spec describes (its state in state) in a child
// process and adds the rows of mode col to sec.
func (r *runner) memoryRun(ctx context.Context, sec *section, col, state string, spec zsSpec, entries int, peer figure) error {
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	spec.State, spec.CacheA, spec.CacheB = filepath.Join(state, "zerosync.db"), filepath.Join(state, "cache-a"), filepath.Join(state, "cache-b")
	spec.Watch = true
	job := childJob{Role: "watch", Spec: spec, Noops: r.cfg.MemNoops}
	if spec.Remote != nil {
		// Over SSH a no-op cycle on 100k files still takes seconds: fewer
		// of them keep the full run within its half hour.
		job.Noops = max(1, min(job.Noops, 5))
	}
	if r.cfg.Profile != "" && r.cfg.HeapProfile {
		job.HeapProfile = filepath.Join(r.cfg.Profile, "memory-"+col+"-engine.heap.pprof")
	}
	w, err := r.watchRun(ctx, col, job, entries, true)
	if err != nil {
		return err
	}
	entries++ // the probe
	if job.HeapProfile != "" {
		r.profiles = append(r.profiles, &profileGroup{title: "memory: heap of the running engine on the large tree, " + col + " (in use after its no-op cycles)", files: []string{job.HeapProfile}, heap: true})
	}
	// A service restarted: the same engine started again on the state the
	// first one left, which it loads where the first one built it.
	job.HeapProfile = ""
	again, err := r.watchRun(ctx, col+" restarted", job, entries, false)
	if err != nil {
		return err
	}
	entries++ // its probe

	limit := 100*float64(entries) + 16<<20
	target := fmt.Sprintf("≤ 100 B per entry + 16 MiB = %s", fmtBytes(limit))
	perEntry := func(f figure) string {
		if !f.ok() || f.Value <= 16<<20 {
			return ""
		}
		return fmt.Sprintf(", %.0f B per entry above 16 MiB", (f.Value-16<<20)/float64(entries))
	}
	rep := w.rep
	noop := row{Workload: fmt.Sprintf("no-op cycle, running engine, %s entries a side", thousands(entries)), ZS: measured(rep.Noops, unitSeconds), Target: "≤ 5 ms"}
	noop.Verdict = verdictBelow(noop.ZS, 5e-3)
	r.res.stand("noop-100k", col, noop.Verdict)
	sec.Rows = append(sec.Rows, noop)
	for _, m := range []struct {
		w           watched
		what, stand string
	}{
		{w, "engine watching %s entries a side", ""},
		{again, "the same engine restarted on its state, watching %s entries a side", "restarted: "},
	} {
		mem := row{
			Workload: fmt.Sprintf("resident memory (VmRSS), "+m.what+" (%s; peak VmHWM %s; Go heap live after a collection %s)",
				thousands(entries), m.w.parts, fmtBytes(float64(m.w.hwm)*1024), fmtBytes(float64(m.w.rep.LiveHeap))),
			ZS:     single(float64(m.w.rss)*1024, unitBytes),
			Peers:  []peerFigure{{"inotifywait -m -r (one side)", peer}},
			Target: target,
		}
		mem.Verdict = verdictBelow(mem.ZS, limit) + perEntry(mem.ZS)
		sec.Rows = append(sec.Rows, mem)
		r.res.stand("rss", col, m.stand+mem.Verdict)
	}
	if spec.Remote != nil {
		ag := row{Workload: fmt.Sprintf("resident memory (VmRSS) of the far agent watching %s entries", thousands(entries)),
			Peers: []peerFigure{{"inotifywait -m -r (one side)", peer}}, Target: target}
		if w.agentErr != nil {
			ag.ZS = absent("not found: " + w.agentErr.Error())
		} else {
			ag.Workload += fmt.Sprintf(" (peak VmHWM %s)", fmtBytes(float64(w.agentHWM)*1024))
			ag.ZS = single(float64(w.agentRSS)*1024, unitBytes)
		}
		ag.Verdict = verdictBelow(ag.ZS, limit) + perEntry(ag.ZS)
		r.res.stand("rss-agent", col, ag.Verdict)
		sec.Rows = append(sec.Rows, ag)
	}
	cpu := row{Workload: "no-op cycle, running engine: CPU time of the engine's process a cycle", ZS: single(rep.CPU/float64(len(rep.Noops)), unitSeconds), Target: "—"}
	if spec.Remote != nil {
		cpu.Peers = []peerFigure{{"the far agent's CPU time a cycle (clock ticks of 10 ms, over all cycles)", w.agentCPU}}
		sec.Rows = append(sec.Rows, cpu, row{Workload: "no-op cycle, running engine: bytes on the wire a cycle (both ways, SSH framing included)", ZS: single(w.wire, unitBytes), Target: "—"})
	} else {
		sec.Rows = append(sec.Rows, cpu)
	}
	return nil
}

// watched is what one run of the engine on the large tree measured: its
// no-op cycles, its resident memory and peak (KiB) and, over SSH, the
// far agent's, and what a no-op cycle cost beyond the engine's process.
type watched struct {
	rep                childReport
	rss, hwm           int64
	parts              string // what the resident set is made of
	agentRSS, agentHWM int64
	agentErr           error
	wire               float64
	agentCPU           figure
}

// watchRun runs job, an engine watching the large tree, in a child
// process named col in the log: once its first cycle ended, a new file
// written on A must reach B; then it times the no-op cycles, and reads
// the memory of the engine and, with agent, what the far agent used.
func (r *runner) watchRun(ctx context.Context, col string, job childJob, entries int, agent bool) (watched, error) {
	c, err := startChild(job)
	if err != nil {
		return watched{}, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.cmd.Process.Kill()
			c.stop()
		}
	}()
	stopOnCancel := context.AfterFunc(ctx, func() { _ = c.cmd.Process.Kill() })
	defer stopOnCancel()
	start := time.Now()
	if _, err := c.next("running"); err != nil {
		return watched{}, err
	}
	r.logf("memory: %s: the engine's first cycle over %s entries a side took %v", col, thousands(entries), time.Since(start).Round(time.Millisecond))
	a, b := job.Spec.A, job.Spec.B
	agent = agent && job.Spec.Remote != nil
	// The engine watches: a new file on A reaches B.
	probe := []byte("memory probe " + col + "\n")
	name := "memory-probe-" + strings.ReplaceAll(col, " ", "-") + ".txt"
	if err := os.WriteFile(filepath.Join(a, name), probe, 0o644); err != nil {
		return watched{}, err
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		got, err := os.ReadFile(filepath.Join(b, name))
		if err == nil && bytes.Equal(got, probe) {
			break
		}
		if time.Now().After(deadline) {
			return watched{}, fmt.Errorf("the running engine did not bring a new file to B in 120 s: %s", c.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// What the no-op cycles cost beyond the engine's process: the bytes
	// through the proxy and the far agent's CPU time.
	var up0, down0 int64
	agentPID, agentTicks0 := 0, int64(0)
	if agent {
		up0, down0 = r.ssh.proxy.counts()
		if agentPID, err = findAgent(job.Spec.Remote.CacheDir); err != nil {
			return watched{}, err
		}
		if agentTicks0, err = cpuTicks(agentPID); err != nil {
			return watched{}, err
		}
	}
	if _, err := io.WriteString(c.stdin, "noops\n"); err != nil {
		return watched{}, err
	}
	var w watched
	if w.rep, err = c.next("noops"); err != nil {
		return w, err
	}
	w.agentCPU = absent("—")
	if agent {
		up, down := r.ssh.proxy.counts()
		w.wire = float64(up-up0+down-down0) / float64(len(w.rep.Noops))
		ticks, err := cpuTicks(agentPID)
		if err != nil {
			return watched{}, err
		}
		w.agentCPU = single(float64(ticks-agentTicks0)/clockTicks/float64(len(w.rep.Noops)), unitSeconds)
	}
	time.Sleep(time.Second)
	if w.rss, w.hwm, err = rssKiB(c.cmd.Process.Pid); err != nil {
		return w, err
	}
	w.parts = rssParts(c.cmd.Process.Pid)
	if agent {
		w.agentRSS, w.agentHWM, w.agentErr = agentMemory(job.Spec.Remote.CacheDir)
	}
	stopped = true
	if err := c.stop(); err != nil {
		return w, err
	}
	r.logf("memory: %s: engine VmRSS %s (%s), VmHWM %s", col, fmtBytes(float64(w.rss)*1024), w.parts, fmtBytes(float64(w.hwm)*1024))
	return w, nil
}

// clockTicks is the kernel's USER_HZ, the unit of the CPU times in
// /proc/PID/stat (100 on Linux for every architecture Go supports).
const clockTicks = 100

// cpuTicks returns the user and system CPU time of process pid, in clock
// ticks, from /proc/PID/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (which may hold spaces) start at
	// the state, field 3; utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, b)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return u + s, nil
}

// findAgent returns the process id of the zerosync agent installed in
// cacheDir: the process whose executable lies there (the largest, should
// there be several).
func findAgent(cacheDir string) (int, error) {
	pid, _, _, err := agentProc(cacheDir)
	return pid, err
}

// agentMemory returns the VmRSS and VmHWM, in KiB, of the agent [findAgent]
// finds.
func agentMemory(cacheDir string) (rss, hwm int64, err error) {
	_, rss, hwm, err = agentProc(cacheDir)
	return rss, hwm, err
}

func agentProc(cacheDir string) (apid int, rss, hwm int64, err error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, 0, err
	}
	found := false
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", p.Name(), "exe"))
		if err != nil || !strings.HasPrefix(exe, cacheDir+"/") {
			continue
		}
		// An agent that lingers after an earlier command's session serves
		// none of the running engine's (it starts its own).
		if cmd, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline")); err != nil || bytes.Contains(cmd, []byte(agent.LingererArg)) {
			continue
		}
		r, h, err := rssKiB(pid)
		if err != nil {
			continue
		}
		found = true
		if r > rss {
			apid, rss, hwm = pid, r, h
		}
	}
	if !found {
		return 0, 0, 0, fmt.Errorf("no process runs an executable in %s", cacheDir)
	}
	return apid, rss, hwm, nil
}

// inotifyRSS returns the resident memory of inotifywait -m -r watching root,
// in KiB, once its watches are set up.
func inotifyRSS(root string) (int64, error) {
	cmd := exec.Command("inotifywait", "-m", "-r", "-e", "close_write,create,delete,move,attrib", root)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	if err := waitEstablished(stderr); err != nil {
		return 0, err
	}
	time.Sleep(200 * time.Millisecond)
	rss, _, err := rssKiB(cmd.Process.Pid)
	return rss, err
}
