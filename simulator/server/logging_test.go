package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"smsim/miit"
	"smsim/simulator/core/testkit"
)

// newLoggedEnv is an env whose server logs JSON from level debug into the
// returned buffer.
func newLoggedEnv(t *testing.T, opts ...envOption) (*env, *testkit.Buffer) {
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return newEnv(t, append(opts, withLogger(log))...), logs
}

// request sends a request with a X-Request-Id header (none when id is
// empty) and answers the status and the X-Request-Id of the answer.
func (in *instance) request(method, path, body, id string) (int, string) {
	in.t.Helper()
	req, err := http.NewRequest(method, in.url+path, strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Request-Id")
}

// breakCodeDelivery makes the gateway refuse to queue any message (the set
// of phones it keeps is no longer a set), so that carrying out a miit.code
// job fails with the code in the job's arguments.
func (e *env) breakCodeDelivery() {
	e.t.Helper()
	if err := e.rdb.Set(context.Background(), e.keys().Phones(), "x", 0).Err(); err != nil {
		e.t.Fatal(err)
	}
}

// codeByJob has MIIT take a minute to send a first code, so that a job
// (miit.code) texts it rather than the sync itself.
func (in *instance) codeByJob() {
	in.t.Helper()
	in.patchFaults(`{"miit_send_delay":{"min":"1m","max":"1m"}}`)
}

// liveCode reads the code MIIT holds for the first person of an order.
func (e *env) liveCode(id string) string {
	e.t.Helper()
	c, err := e.rdb.HGet(context.Background(), e.keys().Filing(id), "s1.code").Result()
	if err != nil || len(c) != 6 {
		e.t.Fatalf("code of %s: %q %v", id, c, err)
	}
	return c
}

// Each request is logged at info level with its method, route, status,
// duration and request id, and every line written while serving it —
// the failure of an event an advance carries out too — carries the same id.
func TestRequestIDOnEveryLogLine(t *testing.T) {
	e, logs := newLoggedEnv(t)
	if code, id := e.request("GET", "/admin/v1/clock", "", "client-chosen-1"); code != 200 || id != "client-chosen-1" {
		t.Fatalf("GET /admin/v1/clock: %d, X-Request-Id %q, want 200 and the client's id", code, id)
	}
	_, generated := e.request("GET", "/no/such/path", "", "")
	if len(generated) != 16 {
		t.Fatalf("generated X-Request-Id %q, want 16 hex digits", generated)
	}
	e.fixedLags("30m", "1m")
	e.codeByJob()
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000081")})
	e.advance("30m") // synced: the code job is due in a minute
	e.breakCodeDelivery()
	code, failed := e.request("POST", "/admin/v1/clock/advance", `{"by":"1m"}`, "")
	if code != http.StatusInternalServerError {
		t.Fatalf("advance with the gateway broken: %d, want 500", code)
	}

	requests := map[string]map[string]any{}
	var during []map[string]any // lines written while serving the failed advance
	for _, rec := range logs.JSONLines(t) {
		id, _ := rec["request_id"].(string)
		if rec["msg"] == "request" {
			if rec["level"] != "INFO" {
				t.Errorf("request line at %v: %v", rec["level"], rec)
			}
			requests[id] = rec
		} else if id == failed {
			during = append(during, rec)
		}
	}
	for _, c := range []struct {
		id, method, route, namespace string
		status                       float64
	}{
		{"client-chosen-1", "GET", "GET /admin/v1/clock", "default", 200},
		{generated, "GET", "unmatched", "", 404},
		{failed, "POST", "POST /admin/v1/clock/advance", "default", 500},
	} {
		rec := requests[c.id]
		if rec == nil {
			t.Errorf("no request line with request_id %q", c.id)
			continue
		}
		ns, _ := rec["namespace"].(string)
		if rec["method"] != c.method || rec["route"] != c.route || ns != c.namespace || rec["status"] != c.status || rec["duration"] == nil {
			t.Errorf("request line %v, want method %s, route %s, namespace %q, status %v and a duration", rec, c.method, c.route, c.namespace, c.status)
		}
	}
	var sawError, sawEvent bool
	for _, rec := range during {
		sawError = sawError || (rec["level"] == "ERROR" && rec["msg"] == "request failed")
		sawEvent = sawEvent || (rec["msg"] == "job failed" && rec["component"] == "scheduler")
	}
	if !sawError || !sawEvent {
		t.Fatalf("lines of the failed advance %v: want its error and the scheduler's line, with its request id", during)
	}
}

// No line above debug level holds a verification code: not the request
// lines, not the failure of a miit.code event (whose arguments hold the
// code), which only a debug line shows in full.
func TestNoCodeInLogsAboveDebug(t *testing.T) {
	e, logs := newLoggedEnv(t, withSeed(3))
	const phone = "13900000091"
	e.fixedLags("30m", "1m")
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	e.advance("30m")
	codes := []string{e.code(phone)}
	wantValidation(t, e.validate(wrong(codes[0]), phone, leaderCert), "failed", false)
	wantResend(t, e.resend(phone, leaderCert), "resent")
	codes = append(codes, e.code(phone))
	e.polled(phone)
	wantValidation(t, e.validate(codes[1], phone, leaderCert), "complete", false)
	if s := e.miitView(v.ID).Status; s != "under_review" {
		t.Fatalf("order %s, want under_review", s)
	}

	// a second order whose code message cannot be queued
	e.codeByJob()
	w := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000092")})
	e.advance("30m") // synced: the code job is due in a minute
	e.breakCodeDelivery()
	if code, b := e.do("POST", "/admin/v1/clock/advance", map[string]string{"by": "1m"}); code != http.StatusInternalServerError {
		t.Fatalf("advance with the gateway broken: %d %s, want 500", code, b)
	}
	codes = append(codes, e.liveCode(w.ID))

	var failure, debugShowsCode bool
	for _, rec := range logs.JSONLines(t) {
		for _, c := range codes {
			if !holdsCode(rec, c) {
				continue
			}
			if rec["level"] == "DEBUG" {
				debugShowsCode = debugShowsCode || c == codes[2]
				continue
			}
			t.Errorf("code %s in a %v line: %v", c, rec["level"], rec)
		}
		if rec["level"] == "ERROR" && strings.Contains(str(rec["err"]), "miit.code") {
			failure = true
		}
	}
	if !failure {
		t.Error("no error line names the failed miit.code event")
	}
	if !debugShowsCode {
		t.Error("no debug line shows the failed event in full: the check above would not see a code")
	}
}

// polled reads the phone's newest code through the long poll, as clients
// do.
func (in *instance) polled(phone string) {
	in.t.Helper()
	if m := polledMessage(in.t, in.next(phone, "after=start&from_miit=true&timeout=5s")); m.Code == "" {
		in.t.Fatalf("long poll answered %+v, want a code", m)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// holdsCode tells whether a text value of a log line (any attribute but the
// request id, which a client chooses) holds code as a number of its own.
func holdsCode(rec map[string]any, code string) bool {
	re := regexp.MustCompile(`(^|[^0-9])` + code + `([^0-9]|$)`)
	for k, v := range rec {
		if s, ok := v.(string); ok && k != "request_id" && re.MatchString(s) {
			return true
		}
	}
	return false
}
