package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

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

// Staged runs the staged command with args (after the word "staged");
// prog is the command's name, for the advice it prints. Names from the
// tree are printed as a [Name]. Wrong arguments print the usage on s.Err
// and return a one-line error.
func Staged(ctx context.Context, e *engine.Engine, prog string, args []string, s Streams) error {
	if len(args) == 0 {
		return stagedUsageErr(s, errors.New("staged: no subcommand"))
	}
	switch args[0] {
	case "list":
		if len(args) != 1 {
			return stagedUsageErr(s, errors.New("staged list: no arguments wanted"))
		}
		return listStaged(ctx, e, prog, s)
	case "show":
		if len(args) != 2 {
			return stagedUsageErr(s, errors.New("staged show: want one ID"))
		}
		return showStaged(ctx, e, args[1], s)
	case "apply":
		return applyStaged(ctx, e, args[1:], s)
	case "reject":
		return rejectStaged(ctx, e, args[1:], s)
	}
	return stagedUsageErr(s, fmt.Errorf("staged: unknown subcommand %q", args[0]))
}

func stagedUsageErr(s Streams, err error) error {
	fmt.Fprintln(s.Err, stagedUsage)
	return usageError(err)
}

func listStaged(ctx context.Context, e *engine.Engine, prog string, s Streams) error {
	items, err := e.Staged(ctx)
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
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", it.ID, Name(it.Peer), Name(it.Path), it.Time.Local().Format("2006-01-02 15:04:05"), change)
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

func findStaged(ctx context.Context, e *engine.Engine, id uint64) (engine.StagedItem, error) {
	items, err := e.Staged(ctx)
	if err != nil {
		return engine.StagedItem{}, err
	}
	for _, it := range items {
		if it.ID == id {
			return it, nil
		}
	}
	return engine.StagedItem{}, fmt.Errorf("staged change %d: %w (applied, rejected, or replaced by a newer version: see staged list)", id, engine.ErrNotStaged)
}

func showStaged(ctx context.Context, e *engine.Engine, arg string, s Streams) error {
	ids, err := stagedIDs([]string{arg})
	if err != nil {
		return err
	}
	it, err := findStaged(ctx, e, ids[0])
	if err != nil {
		return err
	}
	staged, ours, err := e.StagedContent(ctx, it.ID)
	if err != nil {
		return err
	}
	peer := Name(it.Peer)
	fmt.Fprintf(s.Out, "staged change %d from %s: %s\n", it.ID, peer, Name(it.Path))
	fmt.Fprintf(s.Out, "staged %s: %s\n", it.Time.Local().Format("2006-01-02 15:04:05"), Text(it.Note))
	fmt.Fprintf(s.Out, "common version: %s; here then: %s; on %s: %s\n", entry(it.Base), entry(it.Ours), peer, entry(it.Theirs))
	if it.Conflict {
		fmt.Fprintln(s.Out, "both sides had changed it: applying it asks the resolvers (merged, or both kept)")
	}
	here, there := "here: "+Name(it.Path), peer+": "+Name(it.Path)+" (staged)"
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

func applyStaged(ctx context.Context, e *engine.Engine, args []string, s Streams) error {
	ids, err := stagedIDs(args)
	if err != nil {
		return stagedUsageErr(s, err)
	}
	if len(ids) == 0 {
		items, err := e.Staged(ctx)
		if err != nil {
			return err
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if len(ids) == 0 {
			fmt.Fprintln(s.Out, "no changes staged")
			return nil
		}
	}
	rep, err := e.ApplyStaged(ctx, ids...)
	printReport(s.Out, rep, nil)
	if err != nil {
		return err
	}
	return syncAfter(ctx, e, "applied", s)
}

func rejectStaged(ctx context.Context, e *engine.Engine, args []string, s Streams) error {
	all := len(args) == 1 && args[0] == "--all"
	var ids []uint64
	if all {
		items, err := e.Staged(ctx)
		if err != nil {
			return err
		}
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
	byID := map[uint64]engine.StagedItem{}
	if items, err := e.Staged(ctx); err == nil {
		for _, it := range items {
			byID[it.ID] = it
		}
	}
	if err := e.RejectStaged(ctx, ids...); err != nil {
		return err
	}
	for _, id := range ids {
		it := byID[id]
		fmt.Fprintf(s.Out, "rejected %d: %s stays as it is here, and goes to %s\n", id, Name(it.Path), Name(it.Peer))
	}
	return syncAfter(ctx, e, "rejected", s)
}

// syncAfter runs the sync that carries a decision to the peers.
func syncAfter(ctx context.Context, e *engine.Engine, what string, s Streams) error {
	rep, err := e.SyncOnce(ctx)
	if err != nil {
		return fmt.Errorf("%s, but the sync that carries it failed: %w", what, err)
	}
	fmt.Fprintf(s.Out, "synced: %d change(s) applied\n", len(rep.Applied))
	return nil
}
