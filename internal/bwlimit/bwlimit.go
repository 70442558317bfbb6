// Package bwlimit holds a connection to a number of bytes a second, as
// rsync's --bwlimit does, and reads such a rate as people write it
// ([Parse]).
//
// The limiter is a token bucket (golang.org/x/time/rate, kept by the Go
// team: exact arithmetic of time and tokens, reservations that can be
// given back when a wait is abandoned, safe for concurrent use). Its
// bucket holds an eighth of a second of traffic, at least 512 bytes and
// at most 32 KiB: enough that a fast link moves whole pieces of a write,
// little enough that the rate holds over any stretch longer than a
// fraction of a second (32 KiB is 0.1 % of a 32 MiB transfer).
package bwlimit

import (
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/time/rate"
)

// Bounds of the bucket, in bytes.
const (
	minBurst = 512
	maxBurst = 32 << 10
)

// Limiter holds a stream of bytes to a rate. A nil *Limiter limits
// nothing. Its methods are safe for concurrent use; users share the rate.
type Limiter struct {
	lim   *rate.Limiter
	burst int
	rate  int64
}

// New returns a limiter of bytesPerSecond; 0 (no limit) returns nil. A
// negative rate is an error.
func New(bytesPerSecond int64) (*Limiter, error) {
	switch {
	case bytesPerSecond < 0:
		return nil, fmt.Errorf("bandwidth limit %d is negative", bytesPerSecond)
	case bytesPerSecond == 0:
		return nil, nil
	}
	b := int(min(max(bytesPerSecond/8, minBurst), maxBurst))
	return &Limiter{lim: rate.NewLimiter(rate.Limit(bytesPerSecond), b), burst: b, rate: bytesPerSecond}, nil
}

// Rate returns the limit in bytes a second; 0 for a nil limiter.
func (l *Limiter) Rate() int64 {
	if l == nil {
		return 0
	}
	return l.rate
}

// Burst returns the most bytes one [Limiter.Wait] lets through at once:
// callers that want to write evenly write pieces of at most this size.
// A nil limiter returns a very large number.
func (l *Limiter) Burst() int {
	if l == nil {
		return 1 << 30
	}
	return l.burst
}

// ErrAbandoned is returned by [Limiter.Wait] when done was closed first.
var ErrAbandoned = errors.New("bandwidth limit: wait abandoned")

// Wait blocks until n more bytes may pass, or until done is closed (a nil
// done never is), which returns [ErrAbandoned] and gives back what was
// not used. n may exceed the burst: the wait is then made in pieces.
func (l *Limiter) Wait(done <-chan struct{}, n int) error {
	if l == nil {
		return nil
	}
	for n > 0 {
		k := min(n, l.burst)
		n -= k
		r := l.lim.ReserveN(time.Now(), k)
		if !r.OK() {
			return fmt.Errorf("bandwidth limit: %d bytes exceed the burst of %d", k, l.burst)
		}
		d := r.Delay()
		if d <= 0 {
			continue
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			r.Cancel()
			return ErrAbandoned
		}
	}
	return nil
}

// Reader returns a reader of r held to the limiter: each read takes at
// most a burst and is paid for after it returns, so the bytes are not
// delayed on their way but the next read is. Closing done ends a wait
// with [ErrAbandoned], after the bytes read are returned. A nil limiter
// returns r.
func (l *Limiter) Reader(done <-chan struct{}, r io.Reader) io.Reader {
	if l == nil {
		return r
	}
	return &reader{l: l, r: r, done: done}
}

type reader struct {
	l    *Limiter
	r    io.Reader
	done <-chan struct{}
	err  error // a wait that was abandoned, returned by the next Read
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) > r.l.burst {
		p = p[:r.l.burst]
	}
	n, err := r.r.Read(p)
	if n > 0 {
		if werr := r.l.Wait(r.done, n); werr != nil && err == nil {
			r.err = werr
		}
	}
	return n, err
}
