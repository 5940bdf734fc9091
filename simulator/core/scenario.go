package core

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
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
// naming them. {"name": N} alone names a shipped scenario; a scenario of
// its own may not take a shipped one's name, which its answer and its
// events would show for settings that are not that scenario's.
func ParseScenario(body []byte) (Scenario, error) {
	var sc Scenario
	if err := DecodeProfileBytes(body, &sc); err != nil {
		return Scenario{}, err
	}
	if sc.Name == "" {
		return sc, nil
	}
	b, shippedName := ShippedScenario(sc.Name)
	own := sc.Faults != nil || sc.Outages != nil || sc.Phones != nil
	switch {
	case own && !shippedName:
		return sc, nil
	case !shippedName:
		return Scenario{}, Invalid("name: no shipped scenario %q; there are %s", sc.Name, strings.Join(ScenarioNames(), ", "))
	}
	var sh Scenario
	if err := DecodeProfileBytes(b, &sh); err != nil {
		return Scenario{}, fmt.Errorf("shipped scenario %s: %w", sc.Name, err)
	}
	if own && !sameScenario(sc, sh) {
		return Scenario{}, Invalid("name: %q is a shipped scenario, and these are not its settings: give its name alone to apply it, or name a scenario of your own otherwise", sc.Name)
	}
	return sh, nil
}

// sameScenario tells whether a and b set the same, whatever their
// descriptions and however their JSON is written: the fault profiles they
// set read alike (their delays, outages and prefixes as parsed) whenever
// they are applied — at two times, so that an absolute outage is not taken
// for a relative one that lands on it at one — and their phones' profiles
// are the same JSON values (none and an empty set alike).
func sameScenario(a, b Scenario) bool {
	for _, at := range []time.Time{time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2031, 7, 9, 13, 17, 0, 0, time.UTC)} {
		fa, errA := a.FaultsAt(at)
		fb, errB := b.FaultsAt(at)
		if errA != nil || errB != nil || !reflect.DeepEqual(fa, fb) {
			return false
		}
	}
	if len(a.Phones) != len(b.Phones) {
		return false
	}
	for number, pa := range a.Phones {
		pb, ok := b.Phones[number]
		var va, vb any
		if !ok || json.Unmarshal(pa, &va) != nil || json.Unmarshal(pb, &vb) != nil || !reflect.DeepEqual(va, vb) {
			return false
		}
	}
	return true
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
