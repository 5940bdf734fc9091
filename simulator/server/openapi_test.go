package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/websocket"

	"smsim/simulator/server"
	"smsim/simulator/server/openapitest"
)

// The OpenAPI document (openapi.json, embedded and served at
// /openapi.json) is checked twice: as plain JSON, for what the tests below
// need to hold whatever library reads it, and with kin-openapi, which
// understands OpenAPI 3.1 (JSON Schema 2020-12), to validate its structure,
// its examples and real answers of the server against it.

// oaMethods are the operation fields of an OpenAPI path item.
var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaJSON parses the embedded document as plain JSON.
func oaJSON(t *testing.T) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(server.OpenAPI()))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("openapi.json: data after the JSON object")
	}
	return doc
}

// oaLoad loads and validates the embedded document with kin-openapi.
func oaLoad(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// oaOperations answers the operations of the document by "METHOD /path".
func oaOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatalf("paths: not an object")
	}
	out := map[string]map[string]any{}
	for path, item := range paths {
		pi, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("paths[%q]: not an object", path)
		}
		for _, m := range oaMethods {
			if op, ok := pi[m]; ok {
				o, ok := op.(map[string]any)
				if !ok {
					t.Fatalf("%s %s: not an object", m, path)
				}
				out[strings.ToUpper(m)+" "+path] = o
			}
		}
	}
	return out
}

// oaResolve follows a local reference ("#/components/…") in doc.
func oaResolve(doc map[string]any, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("%q is not a reference inside the document", ref)
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// oaDeref answers v, or what it refers to when it is a {"$ref": …}.
func oaDeref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		r, err := oaResolve(doc, ref)
		if err != nil {
			t.Fatal(err)
		}
		return oaDeref(t, doc, r)
	}
	return m
}

// oaPathOf turns a ServeMux pattern's path into an OpenAPI path:
// "/{$}" is "/", "{name...}" is "{name}".
func oaPathOf(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	return strings.ReplaceAll(p, "...}", "}")
}

func TestOpenAPIDocument(t *testing.T) {
	doc := oaJSON(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "smsim" || info["version"] != "0.1.0" {
		t.Errorf("info: title %v, version %v; want smsim, 0.1.0", info["title"], info["version"])
	}
	if d, _ := info["description"].(string); len(d) < 100 {
		t.Errorf("info.description: %q is too short to say what smsim is", d)
	}
	servers, _ := doc["servers"].([]any)
	if len(servers) != 1 || oaDeref(t, doc, servers[0])["url"] != "http://127.0.0.1:8080" {
		t.Errorf("servers = %v, want the one server http://127.0.0.1:8080", doc["servers"])
	}
	schemas, _ := oaResolve(doc, "#/components/schemas")
	for _, name := range []string{"SubmitRequest", "Person", "ProviderView", "ProviderPerson", "MIITView",
		"MIITPerson", "ValidateRequest", "ValidationResult", "ResendRequest", "ResendResult", "Message",
		"GatewayMessage", "PhoneProfile", "ClockState", "ClockUpdate", "AdvanceRequest", "Faults", "Range",
		"Review", "Problem"} {
		if _, ok := schemas.(map[string]any)[name]; !ok {
			t.Errorf("components.schemas: no %s", name)
		}
	}
	oaLoad(t)
}

// TestOpenAPIRoutes checks that the document describes exactly the routes
// the server registers.
func TestOpenAPIRoutes(t *testing.T) {
	e := newEnv(t)
	served := map[string]bool{}
	for _, p := range e.srv.Patterns() {
		method, path, ok := strings.Cut(p, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			t.Errorf("pattern %q: want METHOD /path (a method-less or host pattern cannot be described per method)", p)
			continue
		}
		served[method+" "+oaPathOf(path)] = true
	}
	ops := oaOperations(t, oaJSON(t))
	for k := range served {
		if _, ok := ops[k]; !ok {
			t.Errorf("the server serves %s; the document does not describe it", k)
		}
	}
	for k := range ops {
		if !served[k] {
			t.Errorf("the document describes %s; the server has no such route", k)
		}
	}
}

// TestOpenAPIRefs checks that every $ref of the document resolves to a
// defined component.
func TestOpenAPIRefs(t *testing.T) {
	doc := oaJSON(t)
	n := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"]; ok {
				n++
				ref, ok := r.(string)
				if !ok {
					t.Errorf("%s: $ref is not a string", at)
				} else if !strings.HasPrefix(ref, "#/components/") {
					t.Errorf("%s: $ref %q does not point at a component", at, ref)
				} else if _, err := oaResolve(doc, ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, c := range x {
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range x {
				walk(at+"/"+strconv.Itoa(i), c)
			}
		}
	}
	walk("#", doc)
	if n == 0 {
		t.Error("no $ref at all")
	}
}

// TestOpenAPIOperations checks every operation: an operationId (unique), a
// summary, a description, responses, declared path parameters, and the
// error answers that go with a JSON body and a path parameter.
func TestOpenAPIOperations(t *testing.T) {
	doc := oaJSON(t)
	ops := oaOperations(t, doc)
	if len(ops) == 0 {
		t.Fatal("no operations")
	}
	ids := map[string]string{}
	for k, op := range ops {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", k)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is also the id of %s", k, id, other)
		}
		ids[id] = k
		for _, f := range []string{"summary", "description"} {
			if s, _ := op[f].(string); strings.TrimSpace(s) == "" {
				t.Errorf("%s: no %s", k, f)
			}
		}
		responses, _ := op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", k)
		}
		for code, r := range responses {
			n, err := strconv.Atoi(code)
			if code == "default" { // an answer api_faults put in place of the route's own: any error
				n, err = 599, nil
			}
			if err != nil || n < 100 || n > 599 {
				t.Errorf("%s: response %q is not a status code", k, code)
				continue
			}
			resp := oaDeref(t, doc, r)
			if d, _ := resp["description"].(string); d == "" {
				t.Errorf("%s: response %s has no description", k, code)
			}
			if n >= 400 {
				content, _ := resp["content"].(map[string]any)
				if _, ok := content["application/problem+json"]; !ok {
					t.Errorf("%s: error response %s is not application/problem+json", k, code)
				}
			}
		}
		if _, ok := op["requestBody"]; ok {
			for _, code := range []string{"400", "413", "415"} {
				if _, ok := responses[code]; !ok {
					t.Errorf("%s reads a JSON body but does not list %s", k, code)
				}
			}
		}
		// path parameters: each {name} of the path is declared
		declared := map[string]bool{}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			pm := oaDeref(t, doc, p)
			if pm["in"] == "path" {
				declared[pm["name"].(string)] = true
			}
		}
		_, path, _ := strings.Cut(k, " ")
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") {
				name := strings.Trim(seg, "{}")
				if !declared[name] {
					t.Errorf("%s: path parameter %s is not declared", k, name)
				}
				want := "404"
				if name == "phone" {
					want = "400"
				}
				if _, ok := responses[want]; !ok {
					t.Errorf("%s: a bad {%s} answers %s, not listed", k, name, want)
				}
			}
		}
	}
}

// oaSecurity is the security of an operation the admin token guards: the
// token, asked only when the server runs with --admin-token (the empty
// requirement: a server without one asks nothing).
const oaSecurity = `[{"adminToken":[]},{}]`

// TestOpenAPISecurity checks that an operation declares security (the
// adminToken scheme, see oaSecurity) and lists the 401 exactly when the
// server guards its route with the admin token (server.Guarded), for
// every route the server registers.
func TestOpenAPISecurity(t *testing.T) {
	e := newEnv(t)
	doc := oaJSON(t)
	if _, ok := doc["security"]; ok {
		t.Errorf("the document declares a top-level security: every operation without its own would want the token")
	}
	sv, err := oaResolve(doc, "#/components/securitySchemes/adminToken")
	if err != nil {
		t.Fatal(err)
	}
	scheme, _ := sv.(map[string]any)
	if scheme["type"] != "http" || scheme["scheme"] != "bearer" {
		t.Errorf("components.securitySchemes.adminToken = %v, want an HTTP bearer scheme", scheme)
	}
	if d, _ := scheme["description"].(string); !strings.Contains(d, "--admin-token") || !strings.Contains(d, "only when") {
		t.Errorf("components.securitySchemes.adminToken: the description does not say the token is asked only when the server runs with --admin-token: %q", d)
	}
	ops := oaOperations(t, doc)
	guarded := 0
	for _, p := range e.srv.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		k := method + " " + oaPathOf(path)
		op, ok := ops[k]
		if !ok {
			continue // TestOpenAPIRoutes
		}
		sec, declared := op["security"]
		got := ""
		if declared {
			b, err := json.Marshal(sec)
			if err != nil {
				t.Fatal(err)
			}
			got = string(b)
		}
		responses, _ := op["responses"].(map[string]any)
		_, lists401 := responses["401"]
		if server.Guarded(p) {
			guarded++
			if got != oaSecurity {
				t.Errorf("%s: the server guards it with the admin token; security is %s, want %s", k, got, oaSecurity)
			}
			if !lists401 {
				t.Errorf("%s: the server guards it with the admin token; the 401 is not listed", k)
			}
		} else {
			if declared {
				t.Errorf("%s: the admin token does not guard it; security is %s, want none", k, got)
			}
			if lists401 {
				t.Errorf("%s: the admin token does not guard it; a 401 is listed", k)
			}
		}
	}
	if guarded == 0 {
		t.Error("no route is guarded")
	}
}

// TestOpenAPIRequestID checks that every response of the document, those
// of the operations and those of components.responses, declares the
// X-Request-Id header every answer carries.
func TestOpenAPIRequestID(t *testing.T) {
	doc := oaJSON(t)
	const ref = "#/components/headers/X-Request-Id"
	h := oaDeref(t, doc, map[string]any{"$ref": ref})
	if h["required"] != true {
		t.Errorf("%s: not required, though every answer carries it", ref)
	}
	check := func(what string, r any) {
		t.Helper()
		headers, _ := oaDeref(t, doc, r)["headers"].(map[string]any)
		x, _ := headers["X-Request-Id"].(map[string]any)
		if x["$ref"] != ref {
			t.Errorf("%s: headers.X-Request-Id = %v, want {\"$ref\": %q}", what, headers["X-Request-Id"], ref)
		}
	}
	n := 0
	for k, op := range oaOperations(t, doc) {
		responses, _ := op["responses"].(map[string]any)
		for code, r := range responses {
			check(k+" "+code, r)
			n++
		}
	}
	components, _ := oaResolve(doc, "#/components/responses")
	for name, r := range components.(map[string]any) {
		check("components.responses."+name, r)
		n++
	}
	if n == 0 {
		t.Error("no responses")
	}
}

// TestOpenAPIRefusals sends every route of the server the requests its
// guard refuses — a foreign Host (421, but for the probes), a foreign
// Origin (403), and, to a route the admin token guards, no token (401) —
// and checks that each refusal is an answer the operation lists, by its
// status (not only as a default), and conforms to it.
func TestOpenAPIRefusals(t *testing.T) {
	e := newEnv(t, withServer(server.Config{AdminToken: "s3cret-token"}))
	probes := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}
	for _, p := range e.srv.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		segs := strings.Split(oaPathOf(path), "/")
		for i, s := range segs {
			switch {
			case s == "{phone}":
				segs[i] = "13800000001"
			case strings.HasPrefix(s, "{"):
				segs[i] = "x"
			}
		}
		u := e.url + strings.Join(segs, "/")
		type refusal struct {
			what   string
			header map[string]string
			want   int
		}
		refusals := []refusal{{"Origin: http://attacker.example", map[string]string{"Origin": "http://attacker.example"}, 403}}
		if !probes[p] {
			refusals = append(refusals, refusal{"Host: attacker.example", map[string]string{"Host": "attacker.example"}, 421})
		}
		if server.Guarded(p) {
			refusals = append(refusals, refusal{"no token", nil, 401})
		}
		for _, r := range refusals {
			newReq := func() *http.Request {
				req, err := http.NewRequest(method, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				for k, v := range r.header {
					if k == "Host" {
						req.Host = v
					} else {
						req.Header.Set(k, v)
					}
				}
				return req
			}
			resp, err := http.DefaultClient.Do(newReq())
			if err != nil {
				t.Fatalf("%s, %s: %v", p, r.what, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != r.want {
				t.Errorf("%s, %s: %d %s, want %d", p, r.what, resp.StatusCode, body, r.want)
				continue
			}
			v, err := openapitest.Check(newReq(), nil, resp.StatusCode, resp.Header, body)
			if err != nil {
				t.Fatal(err)
			}
			if v.Route == nil {
				t.Errorf("%s: no operation of the document", p)
				continue
			}
			if v.Route.Operation.Responses.Status(r.want) == nil {
				t.Errorf("%s, %s: the server answers %d; the operation does not list it", p, r.what, r.want)
			}
			if v.Response != nil {
				t.Errorf("%s, %s: the answer (%d %s) does not conform to the document: %v", p, r.what, resp.StatusCode, body, v.Response)
			}
		}
	}
}

// TestOpenAPIServed checks that GET /openapi.json serves openapi.json as
// JSON, byte for byte but for its servers: the one server it names is the
// server as the request reached it, its scheme and Host, so that a client
// made from the document calls the address it was fetched from. A Host the
// server does not answer to is a 421, as on any route but the probes'.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, withServer(server.Config{AllowedHosts: []string{"smsim.test"}}))
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, server.OpenAPI()) {
		t.Errorf("the embedded document is not openapi.json")
	}
	const fileServer = "\"url\": \"http://127.0.0.1:8080\",\n      \"description\": \"The default address (`--addr`, `SMSIM_ADDR`).\""
	if n := strings.Count(string(file), fileServer); n != 1 {
		t.Fatalf("openapi.json holds its default server %d times, want once", n)
	}
	get := func(host string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", e.url+"/openapi.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(e.url, "http://"), ":")
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port, "smsim.test:9443", "smsim.test"} {
		resp, b := get(host)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /openapi.json, Host %s: status %d %s", host, resp.StatusCode, b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET /openapi.json, Host %s: Content-Type %q, want application/json", host, ct)
		}
		want := strings.Replace(string(file), fileServer, fmt.Sprintf("\"url\": %q,\n      \"description\": \"This server, as the request for this document reached it.\"", "http://"+host), 1)
		if string(b) != want {
			t.Errorf("GET /openapi.json, Host %s: %d bytes, not openapi.json with its server the request's (%d bytes)", host, len(b), len(want))
		}
		var doc struct{ Servers []struct{ URL string } }
		if err := json.Unmarshal(b, &doc); err != nil || len(doc.Servers) != 1 || doc.Servers[0].URL != "http://"+host {
			t.Errorf("GET /openapi.json, Host %s: servers %+v (%v), want the one http://%s", host, doc.Servers, err, host)
		}
		if _, err := openapi3.NewLoader().LoadFromData(b); err != nil {
			t.Errorf("GET /openapi.json, Host %s: not an OpenAPI document: %v", host, err)
		}
	}
	resp, b := get("elsewhere.example:" + port)
	if p := problemOf(t, b); resp.StatusCode != http.StatusMisdirectedRequest || !strings.HasPrefix(p.Detail, `Host: "elsewhere.example:`+port+`" is not a name this server answers to`) {
		t.Errorf("GET /openapi.json, Host elsewhere.example: %d %s, want 421", resp.StatusCode, b)
	}
}

// Behind a proxy that says where the client reached it, the document's
// server is that: the first of X-Forwarded-Proto (http or https) and of
// X-Forwarded-Host (a well-formed host and port); anything else there is
// let be, and the request's own scheme and Host name the server.
func TestOpenAPIServedBehindAProxy(t *testing.T) {
	e := newEnv(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(e.url, "http://"), ":")
	for _, c := range []struct {
		proto, host string
		want        string
	}{
		{"https", "smsim.example.com", "https://smsim.example.com"},
		{"https, http", "smsim.example.com:8443, 10.0.0.7:8080", "https://smsim.example.com:8443"},
		{"https", "", "https://127.0.0.1:" + port},
		{"", "smsim.example.com", "http://smsim.example.com"},
		{"ftp", "ev!l.example", "http://127.0.0.1:" + port},
		{"HTTPS", "smsim.example.com:http", "http://127.0.0.1:" + port},
	} {
		req, err := http.NewRequest("GET", e.url+"/openapi.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-Proto", c.proto)
		req.Header.Set("X-Forwarded-Host", c.host)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Servers []struct{ URL string } }
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(doc.Servers) != 1 || doc.Servers[0].URL != c.want {
			t.Errorf("X-Forwarded-Proto %q, X-Forwarded-Host %q: %d %+v (%v), want the one server %s", c.proto, c.host, resp.StatusCode, doc.Servers, err, c.want)
		}
	}
}

// oaChecker sends requests to a server and validates each answer (and each
// request meant to be valid) against the document.
type oaChecker struct {
	t    *testing.T
	in   *instance
	doc  *openapi3.T
	seen map[string]bool // operationIds answered
}

// newOAChecker answers a checker of the document (which
// TestOpenAPIDocument validates) for the server of in.
func newOAChecker(t *testing.T, in *instance) *oaChecker {
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	return &oaChecker{t: t, in: in, doc: doc, seen: map[string]bool{}}
}

// oaReq is one request of a conformance check.
type oaReq struct {
	method, path string
	body         any    // nil, a string (sent as it is) or a value to marshal
	contentType  string // default application/json when there is a body
	namespace    string // the X-Smsim-Namespace header; "": none
	invalid      bool   // the request breaks the document, which must say so
}

// do sends r, checks the status, validates the answer against the
// document and answers the body.
func (c *oaChecker) do(r oaReq, want int) []byte {
	c.t.Helper()
	var raw []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		raw = j
	}
	newReq := func() *http.Request {
		var rd io.Reader
		if r.body != nil {
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequest(r.method, c.in.url+r.path, rd)
		if err != nil {
			c.t.Fatal(err)
		}
		if r.body != nil || r.method != http.MethodGet {
			ct := r.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
		}
		if r.namespace != "" {
			req.Header.Set(server.NamespaceHeader, r.namespace)
		}
		return req
	}
	resp, err := http.DefaultClient.Do(newReq())
	if err != nil {
		c.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", r.method, r.path, resp.StatusCode, want, out)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		c.t.Errorf("%s %s: no X-Request-Id", r.method, r.path)
	}
	v, err := openapitest.Check(newReq(), raw, resp.StatusCode, resp.Header, out)
	if err != nil {
		c.t.Fatal(err)
	}
	if v.Route == nil {
		c.t.Fatalf("%s %s: no operation of the document", r.method, r.path)
	}
	c.seen[v.Route.Operation.OperationID] = true
	switch {
	case r.invalid && v.Request == nil:
		c.t.Errorf("%s %s: the document allows this request, which it should not: %s", r.method, r.path, raw)
	case !r.invalid && v.Request != nil:
		c.t.Errorf("%s %s: the request does not conform to the document: %v", r.method, r.path, v.Request)
	}
	if v.Response != nil {
		c.t.Errorf("%s %s: the answer (%d %s) does not conform to the document: %v", r.method, r.path, resp.StatusCode, out, v.Response)
	}
	return out
}

// get is do for a GET that must answer want.
func (c *oaChecker) get(path string, want int) []byte {
	c.t.Helper()
	return c.do(oaReq{method: "GET", path: path}, want)
}

// schema validates a JSON value against a component schema.
func (c *oaChecker) schema(name string, b []byte) {
	c.t.Helper()
	if c.doc.Components.Schemas[name] == nil {
		c.t.Fatalf("no schema %s", name)
	}
	if err := openapitest.Component(name, b); err != nil {
		c.t.Errorf("%s does not conform to schema %s: %v", b, name, err)
	}
}

func oaDecode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// TestOpenAPIConformance drives every operation through its answers —
// successes and errors — and validates each against the document.
func TestOpenAPIConformance(t *testing.T) {
	e := newEnv(t, withSeed(7))
	c := newOAChecker(t, e.instance)
	const (
		pL, pA, pR, pX = "13800000001", "13800000002", "13700000003", "13600000004"
		certL, certA   = "110101199003071234", "11010119920101567X"
	)
	person := func(name, phone, cert string) map[string]string {
		return map[string]string{"name": name, "phone": phone, "certificate_number": cert}
	}

	// operations
	c.get("/healthz", 200)
	c.get("/readyz", 200)
	c.get("/metrics", 200)
	c.get("/openapi.json", 200)
	c.get("/", 200)
	c.get("/dashboard/app.js", 200)
	c.get("/dashboard/style.css", 200)
	c.get("/dashboard/icon.svg", 200)
	c.get("/dashboard/no-such-file.js", 404)

	// clock and faults
	c.get("/admin/v1/clock", 200)
	c.do(oaReq{method: "PUT", path: "/admin/v1/clock", body: map[string]any{"scale": 2}}, 200)
	c.do(oaReq{method: "PUT", path: "/admin/v1/clock", body: map[string]any{}, invalid: true}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/clock", body: `{"scale": 0}`, invalid: true}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/clock", body: `{"paused": true}`, contentType: "text/plain", invalid: true}, 415)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: `{"by": 45}`, invalid: true}, 400)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: `{"by": "0s"}`}, 200)
	c.get("/admin/v1/faults", 200)
	c.do(oaReq{method: "PUT", path: "/admin/v1/faults", body: `{"sync_lag": {"min": "30m", "max": "30m"}, "result_sync_lag": {"min": "1m"}}`}, 200)
	c.do(oaReq{method: "PUT", path: "/admin/v1/faults", body: `{"sync_lag": {"min": "2h", "max": "1h"}}`}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/faults", body: `{"lag": "1h"}`, invalid: true}, 400)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: `{"result_sync_lag": {"max": "1m"}, "drop_rate": null}`,
		contentType: "application/merge-patch+json"}, 200)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: `{"review": {"approve_ratio": 2}}`, invalid: true}, 400)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: strings.Repeat(" ", 70<<10) + "{}"}, 413)

	// provider
	submit := map[string]any{"type": "first_filing", "variant": "website",
		"entity_leader": person("Li Lei", pL, certL), "website_admin": person("Han Meimei", "+86"+pA, certA)}
	v := oaDecode[struct{ ID string }](t, c.do(oaReq{method: "POST", path: "/provider/v1/filings", body: submit}, 201))
	c.do(oaReq{method: "POST", path: "/provider/v1/filings",
		body: map[string]any{"type": "remove_provider"}}, 201)
	c.do(oaReq{method: "POST", path: "/provider/v1/filings", body: map[string]any{"type": "add_provider", "variant": "website",
		"entity_leader": person("Li Lei", pL, certL), "website_admin": person("Han Meimei", pA, certA)}}, 400)
	c.do(oaReq{method: "POST", path: "/provider/v1/filings", body: map[string]any{"type": "modify", "variant": "entity"}}, 400)
	c.do(oaReq{method: "POST", path: "/provider/v1/filings", body: `{"type": "first_filing"`, invalid: true}, 400)
	c.do(oaReq{method: "POST", path: "/provider/v1/filings", body: "", invalid: true}, 400)
	c.do(oaReq{method: "POST", path: "/provider/v1/filings", body: `type=x`, contentType: "application/x-www-form-urlencoded", invalid: true}, 415)
	c.get("/provider/v1/filings/"+v.ID, 200)
	c.get("/provider/v1/filings/f_0000000000000000", 404)
	c.get("/miit/v1/filings/"+v.ID, 200) // unknown at MIIT yet
	c.get("/miit/v1/filings/nope", 404)

	// MIIT, while the order syncs
	res := oaDecode[struct{ Result string }](t, c.do(oaReq{method: "POST", path: "/miit/v1/resends",
		body: map[string]string{"phone": pL, "certificate_last6": "071234"}}, 200))
	if res.Result != "no_pending" {
		t.Errorf("resend during the sync lag: %s, want no_pending", res.Result)
	}
	c.do(oaReq{method: "POST", path: "/miit/v1/validations",
		body: map[string]string{"code": "12345", "phone": pL, "certificate_last6": "071234"}, invalid: true}, 400)
	c.do(oaReq{method: "POST", path: "/miit/v1/resends",
		body: map[string]string{"phone": "12345", "certificate_last6": "071234"}, invalid: true}, 400)

	// phones: the provider's notice is in
	notice := oaDecode[struct{ ID string }](t, c.get("/phones/v1/"+pL+"/messages/next?after=start&timeout=1s", 200))
	c.get("/phones/v1/"+pL+"/messages", 200)
	c.get("/phones/v1/"+pL+"/messages?folder=blocked", 200)
	c.do(oaReq{method: "GET", path: "/phones/v1/" + pL + "/messages?folder=spam", invalid: true}, 400)
	c.do(oaReq{method: "GET", path: "/phones/v1/123/messages", invalid: true}, 400)
	c.get("/phones/v1/"+pL+"/messages/next?after="+notice.ID+"&timeout=50ms", 204)
	c.get("/phones/v1/"+pL+"/messages/next?after=start&from_miit=true&timeout=50ms", 204)
	c.get("/phones/v1/"+pL+"/messages/next?after=m_0000000000000000&timeout=50ms", 404)
	c.get("/phones/v1/"+pL+"/messages/next?timeout=10m", 400)
	c.do(oaReq{method: "GET", path: "/phones/v1/" + pL + "/messages/next?has_code=maybe", invalid: true}, 400)
	c.get("/phones/v1/"+pL+"/messages/next?match=%28&timeout=50ms", 400)

	// the order reaches MIIT: codes
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]string{"by": "30m"}}, 200)
	c.get("/miit/v1/filings/"+v.ID, 200)
	codeOf := func(phone string) string {
		m := oaDecode[struct{ Code string }](t, c.get("/phones/v1/"+phone+"/messages/next?after=start&from_miit=true&has_code=true&match=verification&sender=12381&timeout=1s", 200))
		return m.Code
	}
	codeL, firstA := codeOf(pL), codeOf(pA)
	validate := func(code, phone, cert6 string) string {
		r := oaDecode[struct{ Result string }](t, c.do(oaReq{method: "POST", path: "/miit/v1/validations",
			body: map[string]string{"code": code, "phone": phone, "certificate_last6": cert6}}, 200))
		return r.Result
	}
	resend := func(phone, cert6 string) string {
		r := oaDecode[struct{ Result string }](t, c.do(oaReq{method: "POST", path: "/miit/v1/resends",
			body: map[string]string{"phone": phone, "certificate_last6": cert6}}, 200))
		return r.Result
	}
	if got := validate(wrong(codeL), pL, "071234"); got != "failed" {
		t.Errorf("wrong code: %s", got)
	}
	if got := validate(codeL, pL, "071234"); got != "partial" {
		t.Errorf("right code: %s", got)
	}
	if got := validate(codeL, pL, "071234"); got != "not_found" {
		t.Errorf("again: %s", got)
	}
	for i, want := range []string{"resent", "resent", "limit_reached"} {
		if got := resend(pA, "01567x"); got != want {
			t.Errorf("resend %d: %s, want %s", i+1, got, want)
		}
	}
	list := oaDecode[struct{ Messages []struct{ Code string } }](t, c.get("/phones/v1/"+pA+"/messages", 200))
	codeA := list.Messages[len(list.Messages)-1].Code
	if codeA == firstA || len(codeA) != 6 {
		t.Errorf("after two resends the latest code is %q, the first was %q: want a new six-digit code", codeA, firstA)
	}
	if got := validate(codeA, pA, "01567X"); got != "complete" {
		t.Errorf("last person: %s", got)
	}
	c.get("/provider/v1/filings/"+v.ID, 200)
	// what is scheduled, and the clock moved to the next of it and to a moment
	c.get("/admin/v1/schedule", 200)
	c.get("/admin/v1/schedule?kind=miit.result&order="+v.ID+"&phone=%2B86"+pA+"&limit=5", 200)
	c.do(oaReq{method: "GET", path: "/admin/v1/schedule?kind=miit.lunch", invalid: true}, 400)
	c.do(oaReq{method: "GET", path: "/admin/v1/schedule?order=f_1", invalid: true}, 400)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]any{"next": true, "kind": "miit.result", "order": v.ID}}, 200)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]any{"next": true, "kind": "miit.autoresend"}}, 409)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]any{"next": true, "kind": "lunch"}, invalid: true}, 400)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]any{"to": "2026-05-01T00:00:00Z"}}, 400)
	clk := oaDecode[struct{ Now time.Time }](t, c.get("/admin/v1/clock", 200))
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]any{"to": clk.Now.Format(time.RFC3339Nano)}}, 200)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]any{"to": "soon"}, invalid: true}, 400)
	c.get("/provider/v1/filings/"+v.ID, 200)
	c.get("/miit/v1/filings/"+v.ID, 200)
	c.do(oaReq{method: "POST", path: "/provider/v1/filings/" + v.ID + "/cancel"}, 409)
	c.do(oaReq{method: "POST", path: "/provider/v1/filings/f_0000000000000000/cancel"}, 404)

	// an order rejected by five failures, one canceled by the customer
	rej := oaDecode[struct{ ID string }](t, c.do(oaReq{method: "POST", path: "/provider/v1/filings",
		body: map[string]any{"type": "modify", "variant": "entity", "entity_leader": person("Wang Wu", pR, "A12345")}}, 201))
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]string{"by": "30m"}}, 200)
	codeR := codeOf(pR)
	for range 5 {
		validate(wrong(codeR), pR, "a12345")
	}
	if got := validate(codeR, pR, "A12345"); got != "not_found" {
		t.Errorf("after rejection: %s", got)
	}
	c.get("/miit/v1/filings/"+rej.ID, 200)
	canc := oaDecode[struct{ ID string }](t, c.do(oaReq{method: "POST", path: "/provider/v1/filings",
		body: map[string]any{"type": "cancel", "variant": "app", "website_admin": person("Zhao Liu", pX, "B99999")}}, 201))
	c.do(oaReq{method: "POST", path: "/provider/v1/filings/" + canc.ID + "/cancel"}, 200)
	c.get("/miit/v1/filings/"+canc.ID, 200)

	// phone profiles and the gateway
	c.get("/phones/v1/"+pX+"/profile", 200)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pX + "/profile", body: map[string]any{"service": "suspended"}}, 200)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pX + "/profile", body: map[string]any{"service": "gone"}, invalid: true}, 400)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pR + "/profile", body: map[string]any{"spam_filter": true}}, 200)
	failed := oaDecode[struct{ ID string }](t, c.do(oaReq{method: "POST", path: "/gateway/v1/messages",
		body: map[string]string{"from": "95187", "to": pX, "body": "hello"}}, 202))
	c.get("/gateway/v1/messages/"+failed.ID, 200)
	blocked := oaDecode[struct{ ID string }](t, c.do(oaReq{method: "POST", path: "/gateway/v1/messages",
		body: map[string]string{"from": "10612345678912381", "to": pR, "body": "Your code is 123456."}}, 202))
	c.get("/gateway/v1/messages/"+blocked.ID, 200)
	c.get("/phones/v1/"+pR+"/messages?folder=blocked", 200)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: map[string]any{"sms_delay": map[string]string{"min": "1m", "max": "1m"}}}, 200)
	queued := oaDecode[struct{ ID string }](t, c.do(oaReq{method: "POST", path: "/gateway/v1/messages",
		body: map[string]string{"from": "95187", "to": pL, "body": "later"}}, 202))
	c.get("/gateway/v1/messages/"+queued.ID, 200)
	c.do(oaReq{method: "POST", path: "/gateway/v1/messages", body: map[string]string{"from": "abc", "to": pL, "body": "x"}, invalid: true}, 400)
	c.do(oaReq{method: "POST", path: "/gateway/v1/messages", body: map[string]string{"from": "95187", "to": pL, "body": "  "}}, 400)
	c.get("/gateway/v1/messages/m_0000000000000000", 404)
	c.do(oaReq{method: "DELETE", path: "/phones/v1/" + pR + "/messages"}, 204)
	c.do(oaReq{method: "DELETE", path: "/phones/v1/12/messages", invalid: true}, 400)

	oaFaultsAndPhones(t, c, v.ID, canc.ID)
	oaScenarios(c)
	oaLists(t, c, v.ID)
	lastEvent := oaEvents(t, c)

	// the websocket: a plain GET is a 426 (TestOpenAPIWebsocket checks frames)
	c.get("/phones/v1/"+pL+"/ws", 426)
	c.do(oaReq{method: "GET", path: "/phones/v1/1/ws", invalid: true}, 400)

	// what the mux answers itself: problem details
	for _, r := range []struct {
		method, path string
		want         int
	}{{"DELETE", "/admin/v1/clock", 405}, {"GET", "/nowhere", 404}} {
		req, _ := http.NewRequest(r.method, e.url+r.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.want || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s, want %d application/problem+json", r.method, r.path, resp.StatusCode, resp.Header.Get("Content-Type"), r.want)
		}
		if r.want == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow header", r.method, r.path)
		}
		c.schema("Problem", b)
	}

	// webhooks, and namespaces
	c.get("/admin/v1/namespaces", 200)
	rc := newReceiver(t, func(int) int { return 200 })
	hook := oaDecode[struct{ ID string }](t, c.do(oaReq{method: "POST", path: "/admin/v1/webhooks",
		body: map[string]any{"url": rc.URL, "events": []string{"clock"}, "secret": "k"}}, 201))
	c.do(oaReq{method: "POST", path: "/admin/v1/webhooks", body: map[string]any{"url": "http://example.com/"}}, 400)
	c.do(oaReq{method: "POST", path: "/admin/v1/webhooks", body: map[string]any{"url": rc.URL, "events": []string{"sms.lost"}}, invalid: true}, 400)
	c.do(oaReq{method: "POST", path: "/admin/v1/webhooks", body: map[string]any{"url": rc.URL, "retries": 3}, invalid: true}, 400)
	c.get("/admin/v1/webhooks", 200)
	c.get("/admin/v1/webhooks/"+hook.ID, 200)
	c.get("/admin/v1/webhooks/wh_0000000000000000", 404)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: `{"by": "1s"}`}, 200)
	if p := rc.next(t); p.payload.Event.Kind != "clock" {
		t.Fatalf("webhook post %s, want the clock event", p.body)
	}
	c.get("/admin/v1/webhooks/"+hook.ID+"/deliveries", 200)
	c.do(oaReq{method: "GET", path: "/admin/v1/webhooks/" + hook.ID + "/deliveries?limit=0", invalid: true}, 400)
	c.do(oaReq{method: "DELETE", path: "/admin/v1/webhooks/" + hook.ID}, 204)
	c.do(oaReq{method: "DELETE", path: "/admin/v1/webhooks/" + hook.ID}, 404)
	c.get("/admin/v1/dead-jobs", 200)
	c.do(oaReq{method: "GET", path: "/admin/v1/dead-jobs?limit=1001", invalid: true}, 400)
	c.do(oaReq{method: "GET", path: "/admin/v1/clock", namespace: "oa-other"}, 200)
	c.do(oaReq{method: "GET", path: "/admin/v1/clock?namespace=oa-other"}, 200)
	c.do(oaReq{method: "GET", path: "/admin/v1/clock", namespace: "bad{name}", invalid: true}, 400)
	c.do(oaReq{method: "GET", path: "/admin/v1/clock?namespace=a%20b", invalid: true}, 400)

	c.get("/admin/v1/requests?route=POST%20/miit/v1/validations&phone=13800000001", 200)
	c.do(oaReq{method: "GET", path: "/admin/v1/requests?format=jsonl"}, 200)
	c.do(oaReq{method: "GET", path: "/admin/v1/requests?route=GET%20/nowhere"}, 400)
	c.do(oaReq{method: "GET", path: "/admin/v1/requests?format=csv", invalid: true}, 400)

	c.do(oaReq{method: "POST", path: "/admin/v1/reset"}, 200)
	// the reset starts the log anew: the reset, then the clock's start state
	if got := oaKinds(oaDecode[oaEventList](t, c.get("/admin/v1/events?after="+lastEvent, 200)).Events); !slices.Equal(got, []string{"reset", "clock"}) {
		t.Errorf("the events after a reset: %v, want [reset clock]", got)
	}

	// every operation was exercised
	var missing []string
	for _, p := range c.doc.Paths.InMatchingOrder() {
		for _, op := range c.doc.Paths.Value(p).Operations() {
			if !c.seen[op.OperationID] {
				missing = append(missing, op.OperationID)
			}
		}
	}
	sort.Strings(missing)
	if missing = slices.Compact(missing); len(missing) > 0 {
		t.Errorf("operations never exercised: %v", missing)
	}
}

// TestOpenAPIWebsocket checks the upgrade's status and that a frame the
// server pushes is a Message of the document.
func TestOpenAPIWebsocket(t *testing.T) {
	e := newEnv(t)
	c := newOAChecker(t, e.instance)
	const phone = "13800000001"
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/phones/v1/"+phone+"/ws", nil)
	if err != nil {
		if resp == nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("websocket: %v: %d %s", err, resp.StatusCode, b)
	}
	defer ws.Close()
	if op := c.doc.Paths.Find("/phones/v1/{phone}/ws").Get; op.Responses.Status(resp.StatusCode) == nil {
		t.Errorf("websocket upgrade: status %d is not in the document", resp.StatusCode)
	}
	c.do(oaReq{method: "POST", path: "/gateway/v1/messages",
		body: map[string]string{"from": "12381", "to": phone, "body": "Your code is 123456."}}, 202)
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, frame, err := ws.ReadMessage()
	if err != nil || typ != websocket.TextMessage {
		t.Fatalf("websocket frame: type %d, %v", typ, err)
	}
	c.schema("Message", frame)
}

// oaGatewayMessage sends a message through the gateway and answers the
// gateway's view of it.
func oaGatewayMessage(c *oaChecker, from, to, body string) gatewayMessage {
	c.t.Helper()
	sent := oaDecode[struct{ ID string }](c.t, c.do(oaReq{method: "POST", path: "/gateway/v1/messages",
		body: map[string]string{"from": from, "to": to, "body": body}}, 202))
	return oaDecode[gatewayMessage](c.t, c.get("/gateway/v1/messages/"+sent.ID, 200))
}

type gatewayMessage struct {
	ID, Status, Reason string
	DuplicateOf        string `json:"duplicate_of"`
	Trail              []struct{ Step string }
}

// oaFaultsAndPhones exercises the fault profile's delay models, outages and
// throttles, the phone profile's own faults, fault scripts, magic numbers
// and the number change of a cancellation order (done is an order that is
// no cancellation, canceled a cancellation order already canceled).
func oaFaultsAndPhones(t *testing.T, c *oaChecker, done, canceled string) {
	t.Helper()
	const (
		pI, pT, pS          = "13900000011", "13300000012", "13900000013"
		pN, pN2, pN3        = "13900000014", "13900000015", "13900000016"
		pL                  = "13800000001"
		provider, throttled = "95187", "10690000000"
	)
	now := oaDecode[struct{ Now time.Time }](t, c.get("/admin/v1/clock", 200)).Now
	instant := map[string]string{"model": "fixed", "value": "0s"}
	c.do(oaReq{method: "PUT", path: "/admin/v1/faults", body: map[string]any{
		"sync_lag":        map[string]string{"model": "fixed", "value": "30m"},
		"result_sync_lag": map[string]string{"min": "1m", "max": "1m"},
		"sms_delay":       map[string]string{"model": "lognormal", "median": "3s", "p99": "2m"},
		"sender_delays": map[string]any{"miit": instant, provider: instant, throttled: instant, "95555": instant,
			"12345": map[string]string{"min": "1s", "max": "2s"}},
		"duplicate_rate": 0.01, "reorder_rate": 0.01, "reorder_max": "1m",
		"outages": []map[string]any{{"carrier": "china_telecom_133", "prefixes": []string{"133"}, "start": now.Format(time.RFC3339Nano),
			"end": now.Add(time.Hour).Format(time.RFC3339Nano), "mode": "refuse"},
			{"carrier": "test", "prefixes": []string{"1990000009"}, "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "mode": "hold"}},
		"throttles": []map[string]any{{"sender": throttled, "limit": 1, "per": "1h", "mode": "refuse"},
			{"carrier": "china_unicom", "limit": 100, "per": "1s", "burst": 100, "mode": "hold"}},
		"spurious_not_found_rate": 0, "lost_code_rate": 0,
		"miit_send_delay": map[string]string{"model": "uniform", "min": "0s", "max": "0s"},
		"resend_policy":   "same_code", "magic_numbers": true,
		"review": map[string]any{"model": "lognormal", "median": "72h", "p99": "480h", "approve_ratio": 0.9},
	}}, 200)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: `{"sender_delays": {"12345": null}, "resend_policy": null, "review": {"approve_ratio": null}}`,
		contentType: "application/merge-patch+json"}, 200)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: `{"sms_delay": {"model": "lognormal", "median": "1h", "p99": "1m"}}`}, 400)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: `{"sms_delay": {"model": "gamma"}}`, invalid: true}, 400)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: `{"outages": [{"carrier": "china_mobile", "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z", "mode": "hold"}]}`}, 400)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: `{"throttles": [{"sender": "miit", "limit": 0, "per": "1m", "mode": "hold"}]}`, invalid: true}, 400)
	c.do(oaReq{method: "PATCH", path: "/admin/v1/faults", body: `{"sender_delays": {"abc": {"model": "fixed", "value": "1s"}}}`, invalid: true}, 400)
	c.get("/admin/v1/faults", 200)

	// the phone's own faults, and the magic numbers'
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pI + "/profile", body: map[string]any{"inbox_limit": 1,
		"delay": instant, "block_senders": []string{"95555"}, "block_keywords": []string{"lottery"}, "duplicate_rate": 0}}, 200)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pI + "/profile", body: map[string]any{"inbox_limit": -1}, invalid: true}, 400)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pI + "/profile", body: map[string]any{"delay": map[string]string{"model": "lognormal", "median": "0s", "p99": "1m"}}}, 400)
	c.get("/phones/v1/19900000001/profile", 200)
	c.get("/phones/v1/19900000004/profile", 200)

	want := func(m gatewayMessage, status, reason string) {
		t.Helper()
		if m.Status != status || m.Reason != reason || len(m.Trail) == 0 {
			t.Errorf("message %s: %s %q (trail %v), want %s %q", m.ID, m.Status, m.Reason, m.Trail, status, reason)
		}
	}
	want(oaGatewayMessage(c, provider, pI, "first"), "delivered", "")
	want(oaGatewayMessage(c, provider, pI, "second"), "failed", "inbox_full")
	want(oaGatewayMessage(c, "95555", pI, "from a blocked sender"), "blocked", "")
	want(oaGatewayMessage(c, provider, pI, "you won the lottery"), "blocked", "")
	want(oaGatewayMessage(c, provider, pT, "during the outage"), "failed", "outage")
	want(oaGatewayMessage(c, throttled, pL, "one"), "delivered", "")
	want(oaGatewayMessage(c, throttled, pL, "two"), "failed", "throttled")
	want(oaGatewayMessage(c, provider, "13000000017", "through a throttle that holds"), "delivered", "")
	want(oaGatewayMessage(c, provider, "19900000001", "to a suspended magic number"), "failed", "suspended")
	want(oaGatewayMessage(c, provider, "19900000005", "twice"), "delivered", "")
	dups := oaDecode[struct{ Messages []struct{ ID string } }](t, c.get("/phones/v1/19900000005/messages", 200))
	if len(dups.Messages) != 2 {
		t.Fatalf("the duplicating magic number holds %d messages, want 2", len(dups.Messages))
	}
	if copy := oaDecode[gatewayMessage](t, c.get("/gateway/v1/messages/"+dups.Messages[1].ID, 200)); copy.DuplicateOf != dups.Messages[0].ID {
		t.Errorf("the second copy's duplicate_of is %q, want %s", copy.DuplicateOf, dups.Messages[0].ID)
	}

	// fault scripts
	c.get("/phones/v1/"+pS+"/script", 200)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pS + "/script", body: map[string]any{"steps": []map[string]any{
		{"action": "fail", "count": 2}, {"action": "delay", "by": "40m"}, {"action": "block"}, {"action": "duplicate"}, {"action": "deliver", "count": 1}}}}, 200)
	c.get("/phones/v1/"+pS+"/script", 200)
	want(oaGatewayMessage(c, provider, pS, "one"), "failed", "scripted")
	want(oaGatewayMessage(c, provider, pS, "two"), "failed", "scripted")
	want(oaGatewayMessage(c, provider, pS, "three"), "queued", "")
	want(oaGatewayMessage(c, provider, pS, "four"), "blocked", "")
	c.get("/phones/v1/"+pS+"/script", 200)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pS + "/script", body: `{"steps": [{"action": "explode"}]}`, invalid: true}, 400)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pS + "/script", body: `{"steps": [{"action": "delay"}]}`}, 400)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pS + "/script", body: `{"steps": [{"action": "fail", "by": "1m"}]}`}, 400)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pS + "/script", body: `{"steps": [{"action": "fail", "count": 1001}]}`}, 400)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pS + "/script", body: `{"steps": []}`, contentType: "text/plain", invalid: true}, 415)
	c.do(oaReq{method: "PUT", path: "/phones/v1/" + pS + "/script", body: `{"steps": []}`}, 200)
	c.do(oaReq{method: "DELETE", path: "/phones/v1/" + pS + "/script"}, 204)
	c.do(oaReq{method: "GET", path: "/phones/v1/12/script", invalid: true}, 400)
	c.do(oaReq{method: "DELETE", path: "/phones/v1/12/script", invalid: true}, 400)

	// a cancellation order's number changes in place, before and after the sync
	person := map[string]string{"name": "Sun Qi", "phone": pN, "certificate_number": "C12345"}
	ord := oaDecode[struct{ ID string }](t, c.do(oaReq{method: "POST", path: "/provider/v1/filings",
		body: map[string]any{"type": "cancel", "variant": "website", "website_admin": person}}, 201))
	path := "/provider/v1/filings/" + ord.ID + "/personnel"
	c.do(oaReq{method: "PATCH", path: path, body: map[string]any{"website_admin": map[string]string{"phone": pN2}}}, 200)
	c.do(oaReq{method: "POST", path: "/admin/v1/clock/advance", body: map[string]string{"by": "30m"}}, 200)
	c.do(oaReq{method: "PATCH", path: path, body: map[string]any{"website_admin": map[string]string{"phone": "+86" + pN3}}}, 200)
	c.get("/phones/v1/"+pN3+"/messages/next?after=start&from_miit=true&has_code=true&timeout=1s", 200)
	c.do(oaReq{method: "PATCH", path: path, body: map[string]any{"entity_leader": map[string]string{"phone": pN}}}, 400)
	c.do(oaReq{method: "PATCH", path: path, body: `{}`, invalid: true}, 400)
	c.do(oaReq{method: "PATCH", path: path, body: `{"boss": {"phone": "13900000014"}}`, invalid: true}, 400)
	c.do(oaReq{method: "PATCH", path: path, body: `{"website_admin": {"phone": "123"}}`, invalid: true}, 400)
	c.do(oaReq{method: "PATCH", path: path, body: `{"website_admin": {"phone": "13900000014"}}`, contentType: "text/plain", invalid: true}, 415)
	c.do(oaReq{method: "PATCH", path: "/provider/v1/filings/" + done + "/personnel", body: map[string]any{"website_admin": map[string]string{"phone": pN}}}, 409)
	c.do(oaReq{method: "PATCH", path: "/provider/v1/filings/" + canceled + "/personnel", body: map[string]any{"website_admin": map[string]string{"phone": pN}}}, 409)
	c.do(oaReq{method: "PATCH", path: "/provider/v1/filings/f_0000000000000000/personnel", body: map[string]any{"website_admin": map[string]string{"phone": pN}}}, 404)
	c.get("/provider/v1/filings/"+ord.ID, 200)
	c.get("/miit/v1/filings/"+ord.ID, 200)

	// the magic spurious not_found number
	r := oaDecode[struct{ Result string }](t, c.do(oaReq{method: "POST", path: "/miit/v1/validations",
		body: map[string]string{"code": "123456", "phone": "19900000006", "certificate_last6": "123456"}}, 200))
	if r.Result != "not_found" {
		t.Errorf("the magic number's first validation: %s, want not_found", r.Result)
	}
}

// oaScenarios exercises the scenarios.
func oaScenarios(c *oaChecker) {
	c.t.Helper()
	list := oaDecode[struct{ Scenarios []struct{ Name string } }](c.t, c.get("/admin/v1/scenarios", 200))
	if len(list.Scenarios) == 0 {
		c.t.Fatal("no shipped scenario")
	}
	for _, s := range list.Scenarios {
		c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: map[string]string{"name": s.Name}}, 200)
	}
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: map[string]any{
		"name": "mine", "description": "China Unicom refuses everything for an hour; one phone filters spam.",
		"faults":  map[string]any{"sms_delay": map[string]string{"model": "fixed", "value": "5s"}, "drop_rate": 0.1},
		"outages": []map[string]string{{"carrier": "china_unicom", "after": "0s", "for": "1h", "mode": "refuse"}},
		"phones":  map[string]any{"+8613800000009": map[string]any{"spam_filter": true}},
	}}, 200)
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: `{}`}, 200)
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: `{"name": "nope"}`}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: `{"outages": [{"carrier": "x", "after": "0s", "for": "1h", "mode": "hold"}]}`}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: `{"outages": [{"carrier": "china_unicom", "after": "0s", "for": "0s", "mode": "hold"}]}`}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: `{"faults": {"drop_rate": 2}}`, invalid: true}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: `{"phones": {"13800000009": {"service": "gone"}}}`, invalid: true}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: `{"weather": "bad"}`, invalid: true}, 400)
	c.do(oaReq{method: "PUT", path: "/admin/v1/scenario", body: `{"name": "calm_day"}`, contentType: "text/plain", invalid: true}, 415)
}

// oaPage is a page of a listing: orders or phones.
type oaPage struct {
	Filings []struct{ ID, Status string }
	Phones  []struct {
		Phone          string
		Inbox, Blocked int
	}
	Total int
}

// oaLists exercises the listings of orders (the provider's view and
// MIIT's) and of phones; first is the id of the first order submitted.
func oaLists(t *testing.T, c *oaChecker, first string) {
	t.Helper()
	for _, view := range []string{"/provider/v1/filings", "/miit/v1/filings"} {
		all := oaDecode[oaPage](t, c.get(view, 200))
		if all.Total < 5 || len(all.Filings) != all.Total {
			t.Fatalf("%s: %d orders of %d, want them all (at least 5)", view, len(all.Filings), all.Total)
		}
		if got := all.Filings[len(all.Filings)-1].ID; got != first {
			t.Errorf("%s: the oldest order listed last is %s, want %s (newest first)", view, got, first)
		}
		one := oaDecode[oaPage](t, c.get(view+"?limit=1&offset=1", 200))
		if one.Total != all.Total || len(one.Filings) != 1 || one.Filings[0].ID != all.Filings[1].ID {
			t.Errorf("%s?limit=1&offset=1: %+v, want the second of %d", view, one, all.Total)
		}
		if past := oaDecode[oaPage](t, c.get(view+"?offset=1073741824&limit=1000", 200)); len(past.Filings) != 0 || past.Total != all.Total {
			t.Errorf("%s past the end: %+v, want no order of %d", view, past, all.Total)
		}
		canceled := oaDecode[oaPage](t, c.get(view+"?status=canceled", 200))
		if canceled.Total == 0 || len(canceled.Filings) != canceled.Total {
			t.Errorf("%s?status=canceled: %+v, want the canceled order", view, canceled)
		}
		for _, f := range canceled.Filings {
			if f.Status != "canceled" {
				t.Errorf("%s?status=canceled lists %s, %s", view, f.ID, f.Status)
			}
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=ten", "offset=-1", "offset=1073741825", "status=approve"} {
			c.do(oaReq{method: "GET", path: view + "?" + q, invalid: true}, 400)
		}
	}
	c.get("/miit/v1/filings?status=rejected&limit=1000&offset=0", 200)
	c.do(oaReq{method: "GET", path: "/provider/v1/filings?status=unknown", invalid: true}, 400)
	c.do(oaReq{method: "GET", path: "/miit/v1/filings?status=submitted", invalid: true}, 400)

	all := oaDecode[oaPage](t, c.get("/phones/v1", 200))
	if all.Total < 10 || len(all.Phones) != all.Total {
		t.Fatalf("/phones/v1: %d phones of %d, want them all (at least 10)", len(all.Phones), all.Total)
	}
	if !slices.IsSortedFunc(all.Phones, func(a, b struct {
		Phone          string
		Inbox, Blocked int
	}) int {
		return strings.Compare(a.Phone, b.Phone)
	}) {
		t.Errorf("/phones/v1: not sorted by number")
	}
	some := oaDecode[oaPage](t, c.get("/phones/v1?q=1380000000&limit=1&offset=1", 200))
	if some.Total < 2 || len(some.Phones) != 1 || !strings.Contains(some.Phones[0].Phone, "1380000000") {
		t.Errorf("/phones/v1?q=1380000000&limit=1&offset=1: %+v", some)
	}
	if none := oaDecode[oaPage](t, c.get("/phones/v1?q=12345678901", 200)); none.Total != 0 || len(none.Phones) != 0 {
		t.Errorf("/phones/v1?q=12345678901: %+v, want none", none)
	}
	for _, q := range []string{"q=%2B8613800000001", "q=123456789012", "q=13a", "limit=1001", "offset=x"} {
		c.do(oaReq{method: "GET", path: "/phones/v1?" + q, invalid: true}, 400)
	}
}

// oaRecord is an event of the log.
type oaRecord struct {
	ID, Kind, NS string
	At           time.Time
	Data         json.RawMessage
}

// oaEventList is a page of the event log.
type oaEventList struct {
	Events []oaRecord
	Last   string
}

func oaKinds(rs []oaRecord) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Kind)
	}
	return out
}

// oaNewer tells whether event id a comes after event id b.
func oaNewer(t *testing.T, a, b string) bool {
	t.Helper()
	parse := func(id string) (uint64, uint64) {
		ms, seq, ok := strings.Cut(id, "-")
		m, err1 := strconv.ParseUint(ms, 10, 64)
		s, err2 := strconv.ParseUint(seq, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("event id %q is not <ms>-<seq>", id)
		}
		return m, s
	}
	am, as := parse(a)
	bm, bs := parse(b)
	return am > bm || (am == bm && as > bs)
}

// oaEvents reads the event log the run wrote: every kind but reset, the
// trail of each message's outcome, pages after an id, and bad parameters;
// it answers the newest event's id.
func oaEvents(t *testing.T, c *oaChecker) string {
	t.Helper()
	l := oaDecode[oaEventList](t, c.get("/admin/v1/events?after=0&limit=10000", 200))
	if len(l.Events) < 10 || l.Last != l.Events[len(l.Events)-1].ID {
		t.Fatalf("the event log: %d events, last %s; want them all", len(l.Events), l.Last)
	}
	kinds := map[string]int{}
	views := map[string]bool{}
	rejected := false
	for i, r := range l.Events {
		kinds[r.Kind]++
		if i > 0 && !oaNewer(t, r.ID, l.Events[i-1].ID) {
			t.Errorf("event %d: id %s does not come after %s", i, r.ID, l.Events[i-1].ID)
		}
		if r.NS == "" || r.At.IsZero() {
			t.Errorf("event %s: ns %q, at %v", r.ID, r.NS, r.At)
		}
		switch r.Kind {
		case "sms.delivered", "sms.blocked", "sms.failed":
			var d struct {
				ID    string
				Trail []struct{ Step string }
			}
			if err := json.Unmarshal(r.Data, &d); err != nil {
				t.Fatalf("event %s: %v", r.ID, err)
			}
			if n := len(d.Trail); n == 0 || "sms."+d.Trail[n-1].Step != r.Kind {
				t.Errorf("event %s (%s): trail %v does not end with its outcome", r.ID, r.Kind, d.Trail)
			}
		case "filing.status":
			var d struct{ View string }
			json.Unmarshal(r.Data, &d)
			views[d.View] = true
		case "validation":
			var d struct{ Rejected bool }
			json.Unmarshal(r.Data, &d)
			rejected = rejected || d.Rejected
		}
	}
	for _, k := range []string{"filing.submitted", "filing.status", "sms.sent", "sms.delivered", "sms.blocked",
		"sms.failed", "validation", "resend", "clock", "faults", "phone.profile"} {
		if kinds[k] == 0 {
			t.Errorf("the event log holds no %s event (kinds: %v)", k, kinds)
		}
	}
	if !views["miit"] || !views["provider"] || !rejected {
		t.Errorf("the event log: filing.status views %v, a rejecting validation %v; want both views and one", views, rejected)
	}

	// the trail of an outcome is the gateway message's
	for _, r := range l.Events {
		if r.Kind != "sms.failed" {
			continue
		}
		var d struct {
			ID    string
			Trail json.RawMessage
		}
		json.Unmarshal(r.Data, &d)
		var m struct{ Trail json.RawMessage }
		json.Unmarshal(c.get("/gateway/v1/messages/"+d.ID, 200), &m)
		var a, b any
		json.Unmarshal(d.Trail, &a)
		json.Unmarshal(m.Trail, &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("event %s: trail %s, the gateway message's %s", r.ID, d.Trail, m.Trail)
		}
		break
	}

	// pages
	p := oaDecode[oaEventList](t, c.get("/admin/v1/events?after="+l.Events[1].ID+"&limit=2", 200))
	if len(p.Events) != 2 || p.Events[0].ID != l.Events[2].ID || p.Events[1].ID != l.Events[3].ID || p.Last != l.Last {
		t.Errorf("the two events after %s: %v (last %s), want %s, %s (last %s)", l.Events[1].ID, p.Events, p.Last, l.Events[2].ID, l.Events[3].ID, l.Last)
	}
	ms, _, _ := strings.Cut(l.Events[0].ID, "-")
	if first := oaDecode[oaEventList](t, c.get("/admin/v1/events?limit=1", 200)); len(first.Events) != 1 || first.Events[0].ID != l.Events[0].ID {
		t.Errorf("the first event: %v, want %s", first.Events, l.Events[0].ID)
	}
	if p := oaDecode[oaEventList](t, c.get("/admin/v1/events?limit=10000&after="+ms, 200)); len(p.Events) == 0 || !oaNewer(t, p.Events[0].ID, ms+"-0") {
		t.Errorf("the events after %s: %v", ms, oaKinds(p.Events))
	}
	if end := oaDecode[oaEventList](t, c.get("/admin/v1/events?after="+l.Last, 200)); len(end.Events) != 0 || end.Last != l.Last {
		t.Errorf("the events after the last: %v (last %s), want none (last %s)", oaKinds(end.Events), end.Last, l.Last)
	}
	for _, q := range []string{"after=abc", "after=1-2-3", "after=-1", "limit=0", "limit=10001", "limit=many"} {
		c.do(oaReq{method: "GET", path: "/admin/v1/events?" + q, invalid: true}, 400)
	}

	// the websocket: a plain GET is a 426, a bad after a 400 (TestOpenAPIEventsWebsocket checks frames)
	c.get("/ws/events", 426)
	c.get("/ws/events?after="+l.Last, 426)
	c.do(oaReq{method: "GET", path: "/ws/events?after=x", invalid: true}, 400)
	return l.Last
}

// TestOpenAPIEventsWebsocket checks the event log's websocket: the
// upgrade's status, the catch-up after ?after=, live frames, each a Record
// of the document, and a connection without after that gets only what
// happens from then on.
func TestOpenAPIEventsWebsocket(t *testing.T) {
	e := newEnv(t)
	c := newOAChecker(t, e.instance)
	dial := func(query string) *websocket.Conn {
		t.Helper()
		ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/ws/events"+query, nil)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("websocket: %v: %d %s", err, resp.StatusCode, b)
		}
		t.Cleanup(func() { ws.Close() })
		if op := c.doc.Paths.Find("/ws/events").Get; op.Responses.Status(resp.StatusCode) == nil {
			t.Errorf("websocket upgrade: status %d is not in the document", resp.StatusCode)
		}
		return ws
	}
	read := func(ws *websocket.Conn) oaRecord {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, frame, err := ws.ReadMessage()
		if err != nil || typ != websocket.TextMessage {
			t.Fatalf("websocket frame: type %d, %v", typ, err)
		}
		c.schema("Record", frame)
		return oaDecode[oaRecord](t, frame)
	}

	// written before the connection: caught up on
	c.do(oaReq{method: "POST", path: "/gateway/v1/messages",
		body: map[string]string{"from": "95187", "to": "13800000001", "body": "before"}}, 202)
	ws := dial("?after=0")
	sent, delivered := read(ws), read(ws)
	if sent.Kind != "sms.sent" || delivered.Kind != "sms.delivered" || !oaNewer(t, delivered.ID, sent.ID) {
		t.Fatalf("the catch-up: %s %s, %s %s; want sms.sent, then sms.delivered", sent.ID, sent.Kind, delivered.ID, delivered.Kind)
	}
	// then live, each once
	c.do(oaReq{method: "PUT", path: "/admin/v1/clock", body: map[string]any{"scale": 3}}, 200)
	if live := read(ws); live.Kind != "clock" || !oaNewer(t, live.ID, delivered.ID) {
		t.Errorf("the live event: %s %s, want a clock event after %s", live.ID, live.Kind, delivered.ID)
	}

	// without after: only what happens from then on
	ws2 := dial("")
	c.do(oaReq{method: "PUT", path: "/phones/v1/13800000002/profile", body: map[string]any{"spam_filter": true}}, 200)
	if live := read(ws2); live.Kind != "phone.profile" {
		t.Errorf("the first event without after: %s, want phone.profile", live.Kind)
	}
	if live := read(ws); live.Kind != "phone.profile" {
		t.Errorf("the next event with after: %s, want phone.profile", live.Kind)
	}
}
