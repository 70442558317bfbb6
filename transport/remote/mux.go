package remote

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Flow control. Every frame of a stream (control frames aside) costs its
// payload length plus frameCost; a side may have at most streamWindow of
// cost unacknowledged per stream and direction, and the receiver returns
// credit with window frames as it consumes. A frame beyond the window is a
// protocol violation. With at most maxStreams streams, a connection never
// holds more than maxStreams*streamWindow bytes a peer sent.
const (
	streamWindow = 1 << 20
	frameCost    = 64
	// maxStreams bounds the streams in flight on a connection; the client
	// keeps to it and the agent refuses a stream beyond it.
	maxStreams = 128
)

func costOf(payload []byte) int { return len(payload) + frameCost }

// mux carries the streams of one connection, for either side. It has one
// reading goroutine (readLoop), which never writes and never blocks on a
// stream, so a slow consumer of one stream never stalls the others, and a
// write lock, taken for one frame at a time, so frames of different streams
// interleave. Payloads are compressed outside the lock.
type mux struct {
	conn   io.ReadWriteCloser
	server bool
	log    *slog.Logger
	comp   *compressor // nil: no compression
	fr     frameReader

	// wsem is the write lock, a channel so that waiting for it can give
	// up: it is held for one write at a time.
	wsem chan struct{}
	wbuf []byte

	mu      sync.Mutex
	streams map[uint64]*stream
	// active counts, on the agent, the streams that have not sent their
	// terminal frame.
	active int

	done      chan struct{}
	closeOnce sync.Once
	err       error // why the connection ended; set before done is closed

	bytesSent, bytesRecv   atomic.Int64
	framesSent, framesRecv atomic.Int64

	// link is the bandwidth limit; see link.go.
	link link
	// wire is how fast writes leave, which decides compression; see
	// wirerate.go.
	wire wireRate

	// Deadlines; see keepalive.go.
	interval, timeout time.Duration // zero: no deadlines
	pingOK            bool          // the peer speaks ping and pong
	lastRecv          atomic.Int64  // when the last whole frame arrived (Unix ns)
	writing           atomic.Int64  // when the write under way last moved (Unix ns); 0: none
	pings, pongs      map[uint64]struct{}
	ctl               chan struct{} // wakes the control writer
	bg                sync.WaitGroup
}

// newMux returns the mux of a connection after its handshake; caps are
// the capabilities both sides agreed. start starts its helpers.
func newMux(conn io.ReadWriteCloser, server bool, cfg *config, comp *compressor, caps uint64) *mux {
	m := &mux{
		link:     newLink(cfg),
		conn:     conn,
		server:   server,
		log:      cfg.log,
		comp:     comp,
		fr:       frameReader{r: conn, max: cfg.maxFrame, comp: comp},
		streams:  map[uint64]*stream{},
		wsem:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		interval: cfg.interval,
		timeout:  cfg.timeout,
		pingOK:   caps&capKeepalive != 0,
		ctl:      make(chan struct{}, 1),
	}
	m.lastRecv.Store(time.Now().UnixNano())
	m.fr.r = m.link.r.Reader(m.done, conn)
	return m
}

// peer names the other side in messages.
func (m *mux) peer() string {
	if m.server {
		return "client"
	}
	return "agent"
}

// fail ends the connection for reason (the first reason wins): it closes
// the connection, which unblocks any write in progress, and wakes every
// waiter.
func (m *mux) fail(reason error) {
	m.closeOnce.Do(func() {
		m.err = reason
		close(m.done)
		m.conn.Close()
	})
}

// deadErr is the error of a call on a dead connection.
func (m *mux) deadErr() error {
	<-m.done
	if errors.Is(m.err, ErrClosed) {
		return m.err
	}
	return fmt.Errorf("%w: %w", ErrClosed, m.err)
}

// alive reports whether the connection still works.
func (m *mux) alive() bool {
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// outFrame is a frame to send.
type outFrame struct {
	typ     ftype
	payload []byte
	cs      *compressState // compress when it pays (nil: never)
}

// write sends one frame. Payloads with a compressState are compressed when
// it pays.
func (m *mux) write(typ ftype, id uint64, payload []byte, cs *compressState) error {
	return m.writeFrames(id, []outFrame{{typ, payload, cs}}, true)
}

// writeFrames sends frames of stream id in one write, so a small request
// and its content cost the connection one packet. A failed write ends the
// connection when failOnErr is set.
func (m *mux) writeFrames(id uint64, frames []outFrame, failOnErr bool) error {
	type ready struct {
		typ     uint8
		payload []byte
	}
	var out [4]ready
	rs := out[:0]
	for _, f := range frames {
		if len(f.payload) > sendLimit-frameHeader-16 {
			// Every frame this side builds stays below sendLimit, so that
			// any peer accepts it; a larger one is a bug here.
			return fmt.Errorf("%s frame of %d bytes is over the send limit", f.typ, len(f.payload))
		}
		r := ready{uint8(f.typ), f.payload}
		if m.comp != nil && f.cs != nil && len(f.payload) >= compressMin && m.wire.slow() && f.cs.should() {
			z, ok := m.comp.compress(f.payload)
			f.cs.result(ok)
			if ok {
				r = ready{uint8(f.typ) | flagZstd, z}
			}
		}
		rs = append(rs, r)
	}
	select {
	case m.wsem <- struct{}{}:
	case <-m.done:
		return m.deadErr()
	}
	defer func() { <-m.wsem }()
	if !m.alive() {
		return m.deadErr()
	}
	m.wbuf = m.wbuf[:0]
	for _, r := range rs {
		m.wbuf = appendFrameParts(m.wbuf, r.typ, id, nil, r.payload)
	}
	n, err := m.writeAll(m.wbuf)
	m.bytesSent.Add(int64(n))
	if cap(m.wbuf) > 2*sendLimit {
		m.wbuf = nil
	}
	if err != nil {
		if !failOnErr {
			return err
		}
		m.fail(fmt.Errorf("write: %w", err))
		return m.deadErr()
	}
	m.framesSent.Add(int64(len(rs)))
	return nil
}

// close ends the connection for reason between two frames, so the peer
// sees a clean end rather than a frame cut short: it waits a moment for a
// write in progress to finish.
func (m *mux) close(reason error) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case m.wsem <- struct{}{}:
		m.fail(reason)
		<-m.wsem
	case <-m.done:
	case <-t.C:
		m.fail(reason)
	}
}

// goaway tells the peer why this side closes the connection, then closes
// it. The peer may not be reading (it may be what is wrong), so the attempt
// is bounded in time.
func (m *mux) goaway(reason error) {
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		m.writeFrames(0, []outFrame{{typ: tGoaway, payload: encodeError(reason)}}, false)
	}()
	t := time.NewTimer(time.Second)
	select {
	case <-sent:
	case <-t.C:
	}
	t.Stop()
	m.fail(reason)
}

func (m *mux) stream(id uint64) *stream {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.streams[id]
}

func (m *mux) remove(s *stream) {
	m.mu.Lock()
	if m.streams[s.id] == s {
		delete(m.streams, s.id)
	}
	m.mu.Unlock()
}

// readLoop reads frames until the connection ends, routing stream frames to
// their streams, credits to their senders, and requests (on the agent) to
// onRequest. It returns why it stopped: errHangup when the peer closed the
// connection cleanly, a *RemoteError wrapped in ErrClosed when the peer
// sent goaway, an error wrapping ErrProtocol when the peer broke the
// protocol (after telling it so), or the connection's error.
func (m *mux) readLoop(onRequest func(frame) error) error {
	if m.comp != nil {
		// The reading goroutine is the decoder's only user.
		defer m.comp.close()
	}
	for {
		f, n, err := m.fr.read()
		m.bytesRecv.Add(int64(n))
		if err != nil {
			if errors.Is(err, ErrProtocol) {
				m.goaway(err)
			}
			return err
		}
		// Progress is counted in whole frames: a frame trickled in a
		// byte at a time counts once it is complete.
		m.lastRecv.Store(time.Now().UnixNano())
		m.framesRecv.Add(1)
		if err := m.route(f, onRequest); err != nil {
			if errors.Is(err, ErrProtocol) {
				m.goaway(err)
			}
			return err
		}
	}
}

func (m *mux) route(f frame, onRequest func(frame) error) error {
	peer := m.peer()
	switch {
	case f.typ == tPing || f.typ == tPong:
		return m.keepalive(f)
	case f.typ == tGoaway:
		if f.id != 0 {
			return protoErr("goaway on stream %d", f.id)
		}
		re, err := decodeError(f.payload)
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: the %s closed the connection: %w", ErrClosed, peer, re)
	case f.id == 0:
		return protoErr("%s frame on stream 0", f.typ)
	case f.typ == tWindow:
		n, err := decodeWindow(f.payload)
		if err != nil {
			return err
		}
		if s := m.stream(f.id); s != nil {
			return s.credit(n)
		}
		return nil
	case f.typ == tCancel:
		if !m.server {
			return protoErr("cancel frame from the agent")
		}
		if len(f.payload) != 0 {
			return protoErr("cancel frame with a payload")
		}
		if s := m.stream(f.id); s != nil {
			s.cancel()
		}
		return nil
	case isRequest(f.typ):
		if !m.server {
			return protoErr("%s request from the agent", f.typ)
		}
		return onRequest(f)
	}
	terminal, ok := streamFrame(f.typ, m.server)
	if !ok {
		if _, known := ftypeNames[f.typ]; known {
			return protoErr("unexpected %s frame from the %s", f.typ, peer)
		}
		return protoErr("unknown frame type 0x%02x from the %s", uint8(f.typ), peer)
	}
	s := m.stream(f.id)
	if s == nil {
		return nil // a stream this side has finished with; late frames are dropped
	}
	return s.push(f, terminal)
}

// endsStream reports whether a frame of type typ sent by this side (the
// agent when server is set) ends the stream.
func endsStream(typ ftype, server bool) bool {
	terminal, _ := streamFrame(typ, !server)
	return terminal
}

// streamFrame reports whether typ may arrive on a stream at this side
// (server: from the client), and whether it ends the peer's part of the
// stream.
func streamFrame(typ ftype, server bool) (terminal, ok bool) {
	switch typ {
	case tData, tSigs, tDelta:
		return false, true
	case tEnd, tError:
		return true, true
	case tOpenOK, tScanChunk, tHint:
		return false, !server
	case tResult, tScanEnd:
		return true, !server
	}
	return false, false
}

// stats returns the traffic counters.
func (m *mux) stats() (sent, recv, fsent, frecv int64) {
	return m.bytesSent.Load(), m.bytesRecv.Load(), m.framesSent.Load(), m.framesRecv.Load()
}
