package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// runner carries one run of the harness.
type runner struct {
	cfg   config
	work  string
	ssh   *sshd
	res   *results
	start time.Time
	// profiles collects the profile files of each zerosync workload.
	profiles []*profileGroup
	// removed counts the trees [runner.discard] moved away.
	removed int
}

// mode is one transport: "local" (both trees are folders on this host) or
// "ssh" (B is reached through the benchmark's sshd).
type mode struct {
	name string
	ssh  *sshd // nil in the local mode
	dir  string
	sec  *section
}

// remote is how zerosync reaches B in this mode, or nil in the local mode.
func (m *mode) remote() *remoteSpec {
	if m.ssh == nil {
		return nil
	}
	return &remoteSpec{
		Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(m.ssh.proxy.port())),
		User:       m.ssh.user,
		Key:        m.ssh.key,
		KnownHosts: m.ssh.knownHosts,
		CacheDir:   filepath.Join(m.dir, "remote-cache"),
	}
}

// run runs the harness as cfg says and returns what it found. A result tree
// that differs from its source is a failed [check] in the results, not an
// error; an error is a tool or the harness failing.
func run(ctx context.Context, cfg config) (*results, error) {
	res := &results{Start: time.Now(), Quick: cfg.Quick, Seed: cfg.Seed, Machine: readMachine()}
	r := &runner{cfg: cfg, res: res, start: res.Start}
	r.logf("load average (1, 5, 15 min) at the start: %s", res.Machine.LoadStart)
	if cgoBuild() {
		r.logf("this bench was built with cgo: the engine and the agent it measures carry the C library, unlike the README's install; run it as CGO_ENABLED=0 go run ./bench")
	}
	if cfg.LatencyPeer || slices.Contains(cfg.Modes, "fleet") && cfg.FleetLoopTrials > 0 {
		if _, err := exec.LookPath("inotifywait"); err != nil {
			return nil, errors.New("the inotifywait + rsync loops of the latency and fleet workloads need inotifywait: install the inotify-tools package")
		}
	}
	for _, t := range []string{"rsync", "unison", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(t); err != nil {
			return nil, fmt.Errorf("%s not found: install openssh-server, openssh-client, rsync and unison", t)
		}
	}
	r.work = cfg.Dir
	if r.work == "" {
		dir, err := os.MkdirTemp("", "zerosync-bench-")
		if err != nil {
			return nil, err
		}
		r.work = dir
		if !cfg.Keep {
			defer os.RemoveAll(dir)
		}
	}
	defer r.emptyRemoved()
	if cfg.Profile != "" {
		if err := os.MkdirAll(cfg.Profile, 0o755); err != nil {
			return nil, err
		}
	}
	defer func() {
		if r.ssh != nil {
			r.ssh.Close()
		}
	}()
	for _, name := range cfg.Modes {
		if err := r.runMode(ctx, name); err != nil {
			return res, fmt.Errorf("%s mode: %w", name, err)
		}
	}
	if cfg.Memory {
		if err := r.memory(ctx); err != nil {
			return res, fmt.Errorf("memory: %w", err)
		}
	}
	r.summarizeProfiles()
	res.Machine.LoadEnd = loadavg()
	r.logf("load average (1, 5, 15 min) at the end: %s", res.Machine.LoadEnd)
	res.End = time.Now()
	return res, nil
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log == nil {
		return
	}
	fmt.Fprintf(r.cfg.Log, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

func (r *runner) runMode(ctx context.Context, name string) error {
	if name == "fleet" {
		return r.fleet(ctx)
	}
	m := &mode{name: name, dir: filepath.Join(r.work, name)}
	switch name {
	case "local":
		m.sec = r.res.section("Local folders", "Both trees are folders on this host: rsync with its defaults for local copies (whole files), unison between two local roots, a zerosync engine over two transport/local endpoints.")
	case "ssh":
		if r.ssh == nil {
			s, err := startSSHD(ctx, filepath.Join(r.work, "sshd"))
			if err != nil {
				return err
			}
			r.ssh = s
		}
		m.ssh = r.ssh
		m.sec = r.res.section("Over SSH (private sshd on 127.0.0.1)", "B is a folder reached through the benchmark's own sshd; every tool's connection passes the same counting proxy, which gives the bytes on the wire (both directions, SSH framing included).")
	default:
		return fmt.Errorf("unknown mode %q (want local, ssh or fleet)", name)
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return err
	}
	if !r.cfg.Keep {
		defer r.discard(m.dir)
	}
	var raw float64
	if m.ssh != nil {
		var err error
		if raw, err = r.raw(ctx, m); err != nil {
			return fmt.Errorf("raw ssh: %w", err)
		}
		if err := r.installAgent(ctx, m); err != nil {
			return fmt.Errorf("zerosync agent: %w", err)
		}
	}
	dev, err := r.toolset(m, "dev", r.cfg.Dev)
	if err != nil {
		return err
	}
	if name == "local" {
		r.res.Trees = append(r.res.Trees, "developer tree: "+dev.tree.String())
	}
	if err := r.initial(ctx, m, dev, raw); err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	if err := r.steady(ctx, m, dev); err != nil {
		return err
	}
	if err := r.latency(ctx, m, dev); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if !r.cfg.Keep {
		if err := r.discard(filepath.Join(m.dir, "dev")); err != nil {
			return err
		}
	}
	big, err := r.toolset(m, "big", treeSpec{Large: 1, LargeSize: r.cfg.BigSize})
	if err != nil {
		return err
	}
	if err := r.delta(ctx, m, big); err != nil {
		return fmt.Errorf("delta: %w", err)
	}
	if name == "local" && r.cfg.DeepDepth > 0 {
		if err := r.deep(ctx, m); err != nil {
			return fmt.Errorf("deep tree: %w", err)
		}
	}
	return nil
}

// discard moves the tree at path (when there is one) into the run's folder
// of removed trees, which is emptied only when the run ends. Removing a
// large tree during the run would slow what follows it: on ext4 without a
// journal, a file created in a block group where inodes were freed in the
// last 30 seconds or so (longer while their table is not written back)
// makes the allocator read past every one of them (recently_deleted), and
// that cost, which grows with the number of files removed, landed on
// whichever tool ran next. A first sync into an empty folder is measured
// as a user meets it, with no such removal just before.
func (r *runner) discard(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	dir := filepath.Join(r.work, "removed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.removed++
	return os.Rename(path, filepath.Join(dir, strconv.Itoa(r.removed)))
}

// emptyRemoved removes the trees [runner.discard] moved away.
func (r *runner) emptyRemoved() {
	if err := os.RemoveAll(filepath.Join(r.work, "removed")); err != nil {
		r.logf("remove the trees of the run: %v", err)
	}
}

// installAgent contacts the sshd once through transport/ssh, which installs
// the zerosync agent (this program) in the remote cache folder, so that no
// measured run pays for the upload.
func (r *runner) installAgent(ctx context.Context, m *mode) error {
	dir := filepath.Join(m.dir, "agent-probe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	up0, down0 := m.ssh.proxy.counts()
	start := time.Now()
	e, err := remoteEndpoint(ctx, *m.remote(), dir)
	if err != nil {
		return err
	}
	if err := e.Close(); err != nil {
		return err
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.ssh.proxy.idle(ictx); err != nil {
		return err
	}
	up, down := m.ssh.proxy.counts()
	note := fmt.Sprintf("Over SSH, the first contact installed the zerosync agent in %s (%s on the wire); no figure includes it.",
		fmtValue(time.Since(start).Seconds(), unitSeconds), fmtBytes(float64(up-up0+down-down0)))
	r.logf("%s: %s", m.name, note)
	r.res.Notes = append(r.res.Notes, note)
	return nil
}

// toolset is one pair of trees per tool, all generated from the same seed.
type toolset struct {
	name  string
	tree  treeStats
	zs    *zsProcess
	peers []tool // rsync, rsync --fsync, unison
	// floor copies zerosync's A in the initial sync only (it never
	// writes A).
	floor *floorTool
	dirs  map[tool][2]string
}

// cold returns the tools that run as processes: zerosync first.
func (ts *toolset) cold() []tool { return append([]tool{ts.zs}, ts.peers...) }

// toolset generates, under m.dir/name, tree A for every tool and an empty
// B beside it.
func (r *runner) toolset(m *mode, name string, spec treeSpec) (*toolset, error) {
	ts := &toolset{name: name, dirs: map[tool][2]string{}}
	for _, tn := range []string{"zerosync", "rsync", "rsync-fsync", "unison"} {
		base := filepath.Join(m.dir, name, tn)
		a, b, state := filepath.Join(base, "a"), filepath.Join(base, "b"), filepath.Join(base, "state")
		start := time.Now()
		st, err := generate(a, spec, r.cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("generate %s: %w", a, err)
		}
		r.logf("%s: generated %s tree for %s in %v: %s", m.name, name, tn, time.Since(start).Round(time.Millisecond), st)
		ts.tree = st
		for _, d := range []string{b, state} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		switch tn {
		case "zerosync":
			ts.zs = &zsProcess{spec: newZSSpec(a, b, state, m.remote())}
			ts.dirs[ts.zs] = [2]string{a, b}
		case "rsync", "rsync-fsync":
			t := &rsyncTool{a: a, b: b, ssh: m.ssh, fsync: tn == "rsync-fsync"}
			ts.peers = append(ts.peers, t)
			ts.dirs[t] = [2]string{a, b}
		case "unison":
			t, err := newUnison(a, b, state, m.ssh)
			if err != nil {
				return nil, err
			}
			ts.peers = append(ts.peers, t)
			ts.dirs[t] = [2]string{a, b}
		}
	}
	a := ts.dirs[ts.zs][0]
	ts.floor = &floorTool{a: a, b: filepath.Join(m.dir, name, "floor", "b"), ssh: m.ssh}
	ts.dirs[ts.floor] = [2]string{a, ts.floor.b}
	if err := os.MkdirAll(filepath.Dir(ts.floor.b), 0o755); err != nil {
		return nil, err
	}
	return ts, nil
}

// check compares t's B with its A, modification times included where t
// keeps them, and records the result.
func (r *runner) check(m *mode, workload string, ts *toolset, t tool) error {
	d := ts.dirs[t]
	want, err := listTree(d[0], t.Times())
	if err != nil {
		return err
	}
	got, err := listTree(d[1], t.Times())
	if err != nil {
		return err
	}
	r.record(check{Mode: m.name, Workload: workload, Tool: t.Name(), Entries: len(want), Diff: want.diff(got), Runs: 1, Times: t.Times()})
	return nil
}

// record adds c to the results, folded into the check of the same mode,
// workload and tool when there is one: the runs add up, the first
// difference stays.
func (r *runner) record(c check) {
	if c.Diff != "" {
		r.logf("%s: %s: %s: TREES DIFFER: %s", c.Mode, c.Workload, c.Tool, c.Diff)
	}
	for i := range r.res.Checks {
		old := &r.res.Checks[i]
		if old.Mode == c.Mode && old.Workload == c.Workload && old.Tool == c.Tool {
			old.Runs += c.Runs
			old.Entries = c.Entries
			if old.Diff == "" {
				old.Diff = c.Diff
			}
			return
		}
	}
	r.res.Checks = append(r.res.Checks, c)
}

// sample is what one timed run measured.
type sample struct {
	secs float64
	wire int64 // bytes both ways through the proxy
}

// series is the measured runs of one tool on one workload.
type series struct {
	secs, wire []float64
	// none, when set, says why there are no runs.
	none string
}

func (s series) time() figure {
	if s.none != "" {
		return absent(s.none)
	}
	return measured(s.secs, unitSeconds)
}

func (s series) bytes() figure {
	if s.none != "" {
		return absent(s.none)
	}
	if s.wire == nil {
		return absent("—")
	}
	return measured(s.wire, unitBytes)
}

// rate is size bytes over the median time.
func (s series) rate(size int64) figure {
	if s.none != "" {
		return absent(s.none)
	}
	return single(float64(size)/median(s.secs), unitRate)
}

// measure runs t warm+runs times, calling before(i) ahead of run i
// (untimed), and times the runs after the warm-up. In the ssh mode it also
// counts the bytes each run moved through the proxy. After every run,
// warm-up included, it checks t's trees as checkAs (see [runner.check]).
func (r *runner) measure(ctx context.Context, m *mode, workload string, ts *toolset, checkAs string, t tool, warm, runs int, before func(i int) error) (series, error) {
	var s series
	if m.ssh != nil {
		s.wire = []float64{}
	}
	for i := range warm + runs {
		if before != nil {
			if err := before(i); err != nil {
				return s, err
			}
		}
		// Write back what the set-up and earlier runs left dirty (and
		// the discards of removed trees), so no run pays for another's
		// writes.
		unix.Sync()
		smp, err := r.once(ctx, m, t)
		if err != nil {
			return s, fmt.Errorf("%s: %w", t.Name(), err)
		}
		what := "warm-up"
		if i >= warm {
			what = fmt.Sprintf("run %d/%d", i-warm+1, runs)
			s.secs = append(s.secs, smp.secs)
			if m.ssh != nil {
				s.wire = append(s.wire, float64(smp.wire))
			}
		}
		r.logf("%s: %s: %s %s: %s", m.name, workload, t.Name(), what, fmtValue(smp.secs, unitSeconds))
		if err := r.check(m, checkAs, ts, t); err != nil {
			return s, err
		}
	}
	if err := r.profile(ctx, m, workload, t, warm+runs, before); err != nil {
		return s, fmt.Errorf("%s: profile: %w", t.Name(), err)
	}
	return s, nil
}

// once times one Sync of t.
func (r *runner) once(ctx context.Context, m *mode, t tool) (sample, error) {
	var up0, down0 int64
	if m.ssh != nil {
		up0, down0 = m.ssh.proxy.counts()
	}
	start := time.Now()
	err := t.Sync(ctx)
	smp := sample{secs: time.Since(start).Seconds()}
	if err != nil {
		return smp, err
	}
	if m.ssh != nil {
		if !t.Persistent() {
			ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := m.ssh.proxy.idle(ictx)
			cancel()
			if err != nil {
				return smp, err
			}
		}
		up, down := m.ssh.proxy.counts()
		smp.wire = up - up0 + down - down0
	}
	return smp, nil
}

// quiet waits out the stat caches' racy window (see [config.Settle]), so
// that what follows measures the steady state rather than the moment after
// an edit.
func (r *runner) quiet() { time.Sleep(r.cfg.Settle) }
