package server

import (
	"net/http"

	"smsim/simulator"
)

func (s *Server) routeAdmin(mux *http.ServeMux) {
	s.handle(mux, "GET /admin/v1/clock", s.getClock)
	s.handle(mux, "PUT /admin/v1/clock", s.setClock)
	s.handle(mux, "POST /admin/v1/clock/advance", s.advance)
	s.handle(mux, "GET /admin/v1/faults", s.getFaults)
	s.handle(mux, "PUT /admin/v1/faults", s.putFaults)
	s.handle(mux, "PATCH /admin/v1/faults", s.patchFaults)
	s.handle(mux, "POST /admin/v1/reset", s.reset)
	s.handle(mux, "GET /admin/v1/scenarios", s.scenarios)
	s.handle(mux, "PUT /admin/v1/scenario", s.putScenario)
}

func (s *Server) getClock(w http.ResponseWriter, r *http.Request) {
	st, err := s.clock.State(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

type clockRequest struct {
	Scale  *float64 `json:"scale"`
	Paused *bool    `json:"paused"`
}

func (s *Server) setClock(w http.ResponseWriter, r *http.Request) {
	var req clockRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Scale == nil && req.Paused == nil {
		s.fail(w, r, simulator.Invalid("body: give scale, paused or both"))
		return
	}
	st, err := s.clock.Set(r.Context(), req.Scale, req.Paused)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sched.Kick()
	writeJSON(w, http.StatusOK, st)
}

type advanceRequest struct {
	By string `json:"by"`
}

func (s *Server) advance(w http.ResponseWriter, r *http.Request) {
	var req advanceRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	by, err := simulator.ParseDuration("by", req.By)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.sched.Advance(r.Context(), by)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) getFaults(w http.ResponseWriter, r *http.Request) {
	f, err := s.faults.Get(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) putFaults(w http.ResponseWriter, r *http.Request) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.faults.Put(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) patchFaults(w http.ResponseWriter, r *http.Request) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.faults.Patch(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	if err := s.Reset(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.clock.State(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reset": true, "clock": st})
}
