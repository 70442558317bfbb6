package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zerosync/zerosync/engine/enginetest"
)

// config is one soak run.
type config struct {
	Sequences int
	Seed      uint64
	// Dir is the work folder; empty: a new temporary folder, removed at
	// the end unless Keep or the run failed.
	Dir  string
	Keep bool
	// Faults is the share of cycles that suffer a fault.
	Faults float64
	// Timed adds engine kills after a random delay, from the driver: they
	// reach points no marker does (between a file's last byte and its
	// rename, inside a database commit), at the price of exact replay.
	Timed bool
	// Versioning expects every version the engine replaces or deletes to
	// be kept: a lost version that had been synced fails the run. Without
	// it such losses are reported, and only never-synced ones fail.
	Versioning bool
	// CheckEvery is how many sequences pass between two checks for lost
	// versions (and always at the end).
	CheckEvery int
	// Parallel is the engine's write parallelism; 1 keeps a cycle's order
	// of operations, and so its faults' markers, the same from run to run.
	Parallel int
	// Settle bounds the fault-free cycles that must bring the replicas
	// together at the end.
	Settle int
	// Progress, when set, receives a line now and then.
	Progress io.Writer
}

func defaultConfig() config {
	return config{Sequences: 200, Seed: 1, Faults: 0.5, Versioning: true, CheckEvery: 100, Parallel: 1, Settle: 10}
}

// figures is what a run did and found.
type figures struct {
	Seed                       uint64
	Sequences, Edits           int
	Ops                        map[string]int
	Versions, Destroyed        int
	Written                    int64 // bytes of the versions written
	Cycles, CycleErrors        int
	Applied, Conflicts         int
	Problems                   int
	Bytes                      int64
	Armed                      map[string]int // faults drawn, by action
	Fired                      map[string]int // faults that fired, by action
	FiredAt                    map[string]int // faults that fired, by marker
	Timed                      int            // timed engine kills that landed
	Starts                     int            // engine process starts
	SettleCycles               int
	ConflictCopies, StateFiles int
	StateBytes                 int64    // the state database's size at the end
	CacheTemps                 []string // stale stat-cache temp files left by kills
	// TempsSeen counts the temp files faults left in the trees during the
	// run (a later scan must remove them); TempsEnd those left at the end.
	TempsSeen, TempsEnd int
	// DroppedEverywhere counts the versions that reached another replica
	// and that the people of every replica holding them removed or
	// overwrote: not owed.
	DroppedEverywhere int
	Losses            []loss
	Failures          []string
	Dir               string
	Wall              time.Duration
}

// failed reports whether the run found something wrong.
func (f *figures) failed() bool { return len(f.Failures) > 0 }

func (f *figures) fail(format string, args ...any) {
	f.Failures = append(f.Failures, fmt.Sprintf(format, args...))
}

// soak is one run in progress.
type soak struct {
	cfg     config
	fig     *figures
	self    string
	dir     string
	roots   []string
	caches  []string
	job     engineJob
	m       *model
	h       *hasher
	faults  *rand.Rand
	w       *world
	logFile *os.File // the driver's log: edits, cycles, faults
	procLog *os.File // the processes' standard error
	log     *bufio.Writer
	lines   []string // the log, for printing a loss's history
	// lastReply is the last cycle's reply, when the engine gave one.
	lastReply reply
	// temps are the temp files seen in the trees so far, by path and
	// replica.
	temps map[string]bool
}

// run runs a soak and returns its figures; the error is a harness failure
// (the run could not be made), not a finding.
func run(cfg config) (*figures, error) {
	start := time.Now()
	s := &soak{cfg: cfg, fig: &figures{Seed: cfg.Seed, Armed: map[string]int{}, Fired: map[string]int{}, FiredAt: map[string]int{}}}
	if err := s.setup(); err != nil {
		return nil, err
	}
	err := s.loop()
	if err == nil {
		err = s.finish()
	}
	if s.w != nil {
		s.w.stop()
		s.w = nil
	}
	if st, serr := os.Stat(s.job.State); serr == nil {
		s.fig.StateBytes = st.Size()
	}
	s.fig.Wall = time.Since(start)
	s.fig.Ops = s.m.ops
	s.fig.Versions = len(s.m.versions)
	s.fig.Written = s.m.written
	for _, v := range s.m.versions {
		if v.destroyed {
			s.fig.Destroyed++
		}
		if v.holders == 0 && v.elsewhere != 0 {
			s.fig.DroppedEverywhere++
		}
	}
	s.log.Flush()
	s.logFile.Close()
	s.procLog.Close()
	if err != nil {
		// Past the set-up, what stops a run is the system under test: an
		// engine that cannot start again, a process that hangs.
		s.fig.fail("stopped after sequence %d: %v", s.m.seq, err)
	}
	if cfg.Dir == "" && !cfg.Keep && !s.fig.failed() {
		os.RemoveAll(s.dir)
	} else {
		s.fig.Dir = s.dir
	}
	return s.fig, nil
}

func (s *soak) setup() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	s.self = self
	s.dir = s.cfg.Dir
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "zerosync-soak-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	var reps []*enginetest.Dir
	for i := range 3 {
		root := filepath.Join(s.dir, fmt.Sprint("r", i))
		if err := os.Mkdir(root, 0o755); err != nil {
			return fmt.Errorf("%w (use a new or empty work folder)", err)
		}
		d, err := enginetest.NewDir(root, enginetest.Local())
		if err != nil {
			return err
		}
		reps = append(reps, d)
		s.roots = append(s.roots, root)
		cache := filepath.Join(s.dir, "cache", fmt.Sprint("r", i))
		if err := os.MkdirAll(cache, 0o700); err != nil {
			return err
		}
		s.caches = append(s.caches, cache)
	}
	if s.logFile, err = os.Create(filepath.Join(s.dir, "soak.log")); err != nil {
		return err
	}
	s.log = bufio.NewWriter(s.logFile)
	if s.procLog, err = os.Create(filepath.Join(s.dir, "processes.log")); err != nil {
		return err
	}
	s.job = engineJob{
		Hub:      s.roots[0],
		HubCache: filepath.Join(s.caches[0], "statcache"),
		State:    filepath.Join(s.dir, "state.db"),
		Parallel: s.cfg.Parallel,
		Spokes:   []spokeJob{{Name: "r1", Root: s.roots[1]}, {Name: "r2", Root: s.roots[2]}},
	}
	edits := rand.New(rand.NewPCG(s.cfg.Seed, 1))
	s.faults = rand.New(rand.NewPCG(s.cfg.Seed, 2))
	s.m = newModel(edits, reps, s.logf)
	s.temps = map[string]bool{}
	s.h = newHasher()
	return nil
}

func (s *soak) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	s.lines = append(s.lines, line)
	s.log.WriteString(line)
	s.log.WriteByte('\n')
}

// loop runs the sequences: a few edits, then a cycle that may suffer a
// fault, then a look at the trees.
func (s *soak) loop() error {
	for seq := 1; seq <= s.cfg.Sequences; seq++ {
		s.m.seq = seq
		s.fig.Sequences = seq
		s.logf("sequence %d", seq)
		for range 1 + s.m.rng.IntN(4) {
			s.m.edit()
			s.fig.Edits++
		}
		f := drawFault(s.faults, s.cfg.Faults)
		var delay time.Duration
		if f == nil && s.cfg.Timed && s.faults.Float64() < s.cfg.Faults*0.4 {
			delay = time.Duration(s.faults.Int64N(int64(30 * time.Millisecond)))
		}
		if err := s.cycle(seq, f, delay); err != nil {
			return err
		}
		views, foreign, err := s.m.observe(s.h)
		if err != nil {
			return err
		}
		for _, x := range foreign {
			s.fig.fail("%s", x)
		}
		for r, v := range views {
			for _, t := range v.temps {
				if !s.temps[t+fmt.Sprint(r)] {
					s.temps[t+fmt.Sprint(r)] = true
					s.fig.TempsSeen++
					s.logf("    temp file %q left in r%d", t, r)
				}
			}
		}
		if seq%s.cfg.CheckEvery == 0 {
			if err := s.checkLoss(views); err != nil {
				return err
			}
		}
		if s.cfg.Progress != nil && seq%500 == 0 {
			fmt.Fprintf(s.cfg.Progress, "soak: %d sequences, %d engine kills, %d cuts, %d agent kills, %d losses\n",
				seq, s.fig.Fired[actKillEngine]+s.fig.Timed, s.fig.Fired[actCut], s.fig.Fired[actKillAgent], len(s.fig.Losses))
		}
		if len(s.fig.Failures) > 20 {
			return errors.New("more than 20 findings; stopping")
		}
	}
	return nil
}

// cycle runs one cycle with fault f armed (or a timed kill after delay),
// starting the processes first when they are not running, and reaps them
// when the cycle left them broken.
func (s *soak) cycle(seq int, f *fault, delay time.Duration) error {
	if s.w == nil {
		w, err := spawn(s.self, s.job, s.caches[1:], s.procLog)
		if err != nil {
			return err
		}
		s.w = w
		s.fig.Starts++
	}
	if f != nil {
		s.fig.Armed[f.Action]++
		s.logf("  cycle %d, fault %s", seq, f)
	} else if delay > 0 {
		s.logf("  cycle %d, engine kill after %v", seq, delay)
	} else {
		s.logf("  cycle %d", seq)
	}
	var timer *time.Timer
	if delay > 0 {
		p := s.w.engine.cmd.Process
		timer = time.AfterFunc(delay, func() { p.Signal(syscall.SIGKILL) })
	}
	s.lastReply = reply{Err: "no reply: the engine process ended"}
	r, ok, err := s.w.cycle(command{Cycle: seq, Fault: f})
	timedOut := timer != nil && !timer.Stop()
	s.fig.Cycles++
	if err != nil {
		return err
	}
	if ok {
		s.lastReply = r
		s.fig.Applied += len(r.Applied)
		s.fig.Conflicts += len(r.Conflicts)
		s.fig.Problems += len(r.Problems)
		s.fig.Bytes += r.Bytes
		for _, a := range r.Applied {
			s.logf("    applied %s", a)
		}
		for _, c := range r.Conflicts {
			s.logf("    conflict %s", c)
		}
		for _, p := range r.Problems {
			s.logf("    problem %s", p)
		}
		if r.Err != "" {
			s.fig.CycleErrors++
			s.logf("    error %s", r.Err)
		}
		if r.Fired != "" {
			s.fig.Fired[f.Action]++
			s.fig.FiredAt[f.marker()]++
			s.logf("    fired %s", r.Fired)
		}
		if r.Fired == "" && !timedOut {
			return nil
		}
	}
	// The engine process is gone, or on its way out: reap everything.
	w := s.w
	s.w = nil
	stopErr := w.stop()
	switch {
	case !ok && w.engine.killed() && f != nil && f.Action == actKillEngine:
		s.fig.Fired[f.Action]++
		s.fig.FiredAt[f.marker()]++
		s.logf("    engine killed (%s)", f)
	case w.engine.killed() && timedOut:
		s.fig.Timed++
		s.logf("    engine killed by the timer")
	case !ok:
		s.fig.fail("sequence %d: the engine process ended unasked (exit code %d); see processes.log in the work folder", seq, w.engine.exitCode())
		s.logf("    engine ended unasked, exit code %d", w.engine.exitCode())
	}
	return stopErr
}

// checkLoss looks for versions that no replica keeps any more.
func (s *soak) checkLoss(views []view) error {
	kept, foreign, _, err := s.m.kept(views, s.h)
	if err != nil {
		return err
	}
	for _, x := range foreign {
		s.fig.fail("%s", x)
	}
	for _, l := range s.m.lose(kept) {
		s.fig.Losses = append(s.fig.Losses, l)
		s.logf("  LOST %s", l)
		if l.kind == neverSynced || s.cfg.Versioning && l.last {
			s.fig.fail("lost %s\n%s", l, s.history(l.v))
		}
	}
	return nil
}

// history returns the log lines about a version's path from the sequence
// that wrote it and from the last sequence after which a tree held it to
// the check that found it missing, under their sequence and cycle lines; at
// most 60.
func (s *soak) history(v *version) string {
	in := func(seq int) bool { return seq == v.seq || seq >= max(v.lastSeen, v.seq) && seq <= v.lost }
	var out, pending []string
	seq := 0
	for _, line := range s.lines {
		switch {
		case strings.HasPrefix(line, "sequence "):
			fmt.Sscanf(line, "sequence %d", &seq)
			pending = []string{line}
			continue
		case strings.HasPrefix(line, "  cycle"):
			if len(pending) > 1 {
				pending = pending[:1]
			}
			pending = append(pending, line)
			continue
		}
		if !in(seq) || !strings.Contains(line, fmt.Sprintf("v%d ", v.id)) && !mentions(line, v.path) {
			continue
		}
		out = append(out, pending...)
		pending = nil
		out = append(out, line)
	}
	if len(out) > 60 {
		out = append(out[:60], "...")
	}
	return fmt.Sprintf("    history of %q:\n    %s", v.path, strings.Join(out, "\n    "))
}

// mentions reports whether a log line names path as a word.
func mentions(line, path string) bool {
	for _, w := range strings.Fields(line) {
		if strings.Trim(w, ",:\"") == path {
			return true
		}
	}
	return false
}

// finish brings the replicas together with fault-free cycles, then checks
// them: the same trees, no version lost, no temp file, nothing torn.
func (s *soak) finish() error {
	s.logf("settling")
	var views []view
	settled := false
	for i := 1; i <= s.cfg.Settle && !settled; i++ {
		s.fig.SettleCycles++
		seq := s.cfg.Sequences + i
		s.m.seq = seq
		r, err := s.settleCycle(seq)
		if err != nil {
			return err
		}
		v, foreign, err := s.m.observe(s.h)
		if err != nil {
			return err
		}
		views = v
		for _, x := range foreign {
			s.fig.fail("%s", x)
		}
		settled = r.Err == "" && len(r.Applied)+len(r.Conflicts)+len(r.Problems) == 0 && sameTrees(views) == ""
	}
	if !settled {
		last := "(no cycle ran)"
		if views != nil {
			last = sameTrees(views)
		}
		s.fig.fail("the replicas did not settle in %d fault-free cycles: %s", s.cfg.Settle, last)
	}
	// A clean stop: the processes save their caches and close.
	if s.w != nil {
		w := s.w
		s.w = nil
		if err := w.stop(); err != nil {
			return err
		}
	}
	views, foreign, err := s.m.observe(s.h)
	if err != nil {
		return err
	}
	for _, x := range foreign {
		s.fig.fail("%s", x)
	}
	if d := sameTrees(views); d != "" {
		s.fig.fail("the replicas differ at the end: %s", d)
	}
	for r, v := range views {
		s.fig.ConflictCopies += len(v.copies)
		for _, t := range v.temps {
			s.fig.TempsEnd++
			s.fig.fail("temp file left in r%d: %q", r, t)
		}
	}
	if err := s.checkLoss(views); err != nil {
		return err
	}
	_, _, temps, err := s.m.kept(views, s.h)
	if err != nil {
		return err
	}
	for _, t := range temps {
		s.fig.TempsEnd++
		s.fig.fail("temp file left in %s", t)
	}
	for _, root := range s.roots {
		files, _, err := stateFiles(root, s.h)
		if err != nil {
			return err
		}
		s.fig.StateFiles += len(files)
	}
	for _, c := range s.caches {
		ents, _ := os.ReadDir(c)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp-") {
				s.fig.CacheTemps = append(s.fig.CacheTemps, filepath.Join(filepath.Base(c), e.Name()))
			}
		}
		sub, _ := os.ReadDir(filepath.Join(c, "statcache"))
		for _, e := range sub {
			if strings.Contains(e.Name(), ".tmp-") {
				s.fig.CacheTemps = append(s.fig.CacheTemps, filepath.Join(filepath.Base(c), "statcache", e.Name()))
			}
		}
	}
	return nil
}

// settleCycle runs one fault-free cycle, starting the processes if needed.
func (s *soak) settleCycle(seq int) (reply, error) {
	if err := s.cycle(seq, nil, 0); err != nil {
		return reply{}, err
	}
	return s.lastReply, nil
}
