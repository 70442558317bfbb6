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
	"github.com/zerosync/zerosync/control"
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
// "conflicts") on e, an engine the caller opened; flags may stand anywhere
// among them. Names from the tree are printed as a [Name]. -h or --help
// prints the usage on s.Out; wrong arguments print it on s.Err and return a
// one-line error whose exit status is [ExitUsage].
func Conflicts(ctx context.Context, e *engine.Engine, args []string, s Streams) error {
	return conflicts(ctx, newDirect(e, e.Name()), args, s)
}

// conflicts is the conflicts command on b: the daemon, or the engine.
func conflicts(ctx context.Context, b backend, args []string, s Streams) error {
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
		return list(ctx, b, s, *asJSON)
	case "show":
		if len(rest) != 2 {
			return usage(s, errors.New("conflicts show: want one ID"))
		}
		return show(ctx, b, rest[1], s)
	case "apply":
		return apply(ctx, b, applyArgs{ours: *ours, theirs: *theirs, merged: *merged, nonInteractive: *nonInteractive, force: *force, ids: rest[1:]}, s)
	}
	return usage(s, fmt.Errorf("conflicts: unknown subcommand %q", rest[0]))
}

// usage prints the usage of the conflicts command and returns err as a
// mistake in the command line.
func usage(s Streams, err error) error {
	fmt.Fprintln(s.Err, conflictsUsage)
	return usageError(err)
}

func list(ctx context.Context, b backend, s Streams, asJSON bool) error {
	items, err := b.Conflicts(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		out := reviewsJSON{Conflicts: []reviewJSON{}}
		for _, it := range items {
			out.Conflicts = append(out.Conflicts, reviewJSON{ID: it.ID, Peer: it.Peer, Number: it.Number, Path: string(it.Path),
				Queued: it.Queued, Kept: it.Kept, CopyPath: string(it.CopyPath), Note: it.Note})
		}
		return writeJSON(s.Out, out)
	}
	if len(items) == 0 {
		fmt.Fprintln(s.Out, "no conflicts waiting for review")
		return nil
	}
	w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPATH\tQUEUED\tKEPT\tOTHER VERSION")
	for _, it := range items {
		fmt.Fprintf(w, "%s#%d\t%s\t%s\t%s\t%s\n", Name(it.Peer), it.Number, Name(string(it.Path)), it.Queued.Local().Format("2006-01-02 15:04:05"), Text(it.Kept), orDash(string(it.CopyPath)))
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

// findConflict reads PEER#N, or N when one peer has a conflict numbered N,
// and returns that conflict.
func findConflict(ctx context.Context, b backend, id string) (control.ConflictItem, error) {
	peer, num, hasPeer := strings.Cut(id, "#")
	if !hasPeer {
		num, peer = id, ""
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return control.ConflictItem{}, fmt.Errorf("bad conflict id %q: want PEER#N", id)
	}
	items, err := b.Conflicts(ctx)
	if err != nil {
		return control.ConflictItem{}, err
	}
	var found []control.ConflictItem
	for _, it := range items {
		if it.Number == n && (!hasPeer || it.Peer == peer) {
			found = append(found, it)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case hasPeer:
		return control.ConflictItem{}, fmt.Errorf("no conflict %s waits for review: see conflicts list", Name(id))
	}
	return control.ConflictItem{}, fmt.Errorf("conflict id %q is ambiguous or unknown: write PEER#N as list prints it", id)
}

func show(ctx context.Context, b backend, id string, s Streams) error {
	it, err := findConflict(ctx, b, id)
	if err != nil {
		return err
	}
	d, err := b.Conflict(ctx, it.Peer, it.Number)
	if err != nil {
		return err
	}
	kept, aside := Name(d.Hosts[0]), Name(d.Hosts[1])
	if d.Kept == "theirs" {
		kept, aside = aside, kept
	}
	fmt.Fprintf(s.Out, "conflict %s#%d: %s\n", Name(d.Peer), d.Number, Name(string(d.Path)))
	fmt.Fprintf(s.Out, "queued %s; in the tree: %s's version; kept aside: %s's version", d.Queued.Local().Format("2006-01-02 15:04:05"), kept, aside)
	if d.CopyPath != "" {
		fmt.Fprintf(s.Out, " (%s)", Name(string(d.CopyPath)))
	}
	fmt.Fprintf(s.Out, "\n%s\n", Text(d.Note))
	fmt.Fprint(s.Out, d.Diff)
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

func apply(ctx context.Context, b backend, args applyArgs, s Streams) error {
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
	req := control.ApplyRequest{Keep: "ours", Force: args.force}
	what := "ours"
	switch {
	case args.theirs:
		req.Keep, what = "theirs", "theirs"
	case args.merged != "":
		b, err := os.ReadFile(args.merged)
		if err != nil {
			return err
		}
		req.Keep, req.Merged, what = "", b, "the merged file "+Name(args.merged)
	}
	in := bufio.NewReader(s.In)
	var c carried
	for _, id := range args.ids {
		it, err := findConflict(ctx, b, id)
		if err != nil {
			return c.end(s.Out, "applied", err)
		}
		if !args.nonInteractive {
			fmt.Fprintf(s.Out, "%s: keep %s? [y/N] ", Name(string(it.Path)), what)
			answer, _ := in.ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
				fmt.Fprintln(s.Out, "skipped")
				continue
			}
		}
		resp, err := b.ApplyConflict(ctx, it.Peer, it.Number, req)
		if err != nil {
			return c.end(s.Out, "applied", err)
		}
		fmt.Fprintf(s.Out, "%s#%d %s: kept %s\n", Name(it.Peer), it.Number, Name(string(it.Path)), what)
		c.add(resp.Synced, resp.SyncError)
	}
	return c.end(s.Out, "applied", nil)
}

// carried sums the syncs that carried decisions (a conflict settled, a
// version restored, a staged change applied) to the peers.
type carried struct {
	done     bool
	changes  int
	failed   string // the last sync that failed
	deferred string // why the decisions wait (a paused daemon)
}

// add counts one decision and the sync that carried it.
func (c *carried) add(synced *control.Report, syncErr string) {
	c.done = true
	switch {
	case synced == nil && syncErr != "":
		c.deferred = syncErr
	case syncErr != "":
		c.failed = syncErr
	case synced != nil:
		c.changes += len(synced.Applied)
	}
}

// end prints how the decisions were carried and returns err, or the error
// of a sync that failed to carry them.
func (c *carried) end(w io.Writer, what string, err error) error {
	if !c.done {
		return err
	}
	switch {
	case c.deferred != "":
		fmt.Fprintf(w, "not synced yet: %s\n", Text(c.deferred))
	case c.failed != "":
		if err == nil {
			err = fmt.Errorf("%s, but the sync that carries it failed: %s", what, c.failed)
		}
	default:
		fmt.Fprintf(w, "synced: %d change(s) applied\n", c.changes)
	}
	return err
}
