package core_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"smsim/simulator/core"
)

func TestShippedScenariosParse(t *testing.T) {
	names := core.ScenarioNames()
	if strings.Join(names, ",") != "bad_carrier_day,calm_day,miit_site_flaky,miit_under_strain,spam_heavy_day" {
		t.Fatalf("shipped scenarios %v", names)
	}
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range names {
		sc, err := core.ParseScenario([]byte(`{"name":"` + name + `"}`))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if sc.Name != name || sc.Description == "" {
			t.Errorf("%s: name %q, description %q", name, sc.Name, sc.Description)
		}
		if _, err := sc.FaultsAt(now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	sc, _ := core.ParseScenario([]byte(`{"name":"bad_carrier_day"}`))
	f, _ := sc.FaultsAt(now)
	if len(f.Outages) != 1 || !f.Outages[0].Start.Equal(now.Add(time.Hour)) || !f.Outages[0].End.Equal(now.Add(4*time.Hour)) ||
		f.Outages[0].Prefixes[0] != "134" {
		t.Fatalf("bad carrier day outages %+v", f.Outages)
	}
}

func TestBadScenarios(t *testing.T) {
	now := time.Now()
	for body, want := range map[string]string{
		`{"name":"nope"}`:            "name: no shipped scenario",
		`{"faults":{"drop_rate":2}}`: "faults.drop_rate",
		`{"outages":[{"carrier":"china_mobile","after":"1h","for":"0s","mode":"hold"}]}`:  "outages[0].for",
		`{"outages":[{"carrier":"nope","after":"1h","for":"1h","mode":"hold"}]}`:          "outages[0].carrier",
		`{"outages":[{"carrier":"china_mobile","after":"-1h","for":"1h","mode":"hold"}]}`: "outages[0].after",
		`{"weather":"rain"}`: "weather: unknown field",
	} {
		sc, err := core.ParseScenario([]byte(body))
		if err == nil {
			_, err = sc.FaultsAt(now)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", body, err, want)
		}
	}
}

// A scenario may carry a shipped one's name only with that scenario's own
// settings, however their JSON is written (keys in another order, a delay
// spelt otherwise); other settings under its name are refused.
func TestAShippedNameGoesOnlyWithItsSettings(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"name":"calm_day","faults":{"sms_delay":{"p99":"2m","median":"3s","model":"lognormal"},"result_sync_lag":{"max":"5m","min":"1m"},"sync_lag":{"min":"30m","max":"1h"}}}`:                       true,
		`{"name":"calm_day","description":"mine","faults":{"sync_lag":{"min":"30m","max":"60m"},"result_sync_lag":{"min":"1m","max":"5m"},"sms_delay":{"model":"lognormal","median":"3s","p99":"2m"}}}`: true,
		`{"name":"calm_day","faults":{"sync_lag":{"min":"30m","max":"61m"},"result_sync_lag":{"min":"1m","max":"5m"},"sms_delay":{"model":"lognormal","median":"3s","p99":"2m"}}}`:                      false,
		`{"name":"calm_day","phones":{"13800000001":{"reachable":false}}}`: false,
		`{"name":"calm_day","outages":[],"phones":{},"faults":{"sync_lag":{"min":"30m","max":"1h"},"result_sync_lag":{"min":"1m","max":"5m"},"sms_delay":{"model":"lognormal","median":"3s","p99":"2m"}}}`: true,
	} {
		sc, err := core.ParseScenario([]byte(body))
		if ok && (err != nil || sc.Name != "calm_day") {
			t.Errorf("%s: %+v (%v), want calm_day", body, sc, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), `name: "calm_day" is a shipped scenario, and these are not its settings`)) {
			t.Errorf("%s: %v, want it refused", body, err)
		}
	}
	// bad_carrier_day's own outage, its times and carrier written otherwise
	b, _ := core.ShippedScenario("bad_carrier_day")
	var own map[string]any
	if err := json.Unmarshal(b, &own); err != nil {
		t.Fatal(err)
	}
	for _, outage := range []string{
		`{"carrier":"china_mobile","after":"60m","for":"3h","mode":"hold"}`,
		`{"mode":"hold","for":"180m","after":"1h0m0s","carrier":"china_mobile","prefixes":[]}`,
	} {
		own["outages"] = []json.RawMessage{json.RawMessage(outage)}
		body, _ := json.Marshal(own)
		if sc, err := core.ParseScenario(body); err != nil || sc.Name != "bad_carrier_day" {
			t.Errorf("bad_carrier_day with its outage %s: %v", outage, err)
		}
	}
	own["outages"] = []json.RawMessage{json.RawMessage(`{"carrier":"china_mobile","after":"61m","for":"3h","mode":"hold"}`)}
	body, _ := json.Marshal(own)
	if _, err := core.ParseScenario(body); err == nil {
		t.Errorf("bad_carrier_day with an outage of its own: taken, want it refused")
	}
	// an absolute window is not its relative one, wherever it lands
	delete(own, "outages")
	faults := own["faults"].(map[string]any)
	faults["outages"] = []any{map[string]any{"carrier": "china_mobile", "start": "2026-05-01T01:00:00Z", "end": "2026-05-01T04:00:00Z", "mode": "hold"}}
	body, _ = json.Marshal(own)
	if _, err := core.ParseScenario(body); err == nil {
		t.Errorf("bad_carrier_day with an absolute outage: taken, want it refused")
	}
}

// The table of shipped scenarios in simulator/README.md says of each what
// its own description says.
func TestShippedScenariosAsTheREADMESaysThem(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range core.ScenarioNames() {
		sc, err := core.ParseScenario([]byte(`{"name":"` + name + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		if row := "| `" + name + "` | " + sc.Description + " |"; !strings.Contains(string(b), row) {
			t.Errorf("simulator/README.md has no row %q", row)
		}
	}
}
