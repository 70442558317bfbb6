package app

import (
	"fmt"
	"strconv"
	"strings"

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

// syncCommands are the shared subcommands that sync, show and steer. Each
// of them works the same whether the engine's daemon runs (it goes through
// the daemon's control socket) or not (it opens the engine's state itself).
func (a *App) syncCommands(g *globals, setup func() (*Env, error)) []*cobra.Command {
	run := &cobra.Command{
		Use: "run", GroupID: groupSync, Args: noArgs,
		Short: "sync now, then whenever something changes, until stopped: the daemon",
		Long: fmt.Sprintf(`Sync now, then whenever something changes, until interrupted (Ctrl-C,
SIGTERM from a service manager) or stopped (%[1]s stop). This is the
daemon: while it runs, the other commands (status, plan, once, flush,
conflicts, versions, staged, adopt, pause, resume, stop, peers, monitor)
go through its control socket, under $XDG_RUNTIME_DIR/zerosync. The pause
flags (pause, resume) are followed when they change, within a second.

On a terminal, every applied change, conflict and problem is printed as a
line, and a long sync (such as the first) shows its progress: files, bytes
and the time left. Elsewhere nothing is printed: it all goes to the log, on
standard error (JSON lines under systemd).`, a.Name),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			c := env.newConsole(true, true)
			defer c.close()
			return env.daemonRun(cmd.Context(), c)
		},
	}

	onceCmd := func(name, short, long string) *cobra.Command {
		var confirm bool
		c := &cobra.Command{
			Use: name, GroupID: groupSync, Args: noArgs, Annotations: offersJSON,
			Short: short, Long: long,
			RunE: func(cmd *cobra.Command, args []string) error {
				env, err := setup()
				if err != nil {
					return err
				}
				c := env.newConsole(false, !g.json)
				defer c.close()
				ctx := cmd.Context()
				return env.withBackend(ctx, func(b backend) error {
					// Through a daemon, the display follows its events (follow.go).
					return env.once(ctx, followDaemon(b, c), confirm, g.json)
				}, engine.WithObserver(c.observe))
			},
		}
		c.Flags().BoolVar(&confirm, "confirm-deletions", false, "apply the deletions that the safety checks stopped (an emptied root, a mass deletion)")
		return c
	}
	const onceLong = `Sync once and print what happened: every change applied, every conflict
met and how it was settled, every path that could not be synced. On a
terminal, a long sync shows its progress. While the daemon runs (%[1]s
run), it is asked to sync now, and the report is that sync's.

It exits with status 3 when it finished but left problems or conflicts
waiting for review (conflicts list shows them).

--json prints one object: {"start", "end", "bytes", "applied": [{"op",
"path", "on", "kind", "size", "reason"}], "conflicts": [{"peer", "path",
"resolved_by", "note", "copy_path"}], "problems": [{"path", "side",
"error"}], "conflicts_waiting", "error"}. "on" is the tree a change was
applied to: "local" (this host) or a peer's name.`
	once := onceCmd("once", "sync once and print what happened", fmt.Sprintf(onceLong, a.Name))
	flush := onceCmd("flush", "sync now and wait for the result (the same as once)",
		"Sync now and wait for the result: the running daemon syncs at once (as\n\"mutagen sync flush\" does); without a daemon, the same as once.\n\n"+fmt.Sprintf(onceLong, a.Name))

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
			return env.withBackend(ctx, func(b backend) error { return env.plan(ctx, b, g.json) })
		},
	}

	status := &cobra.Command{
		Use: "status", GroupID: groupSync, Args: noArgs, Annotations: offersJSON,
		Short: "print the engine's state: paused, conflicts waiting, peers",
		Long: `Print the engine's state: whether it is paused, and for each peer the
conflicts waiting for review and whether syncing with it is halted until a
person acts. While the daemon runs, also how each peer last synced: its
state (connected, failed, halted, or waiting for its first sync), when and
how long, and what stopped it.

--json prints {"engine", "root", "paused", "conflicts_waiting", "peers":
[{"name", "location", "conflicts_waiting", "halted"}]}; "halted" is left
out for a peer that is not halted. While the daemon runs, "running" is
true, with "cycles", "last_cycle" and "last_error", and each peer has
"state", "last_sync", "last_sync_seconds" and "error".`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return env.withBackend(ctx, func(b backend) error { return env.status(ctx, b, g.json) })
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
			Long: fmt.Sprintf(`%s%s: the running daemon at once, through its socket, and the
daemon started later too (the flag lasts across restarts). With --all,
every zerosync engine of this host does.`, string(what[0]-'a'+'A'), what[1:]),
			RunE: func(cmd *cobra.Command, args []string) error {
				env, err := setup()
				if err != nil {
					return err
				}
				if everywhere { // every host: everywhere.go
					return env.SetEverywhere(cmd.Context(), settingPaused, strconv.FormatBool(on))
				}
				return env.pause(cmd.Context(), on, all)
			},
		}
		c.Flags().BoolVar(&all, "all", false, "every engine of this host")
		c.Flags().BoolVar(&everywhere, "everywhere", false, "this engine on every host: its daemon passes it to each peer's daemon, now or when next reached")
		return c
	}

	var everywhere bool
	stop := &cobra.Command{
		Use: "stop", GroupID: groupSync, Args: noArgs,
		Short: "stop the running daemon",
		Long: fmt.Sprintf(`Ask the running daemon (%[1]s run) to stop, through its socket, and wait
until it has. Under systemd, the service restarts it only when it failed:
stop it there with systemctl --user stop %[2]s.`, a.Name, unitName(a.Name)),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			if everywhere { // every host: everywhere.go
				return env.stopEverywhere(cmd.Context())
			}
			return env.stop(cmd.Context())
		},
	}
	stop.Flags().BoolVar(&everywhere, "everywhere", false, "the daemon of this engine on every host that can be reached now")

	monitor := &cobra.Command{
		Use: "monitor", GroupID: groupSync, Args: noArgs, Annotations: offersJSON,
		Short: "watch the running daemon: a live view of every peer",
		Long: `Watch the running daemon until interrupted. On a terminal, a live view,
redrawn in place: for every peer its state, when it last synced and how
long that took, the changes pending in the cycle under way, the conflicts
waiting, and what made it fail or halt; below, the latest events.
Elsewhere, a line per event; with --json, each event as one JSON object
a line.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := setup()
			if err != nil {
				return err
			}
			return env.monitor(cmd.Context(), g.json)
		},
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
			return env.withBackend(ctx, func(b backend) error { return env.adopt(ctx, b, args) })
		},
	}
	return []*cobra.Command{run, once, flush, plan, status, pause(true), pause(false), stop, monitor, a.peersCommand(g, setup), adopt}
}

// peersCommand is peers attach and peers detach.
func (a *App) peersCommand(g *globals, setup func() (*Env, error)) *cobra.Command {
	peers := &cobra.Command{
		Use: "peers", GroupID: groupSetup, Args: noArgs,
		Short: "attach or detach a peer, live and in the configuration",
		Long: fmt.Sprintf(`Attach or detach a peer: the running daemon starts or stops syncing with
it at once, and the configuration file (%[1]s init writes it; --config
names another) keeps the change for the next start. Without a daemon, only
the file changes. status lists the peers.`, a.Name),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("peers: want attach NAME=WHERE or detach NAME")
		},
	}
	attach := &cobra.Command{
		Use:   "attach NAME=WHERE",
		Short: "sync with one more tree: a directory, HOST:PATH or ssh://[USER@]HOST[:PORT]/PATH",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !strings.Contains(args[0], "=") {
				return usageErrorf("peers attach: want one NAME=WHERE")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			g.creating = true
			env, err := setup()
			if err != nil {
				return err
			}
			name, loc, _ := strings.Cut(args[0], "=")
			return env.attach(cmd.Context(), name, loc)
		},
	}
	detach := &cobra.Command{
		Use:   "detach NAME",
		Short: "stop syncing with a peer (its state is kept)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("peers detach: want one NAME")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			g.creating = true
			env, err := setup()
			if err != nil {
				return err
			}
			return env.detach(cmd.Context(), args[0])
		},
	}
	peers.AddCommand(attach, detach)
	return peers
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
			g.creating = true
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
