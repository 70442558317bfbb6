package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// memory measures a running engine on a large tree of local folders: the
// time of its no-op cycle, and the resident memory of its process while it
// watches both trees. The peer figure is inotifywait -m -r on one of the
// trees, the watching half of the inotifywait + rsync loop.
func (r *runner) memory(ctx context.Context) error {
	sec := r.res.section("Running engine on a large tree (local folders)", "A child process runs the engine with watchers on two identical trees. Once a new file written on A has reached B, it times explicit no-op cycles, and then its VmRSS is read from /proc.")
	dir := filepath.Join(r.work, "memory")
	if !r.cfg.Keep {
		defer os.RemoveAll(dir)
	}
	a, b, state := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "state")
	var st treeStats
	for _, d := range []string{a, b} {
		start := time.Now()
		var err error
		if st, err = generate(d, r.cfg.Mem, r.cfg.Seed); err != nil {
			return err
		}
		r.logf("memory: generated %s in %v: %s", d, time.Since(start).Round(time.Millisecond), st)
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	r.res.Trees = append(r.res.Trees, "large tree (memory, both sides): "+st.String())
	r.quiet()

	spec := newZSSpec(a, b, state, nil)
	spec.Watch = true
	job := childJob{Role: "watch", Spec: spec, Noops: r.cfg.MemNoops}
	if r.cfg.Profile != "" {
		job.HeapProfile = filepath.Join(r.cfg.Profile, "memory-engine.heap.pprof")
	}
	c, err := startChild(job)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.cmd.Process.Kill()
			c.stop()
		}
	}()
	start := time.Now()
	if _, err := c.next("running"); err != nil {
		return err
	}
	r.logf("memory: the engine's first cycle over %s entries a side took %v", thousands(st.Entries()), time.Since(start).Round(time.Millisecond))
	// The engine watches: a new file on A reaches B.
	probe := []byte("memory probe\n")
	if err := os.WriteFile(filepath.Join(a, "memory-probe.txt"), probe, 0o644); err != nil {
		return err
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		got, err := os.ReadFile(filepath.Join(b, "memory-probe.txt"))
		if err == nil && bytes.Equal(got, probe) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the running engine did not bring a new file to B in 120 s: %s", c.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := io.WriteString(c.stdin, "noops\n"); err != nil {
		return err
	}
	rep, err := c.next("noops")
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	rss, hwm, err := rssKiB(c.cmd.Process.Pid)
	if err != nil {
		return err
	}
	stopped = true
	if err := c.stop(); err != nil {
		return err
	}
	r.logf("memory: engine VmRSS %s, VmHWM %s", fmtBytes(float64(rss)*1024), fmtBytes(float64(hwm)*1024))
	if job.HeapProfile != "" {
		r.profiles = append(r.profiles, &profileGroup{title: "memory: heap of the running engine on the large tree (in use after its no-op cycles)", files: []string{job.HeapProfile}, heap: true})
	}

	peer := absent("inotifywait not installed")
	if _, err := exec.LookPath("inotifywait"); err == nil {
		kib, err := inotifyRSS(a)
		if err != nil {
			return err
		}
		peer = single(float64(kib)*1024, unitBytes)
	}

	entries := st.Entries() + 1 // the probe
	limit := 100*float64(entries) + 16<<20
	noop := row{Workload: fmt.Sprintf("no-op cycle, running engine, %s entries a side", thousands(entries)), ZS: measured(rep.Noops, unitSeconds), Target: "≤ 5 ms"}
	noop.Verdict = verdictBelow(noop.ZS, 5e-3)
	mem := row{
		Workload: fmt.Sprintf("resident memory (VmRSS), engine watching %s entries a side (peak VmHWM %s; Go heap live after a collection %s)",
			thousands(entries), fmtBytes(float64(hwm)*1024), fmtBytes(float64(rep.LiveHeap))),
		ZS:     single(float64(rss)*1024, unitBytes),
		Peers:  []peerFigure{{"inotifywait -m -r (one side)", peer}},
		Target: fmt.Sprintf("≤ 100 B per entry + 16 MiB = %s", fmtBytes(limit)),
	}
	mem.Verdict = verdictBelow(mem.ZS, limit)
	if mem.ZS.ok() {
		mem.Verdict += fmt.Sprintf(", %.0f B per entry above 16 MiB", (mem.ZS.Value-16<<20)/float64(entries))
	}
	sec.Rows = append(sec.Rows, noop, mem)
	return nil
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
