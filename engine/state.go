package engine

func (e *Engine) openState() error {
	if e.volatile {
		for _, p := range e.pairs {
			p.store = newMemStore()
		}
		return nil
	}
	return e.openDB()
}
