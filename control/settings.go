package control

import (
	"errors"
	"net/http"
)

// WithEverywhere serves ev: POST /v1/settings sets a setting on every host
// (or takes one a peer's daemon passes on), GET /v1/settings and the
// status say how each stands. Without it, settings are refused.
func WithEverywhere(ev *Everywhere) Option {
	return func(s *Server) error {
		if ev == nil {
			return errors.New("control: nil everywhere")
		}
		s.ev = ev
		return nil
	}
}

func (s *Server) setEverywhere(w http.ResponseWriter, r *http.Request) {
	if s.ev == nil {
		s.fail(w, r, &Error{Status: http.StatusNotImplemented, Code: CodeUnsupported, Message: "this daemon shares no settings with other hosts"})
		return
	}
	var req SetRequest
	if !s.read(w, r, &req) {
		return
	}
	var out SetResponse
	var err error
	key := req.Key
	if req.Setting != nil {
		key = req.Setting.Key
		if err := checkPassed(*req.Setting); err != nil {
			s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: err.Error()})
			return
		}
		out.Applied, err = s.ev.Receive(r.Context(), *req.Setting)
	} else {
		_, err = s.ev.Set(r.Context(), req.Key, req.Value)
		out.Applied = err == nil
	}
	if err != nil {
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: err.Error()})
		return
	}
	out.Setting, _ = s.ev.Get(key)
	out.Status = s.ev.status(key)
	s.reply(w, http.StatusOK, out)
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	if s.ev == nil {
		s.reply(w, http.StatusOK, []SettingStatus{})
		return
	}
	s.reply(w, http.StatusOK, s.ev.Status())
}

// checkPassed refuses a setting passed on by another daemon that no
// daemon would send: no generation or origin, or fields longer than a
// setting needs.
func checkPassed(st Setting) error {
	switch {
	case st.Gen == 0 || st.Origin == "":
		return errors.New("a setting passed on needs a generation and an origin")
	case len(st.Key) > 64 || len(st.Origin) > 64 || len(st.Value) > 4096 || len(st.Host) > 256:
		return errors.New("a setting passed on is longer than a setting can be")
	}
	return nil
}
