package server

import (
	"encoding/json"
	"net/http"

	"smsim/simulator"
	"smsim/simulator/core"
)

type scenarioInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (s *Server) scenarios(w http.ResponseWriter, r *http.Request) {
	out := []scenarioInfo{}
	for _, name := range core.ScenarioNames() {
		named, _ := json.Marshal(map[string]string{"name": name})
		sc, err := core.ParseScenario(named)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, scenarioInfo{Name: name, Description: sc.Description})
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"scenarios": out})
}

func (s *Server) putScenario(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := ns.ApplyScenario(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	s.writeJSON(w, r, http.StatusOK, res)
}
