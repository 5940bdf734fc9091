package server

import (
	"context"
	"net/http"

	"smsim/gateway"
	"smsim/simulator"
)

// ScenarioResult is what applying a scenario set.
type ScenarioResult struct {
	Name   string                     `json:"name,omitempty"`
	Faults simulator.Faults           `json:"faults"`
	Phones map[string]gateway.Profile `json:"phones"`
}

// ApplyScenario sets the fault profile and the phone profiles of a
// scenario (simulator.ParseScenario), its outages counted from the
// simulated now. Nothing is set unless all of it is valid.
func (s *Server) ApplyScenario(ctx context.Context, body []byte) (ScenarioResult, error) {
	sc, err := simulator.ParseScenario(body)
	if err != nil {
		return ScenarioResult{}, err
	}
	now, err := s.clock.Now(ctx)
	if err != nil {
		return ScenarioResult{}, err
	}
	f, err := sc.FaultsAt(now)
	if err != nil {
		return ScenarioResult{}, err
	}
	res := ScenarioResult{Name: sc.Name, Faults: f, Phones: map[string]gateway.Profile{}}
	for number, raw := range sc.Phones {
		phone, err := gateway.NormalizePhone("phones", number)
		if err != nil {
			return ScenarioResult{}, err
		}
		p, err := gateway.ParseProfile(raw)
		if err != nil {
			return ScenarioResult{}, simulator.Invalid("phones.%s.%s", number, err.(*simulator.Error).Detail)
		}
		res.Phones[phone] = p
	}
	if err := s.faults.Set(ctx, f); err != nil {
		return ScenarioResult{}, err
	}
	for phone, p := range res.Phones {
		if err := s.gw.SetProfile(ctx, phone, p); err != nil {
			return ScenarioResult{}, err
		}
	}
	return res, nil
}

type scenarioInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (s *Server) scenarios(w http.ResponseWriter, r *http.Request) {
	out := []scenarioInfo{}
	for _, name := range simulator.ScenarioNames() {
		b, _ := simulator.ShippedScenario(name)
		sc, err := simulator.ParseScenario(b)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, scenarioInfo{Name: name, Description: sc.Description})
	}
	writeJSON(w, http.StatusOK, map[string]any{"scenarios": out})
}

func (s *Server) putScenario(w http.ResponseWriter, r *http.Request) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.ApplyScenario(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
