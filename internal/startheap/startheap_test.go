package startheap

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// current returns the collector's settings without changing them.
func current() (int, int64) {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p, debug.SetMemoryLimit(-1) // a negative limit only reads it
}

// TestSetRestoresAfterFirstCollection: until the first collection the
// collector is off with the memory limit set; the first collection puts
// GOGC's percentage and no limit back.
func TestSetRestoresAfterFirstCollection(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	percent, limit := current()
	require.Equal(t, int64(math.MaxInt64), limit)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })

	Set(Limit)
	p, l := current()
	require.Equal(t, -1, p)
	require.Equal(t, int64(Limit), l)

	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p, l = current(); p == percent && l == limit {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a collection the collector is at %d%% with a limit of %d, want %d%% and none", p, l, percent)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSetLeavesAChoiceAlone: GOGC or GOMEMLIMIT set by whoever runs the
// program wins.
func TestSetLeavesAChoiceAlone(t *testing.T) {
	percent, limit := current()
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "200")
			Set(Limit)
			p, l := current()
			require.Equal(t, percent, p)
			require.Equal(t, limit, l)
		})
	}
}

// TestNoMemProfile: the sampler is turned off, unless GODEBUG asked for a
// rate.
func TestNoMemProfile(t *testing.T) {
	was := runtime.MemProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = was })
	for _, c := range []struct {
		godebug string
		want    int
	}{
		{"", 0},
		{"panicnil=0", 0},
		{"panicnil=0, memprofilerate=1", 7},
		{"memprofilerate=0", 7},
	} {
		runtime.MemProfileRate = 7
		t.Setenv("GODEBUG", c.godebug)
		NoMemProfile()
		require.Equal(t, c.want, runtime.MemProfileRate, "GODEBUG=%q", c.godebug)
	}
}
