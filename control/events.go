package control

import (
	"net/http"
	"time"
)

// writeDeadline is how long one line of the event stream may take to
// write before the reader is given up.
const writeDeadline = 30 * time.Second

// events streams the engine's events as NDJSON until the client goes, the
// server shuts down, or the client falls behind (then a last "dropped"
// line says so).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	ch, cancel := s.e.Subscribe(s.buffer)
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	write := func(ev Event) bool {
		b, err := marshal(ev)
		if err != nil {
			s.log.Error("encode event", "err", err)
			return true
		}
		rc.SetWriteDeadline(time.Now().Add(writeDeadline))
		if _, err := w.Write(append(b, '\n')); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	var named cyclePeers
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				s.metrics.dropped.Inc()
				s.log.WarnContext(r.Context(), "event stream reader fell behind; dropped", "buffer", s.buffer)
				write(Event{Kind: EventDropped, Time: time.Now(), Error: "the reader fell behind and was dropped; connect again"})
				return
			}
			named.observe(ev)
			out := eventOf(ev)
			if out.Report != nil {
				named.name(out.Report)
			}
			if !write(out) {
				return
			}
		}
	}
}
