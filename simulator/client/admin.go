package client

import (
	"context"
	"encoding/json"
	"time"

	"smsim/gateway"
	"smsim/simulator/core"
)

// Clock reads the simulated clock (GET /admin/v1/clock).
func (c *Client) Clock(ctx context.Context) (core.ClockState, error) {
	var st core.ClockState
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/clock"}, &st)
	return st, err
}

// ClockSettings change the clock: the fields left nil stay as they are.
type ClockSettings struct {
	Scale  *float64 `json:"scale,omitempty"`  // simulated seconds per real second
	Paused *bool    `json:"paused,omitempty"` // true: simulated time stands still
}

// SetClock pauses, resumes or rescales the clock (PUT /admin/v1/clock).
func (c *Client) SetClock(ctx context.Context, s ClockSettings) (core.ClockState, error) {
	var st core.ClockState
	_, err := c.do(ctx, request{method: "PUT", path: "/admin/v1/clock", body: s}, &st)
	return st, err
}

// Pause stops simulated time.
func (c *Client) Pause(ctx context.Context) (core.ClockState, error) {
	paused := true
	return c.SetClock(ctx, ClockSettings{Paused: &paused})
}

// Resume runs simulated time at scale simulated seconds per real second.
func (c *Client) Resume(ctx context.Context, scale float64) (core.ClockState, error) {
	paused := false
	return c.SetClock(ctx, ClockSettings{Scale: &scale, Paused: &paused})
}

// Advance moves the clock d ahead (POST /admin/v1/clock/advance). Before
// it answers, everything that fell due on the way has been carried out:
// syncs, code messages, deliveries, expiries, reviews.
func (c *Client) Advance(ctx context.Context, d time.Duration) (core.ClockState, error) {
	var st core.ClockState
	_, err := c.do(ctx, request{method: "POST", path: "/admin/v1/clock/advance",
		body: map[string]string{"by": d.String()}}, &st)
	return st, err
}

// Faults reads the fault profile (GET /admin/v1/faults).
func (c *Client) Faults(ctx context.Context) (core.Faults, error) {
	var f faultsAnswer
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/faults"}, &f)
	return f.Faults, err
}

// PutFaults replaces the fault profile (PUT /admin/v1/faults); start from
// core.DefaultFaults() and change what the test needs.
func (c *Client) PutFaults(ctx context.Context, f core.Faults) (core.Faults, error) {
	var out faultsAnswer
	_, err := c.do(ctx, request{method: "PUT", path: "/admin/v1/faults", body: f}, &out)
	return out.Faults, err
}

// PatchFaults changes fields of the fault profile with a JSON merge patch
// (PATCH /admin/v1/faults): patch is anything that encodes to a JSON
// object — a map, a struct, or json.RawMessage(`{"drop_rate": 0.5}`).
func (c *Client) PatchFaults(ctx context.Context, patch any) (core.Faults, error) {
	var out faultsAnswer
	_, err := c.do(ctx, request{method: "PATCH", path: "/admin/v1/faults", body: patch}, &out)
	return out.Faults, err
}

// Reset forgets every filing, message, phone profile and fault script, and
// sets the clock and the fault profile back to their start values (POST
// /admin/v1/reset). It answers the clock.
func (c *Client) Reset(ctx context.Context) (core.ClockState, error) {
	var out struct {
		Clock core.ClockState `json:"clock"`
	}
	_, err := c.do(ctx, request{method: "POST", path: "/admin/v1/reset"}, &out)
	return out.Clock, err
}

// ScenarioInfo is a scenario shipped with smsim.
type ScenarioInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Scenarios lists the scenarios shipped with smsim (GET
// /admin/v1/scenarios).
func (c *Client) Scenarios(ctx context.Context) ([]ScenarioInfo, error) {
	var out struct {
		Scenarios []ScenarioInfo `json:"scenarios"`
	}
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/scenarios"}, &out)
	return out.Scenarios, err
}

// ScenarioResult is what applying a scenario set: the whole fault profile,
// its outages placed in time, and the phone profiles it gave.
type ScenarioResult struct {
	Name   string
	Faults core.Faults
	Phones map[string]gateway.Profile
}

// ApplyScenario applies a scenario (PUT /admin/v1/scenario): nothing is set
// unless all of it is valid.
func (c *Client) ApplyScenario(ctx context.Context, sc core.Scenario) (ScenarioResult, error) {
	var out ScenarioResult
	_, err := c.do(ctx, request{method: "PUT", path: "/admin/v1/scenario", body: sc}, &out)
	return out, err
}

// ApplyShippedScenario applies a scenario shipped with smsim by its name
// (Scenarios lists them).
func (c *Client) ApplyShippedScenario(ctx context.Context, name string) (ScenarioResult, error) {
	return c.ApplyScenario(ctx, core.Scenario{Name: name})
}

func (r *ScenarioResult) decode(b []byte) error {
	var w struct {
		Name   string                     `json:"name"`
		Faults json.RawMessage            `json:"faults"`
		Phones map[string]json.RawMessage `json:"phones"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var f faultsAnswer
	if err := f.decode(w.Faults); err != nil {
		return err
	}
	r.Name, r.Faults, r.Phones = w.Name, f.Faults, map[string]gateway.Profile{}
	for phone, raw := range w.Phones {
		var p profileAnswer
		if err := p.decode(raw); err != nil {
			return err
		}
		r.Phones[phone] = p.Profile
	}
	return nil
}

// faultsAnswer reads a fault profile in its wire form.
type faultsAnswer struct{ core.Faults }

func (a *faultsAnswer) decode(b []byte) error {
	b, err := onlyKnown(b, core.DefaultFaults())
	if err != nil {
		return err
	}
	a.Faults, err = core.ParseFaults(b)
	return err
}

// NamespaceUse is a namespace in use and when a request last touched it
// (real time, to within ten seconds).
type NamespaceUse struct {
	Name     string    `json:"name"`
	LastUsed time.Time `json:"last_used"`
}

// Namespaces lists the namespaces in use, by name (GET
// /admin/v1/namespaces): default, and those a request touched within the
// server's --namespace-idle.
func (c *Client) Namespaces(ctx context.Context) ([]NamespaceUse, error) {
	var out struct {
		Namespaces []NamespaceUse `json:"namespaces"`
	}
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/namespaces"}, &out)
	return out.Namespaces, err
}
