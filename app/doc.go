// Package app turns the description of a sync engine into a command with the
// subcommands every zerosync engine shares, so an engine of one's own is a
// dozen lines: an [App] says what is synced (a default root, include and
// exclude patterns), how (resolvers asked before the shared chain, a one-way
// mirror, engine options such as views) and how often (a safety rescan
// beside the watcher), and [App.Main] is the program.
//
// # Subcommands
//
// Every engine has run (the daemon: sync now and whenever something
// changes), once and flush (sync now and print what happened), plan (a dry
// run), status, pause and resume (with --all: every engine of the host),
// stop, monitor (a live view of every peer), peers (attach, detach),
// conflicts (list, show, apply), staged (the changes held from a peer given
// with --staged: list, show, apply, reject), versions (list, restore),
// adopt (accept a root that changed on purpose), init (write a
// configuration file), install-service (a systemd user unit that keeps run
// going), completion (bash, zsh, fish) and help. [App.Commands] adds an
// engine's own. Peers are directories of this host or HOST:PATH over SSH;
// the binary serves as its own agent there when its main calls
// agent.Handle first.
//
// # The daemon
//
// run serves the engine on a control socket ([Serve], package control).
// While it runs, every other subcommand goes through the socket instead of
// opening the engine's state (which the daemon holds), and prints the same
// as without it: status, plan, once and flush (the daemon syncs now), the
// review commands, adopt. pause and resume set a flag that lasts across
// restarts and tell the daemon at once; run follows the flags when they
// change, so a pause through the socket stays. stop ends the daemon
// cleanly. peers attach and detach change the daemon's peers live and
// write them to the configuration file; trees add and remove do the same
// for the trees of an engine that syncs several. An engine's own command
// marked [Command.Daemon] runs in the daemon while one runs, and prints
// what it prints there.
//
// The command line follows cobra's conventions: the global flags (--root,
// --peer NAME=WHERE for each peer, --staged, --bwlimit RATE (as rsync's,
// for every SSH peer), --state, --config, -v, --json) stand
// before or after the subcommand; --help, -h and "help CMD" print help and
// exit 0; --version prints the build. [App.Run] is the testable entry; it
// returns an error whose exit status [ExitCode] tells: 0 done, 1 an error,
// 2 a mistake in the command line, 3 when once finished but left problems
// or conflicts waiting for review ([ErrAttention]).
//
// # Configuration
//
// Without --root and --peer, the configuration file
// $XDG_CONFIG_HOME/zerosync/NAME.toml ([ConfigPath], [Config]) gives the
// root and the peers, and adds include and exclude patterns, the rescan
// schedule, the AI merge opt-in, bandwidth limits (every SSH peer's, and a
// peer's own for its host), deadlines, and how a running engine retries a
// peer that failed ([retry]: first wait, attempts before it is marked
// failed, slow retry). init writes it, with a
// comment on each setting, and never replaces one.
//
// # Output
//
// Names from the trees are printed so that a hostile name cannot forge
// output: [Name] and [Text] escape them. Errors that need a person come
// with [Advice] naming a command to type.
//
// run prints a line per applied change, conflict and problem when its
// standard output is a terminal, and draws a progress display (files,
// bytes, time left) during a long sync, as once and flush do (through the
// daemon too, drawn from its event stream); elsewhere it prints
// nothing and its log has every change. The log, on standard error, is at
// Info (-v: Debug), as JSON lines when systemd runs the command.
//
// # Output for scripts
//
// With --json, status, plan, once (and flush) and conflicts list print one
// JSON object on standard output; monitor prints each event of the daemon
// as a JSON object a line. Field names are snake_case and stable: fields may be
// added, none is renamed or removed. Times are RFC 3339, sizes bytes. A
// change is {"op" (create, update, remove), "path", "on" ("local" for this
// host's tree, else the peer's name), "kind" (file, dir, symlink), "size",
// "reason"}; a problem is {"path", "side" (ours, theirs), "error"}.
//
//   - status: {"engine", "root", "paused", "conflicts_waiting", "peers":
//     [{"name", "location", "conflicts_waiting", "halted"}]}; "halted",
//     why a running engine stopped syncing with the peer until a person
//     acts, is left out when it did not. Through a daemon, "running" is
//     true, with "cycles", "last_cycle", "last_error", and each peer has
//     "state" (connected, failed, halted, waiting), "last_sync",
//     "last_sync_seconds" and "error". "hosts" lists every host of the
//     fleet, each tree once: [{"name", "via", "replica", "location",
//     "state", "last_sync", "paused", "daemon"}], this host first (state
//     "this host"), then its peers, then (through a daemon, which asks its
//     peers' daemons) the peers of its peers, with "via" naming the peer
//     that told of them; so a spoke lists every host of its hub.
//   - plan: {"peers": [{"peer", "changes", "conflicts": [{"path", "ours",
//     "theirs"}], "problems", "error"}]}, where "ours" and "theirs" are
//     {"kind", "size", "mode", "target"} or null for a deleted side, and
//     "error" says what would stop the pair.
//   - once: {"start", "end", "bytes", "applied" (changes), "conflicts":
//     [{"peer", "path", "resolved_by", "note", "copy_path"}], "problems",
//     "conflicts_waiting", "error"}.
//   - conflicts list: {"conflicts": [{"id" (PEER#N), "peer", "number",
//     "path", "queued", "kept" (ours, theirs), "copy_path", "note"}]}.
//
// Every character that is not printable is escaped in the JSON; a name
// that is not valid UTF-8 has its invalid bytes read as U+FFFD.
//
// # Testing
//
// Package apptest, beside this one, runs an engine's command line on
// temporary folders, as its Smoke function does for every example engine.
package app
