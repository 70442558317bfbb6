package control

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/zerosync/zerosync/engine"
)

func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	var req AttachRequest
	if !s.read(w, r, &req) {
		return
	}
	if req.Name == "" || req.Location == "" || strings.ContainsAny(req.Name, "=\x00") {
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "attach wants a name (without '=') and a location, as NAME=WHERE"})
		return
	}
	if s.attacher == nil {
		s.fail(w, r, &Error{Status: http.StatusNotImplemented, Code: CodeUnsupported, Message: "this daemon cannot attach peers"})
		return
	}
	s.attachMu.Lock()
	defer s.attachMu.Unlock()
	ep, err := s.attacher.Attach(r.Context(), req.Name, req.Location)
	if err != nil {
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeAttach, Message: fmt.Sprintf("attach %s: %v", name(req.Name), err), Advice: s.advice(err)})
		return
	}
	if err := s.e.AddPeer(r.Context(), engine.Peer{Name: req.Name, Endpoint: ep}); err != nil {
		if derr := s.attacher.Detach(r.Context(), req.Name); derr != nil {
			s.log.WarnContext(r.Context(), "release a refused peer", "peer", req.Name, "err", derr)
		}
		e := s.errorOf(err)
		if e.Status == http.StatusInternalServerError {
			// The roots overlap, or the like: the request's fault.
			e.Status, e.Code = http.StatusBadRequest, CodeAttach
		}
		s.fail(w, r, e)
		return
	}
	s.mu.Lock()
	s.locations[req.Name] = req.Location
	s.mu.Unlock()
	s.log.InfoContext(r.Context(), "peer attached through the control socket", "peer", req.Name, "location", req.Location)
	peers, err := s.e.Peers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, p := range peers {
		if p.Name == req.Name {
			s.reply(w, http.StatusOK, s.peerStatus(p))
			return
		}
	}
	s.reply(w, http.StatusOK, PeerStatus{Name: req.Name, Location: req.Location, State: PeerWaiting})
}

func (s *Server) detach(w http.ResponseWriter, r *http.Request) {
	peer := r.PathValue("name")
	s.attachMu.Lock()
	defer s.attachMu.Unlock()
	if err := s.e.RemovePeer(r.Context(), peer); err != nil {
		s.fail(w, r, err)
		return
	}
	s.mu.Lock()
	delete(s.locations, peer)
	s.mu.Unlock()
	s.log.InfoContext(r.Context(), "peer detached through the control socket", "peer", peer)
	if s.attacher != nil {
		if err := s.attacher.Detach(r.Context(), peer); err != nil {
			s.log.WarnContext(r.Context(), "release a detached peer", "peer", peer, "err", err)
		}
	}
	s.reply(w, http.StatusOK, OK{OK: true})
}
