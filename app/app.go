package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/internal/state"
	"github.com/zerosync/zerosync/merge"
	"github.com/zerosync/zerosync/merge/ai"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/ssh"
)

// App is one engine: what it syncs, how, and how often. [App.Main]
// turns it into a command with the subcommands every engine shares.
type App struct {
	// Name names the command, its state file and its pause flag.
	Name    string
	Summary string
	// DefaultRoot is the tree of this host when --root is not given; a
	// leading "~/" is the home directory.
	DefaultRoot string
	// Include and Exclude are gitignore-syntax patterns (see
	// [engine.NewPatterns]); no Include means everything.
	Include, Exclude []string
	// Rescan is the safety full rescan beside the watcher; zero means
	// none.
	Rescan time.Duration
	// Mirror makes the engine one-way: this host's tree is deployed to the
	// peers ([engine.Mirror]).
	Mirror bool
	// First are resolvers asked before the shared chain ([Resolvers]).
	First func(env *Env) ([]zerosync.Resolver, error)
	// Options adds engine options once the trees are known (views).
	Options func(env *Env) ([]engine.Option, error)
	// Commands are the engine's own subcommands, beside the shared ones.
	Commands map[string]Command
}

// Command is an engine's own subcommand.
type Command struct {
	Usage string
	Run   func(ctx context.Context, env *Env, args []string) error
}

// Env is what a command works with.
type Env struct {
	App      *App
	Root     string
	Peers    []Peer
	State    string // the state database file
	StateDir string
	Streams  Streams
	Log      *slog.Logger
	// Local is this host's tree, once [Env.Engine] opened it.
	Local *local.Endpoint
	// Staged names the peers whose changes wait for a person (--staged).
	Staged []string
}

// Peer is a tree to sync with, as given on the command line.
type Peer struct {
	Name     string
	Location string
}

const sharedUsage = `commands:
  run        sync now, then whenever something changes, until interrupted
  once       sync once and print what happened (--confirm-deletions: apply
             deletions the safety checks stopped)
  plan       print what a sync would do, changing nothing (a dry run)
  status     print the engine's state: paused, conflicts waiting, peers
  pause      pause this engine (with --all: every engine on this host)
  resume     resume it (with --all: every engine)
  conflicts  list | show ID | apply (--ours|--theirs|--merged FILE) ID...
  adopt      [PEER] accept a root that changed (another disk, another
             directory) as the tree to sync: no ancestor, nothing deleted
  versions   list [PATH] | restore PATH ID   (earlier versions of this host's files)
  staged     list | show ID | apply [ID...] | reject ID...|--all   (changes held from --staged peers)
  offer      --socket PATH HUB   offer this tree to a hub that cannot reach this host

flags (before the command):
  --root DIR              this host's tree
  --peer NAME=WHERE       a tree to sync with (repeat for more peers): a directory,
                          HOST:PATH or ssh://[USER@]HOST[:PORT]/PATH over SSH, or
                          dialin:SPOKE for a spoke that dials in (offer)
  --staged NAME           hold peer NAME's changes to this tree for review (staged list)
  --state FILE            the state database (default: $XDG_STATE_HOME/zerosync/NAME.db)
  -v                      log what the engine does`

// Main runs the command line and exits.
func (a *App) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := a.Run(ctx, os.Args[1:], StdStreams())
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", a.Name, Text(err.Error()))
		if advice := Advice(a.Name, err); advice != "" {
			fmt.Fprintf(os.Stderr, "%s: %s\n", a.Name, advice)
		}
		os.Exit(1)
	}
}

// Run runs the command line args (without the program name).
func (a *App) Run(ctx context.Context, args []string, s Streams) error {
	fs := flag.NewFlagSet(a.Name, flag.ContinueOnError)
	fs.SetOutput(s.Err)
	root := fs.String("root", a.DefaultRoot, "")
	statePath := fs.String("state", "", "")
	verbose := fs.Bool("v", false, "")
	var peers []Peer
	var staged []string
	fs.Func("staged", "", func(v string) error { staged = append(staged, v); return nil })
	fs.Func("peer", "", func(v string) error {
		name, loc, ok := strings.Cut(v, "=")
		if !ok || name == "" || loc == "" {
			return fmt.Errorf("want NAME=DIR, got %q", v)
		}
		peers = append(peers, Peer{Name: name, Location: loc})
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "%s: %s\n\nusage: %s [flags] command\n\n%s\n%s", a.Name, a.Summary, a.Name, sharedUsage, a.ownUsage())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no command")
	}
	// Warnings and errors always reach the person; -v adds what the
	// engine does.
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	env := &Env{App: a, Peers: peers, Staged: staged, Streams: s, Log: slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))}
	var err error
	if env.Root, err = expandHome(*root); err != nil {
		return err
	}
	env.State = *statePath
	if env.State == "" {
		if env.State, err = state.DefaultPath(a.Name); err != nil {
			return err
		}
	}
	env.StateDir = filepath.Dir(env.State)
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "pause", "resume":
		return env.setPaused(cmd == "pause", rest)
	case "offer":
		return env.offer(ctx, rest)
	}
	if c, ok := a.Commands[cmd]; ok {
		return c.Run(ctx, env, rest)
	}
	e, closeAll, err := env.Engine(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	switch cmd {
	case "run":
		return env.run(ctx, e)
	case "once":
		if slices.Contains(rest, "--confirm-deletions") {
			e.ConfirmDeletions()
		}
		rep, err := e.SyncOnce(ctx)
		printReport(s.Out, rep)
		return err
	case "plan":
		return env.plan(ctx, e)
	case "status":
		return env.status(ctx, e)
	case "conflicts":
		return Conflicts(ctx, e, rest, s)
	case "adopt":
		return env.adopt(ctx, e, rest)
	case "versions":
		return Versions(ctx, e, a.Name, rest, s)
	case "staged":
		return Staged(ctx, e, a.Name, rest, s)
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", cmd)
}

func (a *App) ownUsage() string {
	var b strings.Builder
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range a.Commands {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "  %-10s %s\n", name, a.Commands[name].Usage)
	}
	return b.String()
}

func expandHome(p string) (string, error) {
	if p == "" {
		return "", errors.New("no tree: give --root DIR")
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, rest), nil
	}
	return filepath.Abs(p)
}

// remoteLocation reads a peer on another host: ssh://[user@]host[:port]/path
// (an absolute path; /~/path is in the remote home) or [user@]host:path as
// scp writes it (a relative path is in the remote home).
func remoteLocation(loc string) (target, root string, ok bool) {
	if rest, ok := strings.CutPrefix(loc, "ssh://"); ok {
		target, path, _ := strings.Cut(rest, "/")
		root = "/" + path
		if r, ok := strings.CutPrefix(root, "/~/"); ok {
			root = r
		}
		return target, root, target != ""
	}
	i := strings.IndexByte(loc, ':')
	if i <= 0 || strings.ContainsRune(loc[:i], '/') {
		return "", "", false
	}
	return loc[:i], loc[i+1:], true
}

// Engine builds the engine over this host's tree and the peers: local
// directories, or folders on other hosts reached over SSH.
func (env *Env) Engine(ctx context.Context) (*engine.Engine, func(), error) {
	a := env.App
	if len(env.Peers) == 0 {
		return nil, nil, errors.New("no peers: give --peer NAME=DIR at least once")
	}
	var closers []func() error
	closeAll := func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	fail := func(err error) (*engine.Engine, func(), error) {
		closeAll()
		return nil, nil, err
	}
	cache := func(name string) local.Option {
		return local.WithStatCache(filepath.Join(env.StateDir, a.Name+"-"+name+".cache"))
	}
	ours, err := local.New(env.Root, local.WithName("local"), local.WithLogger(env.Log), cache("local"))
	if err != nil {
		return fail(err)
	}
	closers = append(closers, ours.Close)
	env.Local = ours
	var (
		peers []engine.Peer
		tr    *ssh.Transport
	)
	for _, p := range env.Peers {
		if ep, ok, err := env.dialinPeer(p); ok {
			if err != nil {
				return fail(err)
			}
			closers = append(closers, ep.Close)
			peers = append(peers, engine.Peer{Name: p.Name, Endpoint: ep})
			continue
		}
		if target, root, ok := remoteLocation(p.Location); ok {
			if tr == nil {
				if tr, err = ssh.New(sshOptions(env.Log)...); err != nil {
					return fail(err)
				}
				closers = append(closers, tr.Close)
			}
			ep, err := tr.Endpoint(ctx, target, root)
			if err != nil {
				return fail(fmt.Errorf("peer %s: %w", Name(p.Name), err))
			}
			closers = append(closers, ep.Close)
			peers = append(peers, engine.Peer{Name: p.Name, Endpoint: ep})
			continue
		}
		dir, err := expandHome(p.Location)
		if err != nil {
			return fail(err)
		}
		ep, err := local.New(dir, local.WithName(p.Name), local.WithLogger(env.Log), cache(p.Name))
		if err != nil {
			return fail(fmt.Errorf("peer %s: %w", Name(p.Name), err))
		}
		closers = append(closers, ep.Close)
		peers = append(peers, engine.Peer{Name: p.Name, Endpoint: ep})
	}
	opts := []engine.Option{engine.WithName(a.Name), engine.WithStatePath(env.State), engine.WithLogger(env.Log), engine.WithStaged(env.Staged...)}
	if len(a.Include)+len(a.Exclude) > 0 {
		f, err := engine.NewPatterns(a.Include, a.Exclude)
		if err != nil {
			return fail(err)
		}
		opts = append(opts, engine.WithFilter(f))
	}
	if a.Rescan > 0 {
		opts = append(opts, engine.WithSource(engine.Every(a.Rescan)))
	}
	if a.Mirror {
		opts = append(opts, engine.WithDiffer(engine.Mirror{}))
	} else {
		var first []zerosync.Resolver
		if a.First != nil {
			if first, err = a.First(env); err != nil {
				return fail(err)
			}
		}
		rs, err := Resolvers(env.Log, first...)
		if err != nil {
			return fail(err)
		}
		opts = append(opts, engine.WithResolvers(rs...))
	}
	if a.Options != nil {
		more, err := a.Options(env)
		if err != nil {
			return fail(err)
		}
		opts = append(opts, more...)
	}
	e, err := engine.New(engine.Peer{Name: "local", Endpoint: ours}, peers, opts...)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, e.Close)
	return e, closeAll, nil
}

// pauseFiles are the flags that pause this engine: its own, and the one for
// every engine of the host.
func (env *Env) pauseFiles() [2]string {
	return [2]string{filepath.Join(env.StateDir, env.App.Name+".paused"), filepath.Join(env.StateDir, "all.paused")}
}

func (env *Env) paused() bool {
	for _, f := range env.pauseFiles() {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

func (env *Env) setPaused(on bool, args []string) error {
	f := env.pauseFiles()[0]
	switch {
	case len(args) == 1 && args[0] == "--all":
		f = env.pauseFiles()[1]
	case len(args) > 0:
		return fmt.Errorf("usage: %s pause|resume [--all]", env.App.Name)
	}
	if !on {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		fmt.Fprintf(env.Streams.Out, "resumed (%s)\n", filepath.Base(f))
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(f, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(env.Streams.Out, "paused (%s); running engines stop within a second\n", filepath.Base(f))
	return nil
}

// run is the daemon: it syncs until ctx ends, printing what happens, and
// follows the pause flags.
func (env *Env) run(ctx context.Context, e *engine.Engine) error {
	follow := func() {
		if env.paused() {
			if !e.Status().Paused {
				fmt.Fprintln(env.Streams.Out, "paused")
			}
			e.Pause()
		} else if e.Status().Paused {
			fmt.Fprintln(env.Streams.Out, "resumed")
			e.Resume()
		}
	}
	follow()
	go func() {
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
	}()
	fmt.Fprintf(env.Streams.Out, "%s: syncing %s with %d peer(s); Ctrl-C stops\n", env.App.Name, Name(env.Root), len(env.Peers))
	err := e.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (env *Env) plan(ctx context.Context, e *engine.Engine) error {
	plans, err := e.Plan(ctx)
	if plans == nil {
		return err
	}
	defer func() {
		for _, p := range env.Peers {
			for _, pr := range plans[p.Name].Problems {
				fmt.Fprintf(env.Streams.Out, "  problem with %s: %s\n", Name(p.Name), Text(pr.Error()))
			}
		}
	}()
	for _, p := range env.Peers {
		plan := plans[p.Name]
		fmt.Fprintf(env.Streams.Out, "with %s: %d change(s), %d conflict(s)\n", Name(p.Name), len(plan.Actions), len(plan.Conflicts))
		for _, a := range plan.Actions {
			fmt.Fprintf(env.Streams.Out, "  %s\n", describe(a, p.Name))
		}
		for _, c := range plan.Conflicts {
			fmt.Fprintf(env.Streams.Out, "  conflict %s (ours %s, theirs %s)\n", Name(c.Path), entry(c.Ours), entry(c.Theirs))
		}
	}
	return err
}

func (env *Env) status(ctx context.Context, e *engine.Engine) error {
	reviews, err := e.Reviews(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Streams.Out, "engine %s: tree %s\n", env.App.Name, Name(env.Root))
	fmt.Fprintf(env.Streams.Out, "paused: %v\n", env.paused())
	for _, p := range env.Peers {
		fmt.Fprintf(env.Streams.Out, "peer %s (%s): %d conflict(s) waiting for review\n", Name(p.Name), Name(p.Location), len(reviews[p.Name]))
	}
	return nil
}

// describe says what an action does, for people; the path and the peer
// are printed as a [Name].
func describe(a zerosync.Action, peer string) string {
	host := "here"
	if a.Side == zerosync.Theirs {
		host = "on " + Name(peer)
	}
	verb := "update"
	switch {
	case a.Old == nil:
		verb = "create"
	case a.New == nil:
		verb = "remove"
	}
	return fmt.Sprintf("%-6s %-12s %s  (%s)", verb, host, Name(a.Path), Text(a.Reason))
}

// printReport prints what a cycle did, one line each, every name from the
// tree as a [Name] and every message as [Text].
func printReport(w io.Writer, rep zerosync.Report) {
	for _, a := range rep.Applied {
		fmt.Fprintf(w, "%s\n", describe(a, "peer"))
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintf(w, "conflict %s: %s", Name(c.Path), Text(c.Resolution.By))
		if c.CopyPath != "" {
			fmt.Fprintf(w, " (other version kept as %s)", Name(c.CopyPath))
		}
		fmt.Fprintln(w)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "problem %s (%s): %s\n", Name(p.Path), p.Side, Text(fmt.Sprint(p.Err)))
	}
	fmt.Fprintf(w, "%d change(s), %d conflict(s), %d problem(s), %d bytes in %v\n", len(rep.Applied), len(rep.Conflicts), len(rep.Problems), rep.Bytes, rep.End.Sub(rep.Start).Round(time.Millisecond))
}

// Resolvers is the chain the example engines share: identical content,
// then a three-way line merge, then (only with ANTHROPIC_API_KEY set) a
// merge by Claude; whatever is left is kept both ways for review.
func Resolvers(log *slog.Logger, extra ...zerosync.Resolver) ([]zerosync.Resolver, error) {
	claude, err := ai.New(ai.WithLogger(log))
	if err != nil {
		return nil, err
	}
	diff3, err := merge.Diff3()
	if err != nil {
		return nil, err
	}
	return append(extra, merge.Identical(), diff3, claude), nil
}

// sshOptions are the SSH transport's options for a command: this program
// installs itself as the agent on hosts that lack it when its main called
// agent.Handle, as every example engine's does.
func sshOptions(log *slog.Logger) []ssh.Option {
	opts := []ssh.Option{ssh.WithLogger(log)}
	if agent.Handled() {
		opts = append(opts, ssh.WithSelfInstall())
	}
	return opts
}
