package load_test

import (
	"strings"
	"testing"

	"smsim/simulator/load"
)

// The tables say what ran, how flows ended, by personality and by type,
// the latencies, the errors and the objectives.
func TestWriteTable(t *testing.T) {
	rep := &load.Report{ElapsedS: 10.04, Interrupted: true,
		Run: load.RunInfo{Target: "http://127.0.0.1:8080", Namespace: "load-x", Loop: load.LoopOpen, Rate: 500, RampS: 2,
			Listen: load.ListenWS, Scale: 86400, Seed: 7},
		Flows:         load.FlowCounts{Started: 10, Completed: 8, PerS: 0.8, NotStarted: 3},
		Outcomes:      load.Outcomes{Approved: 7, Canceled: 1, Error: 1, Unfinished: 1},
		ByPersonality: map[string]load.Outcomes{"prompt": {Approved: 7, Error: 1, Unfinished: 1}, "never": {Canceled: 1}},
		ByType:        map[string]load.Outcomes{"first_filing/website": {Approved: 7, Canceled: 1, Error: 1, Unfinished: 1}},
		Errors:        []load.ErrorCount{{Kind: "submit: 503 Service Unavailable", Count: 1, Example: "POST /provider/v1/filings: 503 Service Unavailable: the store is away"}},
		Latency:       map[string]load.Latency{load.LatCode: {Count: 16, Min: 0.2, Mean: 1.234, P50: 1.1, P90: 2.5, P99: 12.34, P999: 123.4, Max: 1234}},
		SLO:           []load.Verdict{{Objective: "code_p99<10ms", Value: 12.34, Unit: "ms"}, {Objective: "errors<20%", Met: true, Value: 10, Unit: "%"}},
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `smsim load: 10.0s against http://127.0.0.1:8080, namespace load-x (interrupted)
open loop at 500 flows/s after a 2.0s ramp; phones listen over ws; clock at 86400×; the load profile; seed 7

flows  started  completed  per second  due, not started
       10       8          0.8         3

outcome     flows  share
approved    7      70.0%
returned    0      0.0%
rejected    0      0.0%
canceled    1      10.0%
error       1      10.0%
unfinished  1      10.0%

personality  flows  approved  returned  rejected  canceled  error  unfinished
never        1      0         0         0         1         0      0
prompt       9      7         0         0         0         1      1

type                  flows  approved  returned  rejected  canceled  error  unfinished
first_filing/website  10     7         0         0         1         1      1

   latency (ms)  count  mean   p50   p90   p99  p99.9   max
  code_delivery     16  1.23  1.10  2.50  12.3    123  1234
           flow      0     -     -     -     -      -     -
         submit      0     -     -     -     -      -     -
       validate      0     -     -     -     -      -     -
         resend      0     -     -     -     -      -     -
  provider_view      0     -     -     -     -      -     -
          watch      0     -     -     -     -      -     -

errors
  submit: 503 Service Unavailable  1  POST /provider/v1/filings: 503 Service Unavailable: the store is away

objectives
  code_p99<10ms  BREACHED  12.3ms
  errors<20%     met       10%
`
	if b.String() != want {
		t.Fatalf("tables:\n%s\nwant:\n%s", b.String(), want)
	}
}
