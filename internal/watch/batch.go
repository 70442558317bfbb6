package watch

import (
	"slices"
	"time"

	"github.com/zerosync/zerosync"
)

// batcher turns debounced paths into hints. It owns a [debouncer] and the
// one timer that fires at the next release ([batcher.release]); the goroutine
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

// C delivers when the release ([batcher.release]) may have come; the
// owner then calls fire.
func (b *batcher) C() <-chan time.Time { return b.timer.C }

// touch records an event for path at time now. The timer is armed when it
// is idle; when it is armed, it is already set no later than the release,
// because releases only move later: a fire that comes early re-arms.
func (b *batcher) touch(path string, now time.Time) {
	b.deb.Add(path, now)
	if !b.armed {
		b.arm(now)
	}
}

// fire delivers the paths that are ready now, in one hint with Reason
// b.reason, after dropping those echo claims; a batch that is all echoes
// produces no hint. It then re-arms the timer for the next release. A fire
// before the release (events went on after the timer was set) only
// re-arms.
func (b *batcher) fire() {
	b.armed = false
	now := time.Now()
	if at, ok := b.release(); ok && now.Before(at) {
		b.timer.Reset(at.Sub(now))
		b.armed = true
		return
	}
	ready := b.deb.Ready(now)
	if b.echo != nil {
		ready = slices.DeleteFunc(ready, b.echo)
	}
	if len(ready) > 0 {
		slices.Sort(ready)
		b.notify(zerosync.Hint{Paths: ready, Reason: b.reason})
	}
	b.arm(time.Now())
}

// holdWindows bounds how long a ready path waits for the rest of the tree
// to go quiet, in windows: a burst that lasts up to this many windows (and
// one) goes out whole.
const holdWindows = 2

// release is when the waiting paths that are ready go out: once no event
// came on any path for a window (a burst of writes to many files goes out
// whole, in one hint, so the engine syncs it in one cycle), but no later
// than holdWindows windows after the earliest path became ready (events
// that go on elsewhere hold a ready path back by at most that). ok is
// false when no path waits.
func (b *batcher) release() (at time.Time, ok bool) {
	due, ok := b.deb.Next()
	if !ok {
		return time.Time{}, false
	}
	at = due.Add(holdWindows * b.deb.window)
	if q := b.deb.Quiet(); q.Before(at) {
		at = q
	}
	return at, true
}

// arm sets the timer for the next release, or stops it when no path
// waits.
func (b *batcher) arm(now time.Time) {
	at, ok := b.release()
	if !ok {
		b.timer.Stop()
		b.armed = false
		return
	}
	b.timer.Reset(at.Sub(now))
	b.armed = true
}

// stop releases the timer.
func (b *batcher) stop() { b.timer.Stop() }
