package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/ssh"
)

// fleetSpec is a hub engine with one SSH peer per host of the fleet, in a
// child process (it crosses as JSON).
type fleetSpec struct {
	Hub          string // the hub's tree
	State, Cache string // the engine's database, the hub's stat cache
	User, Key    string // login and client key on every host
	KnownHosts   string
	// CacheDir is zerosync's cache folder on the hosts (they share this
	// machine's file system: the agent is installed once).
	CacheDir string
	Hosts    []fleetPeer
}

// fleetPeer is one host: its address and its tree there.
type fleetPeer struct {
	Name, Addr, Root string
}

// openFleet builds the hub engine: the hub's tree, and every host through
// one SSH transport (one connection per host), watchers on.
func openFleet(ctx context.Context, spec fleetSpec, opts ...engine.Option) (*zsPair, error) {
	hub, err := local.New(spec.Hub, local.WithName("hub"), local.WithStatCache(spec.Cache))
	if err != nil {
		return nil, err
	}
	t, err := ssh.New(
		ssh.WithSelfInstall(),
		ssh.WithConfigFile("none"),
		ssh.WithKnownHosts(spec.KnownHosts),
		ssh.WithIdentityFile(spec.Key),
		ssh.WithAgentSocket(""),
		ssh.WithRemoteCacheDir(spec.CacheDir),
	)
	if err != nil {
		hub.Close()
		return nil, err
	}
	z := &zsPair{closers: []io.Closer{hub}}
	var peers []engine.Peer
	for _, h := range spec.Hosts {
		e, err := t.Endpoint(ctx, spec.User+"@"+h.Addr, h.Root)
		if err != nil {
			err = errors.Join(fmt.Errorf("%s: %w", h.Name, err), z.closeAll(), t.Close())
			return nil, err
		}
		z.closers = append(z.closers, e)
		peers = append(peers, engine.Peer{Name: h.Name, Endpoint: e})
	}
	z.closers = append(z.closers, t)
	opts = append([]engine.Option{
		engine.WithName("fleet"),
		engine.WithStatePath(spec.State),
		engine.WithWatch(true),
	}, opts...)
	z.eng, err = engine.New(engine.Peer{Name: "hub", Endpoint: hub}, peers, opts...)
	if err != nil {
		return nil, errors.Join(err, z.closeAll())
	}
	return z, nil
}

// closeAll closes what z holds but its engine.
func (z *zsPair) closeAll() error {
	var errs []error
	for _, c := range z.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// hubChild runs the fleet's hub engine, says "running" once its first cycle
// ended, and then answers every "mark" line of stdin, once the engine has
// been idle for 20 ms, with the CPU time the process used so far (user and
// system, all threads, from getrusage).
func hubChild(ctx context.Context, job childJob, stdin io.Reader, enc *json.Encoder) (err error) {
	if job.Fleet == nil {
		return errors.New("hub: no fleet")
	}
	er, err := startEngineWith(ctx, func(opts ...engine.Option) (*zsPair, error) { return openFleet(ctx, *job.Fleet, opts...) })
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, er.Close()) }()
	if err := enc.Encode(childReport{Step: "running", CPU: cpuSelf()}); err != nil {
		return err
	}
	lines := bufio.NewScanner(stdin)
	for lines.Scan() {
		if lines.Text() != "mark" {
			return fmt.Errorf("unknown command %q", lines.Text())
		}
		// An engine that never goes idle (a watcher that keeps firing) is
		// an error, not a hang.
		sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err := settle(sctx, func() bool { return !er.idle() })
		cancel()
		if err != nil {
			return fmt.Errorf("the hub engine was not idle for 20 ms in 5 minutes: %w", err)
		}
		if err := er.failed(); err != nil {
			return err
		}
		if err := enc.Encode(childReport{Step: "mark", CPU: cpuSelf()}); err != nil {
			return err
		}
	}
	return er.failed()
}

// cpuSelf is the CPU time this process used, in seconds.
func cpuSelf() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// fleetProbe is one write of a trial: a file written at src must arrive,
// with the same content, at every dst.
type fleetProbe struct {
	src  string
	dsts []string
}

// fleetTool is what the fleet's trials drive: quiet waits until the tool
// is idle and returns the CPU time it used so far.
type fleetTool struct {
	name  string
	quiet func() (float64, error)
}

// fleetTrials makes warm+n trials of probes: every probe's file is written
// (in order, at once), and the trial lasts until the last destination holds
// its content. It returns the measured trials' times and the tool's CPU
// time for each (from the quiet before the trial to the quiet after it, so
// the work the tool did after the last arrival counts too).
func (r *runner) fleetTrials(ctx context.Context, label string, tool fleetTool, warm, n int, probes []fleetProbe) (lat, cpu []float64, err error) {
	type pending struct {
		dst     string
		content []byte
	}
	cpu0, err := tool.quiet()
	if err != nil {
		return nil, nil, err
	}
	for i := range warm + n {
		var wait []pending
		contents := make([][]byte, len(probes))
		for j, p := range probes {
			contents[j] = fmt.Appendf(nil, "fleet trial %d of %s, write %d\n%s", i, label, j, strings.Repeat("y", 256+i%256))
			for _, d := range p.dsts {
				wait = append(wait, pending{d, contents[j]})
			}
		}
		start := time.Now()
		for j, p := range probes {
			if err := os.WriteFile(p.src, contents[j], 0o644); err != nil {
				return nil, nil, err
			}
		}
		for len(wait) > 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			left := wait[:0]
			for _, w := range wait {
				// A stat first: every trial's content has a length of its
				// own, so most files not yet there cost one system call.
				if st, err := os.Stat(w.dst); err != nil || st.Size() != int64(len(w.content)) {
					left = append(left, w)
				} else if got, err := os.ReadFile(w.dst); err != nil || !bytes.Equal(got, w.content) {
					left = append(left, w)
				}
			}
			wait = left
			if len(wait) == 0 {
				break
			}
			if time.Since(start) > 60*time.Second {
				return nil, nil, fmt.Errorf("%s: trial %d: %d of the writes did not arrive in 60 s, first %s", label, i, len(wait), wait[0].dst)
			}
			time.Sleep(500 * time.Microsecond)
		}
		d := time.Since(start).Seconds()
		cpu1, err := tool.quiet()
		if err != nil {
			return nil, nil, err
		}
		if i >= warm {
			lat = append(lat, d)
			cpu = append(cpu, cpu1-cpu0)
		}
		cpu0 = cpu1
		if i == warm+n-1 || (i-warm+1)%max(1, n/4) == 0 {
			r.logf("fleet: %s: %s trial %d/%d: %s", label, tool.name, max(0, i-warm+1), n, fmtValue(d, unitSeconds))
		}
	}
	return lat, cpu, nil
}

// fanout is the lsyncd way of keeping many hosts in sync with one: on every
// change one rsync per host, all at once. It counts the CPU time of its
// rsync processes (with the ssh clients they ran).
type fanout struct {
	src   string
	dsts  []string // user@addr:/path/
	ssh   string   // rsync's -e
	cpuNS atomic.Int64
}

func (f *fanout) Sync(ctx context.Context) error {
	errs := make([]error, len(f.dsts))
	var wg sync.WaitGroup
	for i, d := range f.dsts {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, "rsync", "-a", "--delete", "-e", f.ssh, f.src+"/", d)
			out, err := cmd.CombinedOutput()
			if cmd.ProcessState != nil {
				f.cpuNS.Add(int64(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()))
			}
			if err != nil {
				errs[i] = fmt.Errorf("rsync to %s: %w: %s", d, err, tail(out, 500))
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fleet runs the fleet workloads on a fleet of each size of
// cfg.FleetHosts in turn.
func (r *runner) fleet(ctx context.Context) error {
	for _, n := range r.cfg.FleetHosts {
		if err := r.fleetOf(ctx, n); err != nil {
			return fmt.Errorf("%d hosts: %w", n, err)
		}
	}
	return nil
}

// fleetOf runs the fleet workloads: a hub and n hosts, each in its own
// network namespace with its own sshd; a zerosync hub engine with one SSH
// peer per host, and beside it an inotifywait + rsync fan-out.
func (r *runner) fleetOf(ctx context.Context, n int) error {
	sec := r.res.section(fmt.Sprintf("Fleet: a hub and %d hosts over SSH", n), fmt.Sprintf(
		"Each host is a network namespace with its own sshd, joined to this one by a veth pair on a private bridge. The zerosync hub is a running engine in a child process with one SSH peer per host; each trial waits until the hub is idle, writes, and lasts until the last host holds the new content (polled every 0.5 ms). Hub CPU is the engine process's CPU time (getrusage) per trial, work after the last arrival included, over the time to the last host. Beside it the lsyncd way: inotifywait on the hub and, after each burst of events, one `rsync -a --delete` per host, all at once (it only pushes from the hub). Trees: %s a host.", r.fleetTree()))
	dir := filepath.Join(r.work, "fleet")
	if !r.cfg.Keep {
		defer r.discard(dir)
	}
	start := time.Now()
	hn, err := newHostNet(ctx, n)
	if err != nil {
		return err
	}
	defer func() {
		if err := hn.Close(); err != nil {
			r.logf("fleet: removing the namespaces: %v", err)
		}
	}()
	fs, err := startFleetSSHD(ctx, hn, filepath.Join(dir, "sshd"))
	if err != nil {
		return err
	}
	defer func() {
		if err := fs.Close(); err != nil {
			r.logf("fleet: stopping the servers: %v", err)
		}
	}()
	r.logf("fleet: %d namespaces with an sshd each in %v", n, time.Since(start).Round(time.Millisecond))

	zsRows, err := r.fleetZS(ctx, hn, fs, filepath.Join(dir, "zerosync"))
	if err != nil {
		return fmt.Errorf("zerosync: %w", err)
	}
	loop, loopCPU, err := r.fleetLoop(ctx, hn, fs, filepath.Join(dir, "rsync"))
	if err != nil {
		return fmt.Errorf("inotifywait + rsync fan-out: %w", err)
	}
	limit := 30e-3
	if n > 8 {
		limit = 100e-3
	}
	loopName := fmt.Sprintf("inotifywait + %d rsync", n)
	oneWay := absent("— (pushes from the hub only)")
	pct := func(xs []float64, p float64) figure {
		if xs == nil {
			return absent("—")
		}
		return single(percentile(xs, p), unitSeconds)
	}
	for _, w := range zsRows {
		peerLat := func(float64) figure { return oneWay }
		peerCPU := oneWay
		if w.key == "hub" {
			peerLat = func(p float64) figure { return pct(loop, p) }
			peerCPU = absent("—")
			if loop != nil {
				peerCPU = single(loopCPU, unitCores)
			}
		}
		for _, p := range []float64{50, 99} {
			rw := row{Workload: fmt.Sprintf("%s, p%.0f of %d, until the last host has it", w.title, p, len(w.lat)), ZS: pct(w.lat, p),
				Peers: []peerFigure{{loopName, peerLat(p)}}, Target: "—"}
			if p == 99 && w.key != "all" {
				rw.Target = "≤ " + fmtValue(limit, unitSeconds)
				rw.Verdict = verdictBelow(rw.ZS, limit)
				r.res.stand("fanout", "fleet", fmt.Sprintf("%d hosts, edit on the %s: %s", n, w.key, rw.Verdict))
			}
			sec.Rows = append(sec.Rows, rw)
		}
		cores := single(sum(w.cpu)/sum(w.lat), unitCores)
		rw := row{Workload: fmt.Sprintf("%s: hub CPU (CPU time over time to the last host; %s of CPU an edit)", w.title, fmtValue(median(w.cpu), unitSeconds)), ZS: cores,
			Peers: []peerFigure{{loopName + " (their CPU)", peerCPU}}, Target: "≤ 1 core"}
		rw.Verdict = verdictBelow(cores, 1)
		if w.key == "hub" {
			r.res.stand("fanout-cpu", "fleet", fmt.Sprintf("%d hosts: %s", n, rw.Verdict))
		}
		sec.Rows = append(sec.Rows, rw)
	}
	return nil
}

// fleetTree is the tree every host of the fleet starts with.
func (r *runner) fleetTree() string {
	return fmt.Sprintf("%d small files", r.cfg.FleetTree.Small)
}

// fleetResult is one zerosync fleet workload's trials.
type fleetResult struct {
	key, title string
	lat, cpu   []float64
}

// fleetTrees generates the hub's tree and an identical one for every host
// under dir, and returns their roots (the hub first).
func (r *runner) fleetTrees(dir string, n int) ([]string, error) {
	roots := []string{filepath.Join(dir, "hub")}
	for i := range n {
		roots = append(roots, filepath.Join(dir, fmt.Sprintf("host-%02d", i+1)))
	}
	start := time.Now()
	var st treeStats
	for _, root := range roots {
		var err error
		if st, err = generate(root, r.cfg.FleetTree, r.cfg.Seed); err != nil {
			return nil, err
		}
	}
	r.logf("fleet: generated %d trees in %v: %s each", len(roots), time.Since(start).Round(time.Millisecond), st)
	return roots, nil
}

// fleetZS runs the three workloads against the zerosync hub.
func (r *runner) fleetZS(ctx context.Context, hn *hostNet, fs *fleetSSHD, dir string) ([]fleetResult, error) {
	roots, err := r.fleetTrees(dir, len(hn.hosts))
	if err != nil {
		return nil, err
	}
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	spec := fleetSpec{Hub: roots[0], State: filepath.Join(state, "zerosync.db"), Cache: filepath.Join(state, "cache-hub"),
		User: fs.user, Key: fs.key, KnownHosts: fs.knownHosts, CacheDir: filepath.Join(dir, "remote-cache")}
	for i, h := range hn.hosts {
		spec.Hosts = append(spec.Hosts, fleetPeer{Name: fmt.Sprintf("host-%02d", i+1), Addr: h.addr, Root: roots[i+1]})
	}
	r.quiet()
	start := time.Now()
	c, err := startChild(childJob{Role: "hub", Fleet: &spec})
	if err != nil {
		return nil, err
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
	if _, err := c.next("running"); err != nil {
		return nil, err
	}
	r.logf("fleet: the hub engine's first cycle over %d hosts took %v", len(hn.hosts), time.Since(start).Round(time.Millisecond))
	tool := fleetTool{name: "zerosync", quiet: func() (float64, error) {
		if _, err := io.WriteString(c.stdin, "mark\n"); err != nil {
			return 0, err
		}
		rep, err := c.next("mark")
		return rep.CPU, err
	}}
	file := func(root, name string) string { return filepath.Join(root, name) }
	hub := fleetProbe{src: file(roots[0], "fleet-hub.txt")}
	for _, root := range roots[1:] {
		hub.dsts = append(hub.dsts, file(root, "fleet-hub.txt"))
	}
	spoke := fleetProbe{src: file(roots[1], "fleet-spoke.txt")}
	for j, root := range roots {
		if j != 1 {
			spoke.dsts = append(spoke.dsts, file(root, "fleet-spoke.txt"))
		}
	}
	var all []fleetProbe
	for j, root := range roots {
		name := fmt.Sprintf("fleet-all-%02d.txt", j)
		p := fleetProbe{src: file(root, name)}
		for k, other := range roots {
			if k != j {
				p.dsts = append(p.dsts, file(other, name))
			}
		}
		all = append(all, p)
	}
	n := len(hn.hosts)
	work := []struct {
		key, title string
		trials     int
		probes     []fleetProbe
	}{
		{"hub", fmt.Sprintf("one edit on the hub, to %d hosts", n), r.cfg.FleetTrials, []fleetProbe{hub}},
		{"spoke", fmt.Sprintf("one edit on a host, to the hub and %d other hosts", n-1), r.cfg.FleetTrials, []fleetProbe{spoke}},
		{"all", fmt.Sprintf("one edit on each of the %d trees at once, to every other", n+1), r.cfg.FleetAllTrials, all},
	}
	var out []fleetResult
	for _, w := range work {
		lat, cpu, err := r.fleetTrials(ctx, w.key, tool, r.cfg.FleetWarmup, w.trials, w.probes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %s", w.key, err, c.stderr.String())
		}
		out = append(out, fleetResult{key: w.key, title: w.title, lat: lat, cpu: cpu})
	}
	stopped = true
	if err := c.stop(); err != nil {
		return nil, err
	}
	return out, r.checkFleet("zerosync", timesNone, roots)
}

// checkFleet compares every host's tree with the hub's, with the
// modification times times names.
func (r *runner) checkFleet(tool string, times timeKind, roots []string) error {
	want, err := listTree(roots[0], times)
	if err != nil {
		return err
	}
	for _, root := range roots[1:] {
		got, err := listTree(root, times)
		if err != nil {
			return err
		}
		r.record(check{Mode: "fleet", Workload: fmt.Sprintf("fan-out to %s of %d", filepath.Base(root), len(roots)-1), Tool: tool, Entries: len(want), Diff: want.diff(got), Runs: 1, Times: times})
	}
	return nil
}

// fleetLoop runs the hub-edit trials against the inotifywait + rsync
// fan-out, and returns their times and the CPU of the rsync processes over
// the time to the last host.
func (r *runner) fleetLoop(ctx context.Context, hn *hostNet, fs *fleetSSHD, dir string) ([]float64, float64, error) {
	if r.cfg.FleetLoopTrials == 0 {
		return nil, 0, nil
	}
	roots, err := r.fleetTrees(dir, len(hn.hosts))
	if err != nil {
		return nil, 0, err
	}
	f := &fanout{src: roots[0], ssh: "ssh " + strings.Join(fs.opts(), " ")}
	for i, h := range hn.hosts {
		f.dsts = append(f.dsts, fs.user+"@"+h.addr+":"+roots[i+1]+"/")
	}
	l, err := startRsyncLoop(ctx, roots[0], f.Sync)
	if err != nil {
		return nil, 0, err
	}
	probe := fleetProbe{src: filepath.Join(roots[0], "fleet-hub.txt")}
	for _, root := range roots[1:] {
		probe.dsts = append(probe.dsts, filepath.Join(root, "fleet-hub.txt"))
	}
	tool := fleetTool{name: "inotifywait + rsync", quiet: func() (float64, error) {
		err := settle(ctx, l.busy)
		return float64(f.cpuNS.Load()) / 1e9, err
	}}
	lat, cpu, err := r.fleetTrials(ctx, "hub", tool, r.cfg.FleetWarmup, r.cfg.FleetLoopTrials, []fleetProbe{probe})
	if err := errors.Join(err, l.stop()); err != nil {
		return nil, 0, err
	}
	return lat, sum(cpu) / sum(lat), r.checkFleet("rsync", timesFiles, roots)
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}
