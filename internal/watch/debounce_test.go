package watch

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

const ms = time.Millisecond

func TestDebouncerReadyAfterQuietWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDebouncer(3 * ms)
		t0 := time.Now()
		d.Add("a", t0)

		if due, ok := d.Next(); !ok || !due.Equal(t0.Add(3*ms)) {
			t.Fatalf("Next() = %v, %v; want t0+3ms, true", due.Sub(t0), ok)
		}
		time.Sleep(3*ms - 1)
		if got := d.Ready(time.Now()); got != nil {
			t.Fatalf("Ready 1ns before the window passed = %q; want nothing", got)
		}
		time.Sleep(1)
		wantPaths(t, d.Ready(time.Now()), "a")
		if d.Len() != 0 {
			t.Errorf("Len() = %d after Ready; want 0", d.Len())
		}
		if _, ok := d.Next(); ok {
			t.Error("Next() reports a deadline with nothing waiting")
		}
	})
}

func TestDebouncerEventRestartsWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDebouncer(3 * ms)
		t0 := time.Now()
		for range 3 { // events at 0, 2 and 4 ms, each inside the last one's window
			d.Add("a", time.Now())
			time.Sleep(2 * ms)
		}
		if got := d.Ready(time.Now()); got != nil { // at 6 ms
			t.Fatalf("Ready at 6ms = %q; the window restarted at 4ms", got)
		}
		due, _ := d.Next()
		if want := t0.Add(7 * ms); !due.Equal(want) {
			t.Fatalf("Next() = t0+%v; want t0+7ms", due.Sub(t0))
		}
		time.Sleep(time.Until(due))
		wantPaths(t, d.Ready(time.Now()), "a")
	})
}

func TestDebouncerBatchesAndDeduplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDebouncer(3 * ms)
		now := time.Now()
		for range 100 {
			d.Add("b", now)
			d.Add("a", now)
		}
		if d.Len() != 2 {
			t.Fatalf("Len() = %d after 200 events on 2 paths; want 2", d.Len())
		}
		time.Sleep(3 * ms)
		got := d.Ready(time.Now())
		slices.Sort(got)
		wantPaths(t, got, "a", "b")
	})
}

func TestDebouncerSeparatesDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDebouncer(3 * ms)
		t0 := time.Now()
		d.Add("p", time.Now())
		time.Sleep(1 * ms)
		d.Add("q", time.Now())
		time.Sleep(1 * ms)
		d.Add("p", time.Now()) // p is now due at 5 ms, after q at 4 ms

		due, _ := d.Next()
		time.Sleep(time.Until(due))
		if time.Since(t0) != 4*ms {
			t.Fatalf("first deadline at %v; want 4ms", time.Since(t0))
		}
		wantPaths(t, d.Ready(time.Now()), "q")
		due, _ = d.Next()
		time.Sleep(time.Until(due))
		if time.Since(t0) != 5*ms {
			t.Fatalf("second deadline at %v; want 5ms", time.Since(t0))
		}
		wantPaths(t, d.Ready(time.Now()), "p")
	})
}

func TestDebouncerEarlierTimeCountsAsLatest(t *testing.T) {
	d := newDebouncer(3 * ms)
	t0 := time.Unix(1000, 0)
	d.Add("a", t0.Add(2*ms))
	d.Add("b", t0) // before a's event: counted at t0+2ms so the order holds
	if due, _ := d.Next(); !due.Equal(t0.Add(5 * ms)) {
		t.Fatalf("Next() = t0+%v; want t0+5ms", due.Sub(t0))
	}
	if got := d.Ready(t0.Add(5*ms - 1)); got != nil {
		t.Fatalf("Ready before 5ms = %q; want nothing", got)
	}
	wantPaths(t, d.Ready(t0.Add(5*ms)), "a", "b")
}
