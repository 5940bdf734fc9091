package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core"
)

func (s *Server) routeProvider(mux *http.ServeMux) {
	s.handleNS(mux, "POST /provider/v1/filings", s.submit)
	s.handleNS(mux, "GET /provider/v1/filings/{id}", s.providerFiling)
	s.handleNS(mux, "POST /provider/v1/filings/{id}/cancel", s.cancel)
	s.handleNS(mux, "PATCH /provider/v1/filings/{id}/personnel", s.changeNumbers)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req miit.SubmitRequest
	b, err := s.readBody(w, r)
	if err == nil {
		err = givenOrLeftOut(b) // before the general rule, which says less
	}
	if err == nil {
		err = core.DecodeStrictBytes(b, &req)
	}
	if err != nil {
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

// givenOrLeftOut refuses, in a submission's body b, a variant of "" and a
// null where the document wants a variant or a person: Go reads either as
// left out, and the order would be made as if it were.
func givenOrLeftOut(b []byte) error {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return nil // DecodeStrict says what is wrong with it
	}
	if v, ok := top["variant"]; ok {
		switch strings.TrimSpace(string(v)) {
		case "null":
			return core.Invalid("variant: null; give a variant, or leave the field out for a type that takes none")
		case `""`:
			return core.Invalid(`variant: ""; give a variant, or leave the field out for a type that takes none`)
		}
	}
	for _, role := range []string{"entity_leader", "website_admin"} {
		if v, ok := top[role]; ok && strings.TrimSpace(string(v)) == "null" {
			return core.Invalid("%s: null; give the person, or leave the field out", role)
		}
	}
	return nil
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
