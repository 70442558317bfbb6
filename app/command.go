package app

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/zerosync/zerosync/internal/state"
)

// The command line is built with cobra, the parser of kubectl, gh and Hugo:
// flags may stand before or after the subcommand, --help and "help CMD"
// are generated from the commands themselves and exit 0, and shell
// completion comes with it. Subcommands whose work is a function of their
// arguments (conflicts, versions, an engine's own) get those arguments as
// typed, less the global flags; the others declare their flags to cobra.

// globals are the flags every subcommand takes, before or after its name.
type globals struct {
	root, state, config string
	peers               peerFlag
	staged              []string
	bwlimit             Rate
	verbose             bool
	json                bool
	// creating is set by the subcommands that write the configuration
	// file (init, peers): a file --config names may be missing for them.
	creating bool
}

// peerFlag is --peer NAME=WHERE, given once for each peer.
type peerFlag []Peer

func (p *peerFlag) String() string {
	var s []string
	for _, q := range *p {
		s = append(s, q.Name+"="+q.Location)
	}
	return strings.Join(s, ",")
}

func (p *peerFlag) Set(v string) error {
	name, loc, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want NAME=WHERE, got %q", v)
	}
	if err := checkPeer(name, loc); err != nil {
		return err
	}
	for _, q := range *p {
		if q.Name == name {
			return fmt.Errorf("two peers are called %q", name)
		}
	}
	*p = append(*p, Peer{Name: name, Location: loc})
	return nil
}

func (p *peerFlag) Type() string { return "NAME=WHERE" }

// The groups subcommands are listed in by --help.
const (
	groupSync   = "sync"
	groupReview = "review"
	groupSetup  = "setup"
	groupOwn    = "own"
)

// engineCommand is a shared subcommand whose work is a function of the
// engine and of its arguments as typed after its name (less the global
// flags, read wherever they stand). Such a function prints its own usage on
// wrong arguments and returns a [usageError].
type engineCommand struct {
	name, group string
	// args is what follows the name in the usage line.
	args, short, long string
	// words are what completion offers after the name: subcommands and
	// flags.
	words []string
	// run does the work, on the running daemon or on the engine
	// ([backend]).
	run func(ctx context.Context, env *Env, b backend, args []string) error
}

// engineCommands are the shared subcommands whose work is a function of
// the engine and their arguments. A new one is one more row.
func engineCommands() []engineCommand {
	return []engineCommand{
		{
			name: "conflicts", group: groupReview, args: "list | show ID | apply (--ours|--theirs|--merged FILE) ID...",
			short: "review the conflicts kept both ways: list, show, apply a choice",
			long:  conflictsUsage,
			words: []string{"list", "show", "apply", "--json", "--ours", "--theirs", "--merged", "--non-interactive", "--force"},
			run: func(ctx context.Context, env *Env, b backend, args []string) error {
				return conflicts(ctx, b, args, env.Streams)
			},
		},
		{
			name: "staged", group: groupReview, args: "list | show ID | apply [ID...] | reject (ID... | --all)",
			short: "changes held from the peers given with --staged: list, show, apply, reject",
			long:  stagedUsage,
			words: []string{"list", "show", "apply", "reject", "--all"},
			run: func(ctx context.Context, env *Env, b backend, args []string) error {
				return staged(ctx, b, env.App.Name, args, env.Streams)
			},
		},
		{
			name: "versions", group: groupReview, args: "list [PATH] | restore PATH ID",
			short: "earlier versions of this host's files: list, restore",
			long:  versionsUsage,
			words: []string{"list", "restore"},
			run: func(ctx context.Context, env *Env, b backend, args []string) error {
				return versionsCmd(ctx, b, env.App.Name, args, env.Streams)
			},
		},
	}
}

// rootLong is the help of the command itself.
const rootLong = `%s: %s.

Every command takes the global flags, before or after its name. Without
--root and --peer, the configuration file gives the root and the peers:
$XDG_CONFIG_HOME/zerosync/%s.toml, or the file --config names
("%s init" writes one, with comments).

Exit status:
  0  done
  1  an error stopped the command
  2  the command line was wrong: an unknown command or flag, a missing or
     extra argument
  3  once finished, but left problems (paths it could not sync) or
     conflicts waiting for review (%s conflicts list shows them)`

// command builds the command line of the engine, writing to s.
func (a *App) command(s Streams) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   a.Name,
		Short: a.Summary,
		Long:  fmt.Sprintf(rootLong, a.Name, a.Summary, a.Name, a.Name, a.Name),

		SuggestionsMinimumDistance: 2,
		Version:                    version(),
		SilenceErrors:              true,
		SilenceUsage:               true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			err := fmt.Errorf("unknown command %q", args[0])
			if sug := cmd.SuggestionsFor(args[0]); len(sug) > 0 {
				err = fmt.Errorf("unknown command %q; did you mean %s?", args[0], strings.Join(sug, " or "))
			}
			return usageError(err)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("no command given")
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.json && cmd.Annotations["json"] == "" {
				return usageErrorf("--json: %s prints no JSON; status, plan, once, flush, conflicts list and monitor do", cmd.CommandPath())
			}
			return nil
		},
	}
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	pf := root.PersistentFlags()
	pf.StringVar(&g.root, "root", "", fmt.Sprintf("the `DIR` of this host's tree (default: the configuration's root, else %s)", orNone(a.DefaultRoot)))
	pf.Var(&g.peers, "peer", "a tree to sync with (repeat for more): a directory, HOST:PATH or ssh://[USER@]HOST[:PORT]/PATH over SSH, or dialin:SPOKE for a spoke that dials in (offer) (default: the configuration's peers)")
	pf.StringArrayVar(&g.staged, "staged", nil, "hold the changes of peer `NAME` to this tree for review, in staged list (repeat for more)")
	pf.Var(&g.bwlimit, "bwlimit", "at most `RATE` bytes a second each way to every SSH peer, as rsync's --bwlimit: 500K, 2M, 1.5MB (no unit: KiB; 0: none; default: the configuration's)")
	pf.StringVar(&g.state, "state", "", "the state database `FILE` (default $XDG_STATE_HOME/zerosync/"+a.Name+".db)")
	pf.StringVar(&g.config, "config", "", "the configuration `FILE` (default $XDG_CONFIG_HOME/zerosync/"+a.Name+".toml)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log what the engine does, in detail")
	pf.BoolVar(&g.json, "json", false, "print JSON for scripts (status, plan, once, flush, conflicts list, monitor)")

	root.AddGroup(
		&cobra.Group{ID: groupSync, Title: "Syncing:"},
		&cobra.Group{ID: groupReview, Title: "Reviewing:"},
		&cobra.Group{ID: groupSetup, Title: "Setting up:"},
	)
	root.SetHelpCommandGroupID(groupSetup)
	root.SetCompletionCommandGroupID(groupSetup)

	// setup builds the Env of the running subcommand.
	setup := func() (*Env, error) { return a.setup(root, g, s) }
	var shared []*cobra.Command
	shared = append(shared, a.syncCommands(g, setup)...)
	for _, ec := range engineCommands() {
		shared = append(shared, a.argsCommand(root, setup, ec.name, ec.group, ec.args, ec.short, ec.long, ec.words,
			func(ctx context.Context, env *Env, args []string) error {
				return env.withBackend(ctx, func(b backend) error { return ec.run(ctx, env, b, args) })
			}))
	}
	if a.Trees { // trees.go
		shared = append(shared, a.argsCommand(root, setup, "trees", groupSetup, "list | add DIR... | remove DIR...",
			"the trees below the root this engine syncs: list, add, remove (live and in the configuration)", treesUsage,
			[]string{"list", "add", "remove"},
			func(ctx context.Context, env *Env, args []string) error {
				return env.runOwn(ctx, "trees", treesCommand, args)
			}))
	}
	shared = append(shared, a.offerCommand(setup))
	shared = append(shared, a.setupCommands(g, setup)...)
	for _, c := range shared {
		if _, own := a.Commands[c.Name()]; !own {
			root.AddCommand(c)
		}
	}
	if len(a.Commands) > 0 {
		root.AddGroup(&cobra.Group{ID: groupOwn, Title: a.Name + "'s own:"})
		for _, name := range sortedKeys(a.Commands) {
			c := a.Commands[name]
			root.AddCommand(a.argsCommand(root, setup, name, groupOwn, "", c.Usage, c.Usage, nil,
				func(ctx context.Context, env *Env, args []string) error { return env.runOwn(ctx, name, c, args) }))
		}
	}
	return root
}

// orNone returns s, or "none" for "".
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// setup builds a subcommand's Env from the global flags and the
// configuration file: a flag given wins over the file, and the file over
// the engine's defaults.
func (a *App) setup(root *cobra.Command, g *globals, s Streams) (*Env, error) {
	env := &Env{App: a, Streams: s}
	logTo := s.Err
	if isTerminal(s.Err) && isTerminal(s.Out) {
		logTo = env.screen.writer(s.Err)
	}
	env.Log = newLogger(logTo, g.verbose)
	path := g.config
	if path == "" {
		var err error
		if path, err = ConfigPath(a.Name); err != nil {
			return nil, err
		}
	}
	cfg, err := readConfigIfAny(path, g.config != "" && !g.creating)
	if err != nil {
		return nil, err
	}
	env.Config, env.ConfigPath = cfg, path
	if cfg != nil && len(cfg.Trees) > 0 && !a.Trees {
		return nil, fmt.Errorf("%s: trees: %s syncs its whole root, not chosen trees; remove trees from the file", path, a.Name)
	}
	rootDir := a.DefaultRoot
	if cfg != nil && cfg.Root != "" {
		rootDir = cfg.Root
	}
	if root.PersistentFlags().Changed("root") {
		rootDir = g.root
	}
	if env.Root, err = expandHome(rootDir); err != nil {
		return nil, err
	}
	env.Peers = slices.Clone([]Peer(g.peers))
	if len(env.Peers) == 0 && cfg != nil {
		for _, p := range cfg.Peers {
			env.Peers = append(env.Peers, Peer{Name: p.Name, Location: p.Location})
		}
	}
	env.Staged = slices.Clone(g.staged)
	if root.PersistentFlags().Changed("bwlimit") {
		rate := g.bwlimit
		env.BWLimit = &rate
	}
	env.State = g.state
	if env.State == "" {
		if env.State, err = state.DefaultPath(a.Name); err != nil {
			return nil, err
		}
	} else if env.State, err = expandHome(env.State); err != nil {
		return nil, err
	}
	env.StateDir = filepath.Dir(env.State)
	return env, nil
}

// argsCommand returns a subcommand whose work is run with its arguments as
// typed after its name, less the global flags, which are read here
// wherever they stand (--json is left in: the subcommands that offer it
// read it). -h or --help before a "--" shows the long help.
func (a *App) argsCommand(root *cobra.Command, setup func() (*Env, error), name, group, args, short, long string, words []string,
	run func(ctx context.Context, env *Env, args []string) error) *cobra.Command {
	use := name
	if args != "" {
		use += " " + args
	}
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long, GroupID: group,
		DisableFlagParsing: true,
		Annotations:        map[string]string{"json": "own"},
		ValidArgsFunction: func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			for _, w := range words {
				if strings.HasPrefix(w, toComplete) {
					out = append(out, w)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rest, help, err := takeGlobals(root.PersistentFlags(), args)
		if err != nil {
			return usageError(err)
		}
		if help {
			return cmd.Help()
		}
		env, err := setup()
		if err != nil {
			return err
		}
		return run(cmd.Context(), env, rest)
	}
	return cmd
}

// takeGlobals reads the global flags (all of fs but --json) out of args,
// wherever they stand before a "--", and returns the other arguments in
// order; help says whether -h or --help was among them.
func takeGlobals(fs *pflag.FlagSet, args []string) (rest []string, help bool, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(rest, args[i:]...), help, nil
		}
		if arg == "-h" || arg == "--help" {
			help = true
			continue
		}
		var f *pflag.Flag
		name, value, hasValue := "", "", false
		switch {
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue = strings.Cut(arg[2:], "=")
			f = fs.Lookup(name)
		case len(arg) == 2 && arg[0] == '-':
			f = fs.ShorthandLookup(arg[1:])
		}
		if f == nil || f.Name == "json" {
			rest = append(rest, arg)
			continue
		}
		if !hasValue {
			if f.NoOptDefVal != "" {
				value = f.NoOptDefVal
			} else if i+1 < len(args) {
				i++
				value = args[i]
			} else {
				return nil, false, fmt.Errorf("flag needs an argument: --%s", f.Name)
			}
		}
		if err := fs.Set(f.Name, value); err != nil {
			return nil, false, fmt.Errorf("invalid argument %q for --%s: %w", value, f.Name, err)
		}
	}
	return rest, help, nil
}
