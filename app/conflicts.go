package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/pflag"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// Streams are a command's standard streams. Interactive says whether In is
// a person at a terminal; [StdStreams] fills it in.
type Streams struct {
	In          io.Reader
	Out, Err    io.Writer
	Interactive bool
}

// StdStreams returns the process's streams.
func StdStreams() Streams {
	fi, err := os.Stdin.Stat()
	return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Interactive: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

const conflictsUsage = `usage: conflicts list [--json]
       conflicts show ID
       conflicts apply (--ours | --theirs | --merged FILE) [--non-interactive] [--force] ID...

ID is PEER#N as list prints it, or N when the engine has one peer.
apply writes the chosen version into this host's tree, removes the
conflict copy and the queue entry, and syncs so every side has it.
  --non-interactive  do not ask before each file (needed without a terminal)
  --force            apply even if the file changed since the conflict was queued
list --json prints {"conflicts": [{"id", "peer", "number", "path", "queued",
"kept", "copy_path", "note"}]}; "kept" says whose version is in the tree
(ours or theirs), "copy_path" is the other version beside the file.`

// Conflicts runs the conflicts command with args (after the word
// "conflicts"); flags may stand anywhere among them. Names from the tree are
// printed as a [Name]. -h or --help prints the usage on s.Out; wrong
// arguments print it on s.Err and return a one-line error whose exit
// status is [ExitUsage].
func Conflicts(ctx context.Context, e *engine.Engine, args []string, s Streams) error {
	fs := pflag.NewFlagSet("conflicts", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	ours := fs.Bool("ours", false, "")
	theirs := fs.Bool("theirs", false, "")
	merged := fs.String("merged", "", "")
	nonInteractive := fs.Bool("non-interactive", false, "")
	force := fs.Bool("force", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(s.Out, conflictsUsage)
			return nil
		}
		return usage(s, fmt.Errorf("conflicts: %w", err))
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usage(s, errors.New("conflicts: no subcommand"))
	}
	var applyFlags []string
	fs.Visit(func(f *pflag.Flag) {
		if f.Name != "json" {
			applyFlags = append(applyFlags, "--"+f.Name)
		}
	})
	if rest[0] != "apply" && len(applyFlags) > 0 {
		return usage(s, fmt.Errorf("conflicts %s: %s is a flag of apply", rest[0], applyFlags[0]))
	}
	if rest[0] != "list" && *asJSON {
		return usage(s, fmt.Errorf("conflicts %s: --json is a flag of list", rest[0]))
	}
	switch rest[0] {
	case "list":
		if len(rest) != 1 {
			return usage(s, errors.New("conflicts list: takes no arguments"))
		}
		return list(ctx, e, s, *asJSON)
	case "show":
		if len(rest) != 2 {
			return usage(s, errors.New("conflicts show: want one ID"))
		}
		return show(ctx, e, rest[1], s)
	case "apply":
		return apply(ctx, e, applyArgs{ours: *ours, theirs: *theirs, merged: *merged, nonInteractive: *nonInteractive, force: *force, ids: rest[1:]}, s)
	}
	return usage(s, fmt.Errorf("conflicts: unknown subcommand %q", rest[0]))
}

// usage prints the usage of the conflicts command and returns err as a
// mistake in the command line.
func usage(s Streams, err error) error {
	fmt.Fprintln(s.Err, conflictsUsage)
	return usageError(err)
}

func list(ctx context.Context, e *engine.Engine, s Streams, asJSON bool) error {
	all, err := e.Reviews(ctx)
	if err != nil {
		return err
	}
	peers := sortedKeys(all)
	if asJSON {
		out := reviewsJSON{Conflicts: []reviewJSON{}}
		for _, p := range peers {
			for _, it := range all[p] {
				out.Conflicts = append(out.Conflicts, reviewJSON{ID: fmt.Sprintf("%s#%d", p, it.ID), Peer: p, Number: it.ID, Path: it.Path,
					Queued: it.Time, Kept: it.Archive["kept"], CopyPath: it.CopyPath, Note: it.Note})
			}
		}
		return writeJSON(s.Out, out)
	}
	if len(peers) == 0 {
		fmt.Fprintln(s.Out, "no conflicts waiting for review")
		return nil
	}
	w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPATH\tQUEUED\tKEPT\tOTHER VERSION")
	for _, p := range peers {
		for _, it := range all[p] {
			fmt.Fprintf(w, "%s#%d\t%s\t%s\t%s\t%s\n", Name(p), it.ID, Name(it.Path), it.Time.Local().Format("2006-01-02 15:04:05"), Text(it.Archive["kept"]), orDash(it.CopyPath))
		}
	}
	return w.Flush()
}

// orDash returns the name s as a [Name], or "-" for none.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return Name(s)
}

// parseID reads PEER#N, or N when there is one peer.
func parseID(ctx context.Context, e *engine.Engine, id string) (string, uint64, error) {
	peer, num, ok := strings.Cut(id, "#")
	if !ok {
		num, peer = id, ""
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("bad conflict id %q: want PEER#N", id)
	}
	if peer == "" {
		all, err := e.Reviews(ctx)
		if err != nil {
			return "", 0, err
		}
		var owners []string
		for p, items := range all {
			for _, it := range items {
				if it.ID == n {
					owners = append(owners, p)
				}
			}
		}
		if len(owners) != 1 {
			return "", 0, fmt.Errorf("conflict id %q is ambiguous or unknown: write PEER#N as list prints it", id)
		}
		peer = owners[0]
	}
	return peer, n, nil
}

func show(ctx context.Context, e *engine.Engine, id string, s Streams) error {
	peer, n, err := parseID(ctx, e, id)
	if err != nil {
		return err
	}
	it, err := e.Review(ctx, peer, n)
	if err != nil {
		return err
	}
	base, cur, other, err := e.ReviewContent(ctx, peer, n)
	if err != nil {
		return err
	}
	kept, aside := Name(it.Hosts[0]), Name(it.Hosts[1])
	if it.Archive["kept"] == zerosync.Theirs.String() {
		kept, aside = aside, kept
	}
	fmt.Fprintf(s.Out, "conflict %s#%d: %s\n", Name(peer), n, Name(it.Path))
	fmt.Fprintf(s.Out, "queued %s; in the tree: %s's version; kept aside: %s's version", it.Time.Local().Format("2006-01-02 15:04:05"), kept, aside)
	if it.CopyPath != "" {
		fmt.Fprintf(s.Out, " (%s)", Name(it.CopyPath))
	}
	fmt.Fprintf(s.Out, "\n%s\n", Text(it.Note))
	if base != nil {
		diff(s.Out, "base", kept+" (in the tree)", base, cur)
		diff(s.Out, "base", aside+" (kept aside)", base, other)
	} else {
		fmt.Fprintln(s.Out, "(no common base is known)")
		diff(s.Out, kept+" (in the tree)", aside+" (kept aside)", cur, other)
	}
	return nil
}

func diff(w io.Writer, fromName, toName string, from, to []byte) {
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(from)), B: difflib.SplitLines(string(to)),
		FromFile: fromName, ToFile: toName, Context: 3,
	})
	if text == "" {
		text = fmt.Sprintf("(%s and %s are the same)\n", fromName, toName)
	}
	fmt.Fprint(w, text)
}

// applyArgs are the arguments of conflicts apply.
type applyArgs struct {
	ours, theirs          bool
	merged                string
	nonInteractive, force bool
	ids                   []string
}

func apply(ctx context.Context, e *engine.Engine, args applyArgs, s Streams) error {
	picked := 0
	for _, b := range []bool{args.ours, args.theirs, args.merged != ""} {
		if b {
			picked++
		}
	}
	if picked != 1 || len(args.ids) == 0 {
		return usage(s, errors.New("conflicts apply: want one of --ours, --theirs, --merged FILE and at least one ID"))
	}
	if !args.nonInteractive && !s.Interactive {
		return errors.New("conflicts apply: standard input is not a terminal; add --non-interactive to apply without asking")
	}
	ch := engine.Choice{Keep: zerosync.VersionOurs, Force: args.force}
	what := "ours"
	switch {
	case args.theirs:
		ch.Keep, what = zerosync.VersionTheirs, "theirs"
	case args.merged != "":
		b, err := os.ReadFile(args.merged)
		if err != nil {
			return err
		}
		ch.Merged, what = b, "the merged file "+Name(args.merged)
	}
	in := bufio.NewReader(s.In)
	applied := 0
	for _, id := range args.ids {
		peer, n, err := parseID(ctx, e, id)
		if err != nil {
			return err
		}
		it, err := e.Review(ctx, peer, n)
		if err != nil {
			return err
		}
		if !args.nonInteractive {
			fmt.Fprintf(s.Out, "%s: keep %s? [y/N] ", Name(it.Path), what)
			answer, _ := in.ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
				fmt.Fprintln(s.Out, "skipped")
				continue
			}
		}
		if err := e.SettleReview(ctx, peer, n, ch); err != nil {
			return err
		}
		applied++
		fmt.Fprintf(s.Out, "%s#%d %s: kept %s\n", Name(peer), n, Name(it.Path), what)
	}
	if applied == 0 {
		return nil
	}
	rep, err := e.SyncOnce(ctx)
	if err != nil {
		return fmt.Errorf("applied, but the sync that carries it failed: %w", err)
	}
	fmt.Fprintf(s.Out, "synced: %d change(s) applied\n", len(rep.Applied))
	return nil
}
