package control

import (
	"net/http"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := s.e.Status()
	peers, err := s.e.Peers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := Status{Engine: s.e.Name(), Root: s.e.Local().Name, Paused: st.Paused, Running: st.Running,
		Cycles: st.Cycles, LastCycle: st.LastCycle, LastError: errText(st.LastError), Conflicts: st.Review,
		Peers: []PeerStatus{}}
	if l, ok := zerosync.As[zerosync.Locator](s.e.Local().Endpoint); ok {
		out.Root = l.Location().String()
	}
	if st.LastError != nil {
		out.Advice = s.adviceFor(st.LastError)
	}
	for _, p := range peers {
		out.Peers = append(out.Peers, s.peerStatus(p))
	}
	if s.ev != nil {
		out.Everywhere = s.ev.Status()
	}
	out.Replica = s.e.Replica(r.Context())
	if wantHosts(r) {
		out.Hosts = hosts(r.Context(), s.e.Name(), hostName(), out, reachablePeers(s.e, out))
	}
	s.reply(w, http.StatusOK, out)
}

// peerStatus turns what the engine knows of a peer into its status.
func (s *Server) peerStatus(p engine.PeerStatus) PeerStatus {
	out := PeerStatus{Name: p.Name, Location: p.Location.String(), Replica: p.Replica, LastSync: p.LastSync,
		LastDuration: p.Duration.Seconds(), Conflicts: p.Review, Error: errText(p.Err),
		Halted: errText(p.Halted), Watched: p.Watched, Polled: p.Polled,
		Failures: p.Failures, NextRetry: p.NextRetry, LastError: errText(p.LastError)}
	if out.Location == "" {
		s.mu.Lock()
		out.Location = s.locations[p.Name]
		s.mu.Unlock()
	}
	switch {
	case p.Halted != nil:
		out.State, out.Advice = PeerHalted, s.adviceFor(p.Halted)
	case p.Failed:
		out.State, out.Advice = PeerFailed, s.adviceFor(p.LastError)
	case p.Err != nil:
		out.State, out.Advice = PeerRetrying, s.adviceFor(p.Err)
	case !p.LastSync.IsZero():
		out.State = PeerConnected
	default:
		out.State = PeerWaiting
	}
	return out
}
