package watch

import (
	"slices"
	"time"

	"github.com/zerosync/zerosync"
)

// batcher turns debounced paths into hints. It owns a [debouncer] and the
// one timer that fires at the debouncer's earliest deadline; the goroutine
// that owns the batcher calls touch for every event, and fire whenever C
// delivers. It is not safe for concurrent use, and notify and echo are
// called from the goroutine that calls fire.
type batcher struct {
	deb    *debouncer
	timer  *time.Timer
	armed  bool
	echo   func(path string) bool // nil: nothing is an echo
	notify func(zerosync.Hint)
	// reason is the Reason of the hints fire delivers: "watch", or "poll"
	// while the paths come from polling.
	reason string
}

// newBatcher returns a batcher with an idle timer. It must be created by the
// goroutine (or synctest bubble) that uses it.
func newBatcher(window time.Duration, echo func(string) bool, notify func(zerosync.Hint)) *batcher {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &batcher{deb: newDebouncer(window), timer: t, echo: echo, notify: notify, reason: "watch"}
}

// C delivers when the earliest deadline may have passed; the owner then
// calls fire.
func (b *batcher) C() <-chan time.Time { return b.timer.C }

// touch records an event for path at time now. The timer is armed when it
// is idle; when it is armed, it is already set for a deadline no later than
// path's new one, because deadlines only grow.
func (b *batcher) touch(path string, now time.Time) {
	b.deb.Add(path, now)
	if !b.armed {
		b.arm(now)
	}
}

// fire delivers the paths that are ready now, in one hint with Reason
// b.reason, after dropping those echo claims; a batch that is all echoes
// produces no hint. It then re-arms the timer for the next deadline. A fire
// with nothing ready (the earliest path was touched again after the timer
// was set) only re-arms.
func (b *batcher) fire() {
	b.armed = false
	ready := b.deb.Ready(time.Now())
	if b.echo != nil {
		ready = slices.DeleteFunc(ready, b.echo)
	}
	if len(ready) > 0 {
		slices.Sort(ready)
		b.notify(zerosync.Hint{Paths: ready, Reason: b.reason})
	}
	b.arm(time.Now())
}

// arm sets the timer for the earliest deadline, or stops it when no path
// waits.
func (b *batcher) arm(now time.Time) {
	due, ok := b.deb.Next()
	if !ok {
		b.timer.Stop()
		b.armed = false
		return
	}
	b.timer.Reset(due.Sub(now))
	b.armed = true
}

// stop releases the timer.
func (b *batcher) stop() { b.timer.Stop() }
