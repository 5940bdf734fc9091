package server

import (
	"net/http"
	"regexp"

	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core"
)

// Bounds of a listing's page.
const (
	defaultPage = 100
	maxPage     = 1000
)

func (s *Server) routeLists(mux *http.ServeMux) {
	s.handleNS(mux, "GET /provider/v1/filings", s.listProviderFilings)
	s.handleNS(mux, "GET /miit/v1/filings", s.listMIITFilings)
	s.handleNS(mux, "GET /phones/v1", s.listPhones)
}

// page reads limit and offset.
func page(r *http.Request) (limit, offset int, err error) {
	if limit, err = intParam(r, "limit", defaultPage, 1, maxPage); err != nil {
		return 0, 0, err
	}
	offset, err = intParam(r, "offset", 0, 0, 1<<30)
	return limit, offset, err
}

// statusParam reads the optional status of a listing, one of allowed: ""
// when it is absent; given empty, it is none of them.
func statusParam(r *http.Request, allowed ...string) (string, error) {
	q := r.URL.Query()
	if !q.Has("status") {
		return "", nil
	}
	st := q.Get("status")
	for _, a := range allowed {
		if st == a {
			return st, nil
		}
	}
	return "", core.Invalid("status: %q is not one of %v", st, allowed)
}

func (s *Server) listProviderFilings(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	limit, offset, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := statusParam(r, miit.StatusSubmitted, miit.StatusPendingValidation, miit.StatusUnderReview,
		miit.StatusApproved, miit.StatusReturned, miit.StatusRejected, miit.StatusCanceled)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := ns.MIIT().ProviderViews(r.Context(), st, limit, offset)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"filings": p.Items, "total": p.Total})
}

func (s *Server) listMIITFilings(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	limit, offset, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := statusParam(r, miit.StatusUnknown, miit.StatusPendingValidation, miit.StatusUnderReview,
		miit.StatusApproved, miit.StatusReturned, miit.StatusRejected, miit.StatusCanceled)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := ns.MIIT().MIITViews(r.Context(), st, limit, offset)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"filings": p.Items, "total": p.Total})
}

var digits = regexp.MustCompile(`^[0-9]{0,11}$`)

func (s *Server) listPhones(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	limit, offset, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query().Get("q")
	if !digits.MatchString(q) {
		s.fail(w, r, core.Invalid("q: must be up to 11 digits of a number, got %q", q))
		return
	}
	phones, total, err := ns.Gateway().Phones(r.Context(), q, limit, offset)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"phones": phones, "total": total})
}
