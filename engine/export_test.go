package engine

import (
	"context"
	"runtime"
	"sync"
)

// StartSourcesForTest starts the engine's sources as Run does, without
// Run's cycle loop, so a test can drive cycles with SyncOnce; the returned
// function stops them. It waits until every watcher reported ready.
func StartSourcesForTest(e *Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	e.startSources(ctx, &wg)
	trees := []*tree{e.ours}
	for _, p := range e.pairs {
		trees = append(trees, p.peer)
	}
	for _, t := range trees {
		for {
			t.mu.Lock()
			ok := t.watched
			t.mu.Unlock()
			if ok {
				break
			}
			runtimeGosched()
		}
	}
	return func() { e.stopWatching(); cancel(); wg.Wait() }
}

func runtimeGosched() { runtime.Gosched() }
