package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync/agent"
)

// How long the driver waits for its processes before it calls them hung.
const (
	startWait = 2 * time.Minute // an engine process to say it is ready
	cycleWait = 5 * time.Minute // a cycle's reply
	exitWait  = time.Minute     // a process to exit once its peer is gone
)

// errHung is a process that did not answer or exit within its bound: a
// finding, not a harness failure.
var errHung = errors.New("hung")

// proc is a child process of the driver and its end.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process exited and was reaped
	err  error         // Wait's result, once done is closed
}

func startProc(name string, cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// killed reports whether the process ended by SIGKILL.
func (p *proc) killed() bool {
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// exitCode returns the process's exit code, or -1 when a signal ended it.
func (p *proc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// wait waits for the process to exit, at most d; one that does not is
// killed, reaped, and reported hung.
func (p *proc) wait(d time.Duration) error {
	select {
	case <-p.done:
		return nil
	case <-time.After(d):
	}
	p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s did not exit within %v: %w", p.name, d, errHung)
}

// kill kills the process and reaps it.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// world is the running processes: the engine and the two spokes' agents.
type world struct {
	engine  *proc
	agents  []*proc
	stdin   io.WriteCloser
	replies chan reply // closed when the engine's output ends
}

// spawn starts an agent for each spoke, on one end of a socket pair, and
// the engine process with the other ends, and waits until the engine is
// ready. Every process's standard error goes to logw.
func spawn(self string, job engineJob, cacheDirs []string, logw *os.File) (*world, error) {
	w := &world{}
	var engineEnds []*os.File
	defer func() {
		for _, f := range engineEnds {
			f.Close()
		}
	}()
	for i := range job.Spokes {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			w.stop()
			return nil, fmt.Errorf("socket pair: %w", err)
		}
		ours, theirs := os.NewFile(uintptr(fds[0]), "engine-end"), os.NewFile(uintptr(fds[1]), "agent-end")
		engineEnds = append(engineEnds, ours)
		cmd := exec.Command(self)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = theirs, theirs, logw
		cmd.Env = append(os.Environ(), agent.CacheDirEnv+"="+cacheDirs[i], agentEnv+"=1")
		p, err := startProc(job.Spokes[i].Name+" agent", cmd)
		theirs.Close()
		if err != nil {
			w.stop()
			return nil, err
		}
		w.agents = append(w.agents, p)
		job.Spokes[i].PID = cmd.Process.Pid
	}
	b, err := json.Marshal(job)
	if err != nil {
		w.stop()
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), engineEnv+"="+string(b))
	cmd.ExtraFiles = engineEnds
	cmd.Stderr = logw
	stdin, err := cmd.StdinPipe()
	if err != nil {
		w.stop()
		return nil, err
	}
	// A pipe of our own, not StdoutPipe: Wait, which runs as soon as the
	// process exits, must not close it before its last reply is read.
	stdout, out, err := os.Pipe()
	if err != nil {
		w.stop()
		return nil, err
	}
	cmd.Stdout = out
	w.engine, err = startProc("engine", cmd)
	out.Close()
	if err != nil {
		stdout.Close()
		w.stop()
		return nil, err
	}
	w.stdin = stdin
	w.replies = make(chan reply)
	go func() {
		defer close(w.replies)
		defer stdout.Close()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var r reply
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				r = reply{Err: fmt.Sprintf("unreadable reply %q: %v", sc.Bytes(), err)}
			}
			w.replies <- r
		}
	}()
	select {
	case r, ok := <-w.replies:
		switch {
		case !ok:
			err = fmt.Errorf("the engine process ended before it was ready (see the log)")
		case r.Err != "":
			err = fmt.Errorf("the engine process could not start: %s", r.Err)
		case !r.Ready:
			err = fmt.Errorf("the engine process answered %+v before it was ready", r)
		}
	case <-time.After(startWait):
		err = fmt.Errorf("the engine process was not ready within %v: %w", startWait, errHung)
	}
	if err != nil {
		w.stop()
		return nil, err
	}
	return w, nil
}

// cycle sends a cycle command and waits for the reply. ok is false when the
// engine process ended instead of replying (killed, or it failed).
func (w *world) cycle(cmd command) (r reply, ok bool, err error) {
	b, err := json.Marshal(cmd)
	if err != nil {
		return reply{}, false, err
	}
	if _, err := w.stdin.Write(append(b, '\n')); err != nil {
		// The engine died before reading: its reply channel tells.
		select {
		case r, ok := <-w.replies:
			return r, ok, nil
		case <-time.After(cycleWait):
			return reply{}, false, fmt.Errorf("cycle %d: %w", cmd.Cycle, errHung)
		}
	}
	select {
	case r, ok := <-w.replies:
		return r, ok, nil
	case <-time.After(cycleWait):
		return reply{}, false, fmt.Errorf("cycle %d: no reply within %v: %w", cmd.Cycle, cycleWait, errHung)
	}
}

// stop ends every process: the engine by closing its input (it closes its
// connections, and the agents exit), anything left by SIGKILL after the
// bounds. It returns an error when a process hung.
func (w *world) stop() error {
	var errs []error
	if w.stdin != nil {
		w.stdin.Close()
	}
	if w.engine != nil {
		errs = append(errs, w.engine.wait(exitWait))
		if w.replies != nil {
			for range w.replies {
			}
		}
	}
	for _, a := range w.agents {
		errs = append(errs, a.wait(exitWait))
	}
	return errors.Join(errs...)
}
