package remote

import (
	"time"

	"github.com/zerosync/zerosync/internal/bwlimit"
)

// A bandwidth limit ([WithBandwidthLimit]) is held by two token buckets
// on the limited side, one for the frames it writes and one for those it
// reads; the peer need not know of it. What the limit changes:
//
//   - writes wait for their tokens before they start, in pieces of at most
//     a bucket, and a wait for tokens is not a write that does not move:
//     the write deadline counts from when the tokens were granted;
//   - content, delta and signature frames this side builds are cut to
//     what the link carries in a quarter of the keepalive interval (at
//     least 4 KiB), so the peer sees whole frames often and a ping or a
//     pong waits behind one such frame at most;
//   - this side's deadlines on the peer (no whole frame from it, no
//     progress on a request) grow by the time the limit takes to move
//     linkQueue bytes: what the peer may have written before its answer
//     that this side has not read yet, at most an SSH channel's window
//     (2 MiB, two streams' windows) and a frame.
const (
	// MinBandwidthLimit is the least [WithBandwidthLimit] takes: 4 KiB a
	// second. An agent that does not know of the limit drops a client
	// that takes nothing of a 32 KiB piece it writes for its timeout (30 s
	// by default), so a slower link could lose healthy connections.
	MinBandwidthLimit = 4 << 10
	// minLimitedChunk is the smallest frame budget under a limit.
	minLimitedChunk = 4 << 10
	// linkQueue is what may lie ahead of a frame of the peer on the
	// way in.
	linkQueue = 2<<20 + sendLimit
)

// link is the limit of a connection; its zero value limits nothing.
type link struct {
	w, r *bwlimit.Limiter
	// chunk is the most content a data frame carries, the size at which
	// a delta frame is sent, and the budget of a signatures frame.
	chunk int
	// slack is added to the deadlines on the peer.
	slack time.Duration
}

// newLink returns the link settings of a connection with cfg.
func newLink(cfg *config) link {
	l := link{chunk: chunkSize}
	if cfg.bwlimit == 0 {
		return l
	}
	// WithBandwidthLimit took only rates that New takes.
	l.w, _ = bwlimit.New(cfg.bwlimit)
	l.r, _ = bwlimit.New(cfg.bwlimit)
	interval := cfg.interval
	if interval <= 0 {
		interval = DefaultKeepaliveInterval
	}
	budget := float64(cfg.bwlimit) * (interval / 4).Seconds()
	l.chunk = int(min(max(budget, minLimitedChunk), chunkSize))
	l.slack = time.Duration(float64(linkQueue) / float64(cfg.bwlimit) * float64(time.Second))
	return l
}

// sigsPerFrame is the number of block sums a signatures frame of this
// side carries.
func (l *link) sigsPerFrame() int { return max(l.chunk/sigLen, 1) }
