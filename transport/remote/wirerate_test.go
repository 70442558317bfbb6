package remote

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A connection compresses until it knows how fast its writes leave, stops
// on a fast link, and starts again when the link slows down; a part of a
// window decides nothing.
func TestWireRate(t *testing.T) {
	var w wireRate
	require.True(t, w.slow(), "nothing measured yet")
	w.observe(firstWindow/2, 0)
	require.True(t, w.slow(), "half the first window")

	// 1 GiB/s: the first window decides.
	w.observe(firstWindow/2, firstWindow/2*time.Second/(1<<30))
	require.False(t, w.slow(), "1 GiB/s")
	for range 4 {
		w.observe(256<<10, 250*time.Microsecond)
	}
	require.False(t, w.slow(), "1 GiB/s")

	// Half a window at 1 MiB/s changes nothing yet.
	w.observe(rateWindow/2, 500*time.Millisecond)
	require.False(t, w.slow(), "half a window")

	// The link slows to 1 MiB/s: the window that ends says so.
	w.observe(rateWindow/2, 500*time.Millisecond)
	require.True(t, w.slow(), "1 MiB/s")

	// Writes that take no measurable time count as very fast ones.
	for range 8 {
		w.observe(rateWindow, 0)
	}
	require.False(t, w.slow(), "instant writes")
}

// On a slow link the first window already says so.
func TestWireRateFirstWindowSlow(t *testing.T) {
	var w wireRate
	w.observe(firstWindow, 62500*time.Microsecond) // 1 MiB/s
	require.True(t, w.slow())
	require.Positive(t, w.rate.Load(), "measured, not unknown")
}
