package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/server"
	"smsim/simulator/server/openapitest"
)

// send sends a POST with a JSON body and the headers hdr (a header given
// as several values is sent as several lines), checked against the
// OpenAPI document, and answers the answer and its body.
func (in *instance) send(path, body string, hdr map[string][]string) (*http.Response, []byte) {
	in.t.Helper()
	req, err := http.NewRequest("POST", in.url+path, strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if in.ns != "" {
		req.Header.Set(server.NamespaceHeader, in.ns)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := (&http.Client{Transport: openapitest.Transport(in.t, nil)}).Do(req)
	if err != nil {
		in.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return resp, b
}

func keyed(key string) map[string][]string { return map[string][]string{"Idempotency-Key": {key}} }

// answerProblem decodes a problem detail, failing the test unless it is one
// of status.
func answerProblem(t *testing.T, resp *http.Response, b []byte, status int) server.Problem {
	t.Helper()
	var p server.Problem
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d (%s) %s, want a %d problem", resp.StatusCode, resp.Header.Get("Content-Type"), b, status)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A submission sent again with its Idempotency-Key is answered the first
// answer and carried out once: one order, one filing.submitted event, one
// notice on the phone. The key given to another request is a 422; another
// namespace has keys of its own.
func TestIdempotencyKeyReplaysTheAnswer(t *testing.T) {
	e := newEnv(t, withSeed(7))
	body := `{"type":"first_filing","variant":"app","entity_leader":{"name":"Li Lei","phone":"13800000001","certificate_number":"110101199003071234"}}`
	first, b1 := e.send("/provider/v1/filings", body, keyed("order-1"))
	if first.StatusCode != 201 || first.Header.Get(server.ReplayedHeader) != "" {
		t.Fatalf("first: %d %q %s", first.StatusCode, first.Header.Get(server.ReplayedHeader), b1)
	}
	again, b2 := e.send("/provider/v1/filings", body, keyed("order-1"))
	if again.StatusCode != 201 || string(b2) != string(b1) || again.Header.Get(server.ReplayedHeader) != "true" ||
		again.Header.Get("Content-Type") != "application/json" || again.Header.Get(server.NamespaceHeader) != "default" {
		t.Fatalf("again: %d %v %s, want the first answer again, %s", again.StatusCode, again.Header, b2, b1)
	}
	var list struct{ Total int }
	e.call("GET", "/provider/v1/filings", nil, 200, &list)
	submitted := 0
	for _, r := range e.events("0").Events {
		if r.Kind == core.KindFilingSubmitted {
			submitted++
		}
	}
	if inbox := e.inbox("13800000001"); list.Total != 1 || submitted != 1 || len(inbox) != 1 {
		t.Fatalf("%d orders, %d filing.submitted, %d messages on the phone; want one each", list.Total, submitted, len(inbox))
	}

	other := strings.Replace(body, "app", "website", 1)
	resp, b := e.send("/provider/v1/filings", strings.Replace(other, `"entity_leader"`, `"website_admin":{"name":"Han Meimei","phone":"13800000002","certificate_number":"11010119920101567X"},"entity_leader"`, 1), keyed("order-1"))
	p := answerProblem(t, resp, b, 422)
	if p.Type != "urn:smsim:problem:idempotency-key-reused" ||
		p.Detail != `Idempotency-Key: "order-1" was given to another request (another method, path, query or body) within 24h; give a new request a new key` {
		t.Fatalf("another body with the key: %+v", p)
	}
	resp, b = e.send("/miit/v1/resends", `{"phone":"13800000001","certificate_last6":"071234"}`, keyed("order-1"))
	if answerProblem(t, resp, b, 422).Type != "urn:smsim:problem:idempotency-key-reused" {
		t.Fatalf("another path with the key: %s", b)
	}

	resp, b = e.in("team-b").send("/provider/v1/filings", body, keyed("order-1"))
	if resp.StatusCode != 201 || resp.Header.Get(server.ReplayedHeader) != "" {
		t.Fatalf("the key in another namespace: %d %s, want a new order", resp.StatusCode, b)
	}
	var mine, theirs struct{ Total int }
	e.call("GET", "/provider/v1/filings", nil, 200, &mine)
	e.in("team-b").call("GET", "/provider/v1/filings", nil, 200, &theirs)
	if mine.Total != 1 || theirs.Total != 1 {
		t.Fatalf("%d orders in default, %d in team-b; want one each", mine.Total, theirs.Total)
	}
}

// An answer below 500 is kept whatever it says — a domain outcome, a 400 —
// but a 415; a request without the key is carried out every time.
func TestIdempotencyKeyKeepsEveryAnswerBelow500(t *testing.T) {
	e := newEnv(t)
	bad := `{"code":"12345","phone":"13800000001","certificate_last6":"071234"}`
	for i := range 2 {
		resp, b := e.send("/miit/v1/validations", bad, keyed("v-1"))
		p := answerProblem(t, resp, b, 400)
		if p.Detail != `code: must be exactly six digits, got "12345"` || (resp.Header.Get(server.ReplayedHeader) == "true") != (i == 1) {
			t.Fatalf("attempt %d: %+v, replayed %q", i, p, resp.Header.Get(server.ReplayedHeader))
		}
	}
	resend := `{"phone":"13800000001","certificate_last6":"071234"}`
	var r1, r2 miit.ResendResult
	for i, r := range []*miit.ResendResult{&r1, &r2} {
		resp, b := e.send("/miit/v1/resends", resend, keyed("r-1"))
		if resp.StatusCode != 200 || (resp.Header.Get(server.ReplayedHeader) == "true") != (i == 1) {
			t.Fatalf("attempt %d: %d %s", i, resp.StatusCode, b)
		}
		json.Unmarshal(b, r)
	}
	if r1 != r2 || r1.Result != "not_found" || r1.Message != miit.TextResendNotFound {
		t.Fatalf("resends %+v then %+v", r1, r2)
	}
	// A body of another type is a 415, not kept: sent right, it is carried out.
	msg := `{"from":"95187","to":"13800000009","body":"hello"}`
	req, _ := http.NewRequest("POST", e.url+"/gateway/v1/messages", strings.NewReader(msg))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Idempotency-Key", "m-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Fatalf("a text/plain body: %d", resp.StatusCode)
	}
	if resp, b := e.send("/gateway/v1/messages", msg, keyed("m-1")); resp.StatusCode != 202 || resp.Header.Get(server.ReplayedHeader) != "" {
		t.Fatalf("the same sent as JSON with the key: %d %s, want it carried out", resp.StatusCode, b)
	}
	for range 2 {
		resp, b := e.send("/gateway/v1/messages", msg, nil)
		if resp.StatusCode != 202 || resp.Header.Get(server.ReplayedHeader) != "" {
			t.Fatalf("without a key: %d %s", resp.StatusCode, b)
		}
	}
	if n := len(e.inbox("13800000009")); n != 3 {
		t.Fatalf("%d messages on the phone, want 3: one with the key, two without", n)
	}
}

// A key that is empty, too long, not printable ASCII or given twice is a
// 400 that changes nothing.
func TestIdempotencyKeyBadKeys(t *testing.T) {
	e := newEnv(t)
	body := `{"from":"95187","to":"13800000009","body":"hello"}`
	long := strings.Repeat("k", 256)
	for _, c := range []struct {
		name   string
		values []string
		detail string
	}{
		{"empty", []string{""}, `Idempotency-Key: must be 1 to 255 printable ASCII characters, no spaces, got ""`},
		{"space", []string{"a b"}, `Idempotency-Key: must be 1 to 255 printable ASCII characters, no spaces, got "a b"`},
		{"too long", []string{long}, `Idempotency-Key: must be 1 to 255 printable ASCII characters, no spaces, got "` + long + `"`},
		{"not ASCII", []string{"clé"}, `Idempotency-Key: must be 1 to 255 printable ASCII characters, no spaces, got "clé"`},
		{"twice", []string{"a", "b"}, `Idempotency-Key: given 2 times; give one`},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, b := e.send("/gateway/v1/messages", body, map[string][]string{"Idempotency-Key": c.values})
			if p := answerProblem(t, resp, b, 400); p.Detail != c.detail {
				t.Fatalf("detail %q, want %q", p.Detail, c.detail)
			}
		})
	}
	if n := len(e.inbox("13800000009")); n != 0 {
		t.Fatalf("%d messages sent with bad keys", n)
	}
}

// With a key, a submission costs two round trips more — the claim of the
// key and the record of the answer — and its replay one, the claim.
func TestIdempotencyKeyCommandBudget(t *testing.T) {
	e := newEnv(t)
	var count commandCounter
	e.rdb.AddHook(&count)
	body := `{"type":"first_filing","variant":"app","entity_leader":{"name":"Li Lei","phone":"13800000001","certificate_number":"110101199003071234"}}`
	e.send("/provider/v1/filings", body, keyed("warm")) // loads the scripts, makes the namespace
	for _, c := range []struct {
		key  string
		want int
	}{
		{"", 1},
		{"k-1", 3},
		{"k-1", 1},
	} {
		count.take()
		var hdr map[string][]string
		if c.key != "" {
			hdr = keyed(c.key)
		}
		if resp, b := e.send("/provider/v1/filings", body, hdr); resp.StatusCode != 201 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		if n, parts := count.take(); n != c.want {
			t.Errorf("key %q: %d commands (%s), want %d", c.key, n, parts, c.want)
		}
	}
}
