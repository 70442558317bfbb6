package watch

import (
	"container/list"
	"time"
)

// debouncer holds paths waiting for their quiet window to pass. It knows
// nothing of timers or file systems: callers feed it events with the time
// they happened and ask which paths are ready at a given time. It is not safe
// for concurrent use; the zero value is not usable, use [newDebouncer].
//
// Every path has the same window, so a path's deadline is the time of its
// last event plus the window, and paths ordered by last event are ordered by
// deadline. The debouncer keeps them in that order in a list: Add moves a
// path to the back, Next reads the front, Ready pops from the front. Each
// operation is O(1) per path.
type debouncer struct {
	window time.Duration
	order  list.List                // of *pending, earliest deadline first
	byPath map[string]*list.Element // path -> its element in order
	last   time.Time                // latest event time seen
}

// pending is one path waiting for its deadline.
type pending struct {
	path string
	due  time.Time
}

// newDebouncer returns an empty debouncer whose paths become ready window
// after their last event. window must be positive.
func newDebouncer(window time.Duration) *debouncer {
	return &debouncer{window: window, byPath: make(map[string]*list.Element)}
}

// Add records an event for path at time now, (re)starting its quiet window.
// Times are expected not to go backwards (use the monotonic clock); a time
// earlier than one already seen counts as the latest time seen, which keeps
// the deadlines in order at the cost of a path becoming ready slightly late.
func (d *debouncer) Add(path string, now time.Time) {
	if now.Before(d.last) {
		now = d.last
	}
	d.last = now
	due := now.Add(d.window)
	if el, ok := d.byPath[path]; ok {
		el.Value.(*pending).due = due
		d.order.MoveToBack(el)
		return
	}
	d.byPath[path] = d.order.PushBack(&pending{path: path, due: due})
}

// Next returns the earliest deadline of the waiting paths; ok is false when
// no path waits.
func (d *debouncer) Next() (due time.Time, ok bool) {
	el := d.order.Front()
	if el == nil {
		return time.Time{}, false
	}
	return el.Value.(*pending).due, true
}

// Ready removes and returns the paths whose deadline is at or before now,
// earliest deadline first, each path once. It returns nil when none is
// ready.
func (d *debouncer) Ready(now time.Time) []string {
	var out []string
	for el := d.order.Front(); el != nil; el = d.order.Front() {
		p := el.Value.(*pending)
		if p.due.After(now) {
			break
		}
		d.order.Remove(el)
		delete(d.byPath, p.path)
		out = append(out, p.path)
	}
	return out
}

// Quiet returns when the debouncer has gone a whole window without an
// event on any path: the latest event time seen plus the window. Every
// waiting path is ready by then.
func (d *debouncer) Quiet() time.Time { return d.last.Add(d.window) }

// Len returns the number of waiting paths.
func (d *debouncer) Len() int { return len(d.byPath) }
