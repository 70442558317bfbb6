package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
)

// An engine's own commands ([App.Commands]) that work with its state or
// its trees are marked [Command.Daemon]: while the engine's daemon runs,
// such a command is run in the daemon, through its control socket (see
// [control.WithCommands]), with the daemon's engine and settings, and what
// it prints is carried back; otherwise it runs in the command itself. So
// it never opens the state the daemon holds, and what it shows is what
// the daemon does.

// runOwn runs the engine's own command name: in the running daemon when
// there is one and the command asks for it, else here.
func (env *Env) runOwn(ctx context.Context, name string, c Command, args []string) error {
	if c.Daemon {
		d, err := env.daemon(ctx)
		if err != nil {
			return err
		}
		if d != nil {
			defer d.Close()
			env.Log.Debug("through the running daemon", "engine", env.App.Name, "command", name)
			resp, err := d.Command(ctx, name, args)
			if err != nil {
				return err
			}
			io.WriteString(env.Streams.Out, resp.Output)
			if resp.Error == "" {
				return nil
			}
			err = &control.Error{Status: http.StatusOK, Code: control.CodeInternal, Message: resp.Error, Advice: resp.Advice}
			return &ExitError{Code: max(resp.Exit, ExitFailure), Err: err}
		}
	}
	return c.Run(ctx, env, args)
}

// commandFunc runs the engine's own commands for the daemon's clients, on
// e (its running engine) and ev (its settings for every host).
func (env *Env) commandFunc(e *engine.Engine, ev *control.Everywhere) control.CommandFunc {
	return func(ctx context.Context, name string, args []string, out io.Writer) (int, error) {
		c, ok := env.App.Commands[name]
		if !ok && name == "trees" && env.App.Trees {
			c, ok = treesCommand, true
		}
		if !ok || !c.Daemon {
			return 0, &control.Error{Status: http.StatusNotFound, Code: control.CodeNotFound,
				Message: fmt.Sprintf("%s has no command %q that its daemon runs", env.App.Name, name)}
		}
		err := c.Run(ctx, env.inDaemon(e, ev, out), args)
		return ExitCode(err), err
	}
}

// inDaemon is the Env of a command run in the daemon for a client: the
// daemon's, with e as its engine ([Env.Engine] returns it), ev as its
// settings for every host, and out as both of its output streams.
func (env *Env) inDaemon(e *engine.Engine, ev *control.Everywhere, out io.Writer) *Env {
	return &Env{
		App: env.App, Root: env.Root, Peers: env.Peers,
		State: env.State, StateDir: env.StateDir,
		Config: env.Config, ConfigPath: env.ConfigPath,
		Streams: Streams{In: strings.NewReader(""), Out: out, Err: out},
		Log:     env.Log, Local: env.Local, Staged: env.Staged, BWLimit: env.BWLimit,
		running: e, ev: ev, trees: env.trees,
	}
}
