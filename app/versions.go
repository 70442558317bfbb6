package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
)

const versionsUsage = `usage: versions list [PATH]
       versions restore PATH ID

list prints the earlier versions of this host's files that its archive
keeps (what a sync replaced or removed, and conflict copies), newest first.
restore writes version ID of PATH back into this host's tree (what is there
now is kept as a version too) and syncs so every side has it.`

// Versions runs the versions command with args (after the word
// "versions") on e, an engine the caller opened; prog is the command's
// name, for the advice it prints. Wrong arguments return the usage as an
// error whose exit status is [ExitUsage]; -h or --help prints it on s.Out.
func Versions(ctx context.Context, e *engine.Engine, prog string, args []string, s Streams) error {
	return versionsCmd(ctx, newDirect(e, prog), prog, args, s)
}

// versionsCmd is the versions command on b: the daemon, or the engine.
func versionsCmd(ctx context.Context, b backend, prog string, args []string, s Streams) error {
	if len(args) == 0 {
		return usageError(errors.New(versionsUsage))
	}
	if args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(s.Out, versionsUsage)
		return nil
	}
	switch args[0] {
	case "list":
		if len(args) > 2 {
			return usageError(errors.New(versionsUsage))
		}
		path := ""
		if len(args) == 2 {
			path = args[1]
		}
		return listVersions(ctx, b, prog, path, s)
	case "restore":
		if len(args) != 3 {
			return usageError(errors.New(versionsUsage))
		}
		return restoreVersion(ctx, b, args[1], args[2], s)
	}
	return usageErrorf("unknown subcommand %q\n%s", args[0], versionsUsage)
}

func listVersions(ctx context.Context, b backend, prog, path string, s Streams) error {
	vs, err := b.Versions(ctx, control.Path(path))
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		if path != "" {
			fmt.Fprintf(s.Out, "no versions of %q are kept\n", path)
		} else {
			fmt.Fprintln(s.Out, "no versions are kept")
		}
		return nil
	}
	w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPATH\tARCHIVED\tSIZE\tWHY")
	for _, v := range vs {
		fmt.Fprintf(w, "%s\t%q\t%s\t%d\t%s\n", v.ID, string(v.Path), v.Time.Local().Format("2006-01-02 15:04:05"), v.Size, orWord(v.Reason, "-"))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "restore one with: %s versions restore %s %s\n", prog, typeable(string(vs[0].Path)), vs[0].ID)
	return nil
}

func restoreVersion(ctx context.Context, b backend, path, id string, s Streams) error {
	resp, err := b.RestoreVersion(ctx, control.Path(path), id)
	if err != nil {
		return err
	}
	if v := resp.Version; v != nil {
		fmt.Fprintf(s.Out, "restored %q from version %s (archived %s, %d bytes); what it replaced is kept as a version\n",
			path, v.ID, v.Time.Local().Format("2006-01-02 15:04:05"), v.Size)
	}
	var c carried
	c.add(resp.Synced, resp.SyncError)
	return c.end(s.Out, "restored", nil)
}

// typeable returns p as a person types it in a shell: as it is when it
// holds only characters a shell leaves alone, in single quotes when it is
// printable, and Go-quoted otherwise (a name with control characters is
// never printed raw).
func typeable(p string) string {
	if p == "" {
		return "''"
	}
	plain := true
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._/+-,:@%", r):
		case r == unicode.ReplacementChar || !strconv.IsPrint(r):
			return strconv.Quote(p)
		default:
			plain = false
		}
	}
	if plain && !strings.HasPrefix(p, "-") {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
