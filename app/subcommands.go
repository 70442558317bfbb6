package app

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/zerosync/zerosync/engine"
)

// noArgs refuses arguments, as a mistake in the command line.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// offersJSON marks a command that prints JSON with --json.
var offersJSON = map[string]string{"json": "yes"}

// syncCommands are the shared subcommands that sync, show and steer.
func (a *App) syncCommands(g *globals, setup func() (*Env, error)) []*cobra.Command {
	run := &cobra.Command{
		Use: "run", GroupID: groupSync, Args: noArgs,
		Short: "sync now, then whenever something changes, until interrupted",
		Long: `Sync now, then whenever something changes, until interrupted (Ctrl-C, or
SIGTERM from a service manager). The pause flags (pause, resume) are
followed within a second.

On a terminal, every applied change, conflict and problem is printed as a
line, and a long sync (such as the first) shows its progress: files, bytes
and the time left. Elsewhere nothing is printed: it all goes to the log, on
standard error (JSON lines under systemd).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			c := env.newConsole(true, true)
			defer c.close()
			ctx := cmd.Context()
			return env.withEngine(ctx, func(e *engine.Engine) error { return env.run(ctx, e, c) }, engine.WithObserver(c.observe))
		},
	}

	var confirm bool
	once := &cobra.Command{
		Use: "once", GroupID: groupSync, Args: noArgs, Annotations: offersJSON,
		Short: "sync once and print what happened",
		Long: `Sync once and print what happened: every change applied, every conflict
met and how it was settled, every path that could not be synced. On a
terminal, a long sync shows its progress.

It exits with status 3 when it finished but left problems or conflicts
waiting for review (conflicts list shows them).

--json prints one object: {"start", "end", "bytes", "applied": [{"op",
"path", "on", "kind", "size", "reason"}], "conflicts": [{"peer", "path",
"resolved_by", "note", "copy_path"}], "problems": [{"path", "side",
"error"}], "conflicts_waiting", "error"}. "on" is the tree a change was
applied to: "local" (this host) or a peer's name.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			c := env.newConsole(false, !g.json)
			defer c.close()
			var peers appliedPeers
			ctx := cmd.Context()
			return env.withEngine(ctx, func(e *engine.Engine) error { return env.once(ctx, e, &peers, confirm, g.json) },
				engine.WithObserver(c.observe), engine.WithObserver(peers.observe))
		},
	}
	once.Flags().BoolVar(&confirm, "confirm-deletions", false, "apply the deletions that the safety checks stopped (an emptied root, a mass deletion)")

	plan := &cobra.Command{
		Use: "plan", GroupID: groupSync, Args: noArgs, Annotations: offersJSON,
		Short: "print what a sync would do, changing nothing (a dry run)",
		Long: `Print what a sync would do with each peer, changing nothing: a dry run.

--json prints {"peers": [{"peer", "changes": [{"op", "path", "on", "kind",
"size", "reason"}], "conflicts": [{"path", "ours", "theirs"}], "problems":
[{"path", "side", "error"}], "error"}]}; "ours" and "theirs" are {"kind",
"size", "mode", "target"}, or null for a path deleted on that side.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return env.withEngine(ctx, func(e *engine.Engine) error { return env.plan(ctx, e, g.json) })
		},
	}

	status := &cobra.Command{
		Use: "status", GroupID: groupSync, Args: noArgs, Annotations: offersJSON,
		Short: "print the engine's state: paused, conflicts waiting, peers",
		Long: `Print the engine's state: whether it is paused, and for each peer the
conflicts waiting for review and whether syncing with it is halted until a
person acts.

--json prints {"engine", "root", "paused", "conflicts_waiting", "peers":
[{"name", "location", "conflicts_waiting", "halted"}]}; "halted" is left
out for a peer that is not halted.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return env.withEngine(ctx, func(e *engine.Engine) error { return env.status(ctx, e, g.json) })
		},
	}

	pause := func(on bool) *cobra.Command {
		var all, everywhere bool
		verb, what := "resume", "resume syncing"
		if on {
			verb, what = "pause", "pause syncing"
		}
		c := &cobra.Command{
			Use: verb, GroupID: groupSync, Args: noArgs,
			Short: what + " (with --all: every engine of this host)",
			Long: fmt.Sprintf(`%s%s: a running engine follows within a second. With --all, every
zerosync engine of this host does.`, string(what[0]-'a'+'A'), what[1:]),
			RunE: func(cmd *cobra.Command, args []string) error {
				env, err := setup()
				if err != nil {
					return err
				}
				if everywhere { // every host: everywhere.go
					return env.SetEverywhere(cmd.Context(), settingPaused, strconv.FormatBool(on))
				}
				return env.setPaused(on, all)
			},
		}
		c.Flags().BoolVar(&all, "all", false, "every engine of this host")
		c.Flags().BoolVar(&everywhere, "everywhere", false, "this engine on every host: its daemon passes it to each peer's daemon, now or when next reached")
		return c
	}

	adopt := &cobra.Command{
		Use: "adopt [PEER]", GroupID: groupSync,
		Short: "accept a root that changed (another disk, another directory) as the tree to sync",
		Long: `Accept the roots of one peer's pair (or of every pair) as they are now, after
a sync stopped because a root changed: another disk mounted there, another
directory. The next sync has no ancestor: differences become conflicts,
with both versions kept, and nothing is deleted.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("adopt takes at most one peer, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return env.withEngine(ctx, func(e *engine.Engine) error { return env.adopt(ctx, e, args) })
		},
	}
	return []*cobra.Command{run, once, plan, status, pause(true), pause(false), adopt}
}

// setupCommands are the shared subcommands that set an engine up.
func (a *App) setupCommands(g *globals, setup func() (*Env, error)) []*cobra.Command {
	initCmd := &cobra.Command{
		Use: "init", GroupID: groupSetup, Args: noArgs,
		Short: "write a configuration file, with comments, for this engine",
		Long: fmt.Sprintf(`Write a configuration file for this engine, with a comment on every setting:
$XDG_CONFIG_HOME/zerosync/%s.toml (or the file --config names), holding
the root and the peers of this command line (--root, --peer), the extra
include and exclude patterns, the rescan schedule, the AI merge opt-in and
the deadlines. A file that is there is never replaced.`, a.Name),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			root := a.DefaultRoot
			if cmd.Flags().Changed("root") {
				root = g.root
			}
			return env.initConfig(env.ConfigPath, configRoot(root, env.Root), env.Peers)
		},
	}
	var force bool
	service := &cobra.Command{
		Use: "install-service", GroupID: groupSetup, Args: noArgs,
		Short: "write a systemd user unit that keeps this engine running",
		Long: fmt.Sprintf(`Write a systemd user unit, ~/.config/systemd/user/zerosync-%s.service,
that runs "%s run" with this command line's global flags, restarts it when
it fails, and starts it at login; then print the systemctl commands that
start it. An existing unit is replaced only with --force.`, a.Name, a.Name),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			return env.installService(cmd.Root().PersistentFlags(), force)
		},
	}
	service.Flags().BoolVar(&force, "force", false, "replace a unit that is there")
	return []*cobra.Command{initCmd, service}
}
