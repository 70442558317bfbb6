package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/internal/state"
	"github.com/zerosync/zerosync/transport/ssh"
)

// Advice returns what a person can type to get past err with the engine
// called name, or "" when there is nothing to suggest.
func Advice(name string, err error) string {
	var rc *engine.RootChangedError
	var ce *control.Error
	switch {
	case errors.As(err, &ce):
		return ce.Advice
	case errors.Is(err, ErrNoDaemon):
		return fmt.Sprintf("start it with: %s run (or as a service: systemctl --user start %s)", name, unitName(name))
	case errors.Is(err, control.ErrRunning):
		return fmt.Sprintf("stop it with: %s stop", name)
	case errors.As(err, &rc):
		return fmt.Sprintf("if these are the trees to sync from now on, run: %s adopt %s", name, shellQuote(rc.Peer))
	case errors.Is(err, zerosync.ErrRootEmpty), errors.Is(err, zerosync.ErrMassDeletion):
		return fmt.Sprintf("if the deletions are intended, run: %s once --confirm-deletions", name)
	case errors.Is(err, zerosync.ErrRootMissing):
		return "check that the disk or directory is there (mounted), then run the command again"
	case errors.Is(err, state.ErrLocked):
		return fmt.Sprintf("a running %[1]s (%[1]s run, or its service) holds the state: stop it first (systemctl --user stop %[2]s), then run the command again", name, unitName(name))
	case errors.Is(err, ErrAttention):
		return fmt.Sprintf("review the conflicts waiting with: %s conflicts list (paths with problems are tried again at the next sync)", name)
	}
	return dialinAdvice(name, err)
}

// message returns err's message for a person at a command line: what a
// library error says to a program's author (an option to build a
// transport with) is left out, since a person cannot type it.
func message(err error) string {
	msg := err.Error()
	var hk *ssh.HostKeyError
	if errors.As(err, &hk) {
		full := hk.Error()
		var keep []string
		for line := range strings.Lines(full) {
			if !strings.Contains(line, "ssh.With") {
				keep = append(keep, line)
			}
		}
		msg = strings.Replace(msg, full, strings.TrimRight(strings.Join(keep, ""), "\n"), 1)
	}
	return msg
}

// shellQuote quotes s for a shell when it needs it.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '/') {
			return strconv.Quote(s)
		}
	}
	return s
}

// adopt accepts the roots of one peer's pair (or of every pair) as they are
// now, after a sync halted because a root changed.
func (env *Env) adopt(ctx context.Context, b backend, args []string) error {
	if len(args) > 1 {
		return usageErrorf("usage: %s adopt [PEER]", env.App.Name)
	}
	peer := ""
	if len(args) == 1 {
		peer = args[0]
	}
	if err := b.Adopt(ctx, peer); err != nil {
		return err
	}
	what := "every peer"
	if peer != "" {
		what = "peer " + strconv.Quote(peer)
	}
	fmt.Fprintf(env.Streams.Out, "adopted the roots of %s as they are now: the next sync has no ancestor, so differences become conflicts (both versions kept) and nothing is deleted\n", what)
	return nil
}
