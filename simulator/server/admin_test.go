package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"
)

func TestClockControl(t *testing.T) {
	e := newEnv(t)
	var st core.ClockState
	e.call("GET", "/admin/v1/clock", nil, 200, &st)
	if !st.Now.Equal(t0) || !st.Paused || st.Scale != 1 {
		t.Fatalf("start clock %+v", st)
	}
	e.call("PUT", "/admin/v1/clock", `{"scale": 3600}`, 200, &st)
	if st.Scale != 3600 || !st.Paused || !st.Now.Equal(t0) {
		t.Fatalf("after setting the scale %+v; still paused at t0", st)
	}
	if st = e.advance("90m"); !st.Now.Equal(t0.Add(90 * time.Minute)) {
		t.Fatalf("advance 90m: %s", st.Now)
	}
	if st = e.advance("0s"); !st.Now.Equal(t0.Add(90 * time.Minute)) {
		t.Fatalf("advance 0s moved the clock to %s", st.Now)
	}
	// Running at 3600: a real second is a simulated hour.
	e.call("PUT", "/admin/v1/clock", `{"paused": false}`, 200, &st)
	before := st.Now
	e.call("PUT", "/admin/v1/clock", `{"paused": true}`, 200, &st)
	if st.Now.Before(before) || st.Now.Sub(before) > time.Hour*3600 {
		t.Fatalf("running clock went from %s to %s", before, st.Now)
	}
}

// The clock stops at core.MaxTime: advances of the longest duration allowed
// go on until the next would pass it, which is a 400 that moves nothing;
// every answer with a time in it stays whole.
func TestAdvanceStopsAtMaxTime(t *testing.T) {
	const step = 87600 * time.Hour // the longest advance
	at := t0                       // the last step that fits leads here (time.Duration spans only 292 years)
	for !at.Add(step).After(core.MaxTime()) {
		at = at.Add(step)
	}
	if at.Year() != 9891 {
		t.Fatalf("steps of %s from %s lead to %s", step, t0, at)
	}
	// the clock starts three steps before: the last of them meet MaxTime's
	// bounds as the first thousand would
	const n = 3
	start := at.Add(-n * step)
	e := newEnv(t, func(e *env) {
		e.hooks = func(c *simulator.Config) { c.ClockStart = core.ClockStart{At: start, Paused: true} }
	})
	for range n {
		e.advance("87600h")
	}
	if now := e.now(); !now.Equal(at) {
		t.Fatalf("%d advances of %s from %s reach %s, want %s", n, step, start, now, at)
	}
	code, b := e.do("POST", "/admin/v1/clock/advance", `{"by":"87600h"}`)
	if code != 400 || problemOf(t, b).Detail != fmt.Sprintf("by: 87600h would take the clock past 9900-01-01T00:00:00Z, the latest simulated time; it reads %s: give at most %s",
		at.Format(time.RFC3339Nano), core.FormatDuration(core.MaxTime().Sub(at))) {
		t.Fatalf("advance past MaxTime: %d %s", code, b)
	}
	if now := e.now(); !now.Equal(at) {
		t.Fatalf("a refused advance moved the clock to %s, want %s", now, at)
	}
	if st := e.advance(core.FormatDuration(core.MaxTime().Sub(at))); !st.Now.Equal(core.MaxTime()) {
		t.Fatalf("advance onto MaxTime: %s", st.Now)
	}
	code, b = e.do("POST", "/admin/v1/clock/advance", `{"by":"1ms"}`)
	if code != 400 || problemOf(t, b).Detail != "by: 1ms would take the clock past 9900-01-01T00:00:00Z, the latest simulated time; it reads 9900-01-01T00:00:00Z: give at most 0s" {
		t.Fatalf("advance from MaxTime: %d %s", code, b)
	}
	var evs struct {
		Events []core.Record `json:"events"`
	}
	e.call("GET", "/admin/v1/events?limit=10000", nil, 200, &evs)
	if len(evs.Events) != n+1 || !evs.Events[n].At.Equal(core.MaxTime()) {
		t.Fatalf("%d events, the last %+v; want %d, the last at %s", len(evs.Events), evs.Events[len(evs.Events)-1], n+1, core.MaxTime())
	}
}

func TestFaultProfileControl(t *testing.T) {
	e := newEnv(t)
	var f map[string]any
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	want := `{"auto_resend_noon":false,"drop_rate":0,"duplicate_rate":0,"lost_code_rate":0,"magic_numbers":true,"miit_send_delay":{"model":"fixed","value":"0s"},"outages":[],"reorder_max":"5m","reorder_rate":0,"resend_policy":"new_code","result_sync_lag":{"max":"5m","min":"1m","model":"uniform"},"review":{"approve_ratio":1,"max":"480h","min":"24h","model":"uniform"},"sender_delays":{},"sms_delay":{"max":"0s","min":"0s","model":"uniform"},"spam_block_rate":0,"spurious_not_found_rate":0,"sync_lag":{"max":"1h","min":"30m","model":"uniform"},"throttles":[],"validation_window":"24h"}`
	if got, _ := json.Marshal(f); string(got) != want {
		t.Fatalf("start profile\n got %s\nwant %s", got, want)
	}
	// PUT replaces: what it omits takes its start value.
	e.call("PATCH", "/admin/v1/faults", `{"drop_rate":0.5}`, 200, nil)
	e.call("PUT", "/admin/v1/faults", `{"sms_delay":{"min":"1m","max":"2m"}}`, 200, &f)
	if f["drop_rate"] != 0.0 || f["sms_delay"].(map[string]any)["max"] != "2m" {
		t.Fatalf("after PUT %v", f)
	}
	// PATCH merges; null takes the start value.
	e.call("PATCH", "/admin/v1/faults", `{"sms_delay":{"min":null},"spam_block_rate":0.1}`, 200, &f)
	if d := f["sms_delay"].(map[string]any); d["min"] != "0s" || d["max"] != "2m" || f["spam_block_rate"] != 0.1 {
		t.Fatalf("after PATCH %v", f)
	}
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if f["spam_block_rate"] != 0.1 {
		t.Fatalf("PATCH not stored: %v", f)
	}
}

func TestSpuriousNotFound(t *testing.T) {
	e := newEnv(t)
	v := single(e, "13900000031")
	e.patchFaults(`{"spurious_not_found_rate":1}`)
	code := e.code("13900000031")
	wantValidation(t, e.validate(code, "13900000031", leaderCert), "not_found", false)
	wantValidation(t, e.validate(wrong(code), "13900000031", leaderCert), "not_found", false)
	if p := e.miitView(v.ID).Personnel[0]; p.Failures != 0 || p.Validated {
		t.Fatalf("a spurious not_found changed the person: %+v", p)
	}
	e.patchFaults(`{"spurious_not_found_rate":0}`)
	wantValidation(t, e.validate(code, "13900000031", leaderCert), "complete", false)
}

func TestReset(t *testing.T) {
	e := newEnv(t)
	v := single(e, "13900000041")
	e.patchFaults(`{"drop_rate":1}`)
	e.call("PUT", "/phones/v1/13900000041/profile", `{"spam_filter":true}`, 200, nil)
	e.advance("5h")
	var out struct {
		Reset bool
		Clock core.ClockState
	}
	e.call("POST", "/admin/v1/reset", nil, 200, &out)
	if !out.Reset || !out.Clock.Now.Equal(t0) || !out.Clock.Paused {
		t.Fatalf("reset answered %+v, want the clock back at %s", out, t0)
	}
	if c, _ := e.do("GET", "/provider/v1/filings/"+v.ID, nil); c != 404 {
		t.Fatalf("the filing survived the reset: %d", c)
	}
	if n := len(e.inbox("13900000041")); n != 0 {
		t.Fatalf("%d messages survived the reset", n)
	}
	var p map[string]any
	e.call("GET", "/phones/v1/13900000041/profile", nil, 200, &p)
	if p["spam_filter"] != false {
		t.Fatalf("profile after reset %v", p)
	}
	var f map[string]any
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if f["drop_rate"] != 0.0 {
		t.Fatalf("faults after reset %v", f)
	}
	// The world works again from scratch, and nothing old fires later.
	w := single(e, "13900000041")
	e.advance("48h")
	if n := len(e.codes("13900000041")); n != 1 {
		t.Fatalf("%d codes after the reset, want 1", n)
	}
	if mv := e.miitView(w.ID); mv.Status != "canceled" {
		t.Fatalf("new order %s after 48h, want canceled by expiry", mv.Status)
	}
}

// A reset deletes every key of its namespace but those it makes again, and
// no other: not another namespace's, nor one of another prefix that holds
// the same hash tag. On a Redis Cluster, where a namespace's keys share the
// slot of their hash tag, it reads that slot alone (CLUSTER
// GETKEYSINSLOT), not the keys of every master (SCAN). (One Redis server
// has no index of its keys by name: there a reset looks through them all,
// and the embedded store through their names.)
func TestResetDeletesItsNamespaceAlone(t *testing.T) {
	e := newEnv(t)
	_, cluster := e.rdb.(*redis.ClusterClient)
	ctx := context.Background()
	reads := testkit.CountKeyReads(t, e.rdb)
	single(e, "13900000051")
	ks := e.keys()
	var others []string
	for i := range 500 {
		others = append(others, fmt.Sprintf("%s:{elsewhere-%d}:k", ks.Prefix, i))
	}
	for i := range 50 {
		others = append(others, fmt.Sprintf("%s-other:{%s}:k%d", ks.Prefix, ks.Namespace, i)) // the namespace's slot
	}
	p := e.rdb.Pipeline()
	for _, k := range others {
		p.Set(ctx, k, "x", time.Hour)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := testkit.Keys(ctx, e.rdb, ks.Pattern())
	if err != nil || len(before) < 8 {
		t.Fatalf("the namespace's keys before the reset: %v, %v; want its order's, its codes', its messages'…", before, err)
	}
	reads.Take()
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	if n, detail := reads.Take(); cluster && (n != 1 || !strings.Contains(detail, "cluster getkeysinslot:1")) {
		t.Errorf("a reset read the keys %d times (%s), want once: the namespace's slot alone (CLUSTER GETKEYSINSLOT)", n, detail)
	}
	after, err := testkit.Keys(ctx, e.rdb, ks.Pattern())
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{ks.Clock(): true, ks.Seq(): true, ks.Events(): true}
	for _, k := range after {
		if !made[k] {
			t.Errorf("%s outlived the reset (the namespace's keys after it: %v)", k, after)
		}
	}
	p = e.rdb.Pipeline()
	exists := make([]*redis.IntCmd, len(others))
	for i, k := range others {
		exists[i] = p.Exists(ctx, k)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, c := range exists {
		if c.Val() != 1 {
			t.Errorf("%s, of no namespace of the reset's, is gone", others[i])
		}
	}
}

// A reset takes no body: one that says something — another namespace, a
// list of what to keep, text that is no JSON — is a 400 that forgets
// nothing, since the namespace reset is the one the request names. An
// empty body, or {}, resets.
func TestResetRefusesABody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := single(e, "13900000042")
	for _, c := range []struct{ body, detail string }{
		{`{"namespace":"some-other-ns","keep":["filings"]}`, `body: a reset takes none (or {}): it forgets the namespace the request names (X-Smsim-Namespace or ?namespace=, else default), nothing else; got "{\"namespace\":\"some-other-ns\",\"keep\":[\"filings\"]}"`},
		{"this is not json", `body: a reset takes none (or {}): it forgets the namespace the request names (X-Smsim-Namespace or ?namespace=, else default), nothing else; got "this is not json"`},
		{"[]", `got "[]"`},
	} {
		resp, b := rawRequest(t, "POST", e.url+"/admin/v1/reset", "application/json", c.body, nil)
		wantProblem(t, "reset with "+c.body, resp, b, http.StatusBadRequest, c.detail)
		if mv := e.miitView(v.ID); mv.ID != v.ID {
			t.Fatalf("after a refused reset with %s, the order reads %+v", c.body, mv)
		}
	}
	for _, body := range []string{"{}", " { } ", ""} {
		e.call("POST", "/admin/v1/reset", body, http.StatusOK, nil)
		if c, _ := e.do("GET", "/provider/v1/filings/"+v.ID, nil); c != http.StatusNotFound {
			t.Fatalf("a reset with the body %q left the filing: %d", body, c)
		}
		v = single(e, "13900000042")
	}
}

// A reset while an advance carries out a hundred orders' syncs waits for
// the advance, so that nothing it does is written after the reset emptied
// the namespace: no order, code, message or index survives, and the event
// log starts with the reset. (Rounds: without the wait, what survives
// depends on when the reset comes.)
func TestResetWaitsForAnAdvanceUnderWay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for round := range 3 {
		e.fixedLags("30m", "0s")
		for i := range 100 {
			e.submit(firstFilingWebsite(fmt.Sprintf("138%08d", i), fmt.Sprintf("139%08d", i)))
		}
		advanced := make(chan int, 1)
		synced := testkit.Metric(t, e.reg, "smsim_scheduler_events_total", map[string]string{"kind": "miit.sync", "outcome": "ok"})
		go func() {
			code, _ := e.do("POST", "/admin/v1/clock/advance", `{"by":"400h"}`)
			advanced <- code
		}()
		testkit.WaitFor(t, "the advance under way", func() bool {
			return testkit.Metric(t, e.reg, "smsim_scheduler_events_total", map[string]string{"kind": "miit.sync", "outcome": "ok"}) > synced
		})
		e.call("POST", "/admin/v1/reset", nil, 200, nil)
		if code := <-advanced; code != 200 {
			t.Fatalf("round %d: the advance answered %d", round, code)
		}
		ks := e.keys()
		var left []string
		for _, pattern := range []string{ks.Filing("*"), ks.Code("*"), ks.Message("*"), ks.Who("*"), ks.PhoneInbox("*")} {
			keys, err := e.rdb.Keys(ctx, pattern).Result()
			if err != nil {
				t.Fatal(err)
			}
			left = append(left, keys...)
		}
		if len(left) > 0 {
			t.Fatalf("round %d: after the reset the store holds %d keys of before it, such as %s", round, len(left), left[0])
		}
		if evs := e.events("0").Events; len(evs) == 0 || evs[0].Kind != core.KindReset {
			t.Fatalf("round %d: the event log after the reset starts with %s, want the reset", round, kinds(evs))
		}
	}
}

// A call waiting out a latency api_faults adds does not hold its namespace
// meanwhile: a reset goes on at once, and the call holds it only to be
// carried out.
func TestResetWaitsForNoInjectedLatency(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"api_faults":[{"route":"POST /miit/v1/validations","next":[{"calls":1,"latency":{"value":"3s"}}]}]}`)
	done := make(chan int, 1)
	go func() {
		code, _ := e.do("POST", "/miit/v1/validations", validation("13800000001"))
		done <- code
	}()
	testkit.WaitFor(t, "the call in its latency", func() bool {
		n, _ := e.rdb.HGet(context.Background(), e.keys().APICalls(), "POST /miit/v1/validations").Int()
		return n == 1
	})
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	select {
	case code := <-done:
		t.Fatalf("the reset answered after the call (%d): it waited out the call's latency", code)
	default:
	}
	if code := <-done; code != 200 {
		t.Fatalf("the call after its latency: %d", code)
	}
}

func TestMetricsMoveWithTraffic(t *testing.T) {
	e := newEnv(t)
	v := single(e, "13900000051")
	e.validate(wrong(e.code("13900000051")), "13900000051", leaderCert)
	e.resend("13900000051", leaderCert)
	_ = v
	_, body := e.do("GET", "/metrics", nil)
	for _, want := range []string{
		`smsim_messages_total{reason="",sender_kind="miit",status="delivered"} 2`,
		`smsim_messages_total{reason="",sender_kind="other",status="delivered"} 1`,
		`smsim_validations_total{result="failed"} 1`,
		`smsim_resends_total{result="resent"} 1`,
		`smsim_scheduler_events_total{kind="miit.sync",outcome="ok"} 1`,
		`smsim_http_requests_total{code="201",method="POST",route="POST /provider/v1/filings"} 1`,
		"# HELP smsim_http_request_duration_seconds ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// With the store gone, the API answers 503 with a Retry-After and stays
// up; /readyz, which asks the store nothing, has learnt it from the
// requests that found it gone.
func TestStoreUnreachableIs503(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(core.StoreOptions(&redis.Options{Addr: m.Addr()}, 200*time.Millisecond))
	t.Cleanup(func() { rdb.Close() })
	world, err := simulator.New(context.Background(), simulator.Config{Redis: rdb, Registry: prometheus.NewRegistry(),
		ClockStart: core.ClockStart{At: t0, Paused: true}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(world, server.Config{}).Routes())
	t.Cleanup(hs.Close)
	m.Close()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/admin/v1/clock", ""},
		{"POST", "/miit/v1/validations", `{"code":"123456","phone":"13800000001","certificate_last6":"071234"}`},
		{"GET", "/phones/v1/13800000001/messages", ""},
		{"GET", "/readyz", ""},
	} {
		req, _ := http.NewRequest(c.method, hs.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%s %s with the store down: %d (Retry-After %q) %s, want a 503 problem with Retry-After 1",
				c.method, c.path, resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
	}
	resp, err := http.Get(hs.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz with the store down: %v %v", resp, err)
	}
	resp.Body.Close()
}
