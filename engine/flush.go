package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/zerosync/zerosync"
)

// errRunEnded: Run returned before the cycle a flush waited for.
var errRunEnded = errors.New("engine: the engine stopped before the cycle ran")

// flushResult is what a cycle run for a flush says.
type flushResult struct {
	rep zerosync.Report
	err error
}

// Flush syncs now and returns that cycle's report and error, as
// [Engine.SyncOnce] does: every tree is scanned whole, so what changed just
// before the call is in it even if no watcher has told of it yet. While
// [Engine.Run] is active, Flush asks it for a cycle and waits for the first
// one that starts after the call (a cycle under way finishes first);
// otherwise it runs the cycle itself. A paused engine returns an error
// wrapping [zerosync.ErrPaused] at once. When ctx ends first, Flush returns
// ctx's error and the cycle, if it started, goes on.
func (e *Engine) Flush(ctx context.Context) (zerosync.Report, error) {
	e.mu.Lock()
	if e.status.Paused {
		e.mu.Unlock()
		return zerosync.Report{}, fmt.Errorf("engine: flush: %w", zerosync.ErrPaused)
	}
	if !e.status.Running {
		e.mu.Unlock()
		e.markAllFull()
		e.retryAll()
		return e.SyncOnce(ctx)
	}
	ch := make(chan flushResult, 1)
	e.live.flushes = append(e.live.flushes, ch)
	e.mu.Unlock()
	e.kick()
	select {
	case r := <-ch:
		return r.rep, r.err
	case <-ctx.Done():
		e.mu.Lock()
		e.live.flushes = slices.DeleteFunc(e.live.flushes, func(c chan flushResult) bool { return c == ch })
		e.mu.Unlock()
		return zerosync.Report{}, ctx.Err()
	}
}

// takeFlushes returns the flushes waiting, which the cycle about to start
// answers; that cycle then scans every tree whole.
func (e *Engine) takeFlushes() []chan flushResult {
	e.mu.Lock()
	fs := e.live.flushes
	e.live.flushes = nil
	e.mu.Unlock()
	if len(fs) > 0 {
		e.markAllFull()
		e.retryAll()
	}
	return fs
}

// markAllFull asks the next cycle to scan every tree whole.
func (e *Engine) markAllFull() {
	for _, t := range e.trees() {
		t.markFull()
	}
}

// answerFlushes gives each waiting flush the cycle's report. The report's
// slices are shared: readers must not change them.
func answerFlushes(fs []chan flushResult, rep zerosync.Report, err error) {
	for _, ch := range fs {
		ch <- flushResult{rep: rep, err: err}
	}
}
