package client

import (
	"context"
	"encoding/json"
	"time"
)

// ClockState is what the simulated clock of a namespace reads.
type ClockState struct {
	Now    time.Time `json:"now"`    // simulated time
	Scale  float64   `json:"scale"`  // simulated seconds per real second
	Paused bool      `json:"paused"` // true: simulated time stands still
}

// Clock reads the simulated clock (GET /admin/v1/clock).
func (c *Client) Clock(ctx context.Context) (ClockState, error) {
	var st ClockState
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/clock"}, &st)
	return st, err
}

// ClockSettings change the clock: the fields left nil stay as they are.
type ClockSettings struct {
	Scale  *float64 `json:"scale,omitempty"`  // simulated seconds per real second
	Paused *bool    `json:"paused,omitempty"` // true: simulated time stands still
}

// SetClock pauses, resumes or rescales the clock (PUT /admin/v1/clock).
func (c *Client) SetClock(ctx context.Context, s ClockSettings) (ClockState, error) {
	var st ClockState
	_, err := c.do(ctx, request{method: "PUT", path: "/admin/v1/clock", body: s}, &st)
	return st, err
}

// Pause stops simulated time.
func (c *Client) Pause(ctx context.Context) (ClockState, error) {
	paused := true
	return c.SetClock(ctx, ClockSettings{Paused: &paused})
}

// Resume runs simulated time at scale simulated seconds per real second.
func (c *Client) Resume(ctx context.Context, scale float64) (ClockState, error) {
	paused := false
	return c.SetClock(ctx, ClockSettings{Scale: &scale, Paused: &paused})
}

// Advance moves the clock d ahead (POST /admin/v1/clock/advance). Before
// it answers, everything that fell due on the way has been carried out:
// syncs, code messages, deliveries, expiries, reviews.
func (c *Client) Advance(ctx context.Context, d time.Duration) (ClockState, error) {
	var st ClockState
	_, err := c.do(ctx, request{method: "POST", path: "/admin/v1/clock/advance",
		body: map[string]string{"by": d.String()}}, &st)
	return st, err
}

// Faults reads the fault profile (GET /admin/v1/faults).
func (c *Client) Faults(ctx context.Context) (Faults, error) {
	var f Faults
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/faults"}, &f)
	return f, err
}

// PutFaults replaces the fault profile (PUT /admin/v1/faults); start from
// DefaultFaults() and change what the test needs.
func (c *Client) PutFaults(ctx context.Context, f Faults) (Faults, error) {
	var out Faults
	_, err := c.do(ctx, request{method: "PUT", path: "/admin/v1/faults", body: f}, &out)
	return out, err
}

// ReplaceFaults replaces the fault profile with profile, as it encodes
// (PUT /admin/v1/faults): anything that encodes to a JSON object — a map,
// a struct, or json.RawMessage(`{"drop_rate": 0.5}`). What it omits, at
// any depth, takes its start value; a field the server does not know is a
// 400. PutFaults is the same with a whole Faults.
func (c *Client) ReplaceFaults(ctx context.Context, profile any) (Faults, error) {
	var out Faults
	_, err := c.do(ctx, request{method: "PUT", path: "/admin/v1/faults", body: profile}, &out)
	return out, err
}

// PatchFaults changes fields of the fault profile with a JSON merge patch
// (PATCH /admin/v1/faults): patch is anything that encodes to a JSON
// object — a map, a struct, or json.RawMessage(`{"drop_rate": 0.5}`).
func (c *Client) PatchFaults(ctx context.Context, patch any) (Faults, error) {
	var out Faults
	_, err := c.do(ctx, request{method: "PATCH", path: "/admin/v1/faults", body: patch}, &out)
	return out, err
}

// Reset forgets every filing, message, phone profile and fault script, and
// sets the clock and the fault profile back to their start values (POST
// /admin/v1/reset). It answers the clock.
func (c *Client) Reset(ctx context.Context) (ClockState, error) {
	var out struct {
		Clock ClockState `json:"clock"`
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

// Scenario sets the fault profile, phone profiles and outage windows in one
// go: a named day in the life of the SMS network and MIIT. Scenario{Name: N}
// alone names a scenario shipped with smsim (ApplyShippedScenario). Its
// faults and phones are JSON documents, as in a scenario file: what they
// omit takes its start value, so that a scenario says only what it
// changes.
type Scenario struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Faults is a fault profile, whole or in part:
	// json.RawMessage(`{"drop_rate": 0.1}`), or json.Marshal of a Faults.
	Faults json.RawMessage `json:"faults,omitempty"`
	// Outages are outage windows counted from when the scenario is
	// applied, besides those of Faults.
	Outages []RelativeOutage `json:"outages,omitempty"`
	// Phones are phone profiles by number, each whole or in part:
	// json.RawMessage(`{"reachable": false}`), or json.Marshal of a
	// PhoneProfile. The other phones keep theirs.
	Phones map[string]json.RawMessage `json:"phones,omitempty"`
}

// RelativeOutage is an outage window of a scenario: it starts After the
// scenario is applied and lasts For.
type RelativeOutage struct {
	Carrier  string        // a known carrier (CarrierChinaMobile, …) or a name of the test's with Prefixes
	Prefixes []string      // number prefixes; empty: the known carrier's
	After    time.Duration // from when the scenario is applied
	For      time.Duration
	Mode     string // ModeHold or ModeRefuse
}

type relativeOutageJSON struct {
	Carrier  string   `json:"carrier,omitempty"`
	Prefixes []string `json:"prefixes,omitempty"`
	After    string   `json:"after"`
	For      string   `json:"for"`
	Mode     string   `json:"mode"`
}

// MarshalJSON writes the window in its wire form, its durations as Go
// duration strings.
func (o RelativeOutage) MarshalJSON() ([]byte, error) {
	return json.Marshal(relativeOutageJSON{Carrier: o.Carrier, Prefixes: o.Prefixes,
		After: formatDuration(o.After), For: formatDuration(o.For), Mode: o.Mode})
}

// UnmarshalJSON reads the window from its wire form.
func (o *RelativeOutage) UnmarshalJSON(b []byte) error {
	var w relativeOutageJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var p durations
	*o = RelativeOutage{Carrier: w.Carrier, Prefixes: w.Prefixes,
		After: p.parse("after", w.After), For: p.parse("for", w.For), Mode: w.Mode}
	return p.err
}

// ScenarioResult is what applying a scenario set: the whole fault profile,
// its outages placed in time, and the phone profiles it gave.
type ScenarioResult struct {
	Name   string                  `json:"name,omitempty"`
	Faults Faults                  `json:"faults"`
	Phones map[string]PhoneProfile `json:"phones"`
}

// ApplyScenario applies a scenario (PUT /admin/v1/scenario): nothing is set
// unless all of it is valid.
func (c *Client) ApplyScenario(ctx context.Context, sc Scenario) (ScenarioResult, error) {
	var out ScenarioResult
	_, err := c.do(ctx, request{method: "PUT", path: "/admin/v1/scenario", body: sc}, &out)
	return out, err
}

// ApplyShippedScenario applies a scenario shipped with smsim by its name
// (Scenarios lists them).
func (c *Client) ApplyShippedScenario(ctx context.Context, name string) (ScenarioResult, error) {
	return c.ApplyScenario(ctx, Scenario{Name: name})
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

// DeadJob is a scheduled event that failed for good — its stored form
// cannot be read, it is of a kind the server does not handle, or it can
// never be carried out (a wrong number of arguments) — and is never tried
// again.
type DeadJob struct {
	Job      string     `json:"job"`           // as the scheduler stores it: seq|due|kind|arg|…
	Kind     string     `json:"kind"`          // empty when the stored form cannot be read
	Due      *time.Time `json:"due,omitempty"` // simulated; nil when the stored form cannot be read
	Args     []string   `json:"args"`
	Error    string     `json:"error"`     // what it failed with
	FailedAt time.Time  `json:"failed_at"` // real time
}

// DeadJobList is the newest events that failed for good, newest first,
// and how many the namespace keeps (its newest 1000).
type DeadJobList struct {
	Jobs  []DeadJob `json:"jobs"`
	Total int       `json:"total"`
}

// DeadJobs lists the events of the namespace that failed for good (GET
// /admin/v1/dead-jobs), newest first: at most limit, 1 to 1000 (0: the
// server's default, 100).
func (c *Client) DeadJobs(ctx context.Context, limit int) (DeadJobList, error) {
	var out DeadJobList
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/dead-jobs", query: page(limit, 0)}, &out)
	return out, err
}
