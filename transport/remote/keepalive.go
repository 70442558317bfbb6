package remote

import (
	"fmt"
	"time"
)

// Deadlines. Progress is counted in whole frames, never in bytes, so that a
// peer trickling a frame a byte at a time gains nothing until the frame is
// complete. With the keepalive settings ([WithKeepalive]):
//
//   - each side sends a ping on stream 0 when it has received no whole
//     frame for interval, and answers every ping with a pong;
//   - each side drops a peer that sent no whole frame for timeout
//     (watchdog), and one that takes nothing this side writes for timeout
//     (writes go out in pieces of writePiece bytes, each of which must
//     move within timeout);
//   - on the client, a call waiting on the agent (for a frame of its
//     request, or for credit to send on it) pings the request's stream
//     after interval without progress, and the agent answers while it
//     still works on the request; with no whole frame of the stream for
//     timeout the call fails and the connection is dropped (stallWatch).
//
// Pings need capKeepalive; without it only the write deadline applies.

// writePiece is the most one Write call is given, so that a write that
// moves slowly is told from one that does not move.
const writePiece = 32 << 10

// start starts the helpers of the mux's deadlines: the control writer,
// which sends pings and pongs, and the watchdog.
func (m *mux) start() {
	if m.pingOK {
		m.bg.Go(m.controlWriter)
	}
	if m.timeout > 0 {
		m.bg.Go(m.watchdog)
	}
}

// writeAll writes b in pieces, noting when each piece starts. Under a
// bandwidth limit each piece first waits for its tokens, and the wait is
// not counted as writing: it is this side's doing, not the peer's.
func (m *mux) writeAll(b []byte) (int, error) {
	total := 0
	defer m.writing.Store(0)
	for len(b) > 0 {
		k := min(len(b), writePiece, m.link.w.Burst())
		start := time.Now()
		if m.link.w != nil {
			m.writing.Store(0)
			if err := m.link.w.Wait(m.done, k); err != nil {
				return total, err
			}
		}
		m.writing.Store(time.Now().UnixNano())
		n, err := m.conn.Write(b[:k])
		m.wire.observe(n, time.Since(start))
		total += n
		if err != nil {
			return total, err
		}
		b = b[k:]
	}
	return total, nil
}

// keepalive handles a ping or a pong from the peer. It runs on the reading
// goroutine and never writes: answers go through the control writer.
func (m *mux) keepalive(f frame) error {
	switch {
	case !m.pingOK:
		return protoErr("%s frame, but keepalives were not agreed", f.typ)
	case len(f.payload) != 0:
		return protoErr("%s frame with a payload", f.typ)
	case f.id == 0 && f.typ == tPing:
		m.queue(tPong, 0)
	case f.id == 0:
		// A pong: its arrival is all that counts.
	case !m.server && f.typ == tPing:
		return protoErr("ping on stream %d from the agent", f.id)
	case m.server && f.typ == tPong:
		return protoErr("pong on stream %d from the client", f.id)
	case m.server:
		// Is request f.id still being worked on? Only a live request
		// is answered.
		if m.stream(f.id) != nil {
			m.queue(tPong, f.id)
		}
	default:
		if s := m.stream(f.id); s != nil {
			s.touch()
		}
	}
	return nil
}

// queue asks the control writer to send a ping or a pong on stream id.
// Requests for the same frame merge, so a peer that pings faster than this
// side writes gets one pong, and no queue grows.
func (m *mux) queue(typ ftype, id uint64) {
	m.mu.Lock()
	set := &m.pongs
	if typ == tPing {
		set = &m.pings
	}
	if *set == nil {
		*set = map[uint64]struct{}{}
	}
	(*set)[id] = struct{}{}
	m.mu.Unlock()
	signal(m.ctl)
}

// controlWriter sends the pings and pongs queued, until the connection
// ends. It writes on behalf of the reading goroutine, which must never
// block on a write.
func (m *mux) controlWriter() {
	for {
		select {
		case <-m.done:
			return
		case <-m.ctl:
		}
		m.mu.Lock()
		pings, pongs := m.pings, m.pongs
		m.pings, m.pongs = nil, nil
		m.mu.Unlock()
		for typ, set := range map[ftype]map[uint64]struct{}{tPong: pongs, tPing: pings} {
			for id := range set {
				if err := m.write(typ, id, nil, nil); err != nil {
					return
				}
			}
		}
	}
}

// watchdog drops the connection when the peer sent no whole frame for the
// timeout (with keepalives agreed) or took nothing this side wrote for the
// timeout, and pings the peer when it has been silent for the interval.
func (m *mux) watchdog() {
	t := time.NewTimer(m.interval)
	defer t.Stop()
	var pinged time.Time // the last ping on stream 0
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
		}
		now := time.Now()
		wake := now.Add(m.interval)
		if w := m.writing.Load(); w != 0 {
			since := time.Unix(0, w)
			if now.Sub(since) >= m.timeout {
				// A peer that does not read would not read a goaway.
				reason := fmt.Errorf("%w for %v: the %s takes nothing this side sends", ErrStalled, m.timeout, m.peer())
				m.log.Warn("peer stalled", "err", reason)
				m.fail(reason)
				return
			}
			wake = earliest(wake, since.Add(m.timeout))
		}
		if m.pingOK {
			last := time.Unix(0, m.lastRecv.Load())
			if now.Sub(last) >= m.peerTimeout() {
				m.stall(fmt.Errorf("%w for %v: the %s sent nothing", ErrStalled, m.peerTimeout(), m.peer()))
				return
			}
			if now.Sub(last) >= m.interval && now.Sub(pinged) >= m.interval {
				m.queue(tPing, 0)
				pinged = now
			}
			wake = earliest(wake, last.Add(m.peerTimeout()))
			if next := later(last, pinged).Add(m.interval); next.After(now) {
				wake = earliest(wake, next)
			}
		}
		t.Reset(wake.Sub(now))
	}
}

// peerTimeout is how long the peer may go without a whole frame (or, on
// the client, without progress on a request): the timeout, and under a
// bandwidth limit the time the limit takes to let in what may lie ahead
// of the peer's next frame (link.go).
func (m *mux) peerTimeout() time.Duration { return m.timeout + m.link.slack }

// stall ends the connection because the peer made no progress, telling
// it why when it still reads.
func (m *mux) stall(reason error) {
	if !m.alive() {
		return
	}
	m.log.Warn("peer stalled", "err", reason)
	m.goaway(reason)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// stallWatch bounds one wait of a client call on the agent: after the
// interval without progress on the stream it pings the stream, and after
// the timeout it reports a stall. A nil *stallWatch bounds nothing.
type stallWatch struct {
	s      *stream
	from   time.Time // when the wait began
	pinged time.Time
	t      *time.Timer
}

// watchWait returns the watch of a wait that begins now, or nil when no
// deadline applies (on the agent, or without keepalives).
func (s *stream) watchWait() *stallWatch {
	m := s.m
	if m.server || !m.pingOK || m.timeout <= 0 {
		return nil
	}
	return &stallWatch{s: s, from: time.Now(), t: time.NewTimer(m.interval)}
}

// c is the channel to wait on; nil never fires.
func (w *stallWatch) c() <-chan time.Time {
	if w == nil {
		return nil
	}
	return w.t.C
}

func (w *stallWatch) stop() {
	if w != nil {
		w.t.Stop()
	}
}

// fired handles the timer: it pings the stream, or re-arms, or returns the
// stall error after closing the connection.
func (w *stallWatch) fired() error {
	m := w.s.m
	now := time.Now()
	last := later(w.from, w.s.progress())
	if now.Sub(last) >= m.peerTimeout() {
		reason := fmt.Errorf("%w for %v: the agent sent nothing for this request", ErrStalled, m.peerTimeout())
		m.stall(reason)
		return fmt.Errorf("%w (%w)", reason, ErrClosed)
	}
	if now.Sub(last) >= m.interval && now.Sub(w.pinged) >= m.interval {
		m.queue(tPing, w.s.id)
		w.pinged = now
	}
	wake := last.Add(m.peerTimeout())
	if next := later(last, w.pinged).Add(m.interval); next.After(now) {
		wake = earliest(wake, next)
	}
	w.t.Reset(wake.Sub(now))
	return nil
}
