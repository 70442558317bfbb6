package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// engineRun is a zerosync engine running the way a user runs it:
// [engine.Engine.Run] with the endpoints' watchers, so its cycles rescan
// only what the watchers named. A change is timed until the cycles the
// watchers set off have applied it; a no-op cycle is an explicit SyncOnce
// made while it runs.
type engineRun struct {
	z      *zsPair
	cancel context.CancelFunc
	done   chan error

	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	busy    int                 // cycles under way
	cycles  int                 // cycles ended
	lastEnd time.Time           // when the last cycle ended
	applied map[string]struct{} // paths applied since the last change began
	err     error               // the first error an event reported
	ended   chan struct{}       // poked when a cycle ends
}

// startEngine opens the engine of spec with watchers on, starts Run, and
// returns once the first cycle has ended.
func startEngine(ctx context.Context, spec zsSpec) (*engineRun, error) {
	spec.Watch = true
	return startEngineWith(ctx, func(opts ...engine.Option) (*zsPair, error) { return openZS(ctx, spec, opts...) })
}

// startEngineWith is [startEngine] for an engine that open builds (with
// watchers on and the options given).
func startEngineWith(ctx context.Context, open func(...engine.Option) (*zsPair, error)) (*engineRun, error) {
	er := &engineRun{done: make(chan error, 1), applied: map[string]struct{}{}, ended: make(chan struct{}, 1)}
	z, err := open(engine.WithObserver(er.observe))
	if err != nil {
		return nil, err
	}
	er.z = z
	rctx, cancel := context.WithCancel(ctx)
	er.cancel = cancel
	go func() { er.done <- z.eng.Run(rctx) }()
	deadline := time.NewTimer(10 * time.Minute)
	defer deadline.Stop()
	for {
		er.mu.Lock()
		cycles, err := er.cycles, er.err
		er.mu.Unlock()
		if err != nil || cycles > 0 {
			if err != nil {
				er.Close()
				return nil, err
			}
			return er, nil
		}
		select {
		case <-er.ended:
		case <-deadline.C:
			er.Close()
			return nil, errors.New("the running engine did not finish its first cycle in 10 minutes")
		case err := <-er.done:
			er.done <- err
			er.Close()
			return nil, fmt.Errorf("the engine stopped before its first cycle ended: %w", err)
		}
	}
}

func (er *engineRun) observe(ev zerosync.Event) {
	er.mu.Lock()
	defer er.mu.Unlock()
	switch ev.Kind {
	case zerosync.EventCycleStart:
		er.busy++
	case zerosync.EventApplied:
		if ev.Action != nil {
			er.applied[ev.Action.Path] = struct{}{}
		}
	case zerosync.EventProblem, zerosync.EventError, zerosync.EventConflict:
		if er.err == nil {
			switch {
			case ev.Err != nil:
				er.err = ev.Err
			case ev.Problem != nil:
				er.err = *ev.Problem
			default:
				er.err = errors.New("unexpected conflict")
			}
		}
	case zerosync.EventCycleEnd:
		er.busy--
		er.cycles++
		er.lastEnd = time.Now()
		select {
		case er.ended <- struct{}{}:
		default:
		}
	}
}

// idle reports whether no cycle is under way.
func (er *engineRun) idle() bool {
	er.mu.Lock()
	defer er.mu.Unlock()
	return er.busy == 0
}

func (er *engineRun) failed() error {
	er.mu.Lock()
	defer er.mu.Unlock()
	return er.err
}

// noop times one explicit cycle when nothing changed, once the engine is
// idle.
func (er *engineRun) noop(ctx context.Context) (float64, error) {
	if err := settle(ctx, func() bool { return !er.idle() }); err != nil {
		return 0, err
	}
	start := time.Now()
	rep, err := er.z.syncOnce(ctx)
	d := time.Since(start).Seconds()
	if err != nil {
		return d, err
	}
	if rep.Changed() {
		return d, fmt.Errorf("a no-op cycle changed %d paths", len(rep.Applied))
	}
	return d, er.failed()
}

// change times edit, a change on A that the watchers see, from its start
// until the end of the cycle that applied the last of paths.
func (er *engineRun) change(ctx context.Context, paths []string, edit func() error) (float64, error) {
	if err := settle(ctx, func() bool { return !er.idle() }); err != nil {
		return 0, err
	}
	er.mu.Lock()
	clear(er.applied)
	er.mu.Unlock()
	start := time.Now()
	if err := edit(); err != nil {
		return 0, err
	}
	timeout := time.NewTimer(5 * time.Minute)
	defer timeout.Stop()
	for {
		er.mu.Lock()
		missing := 0
		for _, p := range paths {
			if _, ok := er.applied[p]; !ok {
				missing++
			}
		}
		end, busy, err := er.lastEnd, er.busy, er.err
		er.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if missing == 0 && busy == 0 {
			return end.Sub(start).Seconds(), nil
		}
		select {
		case <-er.ended:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-timeout.C:
			return 0, fmt.Errorf("the running engine did not apply %d of %d changed paths in 5 minutes", missing, len(paths))
		}
	}
}

// Close stops Run and closes the engine. Later calls return the first
// one's result.
func (er *engineRun) Close() error {
	er.closeOnce.Do(func() {
		er.cancel()
		err := <-er.done
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		er.closeErr = errors.Join(err, er.z.Close())
	})
	return er.closeErr
}

// measureRunning times warm+runs calls of one (which returns the time it
// measured) on a running engine, keeping those after the warm-up, with the
// bytes the proxy counted in the ssh mode, and calls check after each.
// With profiling on, it then calls one again for a while under the CPU
// profiler.
func (r *runner) measureRunning(ctx context.Context, m *mode, workload string, warm, runs int, one func(i int) (float64, error), check func() error) (series, error) {
	var s series
	if m.ssh != nil {
		s.wire = []float64{}
	}
	for i := range warm + runs {
		unix.Sync() // as before every timed run; see runner.measure
		var up0, down0 int64
		if m.ssh != nil {
			up0, down0 = m.ssh.proxy.counts()
		}
		d, err := one(i)
		if err != nil {
			return s, fmt.Errorf("zerosync (running engine): %w", err)
		}
		what := "warm-up"
		if i >= warm {
			what = fmt.Sprintf("run %d/%d", i-warm+1, runs)
			s.secs = append(s.secs, d)
			if m.ssh != nil {
				up, down := m.ssh.proxy.counts()
				s.wire = append(s.wire, float64(up-up0+down-down0))
			}
		}
		r.logf("%s: %s: zerosync (running engine) %s: %s", m.name, workload, what, fmtValue(d, unitSeconds))
		if err := check(); err != nil {
			return s, err
		}
	}
	if r.cfg.Profile == "" {
		return s, nil
	}
	file := r.profileName(m, workload, "engine", 0)
	f, err := os.Create(file)
	if err != nil {
		return s, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return s, err
	}
	start := time.Now()
	for i := 0; i == 0 || (time.Since(start) < profileTime && i < 200); i++ {
		if _, err = one(warm + runs + i); err != nil {
			break
		}
	}
	pprof.StopCPUProfile()
	err = errors.Join(err, f.Close())
	r.profiles = append(r.profiles, &profileGroup{title: fmt.Sprintf("%s: %s, running engine", m.name, workload), files: []string{file}})
	return s, err
}
