package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"smsim/simulator/server"
)

// guardRequest sends a request with Host host (empty: the URL's) and the
// headers given, and answers the status, the answer's headers and body.
func guardRequest(t *testing.T, method, u, host, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// wantGuard checks a refusal: its status, its problem type and the start
// of its detail.
func wantGuard(t *testing.T, what string, status int, body string, wantStatus int, wantType, detail string) {
	t.Helper()
	var p problem
	if err := json.Unmarshal([]byte(body), &p); err != nil || status != wantStatus || p.Type != wantType || !strings.HasPrefix(p.Detail, detail) {
		t.Errorf("%s: %d %s, want %d %s starting %q", what, status, body, wantStatus, wantType, detail)
	}
}

const jsonType = "application/json"

// A request whose Host is not loopback nor allowed (DNS rebinding) is a
// 421, on every route but the probes'; a loopback name, an allowed one and
// the probes pass.
func TestGuardHost(t *testing.T) {
	e := newEnv(t, withServer(server.Config{AllowedHosts: []string{"smsim.internal"}}))
	_, port, _ := strings.Cut(strings.TrimPrefix(e.url, "http://"), ":")
	for _, c := range []struct {
		method, path, host string
		want               int
	}{
		{"GET", "/admin/v1/clock", "attacker.example:" + port, 421},
		{"GET", "/phones/v1/13800000001/messages", "attacker.example", 421},
		{"POST", "/admin/v1/reset", "attacker.example:" + port, 421},
		{"GET", "/ws/events", "attacker.example:" + port, 421},
		{"GET", "/nowhere", "127.0.0.2.nip.io", 421},
		{"GET", "/admin/v1/clock", "localhost:" + port, 200},
		{"GET", "/admin/v1/clock", "LOCALHOST", 200},
		{"GET", "/admin/v1/clock", "[::1]:" + port, 200},
		{"GET", "/admin/v1/clock", "127.0.0.2", 200},
		{"GET", "/admin/v1/clock", "smsim.internal:" + port, 200},
		{"GET", "/admin/v1/clock", "SMSIM.internal.", 200},
		{"GET", "/healthz", "attacker.example", 200},
		{"GET", "/readyz", "attacker.example", 200},
		{"GET", "/metrics", "attacker.example", 200},
	} {
		status, _, body := guardRequest(t, c.method, e.url+c.path, c.host, "", map[string]string{"Content-Type": jsonType})
		if c.want == 421 {
			wantGuard(t, c.method+" "+c.path+" Host "+c.host, status, body, 421, "urn:smsim:problem:misdirected", `Host: "`+c.host+`" is not a name this server answers to`)
		} else if status != c.want {
			t.Errorf("%s %s Host %s: %d %s, want %d", c.method, c.path, c.host, status, body, c.want)
		}
	}
	for _, host := range []string{"localhost:" + port + ",evil", "127.0.0.1:+80", "[::1]:99999", "localhost:8o",
		"evil,x.localhost:" + port, "evil.example;.localhost", "[localhost]:" + port} {
		status, _, body := guardRequest(t, "POST", e.url+"/admin/v1/reset", host, "", map[string]string{"Content-Type": jsonType})
		wantGuard(t, "POST /admin/v1/reset Host "+host, status, body, 400, "urn:smsim:problem:invalid-input", `Host: "`+host+`": not a host name or address with, if any, a port from 0 to 65535`)
	}
	for _, host := range []string{"localhost:", "[::1]", "my_box.localhost:" + port, "LOCALHOST.:" + port, "127.0.0.1:0080"} {
		if status, _, body := guardRequest(t, "GET", e.url+"/admin/v1/clock", host, "", nil); status != 200 {
			t.Errorf("GET /admin/v1/clock Host %s: %d %s, want 200", host, status, body)
		}
	}
	if got := e.now(); !got.Equal(t0) {
		t.Fatalf("clock %s after refused requests, want %s", got, t0)
	}
}

// A request from a page of another origin is a 403 — a websocket
// handshake too —; a page of this server and a program (no Origin) pass.
func TestGuardOrigin(t *testing.T) {
	e := newEnv(t, withServer(server.Config{AllowedHosts: []string{"smsim.internal"}}))
	host := strings.TrimPrefix(e.url, "http://")
	for _, c := range []struct {
		origin string
		want   int
	}{
		{"http://attacker.example", 403},
		{"http://attacker.example:" + strings.Split(host, ":")[1], 403},
		{"null", 403},
		{"file://", 403},
		{"http://localhost:1", 403}, // another port of loopback is another origin
		{e.url, 200},
		{"http://smsim.internal:8443", 200},
		{"", 200},
	} {
		hdr := map[string]string{"Content-Type": jsonType}
		if c.origin != "" {
			hdr["Origin"] = c.origin
		}
		status, _, body := guardRequest(t, "POST", e.url+"/admin/v1/clock/advance", "", `{"by":"1m"}`, hdr)
		if c.want == 403 {
			wantGuard(t, "Origin "+c.origin, status, body, 403, "urn:smsim:problem:forbidden", `Origin: "`+c.origin+`" is not this server`)
		} else if status != c.want {
			t.Errorf("Origin %q: %d %s, want %d", c.origin, status, body, c.want)
		}
	}
	if got, want := e.now(), t0.Add(3*60e9); !got.Equal(want) {
		t.Fatalf("clock %s: want %s, moved by the three requests let in only", got, want)
	}
	ws := "ws" + strings.TrimPrefix(e.url, "http")
	for _, path := range []string{"/ws/events", "/phones/v1/13800000001/ws"} {
		_, resp, err := websocket.DefaultDialer.Dial(ws+path, http.Header{"Origin": {"http://attacker.example"}})
		if err == nil || resp == nil || resp.StatusCode != 403 {
			t.Errorf("%s from another origin: %v %v, want a 403", path, resp, err)
		}
		conn, _, err := websocket.DefaultDialer.Dial(ws+path, http.Header{"Origin": {e.url}})
		if err != nil {
			t.Fatalf("%s from this server's page: %v", path, err)
		}
		conn.Close()
	}
}

// With an admin token, the admin and phone-control routes want it, in
// constant time, as Authorization: Bearer; the others do not.
func TestGuardToken(t *testing.T) {
	e := newEnv(t, withServer(server.Config{AdminToken: "s3cret-token"}))
	for _, c := range []struct {
		method, path, body string
	}{
		{"GET", "/admin/v1/clock", ""},
		{"POST", "/admin/v1/clock/advance", `{"by":"1h"}`},
		{"POST", "/admin/v1/reset", ""},
		{"GET", "/admin/v1/namespaces", ""},
		{"POST", "/admin/v1/webhooks", `{"url":"http://127.0.0.1:9/"}`},
		{"PUT", "/phones/v1/13800000001/profile", `{"spam_filter":true}`},
		{"GET", "/phones/v1/13800000001/profile", ""},
		{"DELETE", "/phones/v1/13800000001/messages", ""},
		{"PUT", "/phones/v1/13800000001/script", `{"steps":[]}`},
	} {
		for _, auth := range []string{"", "Bearer wrong", "Basic czNjcmV0LXRva2Vu", "Bearer s3cret-token-and-more"} {
			status, h, body := guardRequest(t, c.method, e.url+c.path, "", c.body, map[string]string{"Content-Type": jsonType, "Authorization": auth})
			detail := "Authorization: not the admin token"
			if auth == "" {
				detail = "Authorization: this route wants the admin token (--admin-token) as Authorization: Bearer <token>"
			}
			wantGuard(t, c.method+" "+c.path+" "+auth, status, body, 401, "urn:smsim:problem:unauthorized", detail)
			if got := h.Get("WWW-Authenticate"); got != `Bearer realm="smsim"` {
				t.Errorf("%s %s: WWW-Authenticate %q", c.method, c.path, got)
			}
		}
	}
	status, _, body := guardRequest(t, "POST", e.url+"/admin/v1/clock/advance", "", `{"by":"1h"}`,
		map[string]string{"Content-Type": jsonType, "Authorization": "bearer s3cret-token"})
	if status != 200 || !strings.Contains(body, `"now":"2026-05-01T01:00:00Z"`) {
		t.Fatalf("advance with the token: %d %s, want the clock an hour on from the start: the refused requests moved nothing", status, body)
	}
	for _, path := range []string{"/phones/v1/13800000001/messages", "/provider/v1/filings", "/healthz"} {
		if status, _, body := guardRequest(t, "GET", e.url+path, "", "", nil); status != 200 {
			t.Errorf("GET %s without the token: %d %s, want 200", path, status, body)
		}
	}
	for _, p := range []string{"POST /admin/v1/reset", "GET /admin/v1/events", "PUT /phones/v1/{phone}/profile", "DELETE /phones/v1/{phone}/messages"} {
		if !server.Guarded(p) {
			t.Errorf("%s is not guarded", p)
		}
	}
	for _, p := range []string{"GET /phones/v1/{phone}/messages", "GET /phones/v1/{phone}/ws", "POST /miit/v1/validations", "GET /ws/events"} {
		if server.Guarded(p) {
			t.Errorf("%s is guarded", p)
		}
	}
}

// Every request that changes state says it is JSON, even without a body:
// a form, a text/plain body, a bodiless POST or DELETE with no type are
// 415s and change nothing.
func TestGuardContentType(t *testing.T) {
	e := newEnv(t)
	e.submit(firstFilingWebsite("13800000001", "13800000002"))
	for _, c := range []struct {
		method, path, ctype, body string
	}{
		{"POST", "/admin/v1/reset", "", ""},
		{"POST", "/admin/v1/reset", "text/plain", "x"},
		{"POST", "/admin/v1/reset", "application/x-www-form-urlencoded", "a=b"},
		{"POST", "/admin/v1/reset", "multipart/form-data; boundary=x", "--x--"},
		{"POST", "/admin/v1/clock/advance", "", `{"by":"48h"}`},
		{"POST", "/provider/v1/filings", "text/plain", `{"type":"first_filing","variant":"app","entity_leader":{"name":"A","phone":"13800000003","certificate_number":"110101199003071234"}}`},
		{"DELETE", "/phones/v1/13800000001/messages", "", ""},
		{"PUT", "/admin/v1/clock", "", `{"scale":2}`},
	} {
		hdr := map[string]string{}
		if c.ctype != "" {
			hdr["Content-Type"] = c.ctype
		}
		status, _, body := guardRequest(t, c.method, e.url+c.path, "", c.body, hdr)
		detail := "Content-Type: a " + c.method + " must say application/json, even without a body; "
		if c.ctype == "" {
			detail += "none was given"
		} else {
			detail += `got "` + c.ctype + `"`
		}
		wantGuard(t, c.method+" "+c.path+" "+c.ctype, status, body, 415, "urn:smsim:problem:unsupported-media-type", detail)
	}
	if got := e.now(); !got.Equal(t0) {
		t.Fatalf("clock %s after refused requests, want %s", got, t0)
	}
	var list struct{ Total int }
	e.call("GET", "/provider/v1/filings", nil, 200, &list)
	if list.Total != 1 || len(e.inbox("13800000001")) != 1 {
		t.Fatalf("%d filings, inbox %v after refused requests: want the one filing and its notice", list.Total, e.inbox("13800000001"))
	}
	if status, _, body := guardRequest(t, "POST", e.url+"/admin/v1/reset", "", "", map[string]string{"Content-Type": "application/json; charset=utf-8"}); status != 200 {
		t.Fatalf("a bodiless reset that says JSON: %d %s", status, body)
	}
}
