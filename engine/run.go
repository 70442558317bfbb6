package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
)

// Run syncs once, then again whenever a source says something may have
// changed, until ctx is cancelled; it returns ctx's error. Sources are the
// ones given with [WithSource] plus, unless [WithWatch](false), every
// endpoint that can watch. Hints that arrive during a cycle are folded into
// one more cycle. A source that fails is logged and reported as an
// EventError; the others go on.
//
// Each peer is supervised: a pair whose sync fails for a reason retrying
// may mend (the host unreachable, its agent gone) is retried on its own
// schedule ([WithRetry]: 1 s doubling, then marked failed and retried
// slowly) while the other pairs sync in every cycle; [Engine.Peers] shows
// how its retries stand, and a flush or [Engine.Resume] tries it at once.
// A watcher that fails is said once (logged, and an EventError naming the
// tree), its tree is rescanned on a schedule ([WithPollInterval]), and the
// watcher is started again after the same waits. A cycle that fails
// before any pair (our own tree unreadable) is retried with backoff (1 s
// doubling to 1 min) while sources stay quiet.
//
// A pair stopped by something retrying cannot mend (its root missing,
// replaced or emptied, a mass deletion) is halted: logged once, shown in
// [Engine.Status], and skipped until a person acts ([Engine.Adopt],
// [Engine.ConfirmDeletions], [Engine.Resume]). When every pair is halted,
// Run returns an error saying why, so a supervisor learns of it.
func (e *Engine) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		e.stopWatching()
		cancel()
		wg.Wait()
		e.runEnded()
	}()
	e.mu.Lock()
	e.status.Running = true
	e.halted = nil
	e.mu.Unlock()

	e.startSources(ctx, &wg)

	backoff := time.Duration(0)
	var retry, peerRetry *time.Timer
	defer func() {
		if retry != nil {
			retry.Stop()
		}
		if peerRetry != nil {
			peerRetry.Stop()
		}
	}()
	e.kick()
	for {
		e.hb.idle.Store(true)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.wake:
		}
		e.hb.beat()
		e.hb.idle.Store(false)
		flushes := e.takeFlushes()
		rep, err, own := e.runCycle(ctx, true)
		answerFlushes(flushes, rep, err)
		e.releaseAfterFull()
		if halted := e.allHalted(); halted != nil {
			return fmt.Errorf("nothing left to sync: %w", halted)
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil, errors.Is(err, zerosync.ErrPaused), !own:
			backoff = 0
		default:
			backoff = min(max(2*backoff, time.Second), time.Minute)
			if retry != nil {
				retry.Stop()
			}
			retry = time.AfterFunc(backoff, e.kick)
		}
		if peerRetry != nil {
			peerRetry.Stop()
			peerRetry = nil
		}
		if at := e.nextRetry(); !at.IsZero() {
			peerRetry = time.AfterFunc(max(time.Until(at), 0), e.kick)
		}
	}
}

// startSources runs every source in its own goroutine until ctx ends,
// routing hints to the trees they speak for, and watches every tree that
// can watch, including peers added while Run runs ([Engine.AddPeer]).
func (e *Engine) startSources(ctx context.Context, wg *sync.WaitGroup) {
	for _, src := range e.sources {
		wg.Go(func() {
			// A schedule or other source speaks for every tree.
			err := src.Watch(ctx, func(h zerosync.Hint) {
				for _, t := range e.trees() {
					t.hint(zerosync.Hint{Full: true, Reason: h.Reason})
				}
				e.kick()
			})
			e.sourceStopped(ctx, err)
		})
	}
	if e.watch {
		e.startWatching(ctx, wg)
	}
}

// Every is a [zerosync.Source] that asks for a full cycle every d, as a
// safety net beside a watcher or on its own.
func Every(d time.Duration) zerosync.Source {
	return every(d)
}

type every time.Duration

func (d every) Watch(ctx context.Context, notify func(zerosync.Hint)) error {
	if d <= 0 {
		return errors.New("engine: schedule interval must be positive")
	}
	t := time.NewTicker(time.Duration(d))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			notify(zerosync.Hint{Full: true, Reason: "schedule"})
		}
	}
}
