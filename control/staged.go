package control

import (
	"fmt"
	"net/http"
	"strconv"
)

func (s *Server) staged(w http.ResponseWriter, r *http.Request) {
	items, err := s.e.Staged(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := Staged{Staged: []StagedItem{}}
	for _, it := range items {
		out.Staged = append(out.Staged, stagedItemOf(it))
	}
	s.reply(w, http.StatusOK, out)
}

func (s *Server) stagedDetail(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf("bad staged change ID %q", r.PathValue("id"))})
		return
	}
	items, err := s.e.Staged(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, it := range items {
		if it.ID != id {
			continue
		}
		staged, ours, err := s.e.StagedContent(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.reply(w, http.StatusOK, StagedDetail{StagedItem: stagedItemOf(it), StagedText: staged, OursText: ours})
		return
	}
	s.fail(w, r, s.notStaged(id))
}

// notStaged is the answer for a staged change that is not (or no longer)
// there.
func (s *Server) notStaged(id uint64) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound,
		Message: fmt.Sprintf("staged change %d: no such staged change (applied, rejected, or replaced by a newer version)", id),
		Advice:  fmt.Sprintf("list them with: %s staged list", shellWord(s.e.Name()))}
}

func (s *Server) applyStaged(w http.ResponseWriter, r *http.Request) {
	var req StagedRequest
	if !s.read(w, r, &req) {
		return
	}
	ids := req.IDs
	if len(ids) == 0 {
		items, err := s.e.Staged(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if len(ids) == 0 {
			s.reply(w, http.StatusOK, StagedResponse{})
			return
		}
	}
	rep, err := s.e.ApplyStaged(r.Context(), ids...)
	report := reportOf(rep)
	out := StagedResponse{Report: &report}
	if err != nil {
		e := s.errorOf(err)
		if e.Status != http.StatusInternalServerError {
			s.fail(w, r, e)
			return
		}
		out.Error = e.Message
		s.reply(w, http.StatusOK, out)
		return
	}
	s.log.InfoContext(r.Context(), "staged changes applied through the control socket", "ids", ids)
	carried := s.carry(r, ApplyResponse{})
	out.Synced, out.SyncError = carried.Synced, carried.SyncError
	s.reply(w, http.StatusOK, out)
}

func (s *Server) rejectStaged(w http.ResponseWriter, r *http.Request) {
	var req StagedRequest
	if !s.read(w, r, &req) {
		return
	}
	if len(req.IDs) == 0 {
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "reject wants the IDs of the staged changes"})
		return
	}
	if err := s.e.RejectStaged(r.Context(), req.IDs...); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "staged changes rejected through the control socket", "ids", req.IDs)
	carried := s.carry(r, ApplyResponse{})
	s.reply(w, http.StatusOK, StagedResponse{Synced: carried.Synced, SyncError: carried.SyncError})
}
