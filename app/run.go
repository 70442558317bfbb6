package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
)

// console is what run and once show as the engine works, fed from its
// events. On a terminal (standard output is one) it shows a progress
// display during a long sync and, with lines, a line per applied change,
// conflict and problem; elsewhere it shows nothing, and run's lines go to
// the log at Info instead. Errors always go to the log.
type console struct {
	mu       sync.Mutex
	log      *slog.Logger
	out      io.Writer // lines, through the screen; nil when not a terminal
	lines    bool
	progress *progress // nil when not a terminal
	level    slog.Level
}

// newConsole returns the console of a command; lines asks for a line per
// event (run), not only the progress display (once, which prints its
// report at the end); display false leaves the display out too (once
// --json, whose standard output is the JSON).
func (env *Env) newConsole(lines, display bool) *console {
	c := &console{log: env.Log, lines: lines, level: slog.LevelInfo}
	if !lines {
		c.level = slog.LevelDebug
	}
	if isTerminal(env.Streams.Out) {
		c.out = env.screen.writer(env.Streams.Out)
		if display {
			c.progress = newProgress(env.Streams.Out, &env.screen)
		}
		// The lines are the record a person reads; the log repeats
		// them only with -v.
		c.level = slog.LevelDebug
	}
	return c
}

// observe follows one engine event. The engine calls it from one goroutine
// at a time for a cycle's events, and from others for a failing source.
func (c *console) observe(ev zerosync.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.progress != nil {
		c.progress.observe(ev)
	}
	ctx := context.Background()
	switch ev.Kind {
	case zerosync.EventApplied:
		a := *ev.Action
		c.log.Log(ctx, c.level, "applied", "op", control.ActionOf(a).Op, "peer", ev.Peer, "side", a.Side, "path", a.Path, "reason", a.Reason)
		c.line(eventLine(control.EventOf(ev)))
	case zerosync.EventConflict:
		cr := *ev.Conflict
		c.log.Log(ctx, c.level, "conflict", "peer", ev.Peer, "path", cr.Path, "by", cr.Resolution.By, "note", cr.Resolution.Note, "copy", cr.CopyPath)
		c.line(eventLine(control.EventOf(ev)))
	case zerosync.EventProblem:
		// The engine logs it as a warning.
		c.line(eventLine(control.EventOf(ev)))
	case zerosync.EventError:
		if !errors.Is(ev.Err, context.Canceled) {
			c.log.Error("sync failed", "err", ev.Err)
		}
	}
}

// line prints s when the console shows lines on a terminal.
func (c *console) line(s string) {
	if c.lines && c.out != nil {
		fmt.Fprintln(c.out, s)
	}
}

// close ends a progress display still drawn.
func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.progress != nil {
		c.progress.stop()
	}
}

// say tells a person at a terminal what the engine does, and the log in
// any case.
func (c *console) say(msg string) {
	c.log.Info(msg)
	if c.out != nil {
		fmt.Fprintln(c.out, msg)
	}
}

// daemonRun is the run subcommand: the engine runs, served on its
// control socket ([Serve]), until ctx ends or a client asks it to stop; a
// stop is a clean end. A daemon of the engine already running is an error
// naming it.
func (env *Env) daemonRun(ctx context.Context, c *console) error {
	if d, err := env.daemon(ctx); err != nil {
		return err
	} else if d != nil {
		h, _ := d.Hello(ctx)
		d.Close()
		return fmt.Errorf("%s is %w (process %d)", env.App.Name, control.ErrRunning, h.PID)
	}
	env.daemonize = true
	return env.withEngine(ctx, func(e *engine.Engine) error {
		// A flag set at start pauses the engine before anyone can ask
		// the socket for its status.
		paused := env.paused()
		if paused {
			e.Pause()
			c.say("paused")
		}
		runCtx, stop, err := Serve(ctx, env, e)
		if err != nil {
			return err
		}
		defer stop()
		defer notifySystemd(runCtx, env.Log, e)() // READY, WATCHDOG, STOPPING under systemd: notify.go
		return env.run(runCtx, e, c, paused)
	}, engine.WithObserver(c.observe))
}

// run is the daemon: it syncs until ctx ends, following the pause flags.
// It follows them on their changes only: a flag set (or removed) pauses
// (or resumes) the engine, but a pause or resume through the control
// socket stays until the flags change again. paused is whether a flag was
// set when the engine started (the caller paused it then).
func (env *Env) run(ctx context.Context, e *engine.Engine, c *console, paused bool) error {
	last := paused
	follow := func() {
		now := env.paused()
		if now == last {
			return
		}
		last = now
		if now {
			e.Pause()
			c.say("paused")
		} else {
			e.Resume()
			c.say("resumed")
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				follow()
			}
		}
	})
	c.log.Info("syncing", "engine", env.App.Name, "root", env.Root, "peers", len(env.Peers))
	if c.out != nil {
		fmt.Fprintf(c.out, "%s: syncing %s with %d peer(s); Ctrl-C (or %s stop) stops\n", env.App.Name, Name(env.Root), len(env.Peers), env.App.Name)
	}
	err := e.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
