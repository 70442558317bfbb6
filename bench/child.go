package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// childEnv names the environment variable that turns the benchmark program
// (or its test binary) into one of its child processes: a cold zerosync
// process doing one sync, or a running engine whose memory is measured.
// Its value is a JSON [childJob].
const childEnv = "ZEROSYNC_BENCH_CHILD"

// childJob is the work of a child process.
type childJob struct {
	// Role is "once" (one cycle, then exit) or "watch" (a first cycle,
	// Noops timed no-op cycles, then Run with watchers until stdin closes).
	Role  string
	Spec  zsSpec
	Noops int `json:",omitempty"`
	// CPUProfile and HeapProfile, when set, are files to write profiles to.
	CPUProfile  string `json:",omitempty"`
	HeapProfile string `json:",omitempty"`
}

// childReport is what a child prints on stdout, one JSON line per step.
type childReport struct {
	Step    string    // "synced", "noops", "running"
	Bytes   int64     `json:",omitempty"`
	Applied int       `json:",omitempty"`
	Noops   []float64 `json:",omitempty"` // seconds
}

// isChild reports whether this process was started as a child.
func isChild() bool { return os.Getenv(childEnv) != "" }

// childMain runs the job in the environment and returns the exit code.
func childMain() int {
	var job childJob
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &job); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runChild(ctx, job, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	return 0
}

func runChild(ctx context.Context, job childJob, stdin io.Reader, stdout io.Writer) (err error) {
	if job.CPUProfile != "" {
		f, err := os.Create(job.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			err = errors.Join(err, f.Close())
		}()
	}
	enc := json.NewEncoder(stdout)
	z, err := openZS(ctx, job.Spec)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, z.Close()) }()
	rep, err := z.syncOnce(ctx)
	if err != nil {
		return err
	}
	if err := enc.Encode(childReport{Step: "synced", Bytes: rep.Bytes, Applied: len(rep.Applied)}); err != nil {
		return err
	}
	if job.Role == "once" {
		return nil
	}
	if job.Role != "watch" {
		return fmt.Errorf("unknown role %q", job.Role)
	}
	noops := make([]float64, 0, job.Noops)
	for range job.Noops {
		start := time.Now()
		rep, err := z.syncOnce(ctx)
		if err != nil {
			return err
		}
		noops = append(noops, time.Since(start).Seconds())
		if rep.Changed() {
			return fmt.Errorf("no-op cycle changed %d paths", len(rep.Applied))
		}
	}
	if err := enc.Encode(childReport{Step: "noops", Noops: noops}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- z.eng.Run(ctx) }()
	if err := enc.Encode(childReport{Step: "running"}); err != nil {
		return err
	}
	// The parent closes stdin to stop the engine.
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	err = <-done
	if job.HeapProfile != "" {
		runtime.GC()
		f, ferr := os.Create(job.HeapProfile)
		if ferr == nil {
			ferr = errors.Join(pprof.WriteHeapProfile(f), f.Close())
		}
		if ferr != nil {
			return ferr
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// child is a running child process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr *lockedBuffer
}

// startChild starts this program's executable as a child doing job.
func startChild(job childJob) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	c := &child{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = c.stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewScanner(stdout)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

// next reads the child's next report, which must be step.
func (c *child) next(step string) (childReport, error) {
	var r childReport
	if !c.out.Scan() {
		err := c.cmd.Wait()
		return r, fmt.Errorf("child ended before %q: %v: %s", step, err, c.stderr.String())
	}
	if err := json.Unmarshal(c.out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("child said %q: %w", c.out.Text(), err)
	}
	if r.Step != step {
		return r, fmt.Errorf("child said %q, want %q", r.Step, step)
	}
	return r, nil
}

// stop closes the child's stdin and waits for it to exit.
func (c *child) stop() error {
	c.stdin.Close()
	for c.out.Scan() {
	}
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("child: %w: %s", err, c.stderr.String())
	}
	return nil
}

// runChildOnce runs a cold zerosync process that syncs once.
func runChildOnce(ctx context.Context, spec zsSpec, cpuProfile string) (childReport, error) {
	c, err := startChild(childJob{Role: "once", Spec: spec, CPUProfile: cpuProfile})
	if err != nil {
		return childReport{}, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.cmd.Process.Kill() })
	defer stop()
	r, err := c.next("synced")
	if err != nil {
		c.stop()
		return r, err
	}
	return r, c.stop()
}
