package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
)

const stagedUsage = `usage: staged list
       staged show ID
       staged apply [ID...]
       staged reject (ID... | --all)

The changes of a peer given with --staged NAME wait here instead of being
written into this host's tree; this host's changes reach the peer as usual.
  list    print them, with their IDs
  show    print one as a diff against this host's file
  apply   write them into this host's tree (every one when no ID is given);
          a file edited here since its change was staged is a conflict,
          merged or kept both ways as a sync settles one; then sync, so the
          other peers get the result
  reject  keep this host's version instead, then sync, so the peer gets it
          (its own version is kept in its archive)`

// Staged runs the staged command with args (after the word "staged") on
// e, an engine the caller opened; prog is the command's name, for the
// advice it prints. Names from the tree are printed as a [Name]. Wrong
// arguments print the usage on s.Err and return a one-line error.
func Staged(ctx context.Context, e *engine.Engine, prog string, args []string, s Streams) error {
	return staged(ctx, newDirect(e, prog), prog, args, s)
}

// staged is the staged command on b: the daemon, or the engine.
func staged(ctx context.Context, b backend, prog string, args []string, s Streams) error {
	if len(args) == 0 {
		return stagedUsageErr(s, errors.New("staged: no subcommand"))
	}
	switch args[0] {
	case "list":
		if len(args) != 1 {
			return stagedUsageErr(s, errors.New("staged list: no arguments wanted"))
		}
		return listStaged(ctx, b, prog, s)
	case "show":
		if len(args) != 2 {
			return stagedUsageErr(s, errors.New("staged show: want one ID"))
		}
		return showStaged(ctx, b, args[1], s)
	case "apply":
		return applyStaged(ctx, b, args[1:], s)
	case "reject":
		return rejectStaged(ctx, b, args[1:], s)
	}
	return stagedUsageErr(s, fmt.Errorf("staged: unknown subcommand %q", args[0]))
}

func stagedUsageErr(s Streams, err error) error {
	fmt.Fprintln(s.Err, stagedUsage)
	return usageError(err)
}

func listStaged(ctx context.Context, b backend, prog string, s Streams) error {
	items, err := b.Staged(ctx)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		fmt.Fprintln(s.Out, "no changes staged")
		return nil
	}
	w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPEER\tPATH\tSTAGED\tCHANGE")
	for _, it := range items {
		change := Text(it.Note)
		if it.Conflict {
			change += " (a conflict: applying it merges or keeps both)"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", it.ID, Name(it.Peer), Name(string(it.Path)), it.Time.Local().Format("2006-01-02 15:04:05"), change)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "look at one with: %s staged show %d; apply with: %s staged apply %d; keep this host's version with: %s staged reject %d\n",
		prog, items[0].ID, prog, items[0].ID, prog, items[0].ID)
	return nil
}

// stagedIDs reads the IDs of args.
func stagedIDs(args []string) ([]uint64, error) {
	var ids []uint64
	for _, a := range args {
		id, err := strconv.ParseUint(a, 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("bad staged change ID %s: want a number as staged list prints it", Name(a))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func showStaged(ctx context.Context, b backend, arg string, s Streams) error {
	ids, err := stagedIDs([]string{arg})
	if err != nil {
		return err
	}
	it, err := b.StagedDetail(ctx, ids[0])
	if err != nil {
		return err
	}
	peer := Name(it.Peer)
	fmt.Fprintf(s.Out, "staged change %d from %s: %s\n", it.ID, peer, Name(string(it.Path)))
	fmt.Fprintf(s.Out, "staged %s: %s\n", it.Time.Local().Format("2006-01-02 15:04:05"), Text(it.Note))
	fmt.Fprintf(s.Out, "common version: %s; here then: %s; on %s: %s\n", entry(it.Base), entry(it.Ours), peer, entry(it.Theirs))
	if it.Conflict {
		fmt.Fprintln(s.Out, "both sides had changed it: applying it asks the resolvers (merged, or both kept)")
	}
	staged, ours := it.StagedText, it.OursText
	here, there := "here: "+Name(string(it.Path)), peer+": "+Name(string(it.Path))+" (staged)"
	switch {
	case staged == nil && ours == nil:
		fmt.Fprintln(s.Out, "(neither version is a file: no diff)")
	case bytes.IndexByte(staged, 0) >= 0 || bytes.IndexByte(ours, 0) >= 0:
		fmt.Fprintf(s.Out, "(binary content: %d bytes here, %d bytes staged)\n", len(ours), len(staged))
	default:
		diff(s.Out, here, there, ours, staged)
	}
	return nil
}

func applyStaged(ctx context.Context, b backend, args []string, s Streams) error {
	ids, err := stagedIDs(args)
	if err != nil {
		return stagedUsageErr(s, err)
	}
	resp, err := b.ApplyStaged(ctx, ids)
	if err != nil {
		return err
	}
	if resp.Report == nil {
		fmt.Fprintln(s.Out, "no changes staged")
		return nil
	}
	printReport(s.Out, *resp.Report)
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	var c carried
	c.add(resp.Synced, resp.SyncError)
	return c.end(s.Out, "applied", nil)
}

func rejectStaged(ctx context.Context, b backend, args []string, s Streams) error {
	all := len(args) == 1 && args[0] == "--all"
	items, err := b.Staged(ctx)
	if err != nil {
		return err
	}
	var ids []uint64
	if all {
		for _, it := range items {
			ids = append(ids, it.ID)
		}
	} else {
		var err error
		if ids, err = stagedIDs(args); err != nil || len(ids) == 0 {
			return stagedUsageErr(s, errors.Join(errors.New("staged reject: want IDs, or --all"), err))
		}
	}
	if len(ids) == 0 {
		fmt.Fprintln(s.Out, "no changes staged")
		return nil
	}
	byID := map[uint64]control.StagedItem{}
	for _, it := range items {
		byID[it.ID] = it
	}
	resp, err := b.RejectStaged(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		it := byID[id]
		fmt.Fprintf(s.Out, "rejected %d: %s stays as it is here, and goes to %s\n", id, Name(string(it.Path)), Name(it.Peer))
	}
	var c carried
	c.add(resp.Synced, resp.SyncError)
	return c.end(s.Out, "rejected", nil)
}
