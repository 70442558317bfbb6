package engine

import (
	"sync"

	"github.com/zerosync/zerosync"
)

// DefaultSubscribeBuffer is how many events a subscription holds when
// [Engine.Subscribe] is given no size.
const DefaultSubscribeBuffer = 256

// Subscribe returns a channel that receives every event the engine emits
// from now on, beside the observer of [WithObserver], and a function that
// ends the subscription. The channel holds up to buffer events
// ([DefaultSubscribeBuffer] when buffer < 1). The engine never waits for a
// subscriber: one that falls that far behind is dropped, its channel closed
// after the events it did receive. The channel is closed too when cancel is
// called; cancel may be called more than once, from any goroutine. Events
// share their pointed-to values (the report, the action) with every other
// reader: a subscriber must not change them.
func (e *Engine) Subscribe(buffer int) (events <-chan zerosync.Event, cancel func()) {
	if buffer < 1 {
		buffer = DefaultSubscribeBuffer
	}
	s := &subscriber{ch: make(chan zerosync.Event, buffer)}
	e.live.subs.add(s)
	return s.ch, func() { e.live.subs.remove(s) }
}

// subscribers are the open subscriptions of an engine. The zero value is
// ready to use.
type subscribers struct {
	mu   sync.Mutex
	list []*subscriber
}

type subscriber struct {
	ch chan zerosync.Event
}

func (ss *subscribers) add(s *subscriber) {
	ss.mu.Lock()
	ss.list = append(ss.list, s)
	ss.mu.Unlock()
}

// remove closes s's channel unless it was closed already.
func (ss *subscribers) remove(s *subscriber) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i, o := range ss.list {
		if o == s {
			close(s.ch)
			ss.list = append(ss.list[:i:i], ss.list[i+1:]...)
			return
		}
	}
}

// publish hands ev to every subscriber that has room, and drops the ones
// that have none.
func (ss *subscribers) publish(e *Engine, ev zerosync.Event) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.list) == 0 {
		return
	}
	kept := ss.list[:0:0]
	for _, s := range ss.list {
		select {
		case s.ch <- ev:
			kept = append(kept, s)
		default:
			close(s.ch)
			e.log.Warn("event subscriber too slow; dropped", "buffer", cap(s.ch))
		}
	}
	ss.list = kept
}
