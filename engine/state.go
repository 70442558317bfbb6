package engine

func (e *Engine) openState() error {
	if e.volatile {
		stores := map[string]store{}
		e.live.storeFor = func(peer string) store {
			if _, ok := stores[peer]; !ok {
				stores[peer] = newMemStore()
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
