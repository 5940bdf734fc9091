package server

import (
	"net/http"
	"regexp"
	"strconv"

	"smsim/simulator"
	"smsim/simulator/core"
)

func (s *Server) routeAdmin(mux *http.ServeMux) {
	s.handleNS(mux, "GET /admin/v1/clock", s.getClock)
	s.handleNS(mux, "PUT /admin/v1/clock", s.setClock)
	s.handleNS(mux, "POST /admin/v1/clock/advance", s.advance)
	s.handleNS(mux, "GET /admin/v1/faults", s.getFaults)
	s.handleNS(mux, "PUT /admin/v1/faults", s.putFaults)
	s.handleNS(mux, "PATCH /admin/v1/faults", s.patchFaults)
	s.handleNS(mux, "POST /admin/v1/reset", s.reset)
	s.handle(mux, "GET /admin/v1/scenarios", s.scenarios)
	s.handle(mux, "GET /admin/v1/namespaces", s.listNamespaces)
	s.handleNS(mux, "PUT /admin/v1/scenario", s.putScenario)
	s.handleNS(mux, "GET /admin/v1/events", s.listEvents)
	s.handleNS(mux, "GET /admin/v1/requests", s.requests)
}

func (s *Server) getClock(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	st, err := ns.Clock().State(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

type clockRequest struct {
	Scale  *float64 `json:"scale"`
	Paused *bool    `json:"paused"`
}

func (s *Server) setClock(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req clockRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Scale == nil && req.Paused == nil {
		s.fail(w, r, core.Invalid("body: give scale, paused or both"))
		return
	}
	st, err := ns.SetClock(r.Context(), req.Scale, req.Paused)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

type advanceRequest struct {
	By string `json:"by"`
}

func (s *Server) advance(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req advanceRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	by, err := core.ParseDuration("by", req.By)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := ns.Advance(r.Context(), by)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

func (s *Server) getFaults(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	f, err := ns.Faults().Get(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

func (s *Server) putFaults(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := ns.PutFaults(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

func (s *Server) patchFaults(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := ns.PatchFaults(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	st, err := ns.Reset(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"reset": true, "clock": st})
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	limit, err := intParam(r, "limit", 1000, 1, 10000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after := r.URL.Query().Get("after")
	if after != "" && !eventID.MatchString(after) {
		s.fail(w, r, core.Invalid("after: %q is not an event id such as 1777593600000-0 (at most 15 digits each side)", after))
		return
	}
	evs, err := ns.Events().After(r.Context(), after, int64(limit))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	last, err := ns.Events().Last(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"events": evs, "last": last})
}

var eventID = regexp.MustCompile(`^[0-9]{1,15}(-[0-9]{1,15})?$`)

// intParam reads an optional whole-number query parameter within [min, max].
func intParam(r *http.Request, name string, def, min, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, core.Invalid("%s: must be a whole number from %d to %d, got %q", name, min, max, v)
	}
	return n, nil
}
