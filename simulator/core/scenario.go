package core

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Scenario sets the fault profile, phone profiles and outage windows in one
// go: a named day in the life of the SMS network and MIIT.
type Scenario struct {
	Name        string                     `json:"name,omitempty"`
	Description string                     `json:"description,omitempty"`
	Faults      json.RawMessage            `json:"faults,omitempty"`  // a whole fault profile: what it omits takes its start value
	Outages     []RelativeOutage           `json:"outages,omitempty"` // outage windows counted from when the scenario is applied
	Phones      map[string]json.RawMessage `json:"phones,omitempty"`  // phone profiles by number
}

// RelativeOutage is an outage window that starts After the scenario is
// applied and lasts For.
type RelativeOutage struct {
	Carrier  string   `json:"carrier,omitempty"`
	Prefixes []string `json:"prefixes,omitempty"`
	After    string   `json:"after"`
	For      string   `json:"for"`
	Mode     string   `json:"mode"`
}

//go:embed scenarios/*.json
var shipped embed.FS

// ParseScenario reads a scenario from JSON: unknown fields are an *Error
// naming them. {"name": N} alone names a shipped scenario.
func ParseScenario(body []byte) (Scenario, error) {
	var sc Scenario
	if err := DecodeProfileBytes(body, &sc); err != nil {
		return Scenario{}, err
	}
	if sc.Faults == nil && sc.Outages == nil && sc.Phones == nil && sc.Name != "" {
		b, ok := ShippedScenario(sc.Name)
		if !ok {
			return Scenario{}, Invalid("name: no shipped scenario %q; there are %s", sc.Name, strings.Join(ScenarioNames(), ", "))
		}
		return ParseScenario(b)
	}
	return sc, nil
}

// ShippedScenario answers the JSON of a scenario shipped with smsim.
func ShippedScenario(name string) ([]byte, bool) {
	b, err := shipped.ReadFile(path.Join("scenarios", name+".json"))
	return b, err == nil
}

// ScenarioNames lists the shipped scenarios.
func ScenarioNames() []string {
	entries, _ := shipped.ReadDir("scenarios")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(out)
	return out
}

// FaultsAt is the fault profile of the scenario applied at now: its faults
// with its relative outages placed in time.
func (sc Scenario) FaultsAt(now time.Time) (Faults, error) {
	body := []byte(sc.Faults)
	if len(body) == 0 {
		body = []byte("{}")
	}
	f, err := ParseFaults(body)
	if err != nil {
		if e, ok := err.(*Error); ok {
			return Faults{}, Invalid("faults.%s", e.Detail)
		}
		return Faults{}, err
	}
	for i, o := range sc.Outages {
		field := fmt.Sprintf("outages[%d]", i)
		p := parser{}
		after := p.dur(field+".after", o.After)
		lasting := p.dur(field+".for", o.For)
		if p.err == nil && lasting <= 0 {
			p.fail("%s.for: must be more than 0, got %q", field, o.For)
		}
		out := p.outage(field, outageJSON{Carrier: o.Carrier, Prefixes: o.Prefixes, Mode: o.Mode,
			Start: now.Add(after).Format(time.RFC3339Nano), End: now.Add(after + lasting).Format(time.RFC3339Nano)})
		if p.err != nil {
			return Faults{}, p.err
		}
		f.Outages = append(f.Outages, out)
	}
	return f, nil
}
