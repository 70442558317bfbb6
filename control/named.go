package control

import (
	"context"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
)

// An engine's report lists the changes of every pair of a cycle together;
// its events name the pair of each change, in the same order. This file
// names the pair of each change of a report from the events of its cycle.

// cyclePeers follows the events of cycles and names the pair of each
// change applied in the current one.
type cyclePeers struct {
	start time.Time
	peers []string
}

// observe follows one event.
func (c *cyclePeers) observe(ev zerosync.Event) {
	switch ev.Kind {
	case zerosync.EventCycleStart:
		c.start, c.peers = ev.Time, c.peers[:0]
	case zerosync.EventApplied:
		c.peers = append(c.peers, ev.Peer)
	}
}

// name sets the Peer of every change of rep, the report of the cycle
// followed, when the events of that whole cycle were seen.
func (c *cyclePeers) name(rep *Report) {
	if !rep.Start.Equal(c.start) || len(c.peers) != len(rep.Applied) {
		return
	}
	for i := range rep.Applied {
		rep.Applied[i].Peer = c.peers[i]
	}
}

// NameReport sets the Peer of every change of rep, the report of a cycle,
// from that cycle's events (in order, from its cycle-start event on), as
// the server does for the reports it sends. A report whose events were not
// all given is left as it is.
func NameReport(rep *Report, events []zerosync.Event) {
	var c cyclePeers
	for _, ev := range events {
		c.observe(ev)
	}
	c.name(rep)
}

// flushNamed is the engine's Flush, with the pair of each change of the
// report named from the events of its cycle.
func (s *Server) flushNamed(ctx context.Context) (Report, error) {
	ch, cancel := s.e.Subscribe(s.buffer)
	var (
		wg     sync.WaitGroup
		events []zerosync.Event
	)
	wg.Go(func() {
		for ev := range ch {
			events = append(events, ev)
		}
	})
	rep, err := s.e.Flush(ctx)
	// The cycle's events were published before Flush returned.
	cancel()
	wg.Wait()
	out := reportOf(rep)
	var c cyclePeers
	for _, ev := range events {
		c.observe(ev)
		if ev.Kind == zerosync.EventCycleEnd && ev.Report != nil && ev.Report.Start.Equal(rep.Start) {
			break
		}
	}
	c.name(&out)
	return out, err
}
