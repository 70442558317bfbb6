package engine

import "sync/atomic"

func (e *Engine) openState() error {
	if e.volatile {
		ids := new(atomic.Uint64)
		for _, p := range e.pairs {
			p.store = newMemStore(ids)
		}
		return nil
	}
	return e.openDB()
}
