package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"smsim/simulator/client"
	"smsim/simulator/load"
	"smsim/simulator/people"
	"smsim/simulator/simtest"
)

// website is the kind of order both people validate.
var website = []people.Kind{{Type: client.TypeFirstFiling, Variant: "website", Weight: 1}}

// only is a mix of one personality.
func only(p people.Personality) map[people.Personality]int { return map[people.Personality]int{p: 1} }

// run runs a load of cfg against sim and fails the test on an error.
func run(t *testing.T, sim *simtest.Sim, cfg load.Config) *load.Report {
	t.Helper()
	cfg.Target = sim.URL
	rep, err := load.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// counts answers the count of each latency.
func counts(rep *load.Report) map[string]int64 {
	out := map[string]int64{}
	for name, l := range rep.Latency {
		out[name] = l.Count
	}
	return out
}

// TestClosedLoopOutcomes runs closed loops of six first filings of
// websites (two people each), every flow of one personality, and checks
// how each flow ended and what was called on the way: the people act as
// their personality says, and the simulated clock — not a sleep — makes
// their delays, the review and the validation window pass. Each scale
// makes the personality's delays a fraction of a real second while the
// 24-hour window stays seconds long, but for those who never validate.
func TestClosedLoopOutcomes(t *testing.T) {
	const n = 6
	for _, c := range []struct {
		name        string
		personality people.Personality
		listen      string
		scale       float64
		want        load.Outcomes
		calls       map[string]int64 // besides code_delivery (2n), flow and provider_view (n) and submit (n)
	}{
		{"prompt", people.Prompt, load.ListenWS, 3600, load.Outcomes{Approved: n}, map[string]int64{load.LatValidate: 2 * n, load.LatWatch: 2 * n}},
		{"prompt, long poll", people.Prompt, load.ListenPoll, 3600, load.Outcomes{Approved: n}, map[string]int64{load.LatValidate: 2 * n}},
		{"typo", people.Typo, load.ListenWS, 3600, load.Outcomes{Approved: n}, map[string]int64{load.LatValidate: 4 * n, load.LatWatch: 2 * n}},
		{"resender", people.Resender, load.ListenPoll, 14400, load.Outcomes{Approved: n}, map[string]int64{load.LatValidate: 2 * n, load.LatResend: 2 * n}},
		{"slow", people.Slow, load.ListenWS, 43200, load.Outcomes{Approved: n}, map[string]int64{load.LatValidate: 2 * n, load.LatWatch: 2 * n}},
		{"never", people.Never, load.ListenWS, 86400, load.Outcomes{Canceled: n}, map[string]int64{load.LatWatch: 2 * n}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sim := simtest.RunT(t)
			rep := run(t, sim, load.Config{Flows: n, Concurrency: 3, Types: website, Mix: only(c.personality),
				Listen: c.listen, Scale: c.scale})
			if rep.Outcomes != c.want {
				t.Fatalf("outcomes %+v, want %+v; errors %+v", rep.Outcomes, c.want, rep.Errors)
			}
			if rep.Flows.Started != n || rep.Flows.Completed != n || rep.Interrupted {
				t.Fatalf("flows %+v, interrupted %v: want %d started and completed", rep.Flows, rep.Interrupted, n)
			}
			if got := rep.ByPersonality[string(c.personality)]; got != c.want || len(rep.ByPersonality) != 1 {
				t.Fatalf("by personality %+v, want %s alone: %+v", rep.ByPersonality, c.personality, c.want)
			}
			if got := rep.ByType["first_filing/website"]; got != c.want || len(rep.ByType) != 1 {
				t.Fatalf("by type %+v, want first_filing/website alone: %+v", rep.ByType, c.want)
			}
			want := map[string]int64{load.LatCode: 2 * n, load.LatFlow: n, load.LatSubmit: n, load.LatProviderView: n,
				load.LatValidate: 0, load.LatResend: 0, load.LatWatch: 0}
			for k, v := range c.calls {
				want[k] = v
			}
			if got := counts(rep); !reflect.DeepEqual(got, want) {
				t.Fatalf("latencies measured %v, want %v", got, want)
			}
			// What the server holds agrees: n orders, each as the run says.
			list, err := sim.Namespace(rep.Run.Namespace).Filings(t.Context(), client.ListOptions{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			status := client.FilingApproved
			if c.want.Canceled > 0 {
				status = client.FilingCanceled
			}
			for _, o := range list.Filings {
				if o.Status != status {
					t.Fatalf("order %s is %s, want %s", o.ID, o.Status, status)
				}
			}
			if list.Total != n {
				t.Fatalf("the namespace holds %d orders, want %d", list.Total, n)
			}
		})
	}
}

// An open loop starts every flow of its schedule, ramp included, and
// counts each one's end; every kind of order runs, those that need no one
// too.
func TestOpenLoop(t *testing.T) {
	sim := simtest.RunT(t)
	types, err := load.ParseTypes("first_filing/website,first_filing/app,modify/service,remove_provider")
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, sim, load.Config{Rate: 100, Ramp: 50 * time.Millisecond, Flows: 20, Types: types,
		Mix: only(people.Prompt), Scale: 3600})
	if rep.Outcomes != (load.Outcomes{Approved: 20}) || rep.Flows.Started != 20 {
		t.Fatalf("outcomes %+v of %d flows, want 20 approved; errors %+v", rep.Outcomes, rep.Flows.Started, rep.Errors)
	}
	if rep.Run.Loop != load.LoopOpen || rep.Run.Rate != 100 || rep.Run.MaxInFlight != load.DefaultMaxInFlight || rep.Run.Concurrency != 0 {
		t.Fatalf("run %+v, want an open loop at 100/s", rep.Run)
	}
	total := 0
	for _, o := range rep.ByType {
		total += o.Approved
	}
	if total != 20 || len(rep.ByType) != 4 {
		t.Fatalf("by type %+v: want the four kinds, 20 approved in all", rep.ByType)
	}
}

// An open loop bounded by time starts every flow its schedule had due:
// one that found every slot busy starts late, after the schedule's end if
// need be, and its lateness counts in its flow's latency.
func TestOpenLoopStartsEveryDueFlowLate(t *testing.T) {
	sim := simtest.RunT(t)
	// 6 flows due 50 ms apart, one at a time, each slow (about 40 to 500 ms)
	rep := run(t, sim, load.Config{Rate: 20, MaxInFlight: 1, Duration: 300 * time.Millisecond, Types: website,
		Mix: only(people.Slow)})
	if rep.Flows.Started != 6 || rep.Flows.NotStarted != 0 || rep.Outcomes != (load.Outcomes{Approved: 6}) {
		t.Fatalf("flows %+v, outcomes %+v: want the 6 due started and approved", rep.Flows, rep.Outcomes)
	}
	if l := rep.Latency[load.LatFlow]; l.Count != 6 || l.Max < float64(rep.ElapsedS*1000)-250-50 {
		// the last flow was due at 250 ms and ended the run: its latency is
		// (nearly) all the run after 250 ms
		t.Fatalf("flow latencies %+v in a run of %.3f s: the last one's lateness is not counted", l, rep.ElapsedS)
	}
}

// Flows that were due but never started, every slot busy until the drain
// ended, are counted as such.
func TestOpenLoopCountsDueFlowsNeverStarted(t *testing.T) {
	sim := simtest.RunT(t)
	// 10 flows due; the first never ends (its window is a real day long)
	// and holds the one slot until the drain is over
	rep := run(t, sim, load.Config{Rate: 100, MaxInFlight: 1, Duration: 100 * time.Millisecond, Drain: 200 * time.Millisecond,
		Types: website, Mix: only(people.Never), Scale: 1})
	if rep.Flows.Started != 1 || rep.Flows.NotStarted != 9 || rep.Outcomes != (load.Outcomes{Unfinished: 1}) {
		t.Fatalf("flows %+v, outcomes %+v: want 1 started and unfinished, 9 due and not started", rep.Flows, rep.Outcomes)
	}
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "due, not started") {
		t.Fatalf("the table does not show the flows not started:\n%s", b.String())
	}
}

// A run bounded by time starts flows until it is over, and each ends.
func TestDuration(t *testing.T) {
	sim := simtest.RunT(t)
	rep := run(t, sim, load.Config{Duration: 300 * time.Millisecond, Concurrency: 2, Types: website,
		Mix: only(people.Prompt), Scale: 3600})
	if rep.Flows.Started == 0 || rep.Outcomes != (load.Outcomes{Approved: rep.Flows.Started}) {
		t.Fatalf("outcomes %+v of %d flows, want every one approved", rep.Outcomes, rep.Flows.Started)
	}
}

// Flows still waiting when the drain is over are unfinished: at a scale
// of 1, nobody's validation window ends within the test.
func TestDrainAbandonsFlowsInFlight(t *testing.T) {
	sim := simtest.RunT(t)
	rep := run(t, sim, load.Config{Flows: 3, Concurrency: 3, Drain: 200 * time.Millisecond, Types: website,
		Mix: only(people.Never), Scale: 1})
	if rep.Outcomes != (load.Outcomes{Unfinished: 3}) || rep.Flows.Completed != 0 || rep.Interrupted {
		t.Fatalf("outcomes %+v, flows %+v, interrupted %v: want 3 unfinished, not interrupted", rep.Outcomes, rep.Flows, rep.Interrupted)
	}
}

// A closed loop's starts are over only once its last flow has begun: the
// drain, however short, never cuts off a flow before it starts, and a run
// of --flows N starts N.
func TestClosedLoopDrainCutsNoFlowBeforeItStarts(t *testing.T) {
	sim := simtest.RunT(t)
	for i := range 10 {
		rep := run(t, sim, load.Config{Flows: 1, Concurrency: 1, Drain: time.Nanosecond, Types: website,
			Mix: only(people.Never), Scale: 1})
		if rep.Flows.Started != 1 || rep.Outcomes.Total() != 1 {
			t.Fatalf("run %d: flows %+v, outcomes %+v: want the one flow started", i, rep.Flows, rep.Outcomes)
		}
	}
}

// When its context ends (SIGINT), a run stops at once and answers what ran.
func TestInterrupted(t *testing.T) {
	sim := simtest.RunT(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const ns = "load-interrupted"
	done := make(chan *load.Report, 1)
	go func() {
		rep, err := load.Run(ctx, load.Config{Target: sim.URL, Namespace: ns, Flows: 100, Concurrency: 2,
			Types: website, Mix: only(people.Never), Scale: 1})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		l, err := sim.Namespace(ns).Filings(t.Context(), client.ListOptions{Limit: 1})
		if err == nil && l.Total >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no two orders within 10 s")
		}
	}
	cancel()
	rep := <-done
	if rep == nil {
		return
	}
	if !rep.Interrupted || rep.Flows.Started != 2 || rep.Outcomes != (load.Outcomes{Unfinished: 2}) {
		t.Fatalf("interrupted %v, flows %+v, outcomes %+v: want the two flows of the two workers unfinished", rep.Interrupted, rep.Flows, rep.Outcomes)
	}
}

// A failed call ends its flow as an error of that call's kind, named by
// its status, with the first message as an example.
func TestErrorsByKind(t *testing.T) {
	sim := simtest.RunT(t)
	routes := sim.Server.Routes()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/miit/v1/validations" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"the store is away"}`))
			return
		}
		routes.ServeHTTP(w, r)
	}))
	defer front.Close()
	rep, err := load.Run(t.Context(), load.Config{Target: front.URL, Flows: 4, Concurrency: 2, Types: website,
		Mix: only(people.Prompt), Scale: 3600})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcomes != (load.Outcomes{Error: 4}) || rep.Flows.Completed != 0 {
		t.Fatalf("outcomes %+v, want 4 errors", rep.Outcomes)
	}
	want := []load.ErrorCount{{Kind: "validate: 503 Service Unavailable", Count: 4,
		Example: "POST /miit/v1/validations: 503 Service Unavailable: the store is away"}}
	if !reflect.DeepEqual(rep.Errors, want) {
		t.Fatalf("errors %+v, want %+v", rep.Errors, want)
	}
	if l := rep.Latency[load.LatValidate]; l.Count != 0 {
		t.Fatalf("%d validations measured: a failed call has no latency", l.Count)
	}
}

// A scenario replaces the load profile: here, one whose review returns
// every order.
func TestScenario(t *testing.T) {
	sim := simtest.RunT(t)
	sc := &client.Scenario{Name: "all returned", Faults: json.RawMessage(`{"sync_lag": {"model": "fixed", "value": "0s"},
		"result_sync_lag": {"model": "fixed", "value": "0s"}, "review": {"model": "fixed", "value": "1s", "approve_ratio": 0}}`)}
	rep := run(t, sim, load.Config{Flows: 4, Concurrency: 2, Types: website, Mix: only(people.Prompt), Scenario: sc, Scale: 3600})
	if rep.Outcomes != (load.Outcomes{Returned: 4}) || rep.Run.Scenario != "all returned" {
		t.Fatalf("outcomes %+v under scenario %q, want 4 returned", rep.Outcomes, rep.Run.Scenario)
	}
	f, err := sim.Namespace(rep.Run.Namespace).Faults(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if f.Review.ApproveRatio != 0 || f.SyncLag != client.Fixed(0) {
		t.Fatalf("the namespace's faults %+v, want the scenario's", f)
	}

	_, err = load.Run(t.Context(), load.Config{Target: sim.URL, Flows: 1, Scenario: &client.Scenario{Name: "no_such_day"}})
	var inv *load.InvalidError
	if !errors.As(err, &inv) || inv.Field != "scenario" || !strings.Contains(inv.Problem, "no_such_day") {
		t.Fatalf("an unknown scenario: %v, want an *InvalidError of scenario naming it", err)
	}
}

// The load profile is set in the run's namespace, and its clock runs at
// the run's scale; the default namespace is left alone.
func TestNamespaceAndProfile(t *testing.T) {
	sim := simtest.RunT(t)
	rep := run(t, sim, load.Config{Flows: 1, Types: website, Mix: only(people.Prompt), Scale: 5000})
	if !strings.HasPrefix(rep.Run.Namespace, "load-") || !client.ValidNamespace(rep.Run.Namespace) {
		t.Fatalf("namespace %q, want load-…", rep.Run.Namespace)
	}
	ns := sim.Namespace(rep.Run.Namespace)
	f, err := ns.Faults(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := load.Faults(); !reflect.DeepEqual(f, want) {
		t.Fatalf("faults %+v, want %+v", f, want)
	}
	if st, err := ns.Clock(t.Context()); err != nil || st.Scale != 5000 || st.Paused {
		t.Fatalf("clock %+v, %v: want running at 5000", st, err)
	}
	if st, err := sim.Clock(t.Context()); err != nil || !st.Paused {
		t.Fatalf("the default namespace's clock %+v, %v: want it paused, as simtest left it", st, err)
	}
	if rep.Outcomes != (load.Outcomes{Approved: 1}) {
		t.Fatalf("outcomes %+v", rep.Outcomes)
	}
}

// Each call setting up the namespace has CallTimeout of its own: here a
// proxy holds each PUT for 60% of it, which the faults and the clock take
// together more than once over, and the run goes on. A call held past it
// ends the run before the first flow, with a *TimeoutError naming it.
func TestSetupCallsBoundedEach(t *testing.T) {
	sim := simtest.RunT(t)
	const bound = time.Second
	load.SetCallTimeout(t, bound)
	u, _ := url.Parse(sim.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // the feeds the run ends, cut off
	holding := func(hold func(r *http.Request) time.Duration) *httptest.Server {
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// the body read, the request's context ends when the driver
			// hangs up
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			select {
			case <-time.After(hold(r)):
			case <-r.Context().Done():
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(front.Close)
		return front
	}
	front := holding(func(r *http.Request) time.Duration {
		if r.Method == http.MethodPut {
			return bound * 6 / 10
		}
		return 0
	})
	rep, err := load.Run(t.Context(), load.Config{Target: front.URL, Flows: 1, Types: website, Mix: only(people.Prompt), Scale: 3600})
	if err != nil {
		t.Fatalf("PUTs of %v each, within %v each: %v", bound*6/10, bound, err)
	}
	if rep.Outcomes != (load.Outcomes{Approved: 1}) {
		t.Fatalf("outcomes %+v, want the flow approved", rep.Outcomes)
	}

	for _, c := range []struct {
		method, path, want string
		within             time.Duration
	}{
		{http.MethodPut, "/admin/v1/clock", "load: running the clock of namespace load-held at 3600×: PUT /admin/v1/clock: no answer within 1s", bound},
		{http.MethodGet, "/ws/events", "load: following the event log of namespace load-held: GET /ws/events: no answer within 1s", bound},
	} {
		front := holding(func(r *http.Request) time.Duration {
			if r.Method == c.method && r.URL.Path == c.path {
				return time.Hour
			}
			return 0
		})
		start := time.Now()
		_, err := load.Run(t.Context(), load.Config{Target: front.URL, Namespace: "load-held", Flows: 1, Types: website, Mix: only(people.Prompt), Scale: 3600})
		took := time.Since(start)
		var te *load.TimeoutError
		if !errors.As(err, &te) || te.Call != c.method+" "+c.path || te.Within != c.within || err.Error() != c.want || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s %s held: %v, want %q, a *load.TimeoutError", c.method, c.path, err, c.want)
		}
		if took > c.within+time.Second {
			t.Errorf("%s %s held: Run answered after %v, want about %v", c.method, c.path, took, c.within)
		}
	}
}

// The same seed draws the same flows: kinds and personalities.
func TestSeedReproducible(t *testing.T) {
	sim := simtest.RunT(t)
	seed := uint64(7)
	cfg := load.Config{Flows: 8, Concurrency: 4, Seed: &seed, Scale: 3600,
		Mix: map[people.Personality]int{people.Prompt: 1, people.Typo: 1}}
	a, b := run(t, sim, cfg), run(t, sim, cfg)
	if !reflect.DeepEqual(a.ByType, b.ByType) || !reflect.DeepEqual(a.ByPersonality, b.ByPersonality) || a.Run.Seed != 7 {
		t.Fatalf("two runs of seed 7 differ:\n%+v %+v\n%+v %+v", a.ByType, a.ByPersonality, b.ByType, b.ByPersonality)
	}
	if a.Outcomes != (load.Outcomes{Approved: 8}) {
		t.Fatalf("outcomes %+v", a.Outcomes)
	}
}

// The JSON form has every key, always, whatever ran.
func TestReportJSONShape(t *testing.T) {
	sim := simtest.RunT(t)
	rep := run(t, sim, load.Config{Flows: 2, Types: website, Mix: only(people.Prompt), Scale: 3600,
		SLO: mustSLO(t, "errors<1%")})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"":           {"by_personality", "by_type", "elapsed_s", "errors", "flows", "interrupted", "latency_ms", "outcomes", "run", "schema", "slo", "slo_met", "started_at"},
		"run":        {"concurrency", "drain_s", "duration_s", "flows", "in_process", "listen", "loop", "max_in_flight", "mix", "namespace", "ramp_s", "rate", "scale", "scenario", "seed", "target", "types"},
		"flows":      {"completed", "not_started", "per_s", "started"},
		"outcomes":   {"approved", "canceled", "error", "rejected", "returned", "unfinished"},
		"latency_ms": load.Latencies,
	}
	for path, keys := range want {
		obj := m
		if path != "" {
			obj = m[path].(map[string]any)
		}
		if got := sortedKeys(obj); !slices.Equal(got, sorted(keys)) {
			t.Errorf("keys of %q: %v, want %v", path, got, sorted(keys))
		}
	}
	for _, name := range load.Latencies {
		if got := sortedKeys(m["latency_ms"].(map[string]any)[name].(map[string]any)); !slices.Equal(got, []string{"count", "max", "mean", "min", "p50", "p90", "p99", "p999"}) {
			t.Errorf("keys of latency %s: %v", name, got)
		}
	}
	slo := m["slo"].([]any)
	if len(slo) != 1 || !slices.Equal(sortedKeys(slo[0].(map[string]any)), []string{"met", "note", "objective", "unit", "value"}) {
		t.Errorf("slo %v", slo)
	}
	if m["schema"] != float64(load.ReportSchema) || m["errors"] == nil || m["slo_met"] != true {
		t.Errorf("schema %v, errors %v, slo_met %v", m["schema"], m["errors"], m["slo_met"])
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func mustSLO(t *testing.T, s string) []load.Objective {
	t.Helper()
	o, err := load.ParseSLO(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Nothing Run starts outlives it — workers, flows, phones, the log's
// follower, the clock's reader, the progress lines — in an open and a
// closed loop, on websockets and long polls, drained or abandoned.
func TestNoGoroutineOutlivesRun(t *testing.T) {
	sim := simtest.RunT(t)
	var progress strings.Builder
	for _, cfg := range []load.Config{
		{Flows: 4, Concurrency: 2, Listen: load.ListenWS, Progress: &progress},
		{Flows: 4, Rate: 100, Listen: load.ListenPoll},
		{Flows: 2, Concurrency: 2, Drain: time.Millisecond, Mix: only(people.Never), Scale: 1},
	} {
		cfg.Types = website
		if cfg.Mix == nil {
			cfg.Mix, cfg.Scale = only(people.Prompt), 3600
		}
		run(t, sim, cfg)
	}
	// A goroutine that has said it is done may take a moment to be gone.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var b bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&b, 2)
		var left []string
		for _, g := range strings.Split(b.String(), "\n\n") {
			if strings.Contains(g, "smsim/simulator/load.") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of the driver outlived Run:\n%s", len(left), strings.Join(left, "\n\n"))
		}
	}
}

// When the log's feed breaks, the driver connects again and has every flow
// waiting read its order, in case its end went by unseen: here the first
// feed is a dud that says nothing and hangs up after half a second, by
// when the orders have ended unseen.
func TestFeedBreaks(t *testing.T) {
	sim := simtest.RunT(t)
	u, _ := url.Parse(sim.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var first sync.Once
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dud := false
		if r.URL.Path == "/ws/events" {
			first.Do(func() { dud = true })
		}
		if !dud {
			proxy.ServeHTTP(w, r)
			return
		}
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
		conn.Close()
	}))
	defer front.Close()
	rep, err := load.Run(t.Context(), load.Config{Target: front.URL, Flows: 4, Concurrency: 4, Types: website,
		Mix: only(people.Prompt), Scale: 3600, Drain: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcomes != (load.Outcomes{Approved: 4}) {
		t.Fatalf("outcomes %+v, want the 4 orders approved, learnt by reading them", rep.Outcomes)
	}
}

// A code a phone polled after can leave its inbox while the flow goes on
// (its retention runs out, newer messages push it out): the next poll
// after it answers 404. The phone goes on from the start of its inbox,
// past the codes it was given: here a proxy answers that 404 to each
// phone's first poll after a code, and the resenders, who need the code of
// their resend, still get it and every order is approved.
func TestCodesOutliveTheirMessages(t *testing.T) {
	sim := simtest.RunT(t)
	u, _ := url.Parse(sim.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // the polls the run ends, cut off
	var mu sync.Mutex
	gone := map[string]string{} // phone → the code id it was told is gone
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		phone, ok := strings.CutPrefix(r.URL.Path, "/phones/v1/")
		phone, ok2 := strings.CutSuffix(phone, "/messages/next")
		after := r.URL.Query().Get("after")
		if ok && ok2 && after != "" && after != client.AfterStart {
			mu.Lock()
			_, told := gone[phone]
			if !told {
				gone[phone] = after
			}
			mu.Unlock()
			if !told {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(map[string]any{"type": "urn:smsim:problem:not-found", "title": "Not Found",
					"status": http.StatusNotFound, "detail": `after: no message "` + after + `" in the inbox of ` + phone})
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	const n = 4
	rep, err := load.Run(t.Context(), load.Config{Target: front.URL, Flows: n, Concurrency: 2, Types: website,
		Mix: only(people.Resender), Listen: load.ListenPoll, Scale: 14400})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcomes != (load.Outcomes{Approved: n}) {
		t.Fatalf("outcomes %+v, want the %d orders approved; errors %+v", rep.Outcomes, n, rep.Errors)
	}
	if got := counts(rep); got[load.LatCode] != 2*n || got[load.LatResend] != 2*n || got[load.LatValidate] != 2*n {
		t.Fatalf("latencies measured %v, want %d codes, resends and validations", got, 2*n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(gone) != 2*n {
		t.Fatalf("%d phones were told a code left their inbox, want all %d", len(gone), 2*n)
	}
}
