package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// The codes of an [Error], to branch on.
const (
	CodeBadRequest  = "bad-request"
	CodeNotFound    = "not-found"
	CodePaused      = "paused"
	CodeChanged     = "changed"
	CodeExists      = "exists"
	CodeLastPeer    = "last-peer"
	CodeUnsupported = "unsupported"
	CodeAttach      = "attach"
	CodeCancelled   = "cancelled"
	CodeInternal    = "internal"
)

// Error is how the API answers a request that failed: in JSON
// {"error": ..., "advice": ..., "code": ...} with an HTTP status of 4xx or
// 5xx. The client returns it as its error. It matches [zerosync.ErrPaused],
// [zerosync.ErrChanged], [fs.ErrNotExist], [engine.ErrNotStaged], [engine.ErrPeerExists] and
// [engine.ErrLastPeer] with [errors.Is] by its code.
type Error struct {
	// Status is the HTTP status; it is not in the JSON.
	Status int `json:"-"`
	// Message says what failed, for people.
	Message string `json:"error"`
	// Advice is what a person can type to get past it, when known.
	Advice string `json:"advice,omitempty"`
	// Code is one of the Code constants.
	Code string `json:"code"`
}

func (e *Error) Error() string { return e.Message }

// Is matches the sentinel errors the code stands for.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case CodePaused:
		return target == zerosync.ErrPaused
	case CodeChanged:
		return target == zerosync.ErrChanged || target == engine.ErrReviewChanged
	case CodeNotFound:
		return target == fs.ErrNotExist || target == engine.ErrNotStaged
	case CodeExists:
		return target == engine.ErrPeerExists
	case CodeLastPeer:
		return target == engine.ErrLastPeer
	}
	return false
}

// fail answers with err.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := s.errorOf(err)
	if e.Status >= 500 && e.Code != CodeCancelled {
		s.log.WarnContext(r.Context(), "control request failed", "method", r.Method, "path", r.URL.Path, "err", e.Message)
	}
	s.reply(w, e.Status, e)
}

// errorOf returns err as the API says it: an *Error as it is, an engine
// error with the status, code and advice it calls for.
func (s *Server) errorOf(err error) *Error {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: errText(err)}
		switch {
		case errors.Is(err, zerosync.ErrPaused):
			e.Status, e.Code = http.StatusConflict, CodePaused
			e.Message = fmt.Sprintf("engine %s is paused", s.e.Name())
		case errors.Is(err, zerosync.ErrChanged), errors.Is(err, engine.ErrReviewChanged):
			e.Status, e.Code = http.StatusConflict, CodeChanged
		case errors.Is(err, engine.ErrPeerExists):
			e.Status, e.Code = http.StatusConflict, CodeExists
		case errors.Is(err, engine.ErrLastPeer):
			e.Status, e.Code = http.StatusConflict, CodeLastPeer
			e.Advice = "attach another peer first, then detach this one; or stop the daemon"
		case errors.Is(err, engine.ErrUnknownPeer), errors.Is(err, fs.ErrNotExist), errors.Is(err, engine.ErrNotStaged):
			e.Status, e.Code = http.StatusNotFound, CodeNotFound
		case errors.Is(err, zerosync.ErrInvalidPath):
			e.Status, e.Code = http.StatusBadRequest, CodeBadRequest
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			e.Status, e.Code = http.StatusServiceUnavailable, CodeCancelled
		}
		if e.Advice == "" {
			e.Advice = s.adviceFor(err)
		}
	}
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	return e
}

// adviceFor is the advice for an engine error.
func (s *Server) adviceFor(err error) string {
	if errors.Is(err, zerosync.ErrPaused) {
		return fmt.Sprintf("resume it with: %s resume", shellWord(s.e.Name()))
	}
	return s.advice(err)
}
