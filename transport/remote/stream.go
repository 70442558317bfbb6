package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// stream is one request and everything that follows it, on either side.
// Frames from the peer are queued by the mux's reading goroutine and taken
// by one consumer with next; frames to the peer go out with send, which
// waits for flow-control credit.
type stream struct {
	m  *mux
	id uint64

	// cancelFunc stops the agent's work for the stream; nil on the client.
	cancelFunc context.CancelFunc

	mu       sync.Mutex
	q        []frame
	qcost    int
	unacked  int  // cost consumed and not yet credited back
	peerDone bool // the peer sent its terminal frame
	sentEnd  bool // this side sent its terminal frame
	avail    int  // cost this side may still send
	// abandoned is set on the client when the caller gave up on the
	// stream before the agent's terminal frame: frames are dropped, and
	// release is called when the terminal frame arrives.
	abandoned bool
	release   func()
	wake      chan struct{}
	credited  chan struct{}
	finished  chan struct{} // closed when the peer is done

	cs compressState // used by the sending goroutine only

	// lastProgress is when the stream last heard from the peer: a frame,
	// credit or a pong (Unix ns). The client's deadlines use it.
	lastProgress atomic.Int64
}

func newStream(m *mux, id uint64) *stream {
	s := &stream{
		m:        m,
		id:       id,
		avail:    streamWindow,
		wake:     make(chan struct{}, 1),
		credited: make(chan struct{}, 1),
		finished: make(chan struct{}),
	}
	s.touch()
	return s
}

// touch notes that the peer made progress on the stream.
func (s *stream) touch() { s.lastProgress.Store(time.Now().UnixNano()) }

// progress returns when the peer last made progress on the stream.
func (s *stream) progress() time.Time { return time.Unix(0, s.lastProgress.Load()) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// push queues a frame from the peer. It is called by the reading goroutine
// only and never blocks. A terminal frame is outside flow control (a stream
// has one), so that a stream can always be ended.
func (s *stream) push(f frame, terminal bool) error {
	s.touch()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peerDone {
		return protoErr("%s frame on stream %d after its end", f.typ, s.id)
	}
	if s.abandoned {
		if terminal {
			s.peerDone = true
			close(s.finished)
			s.m.remove(s)
			s.releaseSlot()
		}
		return nil
	}
	c := costOf(f.payload)
	if !terminal && s.qcost+s.unacked+c > streamWindow {
		return protoErr("%s frame overruns the flow-control window of stream %d", f.typ, s.id)
	}
	s.q = append(s.q, f)
	s.qcost += c
	if terminal {
		s.peerDone = true
		close(s.finished)
	}
	signal(s.wake)
	return nil
}

// next returns the next frame from the peer, waiting for it. Consuming a
// frame earns the peer credit, which is sent back in batches.
func (s *stream) next(ctx context.Context) (frame, error) {
	var w *stallWatch
	defer func() { w.stop() }()
	for {
		s.mu.Lock()
		if len(s.q) > 0 {
			f := s.q[0]
			s.q[0] = frame{}
			s.q = s.q[1:]
			c := costOf(f.payload)
			s.qcost -= c
			var grant int
			if !s.peerDone {
				s.unacked += c
				if s.unacked >= streamWindow/4 {
					grant, s.unacked = s.unacked, 0
				}
			}
			s.mu.Unlock()
			if grant > 0 {
				if err := s.m.write(tWindow, s.id, encodeWindow(grant), nil); err != nil {
					return frame{}, err
				}
			}
			return f, nil
		}
		s.mu.Unlock()
		if w == nil {
			w = s.watchWait()
		}
		select {
		case <-s.wake:
		case <-w.c():
			if err := w.fired(); err != nil {
				return frame{}, err
			}
		case <-ctx.Done():
			return frame{}, ctx.Err()
		case <-s.m.done:
			// Frames that arrived before the end are still delivered.
			s.mu.Lock()
			empty := len(s.q) == 0
			s.mu.Unlock()
			if empty {
				return frame{}, s.m.deadErr()
			}
		}
	}
}

// credit adds credit the peer granted. Called by the reading goroutine.
func (s *stream) credit(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.avail+n > streamWindow {
		return protoErr("credit of %d bytes on stream %d goes beyond its window", n, s.id)
	}
	s.avail += n
	s.touch()
	signal(s.credited)
	return nil
}

// errPeerDone is what send returns on the client when the agent has
// already answered: whatever is left to send is not wanted.
var errPeerDone = errors.New("the agent has answered")

// send writes one frame on the stream once the window allows it.
// compressible payloads may be compressed. On the client, send gives up
// with errPeerDone as soon as the agent has answered. A terminal frame
// needs no credit; on the agent it also frees the stream's place among
// the streams in flight, before the client can see it.
func (s *stream) send(ctx context.Context, typ ftype, payload []byte, compressible bool) error {
	return s.sendFrames(ctx, []outFrame{{typ: typ, payload: payload}}, compressible)
}

// sendFrames writes frames on the stream in one write, once the window
// allows all of them; only the last may end the stream.
func (s *stream) sendFrames(ctx context.Context, frames []outFrame, compressible bool) error {
	c := 0
	terminal := false
	for i, f := range frames {
		if compressible {
			frames[i].cs = &s.cs
		}
		if endsStream(f.typ, s.m.server) {
			if i != len(frames)-1 {
				return fmt.Errorf("stream %d: %s frame before the last", s.id, f.typ)
			}
			terminal = true
			continue
		}
		c += costOf(f.payload)
	}
	var w *stallWatch
	defer func() { w.stop() }()
	for c > 0 {
		s.mu.Lock()
		if s.avail >= c {
			s.avail -= c
			s.mu.Unlock()
			break
		}
		s.mu.Unlock()
		var finished <-chan struct{}
		if !s.m.server {
			finished = s.finished
		}
		if w == nil {
			w = s.watchWait()
		}
		select {
		case <-s.credited:
		case <-w.c():
			if err := w.fired(); err != nil {
				return err
			}
		case <-finished:
			return errPeerDone
		case <-ctx.Done():
			return ctx.Err()
		case <-s.m.done:
			return s.m.deadErr()
		}
	}
	if terminal {
		s.mu.Lock()
		ended := s.sentEnd
		s.sentEnd = true
		s.mu.Unlock()
		if ended {
			return fmt.Errorf("stream %d already ended", s.id)
		}
		if s.m.server {
			s.m.mu.Lock()
			s.m.active--
			s.m.mu.Unlock()
		}
	}
	return s.m.writeFrames(s.id, frames, true)
}

// ended reports whether this side sent its terminal frame.
func (s *stream) ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentEnd
}

// abandon gives up on a stream on the client: when the agent has ended it
// already, its slot is freed at once; otherwise the agent is told to
// cancel it, and the slot is freed when its terminal frame arrives.
func (s *stream) abandon() {
	s.mu.Lock()
	if s.peerDone || !s.m.alive() {
		s.mu.Unlock()
		s.m.remove(s)
		s.releaseSlot()
		return
	}
	s.abandoned = true
	s.q, s.qcost = nil, 0
	s.mu.Unlock()
	s.m.write(tCancel, s.id, nil, nil)
}

// releaseSlot frees the stream's slot, once.
func (s *stream) releaseSlot() {
	if r := s.release; r != nil {
		s.release = nil
		r()
	}
}

// cancel stops the agent's work for the stream.
func (s *stream) cancel() {
	if s.cancelFunc != nil {
		s.cancelFunc()
	}
}
