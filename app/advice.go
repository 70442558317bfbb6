package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// Advice returns what a person can type to get past err with the engine
// called name, or "" when there is nothing to suggest.
func Advice(name string, err error) string {
	var rc *engine.RootChangedError
	switch {
	case errors.As(err, &rc):
		return fmt.Sprintf("if these are the trees to sync from now on, run: %s adopt %s", name, shellQuote(rc.Peer))
	case errors.Is(err, zerosync.ErrRootEmpty), errors.Is(err, zerosync.ErrMassDeletion):
		return fmt.Sprintf("if the deletions are intended, run: %s once --confirm-deletions", name)
	case errors.Is(err, zerosync.ErrRootMissing):
		return "check that the disk or directory is there (mounted), then run the command again"
	}
	return dialinAdvice(name, err)
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
func (env *Env) adopt(ctx context.Context, e *engine.Engine, args []string) error {
	if len(args) > 1 {
		return fmt.Errorf("usage: %s adopt [PEER]", env.App.Name)
	}
	peer := ""
	if len(args) == 1 {
		peer = args[0]
	}
	if err := e.Adopt(ctx, peer); err != nil {
		return err
	}
	what := "every peer"
	if peer != "" {
		what = "peer " + strconv.Quote(peer)
	}
	fmt.Fprintf(env.Streams.Out, "adopted the roots of %s as they are now: the next sync has no ancestor, so differences become conflicts (both versions kept) and nothing is deleted\n", what)
	return nil
}
