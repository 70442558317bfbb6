package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/zerosync/zerosync/control"
)

// Pausing is one mechanism with two parts. The pause flags are files in
// the state directory, which outlive a restart: this engine's own, and one
// for every engine of the host (--all). A running daemon pauses and resumes
// through its control socket at once, and follows the flags when they
// change (see [Env.run]), so a pause through the socket is not undone by a
// flag that did not change.

// pauseFiles are the flags that pause this engine: its own, and the one for
// every engine of the host.
func (env *Env) pauseFiles() [2]string {
	return [2]string{filepath.Join(env.StateDir, env.App.Name+".paused"), filepath.Join(env.StateDir, "all.paused")}
}

// paused says whether a pause flag of this engine is set.
func (env *Env) paused() bool {
	for _, f := range env.pauseFiles() {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// setPauseFlag writes or removes the pause flag of this engine, or with
// all the one of every engine of the host, and returns its file.
func (env *Env) setPauseFlag(on, all bool) (string, error) {
	f := env.pauseFiles()[0]
	if all {
		f = env.pauseFiles()[1]
	}
	if !on {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return f, nil
	}
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(f, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return "", err
	}
	return f, nil
}

// pause pauses (on) or resumes this engine, or with all every engine of
// this host: it sets the flag, which lasts across restarts, and tells the
// running daemons through their sockets, which act at once. It prints what
// it did.
func (env *Env) pause(ctx context.Context, on, all bool) error {
	f, err := env.setPauseFlag(on, all)
	if err != nil {
		return err
	}
	verb := "resumed"
	if on {
		verb = "paused"
	}
	fmt.Fprintf(env.Streams.Out, "%s (%s)\n", verb, filepath.Base(f))
	clients, err := env.daemons(ctx, all)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range clients {
		call := d.c.Resume
		if on {
			call = d.c.Pause
		}
		if _, err := call(ctx); err != nil {
			errs = append(errs, fmt.Errorf("the daemon of %s: %w", d.name, err))
		} else {
			fmt.Fprintf(env.Streams.Out, "the running daemon of %s %s\n", Name(d.name), verb)
		}
		d.c.Close()
	}
	if len(clients) == 0 {
		what := "no daemon of " + env.App.Name + " is running"
		if all {
			what = "no daemon is running"
		}
		fmt.Fprintf(env.Streams.Out, "%s; the flag holds for the next %s run\n", what, env.App.Name)
	}
	return errors.Join(errs...)
}

// namedClient is a client of the daemon of the engine called name.
type namedClient struct {
	name string
	c    *control.Client
}

// daemons returns clients of this engine's running daemon, or with all of
// every daemon of this host whose socket is in the socket directory.
func (env *Env) daemons(ctx context.Context, all bool) ([]namedClient, error) {
	if !all {
		c, err := env.daemon(ctx)
		if err != nil || c == nil {
			return nil, err
		}
		return []namedClient{{env.App.Name, c}}, nil
	}
	path, err := control.SocketPath(env.App.Name)
	if err != nil {
		return nil, err
	}
	socks, err := filepath.Glob(filepath.Join(filepath.Dir(path), "*.sock"))
	if err != nil {
		return nil, err
	}
	slices.Sort(socks)
	var out []namedClient
	for _, sock := range socks {
		other := &Env{App: &App{Name: strings.TrimSuffix(filepath.Base(sock), ".sock")}}
		c, err := other.dial(ctx, sock)
		if err != nil {
			env.Log.Warn("a daemon's socket does not answer", "socket", sock, "err", err)
			continue
		}
		if c != nil {
			out = append(out, namedClient{other.App.Name, c})
		}
	}
	return out, nil
}

// ErrNoDaemon: the command needs the engine's daemon, and none runs.
var ErrNoDaemon = errors.New("no daemon is running")

// needDaemon returns a client of this engine's running daemon, or
// [ErrNoDaemon] when none runs.
func (env *Env) needDaemon(ctx context.Context) (*control.Client, error) {
	c, err := env.daemon(ctx)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, ErrNoDaemon
	}
	return c, nil
}

// stopWait bounds how long stop waits for the daemon to go.
const stopWait = 30 * time.Second

// stop asks this engine's daemon to stop and waits until it is gone.
func (env *Env) stop(ctx context.Context) error {
	c, err := env.needDaemon(ctx)
	if err != nil {
		return err
	}
	h, _ := c.Hello(ctx)
	err = c.Stop(ctx)
	c.Close()
	if err != nil {
		return err
	}
	path, err := control.SocketPath(env.App.Name)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(stopWait)
	for {
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon of %s (process %d) was asked to stop, but its socket is still there after %v", env.App.Name, h.PID, stopWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	fmt.Fprintf(env.Streams.Out, "stopped the daemon of %s (process %d)\n", env.App.Name, h.PID)
	return nil
}
