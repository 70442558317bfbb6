package remote

import (
	"sync"
	"sync/atomic"
	"time"
)

// Compression pays on a slow link and costs on a fast one: zstd at its
// fastest level compresses source code at about 200 MB/s a core, so on a
// link that carries more than a fraction of that, the time it saves on the
// wire is less than the CPU it takes from the rest of the transfer (an
// initial sync of a 282 MiB tree over a local socket: 0.5 s more CPU and
// a quarter more time with it than without). So each side measures how fast
// its own writes leave (the time a write takes, a bandwidth limit's waits
// included: a link that is not the bottleneck takes writes at once) and
// compresses only while that is below compressBelow.
const (
	// compressBelow is the rate of writes under which content is
	// compressed: about half a gigabit a second.
	compressBelow = 64 << 20
	// rateWindow is how many bytes a measurement of the rate spans; the
	// last one decides.
	rateWindow = 1 << 20
	// firstWindow is the span of the first measurement, short so that a
	// connection on a fast link stops compressing after its first few
	// small files (a running engine's edits rarely add up to rateWindow).
	firstWindow = 64 << 10
)

// wireRate estimates how fast a connection's writes leave. Its zero value
// knows nothing yet, and says to compress. It is safe for concurrent use.
type wireRate struct {
	mu    sync.Mutex
	bytes int64         // written since the window began
	spent time.Duration // in writes since the window began

	rate atomic.Int64 // bytes a second over the last window; 0: none yet
}

// observe records a write of n bytes that took d.
func (w *wireRate) observe(n int, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes += int64(n)
	w.spent += d
	if span := int64(rateWindow); w.bytes < span && (w.rate.Load() != 0 || w.bytes < firstWindow) {
		return
	}
	r := int64(float64(w.bytes) / max(w.spent, time.Microsecond).Seconds())
	w.rate.Store(max(r, 1))
	w.bytes, w.spent = 0, 0
}

// slow reports whether compressing content pays: the rate is not known
// yet, or below compressBelow.
func (w *wireRate) slow() bool {
	r := w.rate.Load()
	return r == 0 || r < compressBelow
}
