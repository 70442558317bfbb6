package main

import (
	"bufio"
	"bytes"
	"context"
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
)

// latency measures propagation in watch mode: from the return of a write
// on A until B holds the new content, for a running zerosync engine and for
// an inotifywait + rsync loop, over many trials.
func (r *runner) latency(ctx context.Context, m *mode, ts *toolset) error {
	if len(ts.tree.Small) == 0 {
		return errors.New("the tree has no small file to write")
	}
	rel := ts.tree.Small[len(ts.tree.Small)/2]
	r.quiet()

	farRel := ts.tree.Small[len(ts.tree.Small)/3]
	zs, far, err := r.zsLatency(ctx, m, ts, rel, farRel)
	if err != nil {
		return fmt.Errorf("zerosync: %w", err)
	}

	loop := series{none: "not run in quick mode"}
	if r.cfg.LatencyPeer {
		var rs *rsyncTool
		for _, p := range ts.peers {
			if t, ok := p.(*rsyncTool); ok {
				rs = t
			}
		}
		if rs == nil {
			return errors.New("no rsync tool")
		}
		l, err := startRsyncLoop(ctx, rs.a, rs.Sync)
		if err != nil {
			return err
		}
		loop.none = ""
		loop.secs, err = r.trials(ctx, m, "inotifywait + rsync", rs.a, rs.b, rel, l.busy)
		if err := errors.Join(err, l.stop()); err != nil {
			return fmt.Errorf("inotifywait + rsync loop: %w", err)
		}
		if err := r.check(m, "latency", ts, rs); err != nil {
			return err
		}
	}

	pct := func(s series, p float64) figure {
		if s.none != "" {
			return absent(s.none)
		}
		return single(percentile(s.secs, p), unitSeconds)
	}
	n := r.cfg.LatencyTrials
	p50limit, p99limit := 5e-3, 15e-3
	if m.ssh != nil {
		p50limit, p99limit = 10e-3, 25e-3
	}
	p50 := row{Workload: fmt.Sprintf("propagation in watch mode, p50 of %d writes", n), ZS: pct(zs, 50),
		Peers: []peerFigure{{"inotifywait + rsync loop", pct(loop, 50)}}, Target: "≤ " + fmtValue(p50limit, unitSeconds)}
	p50.Verdict = verdictBelow(p50.ZS, p50limit)
	p99 := row{Workload: fmt.Sprintf("propagation in watch mode, p99 of %d writes", n), ZS: pct(zs, 99),
		Peers: []peerFigure{{"inotifywait + rsync loop", pct(loop, 99)}}, Target: "≤ " + fmtValue(p99limit, unitSeconds)}
	p99.Verdict = verdictBelow(p99.ZS, p99limit)
	r.res.stand("prop-p50", m.name, p50.Verdict)
	r.res.stand("prop-p99", m.name, p99.Verdict)
	m.sec.Rows = append(m.sec.Rows, p50, p99)
	if m.ssh != nil {
		none := []peerFigure{{"—", absent("— (the loop watches one side only)")}}
		f50 := row{Workload: fmt.Sprintf("propagation from the far side (written on B, seen by the agent's watcher), p50 of %d writes", n), ZS: pct(far, 50), Peers: none, Target: "≤ 10 ms"}
		f50.Verdict = verdictBelow(f50.ZS, 10e-3)
		f99 := row{Workload: fmt.Sprintf("propagation from the far side (written on B, seen by the agent's watcher), p99 of %d writes", n), ZS: pct(far, 99), Peers: none, Target: "≤ 25 ms"}
		f99.Verdict = verdictBelow(f99.ZS, 25e-3)
		r.res.stand("far-p50", m.name, f50.Verdict)
		r.res.stand("far-p99", m.name, f99.Verdict)
		m.sec.Rows = append(m.sec.Rows, f50, f99)
	}
	return nil
}

// zsLatency runs the trials against a running engine with watchers on
// zerosync's pair: writes of rel on A, and in the ssh mode then writes of
// farRel on B, the far side, which only the agent's watcher sees.
func (r *runner) zsLatency(ctx context.Context, m *mode, ts *toolset, rel, farRel string) (near, far series, err error) {
	er, err := startEngine(ctx, ts.zs.spec)
	if err != nil {
		return near, far, err
	}
	d := ts.dirs[ts.zs]
	busy := func() bool { return !er.idle() }
	near.secs, err = r.trials(ctx, m, "zerosync", d[0], d[1], rel, busy)
	if err == nil && m.ssh != nil {
		far.secs, err = r.trials(ctx, m, "zerosync (far side)", d[1], d[0], farRel, busy)
	}
	if err := errors.Join(err, er.failed(), er.Close()); err != nil {
		return near, far, err
	}
	return near, far, r.check(m, "latency", ts, ts.zs)
}

// trials writes new content to rel on A, again and again, and times each
// write until B holds exactly that content. Between trials it waits until
// the tool is idle, so each trial starts from rest. Warm-up writes are
// repeated until they arrive (a watcher may still be starting); a measured
// write that does not arrive within 30 s is an error.
func (r *runner) trials(ctx context.Context, m *mode, label, a, b, rel string, busy func() bool) ([]float64, error) {
	src, dst := filepath.Join(a, filepath.FromSlash(rel)), filepath.Join(b, filepath.FromSlash(rel))
	warm, n := r.cfg.LatencyWarmup, r.cfg.LatencyTrials
	var lat []float64
	for i := range warm + n {
		if err := settle(ctx, busy); err != nil {
			return nil, err
		}
		// Each write changes the size: rsync and unison compare size and
		// whole-second modification times, and two writes within one
		// second are common here.
		content := fmt.Appendf(nil, "latency trial %d of %s\n%s", i, label, strings.Repeat("x", 512+i%256))
		start := time.Now()
		if err := os.WriteFile(src, content, 0o644); err != nil {
			return nil, err
		}
		for attempt := 1; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			got, err := os.ReadFile(dst)
			if err == nil && bytes.Equal(got, content) {
				break
			}
			if time.Since(start) > 30*time.Second {
				return nil, fmt.Errorf("%s: write %d did not reach B in 30 s", label, i)
			}
			if i < warm && time.Since(start) > time.Duration(attempt)*time.Second {
				// A warm-up write the watcher may have missed: write again.
				if err := os.WriteFile(src, content, 0o644); err != nil {
					return nil, err
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
		d := time.Since(start).Seconds()
		if i >= warm {
			lat = append(lat, d)
		}
		if i == warm+n-1 || (i-warm+1)%max(1, n/4) == 0 {
			r.logf("%s: latency: %s trial %d/%d: %s", m.name, label, max(0, i-warm+1), n, fmtValue(d, unitSeconds))
		}
	}
	return lat, settle(ctx, busy)
}

// settle waits until busy has been false for 20 ms.
func settle(ctx context.Context, busy func() bool) error {
	quietSince := time.Now()
	for time.Since(quietSince) < 20*time.Millisecond {
		if err := ctx.Err(); err != nil {
			return err
		}
		if busy() {
			quietSince = time.Now()
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// rsyncLoop is the usual watch script: inotifywait -m -r on A, and an
// rsync of the whole tree after every burst of events (events that arrive
// during a run fold into one more run).
type rsyncLoop struct {
	cmd     *exec.Cmd
	pending chan struct{}
	running atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
}

// startRsyncLoop watches dir with inotifywait and calls sync after every
// burst of events.
func startRsyncLoop(ctx context.Context, dir string, sync func(context.Context) error) (*rsyncLoop, error) {
	l := &rsyncLoop{pending: make(chan struct{}, 1)}
	l.cmd = exec.Command("inotifywait", "-m", "-r", "-e", "close_write,create,delete,move,attrib", "--format", "%w%f", dir)
	stdout, err := l.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := l.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := l.cmd.Start(); err != nil {
		return nil, fmt.Errorf("inotifywait: %w", err)
	}
	if err := waitEstablished(stderr); err != nil {
		_ = l.cmd.Process.Kill()
		_ = l.cmd.Wait()
		return nil, err
	}
	l.wg.Go(func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			select {
			case l.pending <- struct{}{}:
			default:
			}
		}
		close(l.pending)
	})
	l.wg.Go(func() {
		for range l.pending {
			l.running.Store(true)
			err := sync(ctx)
			l.running.Store(false)
			if err != nil {
				l.mu.Lock()
				l.err = errors.Join(l.err, err)
				l.mu.Unlock()
			}
		}
	})
	return l, nil
}

// waitEstablished reads inotifywait's standard error until it says its
// watches are set up, then drains the rest in the background.
func waitEstablished(stderr io.Reader) error {
	s := bufio.NewScanner(stderr)
	var said []string
	for s.Scan() {
		line := s.Text()
		if strings.Contains(line, "Watches established") {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return nil
		}
		said = append(said, line)
	}
	return fmt.Errorf("inotifywait did not set up its watches: %s", strings.Join(said, "; "))
}

// busy reports whether an rsync runs or is about to.
func (l *rsyncLoop) busy() bool { return l.running.Load() || len(l.pending) > 0 }

// stop ends inotifywait, lets the last rsync finish, and returns the
// errors of the rsync runs.
func (l *rsyncLoop) stop() error {
	_ = l.cmd.Process.Kill()
	_ = l.cmd.Wait()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
