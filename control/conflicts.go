package control

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

func (s *Server) conflicts(w http.ResponseWriter, r *http.Request) {
	all, err := s.e.Reviews(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	peers, err := s.e.Peers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := Conflicts{Conflicts: []ConflictItem{}}
	for _, p := range peers {
		items := slices.SortedFunc(slices.Values(all[p.Name]), func(a, b engine.ReviewItem) int { return cmp.Compare(a.ID, b.ID) })
		for _, it := range items {
			out.Conflicts = append(out.Conflicts, conflictItemOf(p.Name, it))
		}
	}
	s.reply(w, http.StatusOK, out)
}

// review finds the queued conflict the request names, answering 404 when
// there is none.
func (s *Server) review(w http.ResponseWriter, r *http.Request) (string, engine.ReviewItem, bool) {
	peer := r.PathValue("peer")
	n, err := strconv.ParseUint(r.PathValue("number"), 10, 64)
	if err != nil {
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf("bad conflict number %q", r.PathValue("number"))})
		return "", engine.ReviewItem{}, false
	}
	all, err := s.e.Reviews(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return "", engine.ReviewItem{}, false
	}
	for _, it := range all[peer] {
		if it.ID == n {
			return peer, it, true
		}
	}
	s.fail(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("no conflict %s#%d waits for review", peer, n),
		Advice: fmt.Sprintf("list them with: %s conflicts list", shellWord(s.e.Name()))})
	return "", engine.ReviewItem{}, false
}

func (s *Server) conflict(w http.ResponseWriter, r *http.Request) {
	peer, it, ok := s.review(w, r)
	if !ok {
		return
	}
	base, cur, other, err := s.e.ReviewContent(r.Context(), peer, it.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := ConflictDetail{ConflictItem: conflictItemOf(peer, it), BaseText: base, CurrentText: cur, OtherText: other}
	out.Diff = conflictDiff(it, base, cur, other)
	s.reply(w, http.StatusOK, out)
}

func (s *Server) applyConflict(w http.ResponseWriter, r *http.Request) {
	var req ApplyRequest
	if !s.read(w, r, &req) {
		return
	}
	ch := engine.Choice{Force: req.Force}
	switch {
	case req.Merged != nil && req.Keep == "":
		ch.Merged = req.Merged
	case req.Merged == nil && req.Keep == "ours":
		ch.Keep = zerosync.VersionOurs
	case req.Merged == nil && req.Keep == "theirs":
		ch.Keep = zerosync.VersionTheirs
	default:
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: `want either "keep": "ours" or "theirs", or "merged" content`})
		return
	}
	peer, it, ok := s.review(w, r)
	if !ok {
		return
	}
	if err := s.e.SettleReview(r.Context(), peer, it.ID, ch); err != nil {
		if errors.Is(err, engine.ErrReviewChanged) {
			id := fmt.Sprintf("%s#%d", peer, it.ID)
			s.fail(w, r, &Error{Status: http.StatusConflict, Code: CodeChanged, Message: err.Error(),
				Advice: fmt.Sprintf("look at it again with: %s conflicts show %s; or replace it anyway with --force", shellWord(s.e.Name()), shellWord(id))})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "conflict settled through the control socket", "peer", peer, "id", it.ID, "path", it.Path)
	s.reply(w, http.StatusOK, s.carry(r, ApplyResponse{Path: Path(it.Path)}))
}

// carry runs a cycle that takes a change made in this host's tree to the
// peers, unless the engine is paused (the change then waits for resume).
func (s *Server) carry(r *http.Request, out ApplyResponse) ApplyResponse {
	rep, err := s.e.Flush(r.Context())
	if err != nil {
		out.SyncError = err.Error()
		if errors.Is(err, zerosync.ErrPaused) {
			out.SyncError = fmt.Sprintf("engine %s is paused: the peers get the change once it resumes", s.e.Name())
			return out
		}
	}
	report := reportOf(rep)
	out.Synced = &report
	return out
}
