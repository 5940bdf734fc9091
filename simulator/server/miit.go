package server

import (
	"net/http"

	"smsim/miit"
	"smsim/simulator"
)

func (s *Server) routeMIIT(mux *http.ServeMux) {
	s.handleNS(mux, "POST /miit/v1/validations", s.validate)
	s.handleNS(mux, "POST /miit/v1/resends", s.resend)
	s.handleNS(mux, "GET /miit/v1/filings/{id}", s.miitFiling)
}

func (s *Server) validate(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req miit.ValidateRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := ns.MIIT().Validate(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, res)
}

func (s *Server) resend(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req miit.ResendRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := ns.MIIT().Resend(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, res)
}

func (s *Server) miitFiling(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	v, err := ns.MIIT().MIITView(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}
