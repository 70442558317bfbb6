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

	// 1 GiB/s, in pieces of 256 KiB.
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
