package engine

import (
	"fmt"

	"github.com/zerosync/zerosync/internal/state"
)

// openDB opens the durable state: one database file per engine, one pair
// of buckets per peer, named after the peer.
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
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	e.closeDB = db.Close
	for _, p := range e.pairs {
		p.store = db.Pair(p.peer.Name)
	}
	return nil
}
