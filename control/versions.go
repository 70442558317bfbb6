package control

import (
	"fmt"
	"net/http"
)

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.e.Versions(r.Context(), r.URL.Query().Get("path"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := Versions{Versions: []Version{}}
	for _, v := range vs {
		out.Versions = append(out.Versions, versionOf(v))
	}
	s.reply(w, http.StatusOK, out)
}

func (s *Server) restore(w http.ResponseWriter, r *http.Request) {
	var req RestoreRequest
	if !s.read(w, r, &req) {
		return
	}
	v, err := s.e.RestoreVersion(r.Context(), string(req.Path), req.ID)
	if err != nil {
		e := s.errorOf(err)
		if e.Code == CodeNotFound {
			e.Advice = fmt.Sprintf("list the versions of %s with: %s versions list %s", name(string(req.Path)), shellWord(s.e.Name()), shellWord(string(req.Path)))
		}
		s.fail(w, r, e)
		return
	}
	s.log.InfoContext(r.Context(), "version restored through the control socket", "path", string(req.Path), "version", req.ID)
	version := versionOf(v)
	s.reply(w, http.StatusOK, s.carry(r, ApplyResponse{Path: req.Path, Version: &version}))
}
