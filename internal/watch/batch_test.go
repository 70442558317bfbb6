package watch

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zerosync/zerosync"
)

// delivery is a hint and the fake time it was delivered, relative to the
// start of the test.
type delivery struct {
	at   time.Duration
	hint zerosync.Hint
}

// driveBatcher runs a batcher the way [watcher.run] does, inside a synctest
// bubble: paths sent on the returned channel are touched, and the timer
// fires the batcher. It returns the channel and a function that stops the
// loop and returns every delivery.
func driveBatcher(t *testing.T, window time.Duration, echo func(string) bool) (chan<- string, func() []delivery) {
	t.Helper()
	t0 := time.Now()
	in := make(chan string)
	ctx, cancel := context.WithCancel(t.Context())
	var got []delivery
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := newBatcher(window, echo, func(h zerosync.Hint) {
			got = append(got, delivery{time.Since(t0), h})
		})
		defer b.stop()
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-in:
				b.touch(p, time.Now())
			case <-b.C():
				b.fire()
			}
		}
	}()
	return in, func() []delivery {
		cancel()
		<-done
		return got
	}
}

func TestBatcherDeliversAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, stop := driveBatcher(t, 3*ms, nil)
		in <- "a"
		time.Sleep(10 * ms)
		got := stop()
		if len(got) != 1 || got[0].at != 3*ms {
			t.Fatalf("deliveries = %+v; want one at 3ms", got)
		}
		wantPaths(t, got[0].hint.Paths, "a")
		if got[0].hint.Reason != "watch" || got[0].hint.Full {
			t.Errorf("hint = %+v; want Reason watch, not Full", got[0].hint)
		}
	})
}

func TestBatcherBurstGivesOneHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, stop := driveBatcher(t, 3*ms, nil)
		for range 100 { // 100 events 20µs apart: 2ms of activity
			in <- "burst"
			time.Sleep(20 * time.Microsecond)
		}
		time.Sleep(10 * ms)
		got := stop()
		if len(got) != 1 {
			t.Fatalf("deliveries = %+v; want one", got)
		}
		wantPaths(t, got[0].hint.Paths, "burst")
		// The last event was at 99*20µs; the hint comes one window later.
		if want := 99*20*time.Microsecond + 3*ms; got[0].at != want {
			t.Errorf("delivered at %v; want %v", got[0].at, want)
		}
	})
}

func TestBatcherBatchesReadyPaths(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, stop := driveBatcher(t, 3*ms, nil)
		in <- "z"
		in <- "a"
		in <- "z"
		time.Sleep(1 * ms)
		in <- "late"
		time.Sleep(10 * ms)
		got := stop()
		// a and z are ready at 3ms but wait for the burst to end: one
		// hint when nothing happened for a window.
		if len(got) != 1 || got[0].at != 4*ms {
			t.Fatalf("deliveries = %+v; want one at 4ms", got)
		}
		wantPaths(t, got[0].hint.Paths, "a", "late", "z")
	})
}

func TestBatcherBurstOfPathsGivesOneHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, stop := driveBatcher(t, 3*ms, nil)
		var want []string
		for i := range 10 { // an editor saving 10 files over 4.5ms
			p := string(rune('a' + i))
			want = append(want, p)
			in <- p
			time.Sleep(ms / 2)
		}
		time.Sleep(20 * ms)
		got := stop()
		if len(got) != 1 || got[0].at != 9*ms/2+3*ms {
			t.Fatalf("deliveries = %+v; want one at 7.5ms", got)
		}
		wantPaths(t, got[0].hint.Paths, want...)
	})
}

func TestBatcherBusyTreeHoldsReadyPathTwoWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, stop := driveBatcher(t, 3*ms, nil)
		in <- "once"
		for range 20 { // a path written every ms for 20ms
			in <- "busy"
			time.Sleep(1 * ms)
		}
		time.Sleep(10 * ms)
		got := stop()
		if len(got) != 2 {
			t.Fatalf("deliveries = %+v; want two", got)
		}
		// once is ready at 3ms and held two more windows, not until busy
		// goes quiet; busy goes one window after its last event (19ms).
		if got[0].at != 9*ms || got[1].at != 22*ms {
			t.Errorf("delivered at %v and %v; want 9ms and 22ms", got[0].at, got[1].at)
		}
		wantPaths(t, got[0].hint.Paths, "once")
		wantPaths(t, got[1].hint.Paths, "busy")
	})
}

func TestBatcherRestartedPathWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, stop := driveBatcher(t, 3*ms, nil)
		in <- "a"
		time.Sleep(2 * ms)
		in <- "b"
		in <- "a" // a now due at 5ms; the timer set for 3ms finds nothing ready
		time.Sleep(10 * ms)
		got := stop()
		if len(got) != 1 || got[0].at != 5*ms {
			t.Fatalf("deliveries = %+v; want one at 5ms", got)
		}
		wantPaths(t, got[0].hint.Paths, "a", "b")
	})
}

func TestBatcherEchoDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var asked []string
		echo := func(p string) bool {
			asked = append(asked, p)
			return p == "mine" || p == "mine2"
		}
		in, stop := driveBatcher(t, 3*ms, echo)
		in <- "mine"
		in <- "theirs"
		time.Sleep(10 * ms)
		in <- "mine"
		in <- "mine2" // an all-echo batch: no hint at all
		time.Sleep(10 * ms)
		got := stop()
		if len(got) != 1 {
			t.Fatalf("deliveries = %+v; want one", got)
		}
		wantPaths(t, got[0].hint.Paths, "theirs")
		if len(asked) != 4 {
			t.Errorf("Echo asked about %q; want each ready path once", asked)
		}
	})
}

func TestBatcherIdleTimerStaysQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, stop := driveBatcher(t, 3*ms, nil)
		in <- "a"
		time.Sleep(time.Hour)
		in <- "b"
		time.Sleep(time.Hour)
		got := stop()
		if len(got) != 2 || got[0].at != 3*ms || got[1].at != time.Hour+3*ms {
			t.Fatalf("deliveries = %+v; want a at 3ms and b at 1h3ms", got)
		}
	})
}
