package app

import (
	"context"
	"errors"
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
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/internal/startheap"
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
	// Trees makes the engine sync chosen trees below its root, added and
	// removed live by its trees command and kept in its configuration file
	// (trees); with none chosen it syncs the whole root. See trees.go.
	Trees bool
	// Mirror makes the engine one-way: this host's tree is deployed to the
	// peers ([engine.Mirror]).
	Mirror bool
	// First are resolvers asked before the shared chain ([Resolvers]).
	First func(env *Env) ([]zerosync.Resolver, error)
	// Options adds engine options once the trees are known (views).
	Options func(env *Env) ([]engine.Option, error)
	// Commands are the engine's own subcommands, beside the shared ones.
	Commands map[string]Command
	// Settings are the engine's own settings that a person may set on
	// every host at once ([Env.SetEverywhere]), by name, with how each
	// takes effect on a host (in its daemon, or in a command when none
	// runs).
	Settings map[string]func(ctx context.Context, env *Env, value string) error
}

// Command is an engine's own subcommand. Run gets the arguments typed
// after the subcommand's name, less the global flags (--root, --peer,
// --state, --config, -v), which may stand anywhere; it parses the rest
// itself. Usage is its one-line help: its arguments, two spaces, what it
// does.
type Command struct {
	Usage string
	Run   func(ctx context.Context, env *Env, args []string) error
	// Daemon runs the command in the engine's daemon while one runs
	// (through its control socket; what it prints is carried back), and
	// here otherwise: set it for a command that works with the engine's
	// state or trees. In the daemon, [Env.Engine] is the running engine,
	// and [Env.SetEverywhere] goes to the daemon's settings at once.
	Daemon bool
}

// Env is what a command works with.
type Env struct {
	App   *App
	Root  string
	Peers []Peer
	// State is the state database file, in StateDir.
	State    string
	StateDir string
	// Config is the engine's configuration file, read from ConfigPath; it
	// is nil when there is none.
	Config     *Config
	ConfigPath string
	Streams    Streams
	// Log is the command's logger: Info and above (Debug with -v) on
	// standard error, as JSON lines under systemd.
	Log *slog.Logger
	// Local is this host's tree, once [Env.Engine] opened it.
	Local *local.Endpoint
	// Staged names the peers whose changes wait for a person (--staged).
	Staged []string
	// BWLimit is --bwlimit, every SSH peer's bandwidth limit, when it was
	// given; nil leaves the limits to the configuration.
	BWLimit *Rate

	// screen keeps lines above a progress display on a terminal.
	screen screen
	// running is the daemon's engine, and ev its settings for every host,
	// in a command the daemon runs for a client (own.go).
	running *engine.Engine
	// daemonize: this process runs the engine's daemon, whose SSH
	// peers start agents of their own.
	daemonize bool
	ev        *control.Everywhere
	// trees is the engine's filter of chosen trees, once [Env.Engine]
	// built it with App.Trees.
	trees *treeFilter
}

// Peer is a tree to sync with, as given on the command line.
type Peer struct {
	Name     string
	Location string
}

// Main runs the command line and ends the process with its exit status
// ([ExitCode]): on an error, it prints the error and, when there is one,
// advice naming a command to type.
func (a *App) Main() {
	startheap.NoMemProfile()
	startheap.Set(startheap.Limit)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := a.Run(ctx, os.Args[1:], StdStreams())
	stop()
	os.Exit(a.exit(os.Stderr, err))
}

// exit prints err for a person on w and returns the exit status for it.
func (a *App) exit(w io.Writer, err error) int {
	code := ExitCode(err)
	if err == nil {
		return code
	}
	fmt.Fprintf(w, "%s: %s\n", a.Name, Text(message(err)))
	if advice := Advice(a.Name, err); advice != "" {
		fmt.Fprintf(w, "%s: %s\n", a.Name, advice)
	}
	if code == ExitUsage {
		fmt.Fprintf(w, "%s: see: %s --help\n", a.Name, a.Name)
	}
	return code
}

// Run runs the command line args (without the program name), writing to
// s. It returns nil when the command did what it was asked, and otherwise an
// error whose exit status [ExitCode] tells: an [ExitError] for a mistake in
// the command line ([ExitUsage]) and for a sync that left something for a
// person ([ExitAttention]). --help, "help CMD" and --version return nil.
func (a *App) Run(ctx context.Context, args []string, s Streams) error {
	if args == nil {
		args = []string{} // cobra would read the process's arguments
	}
	root := a.command(s)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
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
// (an absolute path; /~/path is in the remote home, /~/ the home itself) or
// [user@]host:path as scp writes it (a relative path is in the remote home;
// host: is the home itself).
func remoteLocation(loc string) (target, root string, ok bool) {
	if rest, ok := strings.CutPrefix(loc, "ssh://"); ok {
		target, path, _ := strings.Cut(rest, "/")
		root = "/" + path
		if r, ok := strings.CutPrefix(root, "/~/"); ok {
			root = r
		}
		return target, orHome(root), target != ""
	}
	i := strings.IndexByte(loc, ':')
	if i <= 0 || strings.ContainsRune(loc[:i], '/') {
		return "", "", false
	}
	return loc[:i], orHome(loc[i+1:]), true
}

// orHome returns a remote root, with "" (no path) meaning the remote home.
func orHome(root string) string {
	if root == "" {
		return "~"
	}
	return root
}

// Engine builds the engine over this host's tree and the peers: local
// directories, or folders on other hosts reached over SSH. The function it
// returns closes them all. In a command the daemon runs for a client
// ([Command.Daemon]), it returns the daemon's running engine instead, and
// the function closes nothing: sync with it by [engine.Engine.Flush].
func (env *Env) Engine(ctx context.Context) (*engine.Engine, func(), error) {
	if env.running != nil {
		return env.running, func() {}, nil
	}
	return env.engine(ctx)
}

// withEngine opens the engine over this host's tree and its peers, runs f
// with it, and closes it. It is the one place a shared subcommand gets the
// engine it works with; extra options come after the engine's own.
func (env *Env) withEngine(ctx context.Context, f func(*engine.Engine) error, extra ...engine.Option) error {
	e, closeAll, err := env.engine(ctx, extra...)
	if err != nil {
		return err
	}
	defer closeAll()
	return f(e)
}

// engine is [Env.Engine] with extra options.
func (env *Env) engine(ctx context.Context, extra ...engine.Option) (*engine.Engine, func(), error) {
	a := env.App
	cfg := env.Config
	if cfg == nil {
		cfg = &Config{}
	}
	if len(env.Peers) == 0 {
		return nil, nil, fmt.Errorf("no peers: give --peer NAME=WHERE at least once, or write the peers in %s (%s init writes it)", Name(env.ConfigPath), a.Name)
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
				// The peers connect while the engine opens and scans this
				// tree, all at once; one that cannot be reached fails its
				// pair, and the others sync.
				if tr, err = env.sshTransport(ssh.WithConnectLater()); err != nil {
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
	if cfg.Retry.set() {
		opts = append(opts, engine.WithRetry(cfg.Retry.values()))
	}
	include, exclude := slices.Concat(a.Include, cfg.Include), slices.Concat(a.Exclude, cfg.Exclude)
	var filter zerosync.Filter
	if len(include)+len(exclude) > 0 {
		f, err := engine.NewPatterns(include, exclude)
		if err != nil {
			return fail(err)
		}
		filter = f
	}
	if a.Trees { // trees.go
		env.trees = newTreeFilter(filter, slices.Sorted(slices.Values(cfg.Trees)))
		filter = env.trees
		opts = append(opts, engine.WithObserver(env.trees.observe))
	}
	if filter != nil {
		opts = append(opts, engine.WithFilter(filter))
	}
	rescan := a.Rescan
	if cfg.Rescan != nil {
		rescan = time.Duration(*cfg.Rescan)
	}
	if rescan > 0 {
		opts = append(opts, engine.WithSource(engine.Every(rescan)))
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
		rs, err := env.resolvers(cfg, first...)
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
	opts = append(opts, extra...)
	e, err := engine.New(engine.Peer{Name: "local", Endpoint: ours}, peers, opts...)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, e.Close)
	return e, closeAll, nil
}

// Resolvers is the chain the example engines share: identical content,
// then a merge of JSON, YAML and TOML files key by key (before the line
// merge, which knows no keys), then a three-way line merge, then (only with
// ANTHROPIC_API_KEY set) a merge by Claude; whatever is left is kept both
// ways for review.
func Resolvers(log *slog.Logger, extra ...zerosync.Resolver) ([]zerosync.Resolver, error) {
	return resolvers(log, nil, extra...)
}

// sshTransport opens the transport of the engine's SSH peers: the
// command line's SSH settings, bandwidth limit, connect deadline and retry
// policy. The peers of --peer and those attached to a daemon share them.
func (env *Env) sshTransport(extra ...ssh.Option) (*ssh.Transport, error) {
	opts := append(sshOptions(env.Log), env.bandwidthOptions()...)
	if env.StateDir != "" {
		opts = append(opts, ssh.WithSpill(env.StateDir))
	}
	linger := defaultAgentLinger
	if cfg := env.Config; cfg != nil && cfg.AgentLinger != nil {
		linger = time.Duration(*cfg.AgentLinger)
	}
	opts = append(opts, ssh.WithAgentLinger(linger, env.StateDir))
	if linger > 0 && !env.daemonize {
		// A command that syncs and ends reaches the agent an earlier one
		// left; the daemon starts its own (see ssh.WithLingeringAgents).
		opts = append(opts, ssh.WithLingeringAgents())
	}
	if cfg := env.Config; cfg != nil {
		if d := cfg.Deadlines.Connect; d > 0 {
			opts = append(opts, ssh.WithDialTimeout(time.Duration(d)))
		}
		if cfg.Retry.set() {
			first, _, slow := cfg.Retry.values()
			opts = append(opts, ssh.WithBackoff(first, slow))
		}
	}
	return ssh.New(append(opts, extra...)...)
}

// resolvers is [Resolvers] with the AI merge as the configuration file
// sets it: aiMerge nil leaves it to ANTHROPIC_API_KEY, false leaves it
// out, true keeps it (with a warning when there is no key to use).
func resolvers(log *slog.Logger, cfg *Config, extra ...zerosync.Resolver) ([]zerosync.Resolver, error) {
	diff3, err := merge.Diff3()
	if err != nil {
		return nil, err
	}
	structured, err := merge.Structured()
	if err != nil {
		return nil, err
	}
	rs := append(extra, merge.Identical(), structured, diff3)
	if cfg != nil && cfg.AIMerge != nil && !*cfg.AIMerge {
		return rs, nil
	}
	opts := []ai.Option{ai.WithLogger(log)}
	if cfg != nil {
		if d := cfg.Deadlines.AIMerge; d > 0 {
			opts = append(opts, ai.WithTimeout(time.Duration(d)))
		}
		if cfg.AIMerge != nil && strings.TrimSpace(os.Getenv(ai.APIKeyEnv)) == "" {
			log.Warn("ai_merge is on in the configuration, but " + ai.APIKeyEnv + " is not set: no conflict is sent")
		}
	}
	claude, err := ai.New(opts...)
	if err != nil {
		return nil, err
	}
	return append(rs, claude), nil
}

// resolvers is the shared chain as this engine's configuration sets it.
func (env *Env) resolvers(cfg *Config, first ...zerosync.Resolver) ([]zerosync.Resolver, error) {
	return resolvers(env.Log, cfg, first...)
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
