package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/server"
	"smsim/simulator/server/openapitest"
)

// exchange is one call as a client sees it: its answer, or the error of a
// connection closed without one.
type exchange struct {
	status int
	header http.Header
	body   string
	err    error
}

// raw sends a request on a connection of its own (a dropped connection is
// not retried on another, as Go's client would a reused one's), checked
// against the OpenAPI document, and answers what came back.
func (in *instance) raw(method, path, body string) exchange {
	in.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, in.url+path, r)
	if err != nil {
		in.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if in.ns != "" {
		req.Header.Set(server.NamespaceHeader, in.ns)
	}
	hc := &http.Client{Transport: openapitest.Transport(in.t, &http.Transport{DisableKeepAlives: true})}
	resp, err := hc.Do(req)
	if err != nil {
		return exchange{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return exchange{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// requests reads the journal with query q.
func (in *instance) requests(q string) []core.JournalEntry {
	in.t.Helper()
	var out struct {
		Requests []core.JournalEntry `json:"requests"`
	}
	in.call("GET", "/admin/v1/requests"+q, nil, 200, &out)
	return out.Requests
}

func validation(phone string) string {
	return fmt.Sprintf(`{"code":"123456","phone":%q,"certificate_last6":"071234"}`, phone)
}

// injected is the problem detail of an error api_faults injected.
func injected(status int, detail string) string {
	return fmt.Sprintf(`{"type":"urn:smsim:problem:injected-fault","title":%q,"status":%d,"detail":%q}`+"\n",
		http.StatusText(status), status, detail)
}

// notFound is MIIT's own answer to a validation that matches no one.
var notFound = func() string {
	b, _ := json.Marshal(miit.ValidationResult{Result: miit.ResultNotFound, Message: miit.TextValidateNotFound})
	return string(b) + "\n"
}()

// A script of the next calls of a route: each step holds for its calls, in
// order, counted from when api_faults were set; a PATCH that does not give
// api_faults leaves the count where it is, one that does starts it again.
// Each call and its fault are in the journal.
func TestAPIFaultScript(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"api_faults":[{"route":"POST /miit/v1/validations","next":[` +
		`{"calls":1,"status":503,"retry_after":"2s"},{"calls":1,"drop":true},{"calls":1,"latency":{"value":"20ms"}},{"calls":1}]}]}`)
	var got []exchange
	for range 5 {
		got = append(got, e.raw("POST", "/miit/v1/validations", validation("13800000001")))
	}
	if x := got[0]; x.status != 503 || x.header.Get("Retry-After") != "2" || x.header.Get("Content-Type") != "application/problem+json" ||
		x.body != injected(503, "injected by the fault profile's api_faults on POST /miit/v1/validations (call 1)") {
		t.Errorf("call 1: %d Retry-After %q %s, want the injected 503", x.status, x.header.Get("Retry-After"), x.body)
	}
	if x := got[1]; x.err == nil || !strings.Contains(x.err.Error(), "EOF") {
		t.Errorf("call 2: %d %s %v, want the connection dropped (EOF)", x.status, x.body, x.err)
	}
	for i, x := range got[2:] {
		if x.status != 200 || x.body != notFound {
			t.Errorf("call %d: %d %s %v, want MIIT's own answer", i+3, x.status, x.body, x.err)
		}
	}
	entries := e.requests("?route=POST%20/miit/v1/validations")
	var statuses []int
	var faults []string
	for _, en := range entries {
		statuses = append(statuses, en.Status)
		f, _ := json.Marshal(en.Fault)
		faults = append(faults, string(f))
	}
	if !slices.Equal(statuses, []int{503, 0, 200, 200, 200}) {
		t.Errorf("the journal's statuses %v, want [503 0 200 200 200]", statuses)
	}
	wantFaults := []string{`{"call":1,"step":0,"status":503}`, `{"call":2,"step":1,"dropped":true}`,
		`{"call":3,"step":2,"latency":"20ms"}`, "null", "null"}
	if !slices.Equal(faults, wantFaults) {
		t.Errorf("the journal's faults\n%v\nwant\n%v", faults, wantFaults)
	}

	e.patchFaults(`{"drop_rate":0.5}`) // not api_faults: the script stays through
	if x := e.raw("POST", "/miit/v1/validations", validation("13800000001")); x.status != 200 {
		t.Errorf("after a patch without api_faults: %d %s %v, want 200", x.status, x.body, x.err)
	}
	e.patchFaults(`{"api_faults":[{"route":"POST /miit/v1/validations","next":[{"calls":1,"status":502}]}]}`)
	if x := e.raw("POST", "/miit/v1/validations", validation("13800000001")); x.status != 502 ||
		x.body != injected(502, "injected by the fault profile's api_faults on POST /miit/v1/validations (call 1)") {
		t.Errorf("after api_faults were set again: %d %s %v, want the injected 502 of call 1", x.status, x.body, x.err)
	}
	e.patchFaults(`{"api_faults":null}`)
	if x := e.raw("POST", "/miit/v1/validations", validation("13800000001")); x.status != 200 {
		t.Errorf("api_faults cleared: %d %s %v, want 200", x.status, x.body, x.err)
	}
}

// The rates: an error with the entry's status, body and Retry-After; a
// dropped connection; a latency before the answer, on any route of the
// provider, MIIT and phone APIs. Other routes, and other namespaces, are
// left alone.
func TestAPIFaultRates(t *testing.T) {
	e := newEnv(t)
	e.call("PUT", "/admin/v1/faults", `{"api_faults":[`+
		`{"route":"POST /miit/v1/resends","error_rate":1,"status":429,"body":{"error": "slow down"},"retry_after":"1500ms"},`+
		`{"route":"GET /phones/v1/{phone}/profile","drop_rate":1},`+
		`{"route":"GET /phones/v1/{phone}/messages","latency":{"model":"fixed","value":"50ms"}},`+
		`{"route":"GET /provider/v1/filings/{id}","error_rate":1}]}`, 200, nil)
	x := e.raw("POST", "/miit/v1/resends", `{"phone":"13800000001","certificate_last6":"071234"}`)
	if x.status != 429 || x.header.Get("Retry-After") != "2" || x.header.Get("Content-Type") != "application/json" || x.body != `{"error":"slow down"}`+"\n" {
		t.Errorf("resend: %d Retry-After %q %q %s, want the entry's 429", x.status, x.header.Get("Retry-After"), x.header.Get("Content-Type"), x.body)
	}
	if x := e.raw("GET", "/phones/v1/13800000001/profile", ""); x.err == nil {
		t.Errorf("profile: %d %s, want the connection dropped", x.status, x.body)
	}
	start := time.Now()
	if x := e.raw("GET", "/phones/v1/13800000001/messages", ""); x.status != 200 || x.body != `{"messages":[]}`+"\n" {
		t.Errorf("messages: %d %s %v, want 200 and none", x.status, x.body, x.err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("messages answered in %s, want the latency of 50ms first", took)
	}
	if x := e.raw("GET", "/provider/v1/filings/f_0123456789abcdef", ""); x.status != 503 || x.header.Get("Retry-After") != "" ||
		x.body != injected(503, "injected by the fault profile's api_faults on GET /provider/v1/filings/{id} (call 1)") {
		t.Errorf("provider view: %d %s, want the default 503", x.status, x.body)
	}
	if x := e.raw("GET", "/miit/v1/filings/f_0123456789abcdef", ""); x.status != 404 {
		t.Errorf("MIIT's view, without an entry: %d %s, want its own 404", x.status, x.body)
	}
	if x := e.in("other").raw("POST", "/miit/v1/resends", `{"phone":"13800000001","certificate_last6":"071234"}`); x.status != 200 {
		t.Errorf("another namespace's resend: %d %s, want 200", x.status, x.body)
	}
	var faults []string
	for _, en := range e.requests("") {
		f, _ := json.Marshal(en.Fault)
		faults = append(faults, fmt.Sprintf("%s %d %s", en.Route, en.Status, f))
	}
	want := []string{
		`POST /miit/v1/resends 429 {"call":1,"status":429}`,
		`GET /phones/v1/{phone}/profile 0 {"call":1,"dropped":true}`,
		`GET /phones/v1/{phone}/messages 200 {"call":1,"latency":"50ms"}`,
		`GET /provider/v1/filings/{id} 503 {"call":1,"status":503}`,
		`GET /miit/v1/filings/{id} 404 null`,
	}
	if !slices.Equal(faults, want) {
		t.Errorf("the journal\n%s\nwant\n%s", strings.Join(faults, "\n"), strings.Join(want, "\n"))
	}
	_, metrics := e.do("GET", "/metrics", nil)
	if want := `smsim_http_requests_total{code="dropped",method="GET",route="GET /phones/v1/{phone}/profile"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("the metrics have no %s", want)
	}
}

// A profile's api_faults are checked: an unknown route is a 400 naming it,
// as is every value out of range; nothing is stored.
func TestBadAPIFaults(t *testing.T) {
	e := newEnv(t)
	routes := strings.Join(core.APIRoutes(), ", ")
	for _, c := range []struct{ body, detail string }{
		{`{"api_faults":[{"route":"POST /gateway/v1/messages","error_rate":1}]}`,
			`api_faults[0].route: "POST /gateway/v1/messages" is not a route of the provider, MIIT or phone API; give one as openapi.json names it: ` + routes},
		{`{"api_faults":[{"route":"POST /miit/v1/validations/"}]}`,
			`api_faults[0].route: "POST /miit/v1/validations/" is not a route of the provider, MIIT or phone API; give one as openapi.json names it: ` + routes},
		{`{"api_faults":[{"error_rate":1}]}`, `api_faults[0].route: missing; name a route as openapi.json does, such as "POST /miit/v1/validations"`},
		{`{"api_faults":[{"route":"GET /phones/v1"},{"route":"GET /phones/v1"}]}`, `api_faults[1].route: "GET /phones/v1" has an entry already; give each route one`},
		{`{"api_faults":[{"route":"GET /phones/v1","error_rate":1.5}]}`, `api_faults[0].error_rate: must be a rate from 0 to 1, got 1.5`},
		{`{"api_faults":[{"route":"GET /phones/v1","error_rate":1,"status":302}]}`, `api_faults[0].status: must be an error status from 400 to 599, got 302`},
		{`{"api_faults":[{"route":"GET /phones/v1","body":{"x":1}}]}`, `api_faults[0]: body and retry_after belong to an error: give an error_rate`},
		{`{"api_faults":[{"route":"GET /phones/v1","error_rate":1,"retry_after":"0s"}]}`, `api_faults[0].retry_after: must be at least 1s, got "0s"`},
		{`{"api_faults":[{"route":"GET /phones/v1","latency":{"value":"6m"}}]}`, `api_faults[0].latency: must be at most 5m, got fixed 6m`},
		{`{"api_faults":[{"route":"GET /phones/v1","latency":{"median":"1s","p99":"10m"}}]}`, `api_faults[0].latency: must be at most 5m, got lognormal median 1s p99 10m`},
		{`{"api_faults":[{"route":"GET /phones/v1","next":[{"calls":0}]}]}`, `api_faults[0].next[0].calls: must be at least 1, got 0`},
		{`{"api_faults":[{"route":"GET /phones/v1","next":[{"calls":1,"status":503,"drop":true}]}]}`, `api_faults[0].next[0]: a step answers a status or drops the connection, not both`},
		{`{"api_faults":[{"route":"GET /phones/v1","next":[{"calls":1,"retry_after":"1s"}]}]}`, `api_faults[0].next[0]: body and retry_after belong to an error: give a status`},
		{`{"api_faults":[{"route":"GET /phones/v1","next":[{"calls":600000},{"calls":600000}]}]}`, `api_faults[0].next[1].calls: the script counts more than 1000000 calls`},
		{`{"api_faults":[{"route":"GET /phones/v1","speed":1}]}`, `api_faults[0].speed: unknown field`},
	} {
		for _, method := range []string{"PUT", "PATCH"} {
			code, b := e.do(method, "/admin/v1/faults", c.body)
			if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
				t.Errorf("%s %s: %d %q, want 400 %q", method, c.body, code, p.Detail, c.detail)
			}
		}
	}
	var f core.Faults
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if f.APIFaults != nil {
		t.Errorf("api_faults after refusals: %+v, want none", f.APIFaults)
	}
}

// With a seed, which calls api_faults' rates hit is the same in every run:
// the draws are named by the namespace, the route and the call's number.
func TestAPIFaultsAreSeeded(t *testing.T) {
	run := func() []int {
		e := newEnv(t, withSeed(42))
		e.patchFaults(`{"api_faults":[{"route":"GET /phones/v1/{phone}/messages","error_rate":0.5,"status":500}]}`)
		var out []int
		for range 16 {
			out = append(out, e.raw("GET", "/phones/v1/13800000001/messages", "").status)
		}
		return out
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, 500) || !slices.Contains(a, 200) {
		t.Errorf("a rate of 0.5 over 16 calls: %v, want some of each", a)
	}
}

// A scenario sets api_faults as a profile does, and starts their count.
func TestScenarioAPIFaults(t *testing.T) {
	e := newEnv(t)
	e.call("PUT", "/admin/v1/scenario", `{"name":"miit_down","faults":{"api_faults":[`+
		`{"route":"POST /miit/v1/validations","next":[{"calls":2,"status":503,"retry_after":"30s"}]}]}}`, 200, nil)
	for i, want := range []int{503, 503, 200} {
		if x := e.raw("POST", "/miit/v1/validations", validation("13800000001")); x.status != want {
			t.Errorf("call %d: %d %s, want %d", i+1, x.status, x.body, want)
		}
	}
}

// The magic numbers of the API: 19900000007's first validation or resend
// is a 503 with Retry-After: 1, 19900000008's loses its connection; the
// next ones are answered as usual, and a reset makes the next the first
// again. With magic_numbers off, nothing.
func TestMagicAPINumbers(t *testing.T) {
	e := newEnv(t)
	x := e.raw("POST", "/miit/v1/validations", validation("+8619900000007"))
	if x.status != 503 || x.header.Get("Retry-After") != "1" ||
		x.body != injected(503, "injected on POST /miit/v1/validations for the magic number 19900000007, on its first call") {
		t.Errorf("first validation of 19900000007: %d Retry-After %q %s", x.status, x.header.Get("Retry-After"), x.body)
	}
	if x := e.raw("POST", "/miit/v1/resends", `{"phone":"19900000007","certificate_last6":"071234"}`); x.status != 200 {
		t.Errorf("then its resend: %d %s, want 200", x.status, x.body)
	}
	if x := e.raw("POST", "/miit/v1/resends", `{"phone":"19900000008","certificate_last6":"071234"}`); x.err == nil {
		t.Errorf("first resend of 19900000008: %d %s, want the connection dropped", x.status, x.body)
	}
	if x := e.raw("POST", "/miit/v1/validations", validation("19900000008")); x.status != 200 || x.body != notFound {
		t.Errorf("then its validation: %d %s, want MIIT's not_found", x.status, x.body)
	}
	var faults []string
	for _, en := range e.requests("") {
		f, _ := json.Marshal(en.Fault)
		faults = append(faults, fmt.Sprintf("%d %s", en.Status, f))
	}
	if want := []string{`503 {"call":1,"magic":"19900000007","status":503}`, "200 null",
		`0 {"call":1,"magic":"19900000008","dropped":true}`, "200 null"}; !slices.Equal(faults, want) {
		t.Errorf("the journal %q, want %q", faults, want)
	}
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	if x := e.raw("POST", "/miit/v1/validations", validation("19900000007")); x.status != 503 {
		t.Errorf("after a reset: %d %s, want the 503 again", x.status, x.body)
	}
	e.patchFaults(`{"magic_numbers":false}`)
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	e.patchFaults(`{"magic_numbers":false}`)
	if x := e.raw("POST", "/miit/v1/validations", validation("19900000007")); x.status != 200 {
		t.Errorf("magic_numbers off: %d %s, want 200", x.status, x.body)
	}
}

// The journal keeps every request to the provider, MIIT and phone APIs:
// method, route, path, query, body, status, answer, both clocks, the
// numbers and the order; the admin API's requests are not in it. Filters
// choose by route, number, order and simulated time; ?format=jsonl and
// Accept: application/x-ndjson answer JSON lines.
func TestRequestJournal(t *testing.T) {
	e := newEnv(t)
	e.zeroLags()
	before := time.Now().UTC()
	v := e.submit(firstFilingWebsite("13800000001", "+8613800000002"))
	e.advance("1h")
	code := e.code("13800000001")
	status, body := e.do("POST", "/miit/v1/validations?lang=en", `{"code": "`+code+`", "phone":"13800000001","certificate_last6":"071234"}`)
	if status != 200 {
		t.Fatalf("validation: %d %s", status, body)
	}
	e.do("POST", "/miit/v1/validations", "not json")
	all := e.requests("")
	var lines []string
	for _, en := range all {
		lines = append(lines, fmt.Sprintf("%s %s %s %d %v %s", en.Method, en.Route, en.Path, en.Status, en.Phones, en.Order))
	}
	want := []string{
		"POST POST /provider/v1/filings /provider/v1/filings 201 [13800000001 13800000002] " + v.ID,
		"GET GET /phones/v1/{phone}/messages /phones/v1/13800000001/messages 200 [13800000001] ",
		"POST POST /miit/v1/validations /miit/v1/validations 200 [13800000001] ",
		"POST POST /miit/v1/validations /miit/v1/validations 400 [] ",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("the journal\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	val := all[2]
	if string(val.Body) != `{"code":"`+code+`","phone":"13800000001","certificate_last6":"071234"}` || val.Query != "lang=en" ||
		string(val.Answer) != `{"result":"partial","message":"`+miit.TextPartial+`","rejected":false}` {
		t.Errorf("the validation's entry: body %s query %q answer %s", val.Body, val.Query, val.Answer)
	}
	if !val.At.Equal(t0.Add(time.Hour)) || !all[0].At.Equal(t0) || val.RealAt.Before(before) || val.RealAt.After(time.Now()) || val.ID == "" || val.Took == "" {
		t.Errorf("the validation's times: at %s real_at %s took %q id %q", val.At, val.RealAt, val.Took, val.ID)
	}
	if string(all[3].Body) != `"not json"` || !strings.Contains(string(all[3].Answer), `"status":400`) {
		t.Errorf("a body that is not JSON is kept as text: %s → %s", all[3].Body, all[3].Answer)
	}

	count := func(q string) int { return len(e.requests(q)) }
	for q, n := range map[string]int{
		"?route=POST%20/miit/v1/validations": 2, "?route=GET%20/phones/v1/%7Bphone%7D/messages": 1,
		"?phone=13800000002": 1, "?phone=%2B8613800000001": 3, "?order=" + v.ID: 1, "?order=f_0000000000000000": 0,
		"?since=2026-05-01T00:30:00Z": 3, "?until=2026-05-01T00:30:00Z": 1, "?since=2026-05-01T01:00:00Z&until=2026-05-01T01:00:00.001Z": 3,
		"?route=POST%20/miit/v1/validations&phone=13800000001": 1,
	} {
		if got := count(q); got != n {
			t.Errorf("%s: %d requests, want %d", q, got, n)
		}
	}
	for _, c := range []struct{ q, detail string }{
		{"?route=GET%20/nowhere", `route: "GET /nowhere" is not a route of the provider, MIIT or phone API; give one as openapi.json names it: ` + strings.Join(core.APIRoutes(), ", ")},
		{"?phone=12", `phone: "12" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
		{"?since=yesterday", `since: "yesterday" is not an RFC 3339 time such as "2026-05-01T08:00:00Z"`},
		{"?format=csv", `format: must be "json" or "jsonl", got "csv"`},
	} {
		code, b := e.do("GET", "/admin/v1/requests"+c.q, nil)
		if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
			t.Errorf("%s: %d %q, want 400 %q", c.q, code, p.Detail, c.detail)
		}
	}

	x := e.raw("GET", "/admin/v1/requests?format=jsonl&route=POST%20/miit/v1/validations", "")
	rows := strings.Split(strings.TrimSuffix(x.body, "\n"), "\n")
	if x.status != 200 || x.header.Get("Content-Type") != "application/x-ndjson" || len(rows) != 2 {
		t.Fatalf("jsonl: %d %q %q", x.status, x.header.Get("Content-Type"), x.body)
	}
	var first core.JournalEntry
	if err := json.Unmarshal([]byte(rows[0]), &first); err != nil || first.ID != val.ID {
		t.Errorf("jsonl's first line %s: %v, want the validation", rows[0], err)
	}
	req, _ := http.NewRequest("GET", e.url+"/admin/v1/requests?order="+v.ID, nil)
	req.Header.Set("Accept", "application/json, application/x-ndjson;q=0.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/x-ndjson" || strings.Count(string(b), "\n") != 1 {
		t.Errorf("Accept: application/x-ndjson: %q %s", resp.Header.Get("Content-Type"), b)
	}

	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	if n := count(""); n != 0 {
		t.Errorf("after a reset: %d requests, want none", n)
	}
}

// The journal keeps at most 4 KiB of a path and of a query: a client's
// long URLs cannot fill the store.
func TestJournalCutsLongURLs(t *testing.T) {
	e := newEnv(t)
	e.zeroLags()
	long := strings.Repeat("x", 10000)
	e.call("GET", "/provider/v1/filings?x="+long, nil, 200, nil)
	all := e.requests("")
	if len(all) != 1 {
		t.Fatalf("%d entries, want 1", len(all))
	}
	if q := all[0].Query; len(q) != core.JournalURLMax || q != ("x=" + long)[:core.JournalURLMax] || !all[0].Truncated {
		t.Fatalf("the query kept: %d bytes, truncated %v; want its first %d", len(q), all[0].Truncated, core.JournalURLMax)
	}
}

// A call refused for its Content-Type is in the journal like any other
// refusal, where a client looks for what it sent wrong; it counts as no
// call of api_faults, and in a namespace nothing was written to it makes
// nothing.
func TestJournalKeepsACallOfTheWrongContentType(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"api_faults":[{"route":"POST /miit/v1/validations","next":[{"calls":1,"status":503}]}]}`)
	send := func(in *instance) (int, string) {
		req, _ := http.NewRequest("POST", in.url+"/miit/v1/validations", strings.NewReader(validation("13800000001")))
		req.Header.Set("Content-Type", "text/plain")
		if in.ns != "" {
			req.Header.Set(server.NamespaceHeader, in.ns)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const detail = `Content-Type: a POST must say application/json, even without a body; got \"text/plain\"`
	if code, b := send(e.instance); code != 415 || !strings.Contains(b, detail) {
		t.Fatalf("text/plain: %d %s, want 415 naming the Content-Type", code, b)
	}
	if x := e.raw("POST", "/miit/v1/validations", validation("13800000001")); x.status != 503 {
		t.Errorf("the call after the refusal: %d %s, want api_faults' call 1, the 503", x.status, x.body)
	}
	all := e.requests("")
	if len(all) != 2 {
		t.Fatalf("%d entries, want the refusal and the call", len(all))
	}
	r := all[0]
	if r.Status != 415 || r.Route != "POST /miit/v1/validations" || string(r.Body) != validation("13800000001") ||
		!strings.Contains(string(r.Answer), `"status":415`) || !slices.Equal(r.Phones, []string{"13800000001"}) || r.Fault != nil {
		t.Errorf("the refusal's entry: %d %s body %s answer %s phones %v fault %v", r.Status, r.Route, r.Body, r.Answer, r.Phones, r.Fault)
	}

	fresh := e.in("fresh")
	if code, _ := send(fresh); code != 415 {
		t.Fatalf("text/plain in a new namespace: %d, want 415", code)
	}
	var nss struct{ Namespaces []struct{ Name string } }
	e.call("GET", "/admin/v1/namespaces", nil, 200, &nss)
	for _, n := range nss.Namespaces {
		if n.Name == "fresh" {
			t.Errorf("a refused call made its namespace: %+v", nss)
		}
	}
	if got := fresh.requests(""); len(got) != 0 {
		t.Errorf("the new namespace's journal: %+v, want none", got)
	}
}

// A body that is JSON but for a string of bad UTF-8, or one escaping half
// a surrogate pair, is refused; the journal keeps its text as a JSON
// string, so that the journal stays JSON any reader can take.
func TestJournalOfABodyOfBadUTF8IsJSON(t *testing.T) {
	e := newEnv(t)
	bodies := []string{
		"{\"code\":\"123456\",\"phone\":\"13800000001\",\"certificate_last6\":\"\xff\xfeabcd\"}",
		`{"code":"123456","phone":"13800000001","certificate_last6":"\ud800abcd"}`,
	}
	for _, b := range bodies {
		if status, answer := e.do("POST", "/miit/v1/validations", b); status != 400 {
			t.Fatalf("%q: %d %s, want 400", b, status, answer)
		}
	}
	for _, format := range []string{"json", "jsonl"} {
		x := e.raw("GET", "/admin/v1/requests?format="+format, "")
		if x.status != 200 {
			t.Fatalf("%s: %d %s", format, x.status, x.body)
		}
		if err := core.CheckUTF8([]byte(x.body)); err != nil {
			t.Errorf("the journal as %s is no JSON a strict reader takes: %v\n%s", format, err, x.body)
		}
	}
	all := e.requests("")
	if len(all) != 2 {
		t.Fatalf("%d entries, want 2", len(all))
	}
	want := []string{
		`"{\"code\":\"123456\",\"phone\":\"13800000001\",\"certificate_last6\":\"\ufffdabcd\"}"`,
		`"{\"code\":\"123456\",\"phone\":\"13800000001\",\"certificate_last6\":\"\\ud800abcd\"}"`,
	}
	for i, en := range all {
		var text, wantText string
		if err := json.Unmarshal(en.Body, &text); err != nil {
			t.Errorf("entry %d's body %s: %v, want the text as a JSON string", i, en.Body, err)
			continue
		}
		json.Unmarshal([]byte(want[i]), &wantText)
		if text != wantText || !slices.Equal(en.Phones, []string{"13800000001"}) {
			t.Errorf("entry %d's body %q, numbers %v; want %q, [13800000001]", i, text, en.Phones, wantText)
		}
	}
}

// The journal keeps the newest --journal-max requests of a namespace, and
// lives the retention from its last write; with no journal, nothing is
// kept.
func TestJournalCapAndLifetime(t *testing.T) {
	e := newEnv(t, withLimits(core.Limits{Retention: time.Hour, NamespaceTTL: 24 * time.Hour}))
	e.hooks = func(c *simulator.Config) { c.JournalMax = 3 }
	in := e.newInstance()
	for i := range 5 {
		in.call("GET", fmt.Sprintf("/phones/v1/1380000000%d/messages", i), nil, 200, nil)
	}
	var paths []string
	for _, en := range in.requests("") {
		paths = append(paths, en.Path)
	}
	if want := []string{"/phones/v1/13800000002/messages", "/phones/v1/13800000003/messages", "/phones/v1/13800000004/messages"}; !slices.Equal(paths, want) {
		t.Errorf("the journal %v, want the newest three %v", paths, want)
	}
	e.wantTTL("the journal", e.keys().Journal(), time.Hour)

	e.hooks = func(c *simulator.Config) { c.JournalMax = -1 }
	off := e.newInstance().in("off")
	off.call("GET", "/phones/v1/13800000001/messages", nil, 200, nil)
	if got := off.requests(""); len(got) != 0 {
		t.Errorf("no journal: %d requests kept", len(got))
	}
}

// Each process keeps the requests it served: another process's reading
// shows them once that process wrote them — at the latest when it stops.
func TestJournalOfSeveralProcesses(t *testing.T) {
	e := newEnv(t)
	b := e.newInstance()
	e.call("GET", "/phones/v1/13800000001/messages", nil, 200, nil)
	b.call("GET", "/phones/v1/13800000002/messages", nil, 200, nil)
	b.stop()
	var paths []string
	for _, en := range e.requests("") {
		paths = append(paths, en.Path)
	}
	slices.Sort(paths)
	if want := []string{"/phones/v1/13800000001/messages", "/phones/v1/13800000002/messages"}; !slices.Equal(paths, want) {
		t.Errorf("the journal %v, want both processes' requests %v", paths, want)
	}
}

// A call whose connection an API fault drops is in the journal before the
// connection closes: a client that sees the drop and reads the journal
// finds it there. The server's side of the connection reads the journal as
// it is closed.
func TestADroppedCallIsJournaledBeforeTheDrop(t *testing.T) {
	e := newEnv(t)
	var (
		mu    sync.Mutex
		armed bool
		seen  []string // the journal's faults when the connection closed
		err   error
	)
	journalNow := func() ([]string, error) {
		resp, err := http.Get(e.url + "/admin/v1/requests")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out struct {
			Requests []core.JournalEntry `json:"requests"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, err
		}
		var faults []string
		for _, en := range out.Requests {
			f, _ := json.Marshal(en.Fault)
			faults = append(faults, fmt.Sprintf("%d %s %s", en.Status, en.Route, f))
		}
		return faults, nil
	}
	hs := httptest.NewUnstartedServer(e.srv.Routes())
	hs.Listener = &closeHookListener{Listener: hs.Listener, closing: func() {
		mu.Lock()
		defer mu.Unlock()
		if armed {
			armed = false
			seen, err = journalNow()
		}
	}}
	hs.Start()
	defer hs.Close()

	mu.Lock()
	armed = true
	mu.Unlock()
	resp, rerr := http.Post(hs.URL+"/miit/v1/resends", "application/json",
		strings.NewReader(`{"phone":"19900000008","certificate_last6":"071234"}`))
	if rerr == nil {
		resp.Body.Close()
		t.Fatalf("the first resend of 19900000008: %s, want the connection dropped", resp.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		t.Fatalf("reading the journal as the connection closed: %v", err)
	}
	want := []string{`0 POST /miit/v1/resends {"call":1,"magic":"19900000008","dropped":true}`}
	if !slices.Equal(seen, want) {
		t.Errorf("as the connection closed, the journal held %q, want %q", seen, want)
	}
}

// closeHookListener calls closing as each connection it accepted closes,
// before it does.
type closeHookListener struct {
	net.Listener
	closing func()
}

func (l *closeHookListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &closeHookConn{Conn: c, closing: l.closing}, nil
}

type closeHookConn struct {
	net.Conn
	closing func()
	once    sync.Once
}

func (c *closeHookConn) Close() error {
	c.once.Do(c.closing)
	return c.Conn.Close()
}

// The journal names an order only by a filing id: a path's id that is
// none (a typo, a control character, thousands of characters) is kept in
// the entry's path, not as its order, which the document says is a
// FilingID.
func TestJournalOrderIsAFilingID(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"nope", "%00", strings.Repeat("x", 5000), "F_0123456789ABCDEF", "f_0123456789abcdef0"} {
		if code, b := e.do("GET", "/provider/v1/filings/"+id, nil); code != 404 {
			t.Fatalf("GET /provider/v1/filings/%.20s: %d %s, want 404", id, code, b)
		}
	}
	e.do("POST", "/provider/v1/filings/nope/cancel", `{}`)
	e.do("GET", "/miit/v1/filings/f_0123456789abcdef", nil)
	var orders []string
	for _, en := range e.requests("") {
		orders = append(orders, en.Order)
	}
	want := []string{"", "", "", "", "", "", "f_0123456789abcdef"}
	if !slices.Equal(orders, want) {
		t.Errorf("the entries' orders %q, want %q", orders, want)
	}
}

// The body an api_faults entry answers goes out as it was given, its
// numbers as written: 2.0 stays 2.0, 1e3 stays 1e3 (a client may tell a
// float from a whole number), while the profile's own whole numbers
// written so are read as whole numbers.
func TestAPIFaultBodyKeepsItsNumbersAsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.call("PUT", "/admin/v1/faults", `{"api_faults":[`+
		`{"route":"POST /miit/v1/resends","error_rate":1.0,"status":429.0,"body":{"version":2.0,"n":1e3,"z":-0.0}}]}`, 200, nil)
	x := e.raw("POST", "/miit/v1/resends", `{"phone":"13800000001","certificate_last6":"071234"}`)
	if want := `{"n":1e3,"version":2.0,"z":-0.0}` + "\n"; x.status != 429 || x.body != want { // its keys in order, as always
		t.Errorf("resend: %d %s, want 429 %s", x.status, x.body, want)
	}
}
