package server

import (
	"net/http"

	"smsim/miit"
	"smsim/simulator"
)

func (s *Server) routeProvider(mux *http.ServeMux) {
	s.handleNS(mux, "POST /provider/v1/filings", s.submit)
	s.handleNS(mux, "GET /provider/v1/filings/{id}", s.providerFiling)
	s.handleNS(mux, "POST /provider/v1/filings/{id}/cancel", s.cancel)
	s.handleNS(mux, "PATCH /provider/v1/filings/{id}/personnel", s.changeNumbers)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req miit.SubmitRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := ns.MIIT().Submit(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/provider/v1/filings/"+v.ID)
	s.writeJSON(w, r, http.StatusCreated, v)
}

func (s *Server) providerFiling(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	v, err := ns.MIIT().ProviderView(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	v, err := ns.MIIT().Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) changeNumbers(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req map[string]miit.NumberChange
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := ns.MIIT().ChangeNumbers(r.Context(), r.PathValue("id"), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}
