package engine

import "sync/atomic"

func (e *Engine) openState() error {
	if e.volatile {
		ids := new(atomic.Uint64)
		stores := map[string]store{}
		e.live.storeFor = func(peer string) store {
			if _, ok := stores[peer]; !ok {
				stores[peer] = newMemStore(ids)
			}
			return stores[peer]
		}
		for _, p := range e.pairs {
			p.store = e.live.storeFor(p.peer.Name)
		}
		return nil
	}
	return e.openDB()
}
