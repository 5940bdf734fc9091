package core_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"smsim/simulator/core"
)

// A profile's api_faults read back as themselves, latencies given without
// a model take the one their fields say, and an error_rate without a
// status answers 503.
func TestAPIFaultsRoundTrip(t *testing.T) {
	f, err := core.ParseFaults([]byte(`{"api_faults":[{"route":"POST /miit/v1/validations","error_rate":0.5,` +
		`"latency":{"median":"100ms","p99":"2s"},"body":{ "a" : [1, 2] },"retry_after":"1500ms",` +
		`"next":[{"calls":2,"status":429},{"calls":1,"drop":true,"latency":{"value":"1s"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(jsonOf(t, f), &doc); err != nil {
		t.Fatal(err)
	}
	b := doc["api_faults"]
	want := `[{"route":"POST /miit/v1/validations","latency":{"model":"lognormal","median":"100ms","p99":"2s"},"error_rate":0.5,` +
		`"status":503,"body":{"a":[1,2]},"retry_after":"1.5s","next":[{"calls":2,"status":429},` +
		`{"calls":1,"latency":{"model":"fixed","value":"1s"},"drop":true}]}]`
	if got := string(b); got != want {
		t.Errorf("api_faults\n%s\nwant\n%s", got, want)
	}
	again, err := core.ParseFaults(jsonOf(t, f))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := jsonOf(t, again), jsonOf(t, f); string(a) != string(b) {
		t.Errorf("read back\n%s\nwant\n%s", a, b)
	}
}

// A call in the script gets its step; after it, the rates decide; the
// latency is the step's, else the entry's, cut at MaxAPILatency.
func TestAPIFaultDecide(t *testing.T) {
	src := core.NewSeededSource(1)
	slow, long := core.Fixed(time.Second), core.Delay{Model: core.ModelLogNormal, Median: 4 * time.Minute, P99: 5 * time.Minute}
	a := core.APIFault{Route: "GET /phones/v1", Latency: &slow, ErrorRate: 1, Error: core.APIError{Status: 500},
		Next: []core.APIStep{{Calls: 2, Drop: true}, {Calls: 1}, {Calls: 1, Latency: &long, Error: core.APIError{Status: 429}}}}
	var got []string
	for call := int64(1); call <= 5; call++ {
		d := a.Decide(src, "ns", call)
		step := "-"
		if d.Applied.Step != nil {
			step = fmt.Sprint(*d.Applied.Step)
		}
		got = append(got, fmt.Sprintf("%d step %s drop %v status %d latency<=5m %v", d.Applied.Call, step, d.Drop, d.Error.Status,
			d.Latency > 0 && d.Latency <= core.MaxAPILatency))
	}
	want := []string{
		"1 step 0 drop true status 0 latency<=5m true",
		"2 step 0 drop true status 0 latency<=5m true",
		"3 step 1 drop false status 0 latency<=5m true",
		"4 step 2 drop false status 429 latency<=5m true",
		"5 step - drop false status 500 latency<=5m true",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d: %s, want %s", i+1, got[i], want[i])
		}
	}
	if d := a.Decide(src, "ns", 1); d.Latency != time.Second || d.Applied.Latency != "1s" {
		t.Errorf("the entry's latency: %s %q, want 1s", d.Latency, d.Applied.Latency)
	}
	none := core.APIFault{Route: "GET /phones/v1", ErrorRate: 0}
	if d := none.Decide(src, "ns", 1); !d.Applied.None() || d.Drop || d.Error.Status != 0 || d.Latency != 0 {
		t.Errorf("an entry that does nothing: %+v", d)
	}
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
