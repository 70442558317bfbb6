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

	"github.com/zerosync/zerosync/internal/startheap"
)

// childEnv names the environment variable that turns the benchmark program
// (or its test binary) into one of its child processes: a cold zerosync
// process doing one sync, or a running engine whose memory is measured.
// Its value is a JSON [childJob].
const childEnv = "ZEROSYNC_BENCH_CHILD"

// childJob is the work of a child process.
type childJob struct {
	// Role is "once" (one cycle, then exit), "watch" (a running engine
	// with watchers until stdin ends; see watchChild) or "hub" (the
	// fleet's hub engine; see hubChild).
	Role string
	Spec zsSpec
	// Fleet is the hub engine of the role "hub" (see hubChild).
	Fleet *fleetSpec `json:",omitempty"`
	Noops int        `json:",omitempty"`
	// CPUProfile and HeapProfile, when set, are files to write profiles to.
	CPUProfile  string `json:",omitempty"`
	HeapProfile string `json:",omitempty"`
}

// childReport is what a child prints on stdout, one JSON line per step.
type childReport struct {
	Step    string    // "synced", "running", "noops"
	Bytes   int64     `json:",omitempty"`
	Applied int       `json:",omitempty"`
	Noops   []float64 `json:",omitempty"` // seconds
	// LiveHeap is the Go heap in use right after a collection, bytes.
	LiveHeap uint64 `json:",omitempty"`
	// CPU is the CPU time the process used so far, seconds.
	CPU float64 `json:",omitempty"`
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
	// As the programs built on the command-line package and the agent do,
	// unless a heap profile is asked for.
	if job.HeapProfile == "" {
		startheap.NoMemProfile()
	}
	startheap.Set(startheap.Limit)
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
	switch job.Role {
	case "once":
		z, err := openZS(ctx, job.Spec)
		if err != nil {
			return err
		}
		rep, err := z.syncOnce(ctx)
		err = errors.Join(err, z.Close())
		if err != nil {
			return err
		}
		return enc.Encode(childReport{Step: "synced", Bytes: rep.Bytes, Applied: len(rep.Applied)})
	case "watch":
		return watchChild(ctx, job, stdin, enc)
	case "hub":
		return hubChild(ctx, job, stdin, enc)
	}
	return fmt.Errorf("unknown role %q", job.Role)
}

// watchChild runs the engine with its watchers, says "running" once its
// first cycle ended, and then obeys the lines of stdin: "noops" times
// job.Noops no-op cycles and reports their CPU time and the live heap after
// a collection. At the end of stdin it writes the heap profile
// (if asked) and stops.
func watchChild(ctx context.Context, job childJob, stdin io.Reader, enc *json.Encoder) (err error) {
	er, err := startEngine(ctx, job.Spec)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, er.Close()) }()
	if err := enc.Encode(childReport{Step: "running"}); err != nil {
		return err
	}
	lines := bufio.NewScanner(stdin)
	for lines.Scan() {
		if lines.Text() != "noops" {
			return fmt.Errorf("unknown command %q", lines.Text())
		}
		noops := make([]float64, 0, job.Noops)
		cpu0 := cpuSelf()
		for range job.Noops {
			d, err := er.noop(ctx)
			if err != nil {
				return err
			}
			noops = append(noops, d)
		}
		cpu := cpuSelf() - cpu0
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if err := enc.Encode(childReport{Step: "noops", Noops: noops, LiveHeap: ms.HeapAlloc, CPU: cpu}); err != nil {
			return err
		}
	}
	if err := er.failed(); err != nil {
		return err
	}
	if job.HeapProfile != "" {
		runtime.GC()
		f, err := os.Create(job.HeapProfile)
		if err != nil {
			return err
		}
		if err := errors.Join(pprof.WriteHeapProfile(f), f.Close()); err != nil {
			return err
		}
	}
	return nil
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
