package server

import (
	"context"
	"net/http"
	"sort"

	"smsim/gateway"
	"smsim/simulator/core"
)

// ScenarioResult is what applying a scenario set.
type ScenarioResult struct {
	Name   string                     `json:"name,omitempty"`
	Faults core.Faults                `json:"faults"`
	Phones map[string]gateway.Profile `json:"phones"`
}

// ApplyScenario sets the fault profile and the phone profiles of a
// scenario (core.ParseScenario) in a namespace, its outages counted
// from the namespace's simulated now. Nothing is set unless all of it is
// valid.
func (s *Server) ApplyScenario(ctx context.Context, namespace string, body []byte) (ScenarioResult, error) {
	ns, err := s.namespace(ctx, namespace)
	if err != nil {
		return ScenarioResult{}, err
	}
	return s.applyScenario(ctx, ns, body)
}

func (s *Server) applyScenario(ctx context.Context, ns *namespace, body []byte) (ScenarioResult, error) {
	sc, err := core.ParseScenario(body)
	if err != nil {
		return ScenarioResult{}, err
	}
	now, err := ns.clock.Now(ctx)
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
			return ScenarioResult{}, core.Invalid("phones.%s.%s", number, err.(*core.Error).Detail)
		}
		res.Phones[phone] = p
	}
	if err := ns.faults.Set(ctx, f); err != nil {
		return ScenarioResult{}, err
	}
	phones := make([]string, 0, len(res.Phones))
	for phone := range res.Phones {
		phones = append(phones, phone)
	}
	sort.Strings(phones)
	for _, phone := range phones {
		if err := ns.gw.SetProfile(ctx, phone, res.Phones[phone]); err != nil {
			return ScenarioResult{}, err
		}
	}
	s.record(ctx, ns, now, core.KindFaults, f)
	for _, phone := range phones {
		s.record(ctx, ns, now, core.KindPhone, map[string]any{"phone": phone, "profile": res.Phones[phone]})
	}
	return res, nil
}

type scenarioInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (s *Server) scenarios(w http.ResponseWriter, r *http.Request) {
	out := []scenarioInfo{}
	for _, name := range core.ScenarioNames() {
		b, _ := core.ShippedScenario(name)
		sc, err := core.ParseScenario(b)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, scenarioInfo{Name: name, Description: sc.Description})
	}
	writeJSON(w, http.StatusOK, map[string]any{"scenarios": out})
}

func (s *Server) putScenario(w http.ResponseWriter, r *http.Request, ns *namespace) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.applyScenario(r.Context(), ns, b)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	writeJSON(w, http.StatusOK, res)
}
