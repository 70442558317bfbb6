package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/state"
)

// metaEngine is the database-wide metadata key naming the engine whose
// state a file holds.
const metaEngine = "engine"

// openDB opens the durable state: one database file per engine, one pair
// of buckets per peer, named after the peer. A file that is damaged or
// truncated is moved aside and replaced by a new one, so every pair starts
// with no ancestor (conflicts, never deletions); the first cycle's report
// says so. A file that holds another engine's state is refused.
func (e *Engine) openDB() error {
	path := e.statePath
	if path == "" {
		p, err := state.DefaultPath(e.name)
		if err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		path = p
	}
	db, err := state.Open(path, state.WithLogger(e.log))
	if errors.Is(err, state.ErrCorrupt) {
		aside, merr := state.MoveAside(path)
		if merr != nil {
			return fmt.Errorf("engine: %w (and it could not be moved aside: %w)", err, merr)
		}
		e.log.Error("state database damaged; moved aside, every pair starts with no ancestor", "err", err, "moved_to", aside)
		e.notices = append(e.notices, zerosync.Problem{Path: ".", Err: fmt.Errorf(
			"the state database was damaged (%w); it was moved aside to %s and a new one made: every pair syncs with no ancestor this time (differences become conflicts, nothing is deleted)", err, aside)})
		db, err = state.Open(path, state.WithLogger(e.log))
	}
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	ctx := context.Background()
	owner, ok, err := db.Meta(ctx, metaEngine)
	if err == nil && !ok {
		err = db.SetMeta(ctx, metaEngine, e.name)
		owner = e.name
	}
	if err != nil {
		db.Close()
		return fmt.Errorf("engine: %w", err)
	}
	if owner != e.name {
		db.Close()
		return fmt.Errorf("engine: %w: %s holds the state of engine %q, not %q; give this engine its own state file",
			zerosync.ErrForeignState, path, owner, e.name)
	}
	// The held trees wait between cycles beside the state (memory.go).
	e.mem.spillDir = filepath.Dir(path)
	commits := newCommitter(db.CommitAll, e.kick)
	e.closeDB = func() error { return errors.Join(commits.close(), db.Close()) }
	e.live.storeFor = func(peer string) store { return &behindStore{p: db.Pair(peer), c: commits} }
	for _, p := range e.pairs {
		p.store = e.live.storeFor(p.peer.Name)
	}
	return nil
}
