package openapitest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"smsim/simulator/server"
	"smsim/simulator/server/openapitest"
)

// check answers the verdict on an exchange made of its parts: the request's
// method, path and JSON body ("" for none), the answer's status, media type
// and body (with the X-Request-Id every answer carries).
func check(t *testing.T, method, path, reqBody string, status int, contentType, body string) openapitest.Verdict {
	t.Helper()
	req, err := http.NewRequest(method, "http://127.0.0.1:8080"+path, strings.NewReader(reqBody))
	if err != nil {
		t.Fatal(err)
	}
	if reqBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	v, err := openapitest.Check(req, []byte(reqBody), status, http.Header{"Content-Type": {contentType}, "X-Request-Id": {"0123456789abcdef"}}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantError fails the test unless err names want, or, when want is "", is
// nil: the document allows what of which err speaks.
func wantError(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v, want the document to allow it", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: %v, want an error naming %q", what, err, want)
	}
}

func TestCheckAnswers(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body string
		status                  int
		want                    string // in the error; "": conforms
	}{
		{"conforms", "application/json", `{"now":"2026-05-01T00:00:00Z","scale":1,"paused":true}`, 200, ""},
		{"a field missing", "application/json", `{"now":"2026-05-01T00:00:00Z","scale":1}`, 200, "paused"},
		{"a field of the wrong type", "application/json", `{"now":"2026-05-01T00:00:00Z","scale":"1","paused":true}`, 200, "scale"},
		{"a time that is not one", "application/json", `{"now":"yesterday","scale":1,"paused":true}`, 200, "date-time"},
		{"not JSON", "application/json", `{"now":`, 200, "not JSON"},
		{"an undocumented media type", "text/plain", `now`, 200, "text/plain"},
		{"an undocumented status", "application/json", `{}`, 418, "status is not supported"},
		{"a problem", "application/problem+json", `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"Redis is down"}`, 503, ""},
		{"a problem without its title", "application/problem+json", `{"type":"about:blank","status":503}`, 503, "title"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := check(t, "GET", "/admin/v1/clock", "", c.status, c.contentType, c.body)
			if v.Route == nil || v.Route.Operation.OperationID != "getClock" {
				t.Fatalf("routed to %+v, want getClock", v.Route)
			}
			if v.Request != nil {
				t.Errorf("the request: %v", v.Request)
			}
			wantError(t, "the answer", v.Response, c.want)
		})
	}
}

// Every answer carries X-Request-Id: one without it does not conform.
func TestCheckRequestID(t *testing.T) {
	req, err := http.NewRequest("GET", "http://127.0.0.1:8080/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := openapitest.Check(req, nil, 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"status":"ok"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "an answer without X-Request-Id", v.Response, "X-Request-Id")
}

// A route the admin token guards asks it only of a server that has one:
// the document allows the request with the token and without it.
func TestCheckSecurity(t *testing.T) {
	for _, auth := range []string{"", "Bearer s3cret", "Basic czNjcmV0"} {
		req, err := http.NewRequest("GET", "http://127.0.0.1:8080/admin/v1/clock", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		v, err := openapitest.Check(req, nil, 401, http.Header{"Content-Type": {"application/problem+json"}, "X-Request-Id": {"0123456789abcdef"}},
			[]byte(`{"type":"urn:smsim:problem:unauthorized","title":"Unauthorized","status":401,"detail":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		if v.Route == nil || v.Route.Operation.Security == nil || len(*v.Route.Operation.Security) == 0 {
			t.Fatalf("GET /admin/v1/clock: no security")
		}
		wantError(t, "a request with Authorization "+auth, v.Request, "")
		wantError(t, "a 401", v.Response, "")
	}
}

func TestCheckRequests(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       string // in the error; "": allowed
	}{
		{"allowed", `{"phone":"13800000001","certificate_last6":"000000","code":"999999"}`, ""},
		{"a field of the wrong type", `{"phone":13800000001,"certificate_last6":"000000","code":"999999"}`, "phone"},
		{"a field missing", `{"phone":"13800000001","certificate_last6":"000000"}`, "code"},
		{"not JSON", `{"phone":`, "not JSON"},
		{"no body", ``, "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := check(t, "POST", "/miit/v1/validations", c.body, 400, "application/problem+json",
				`{"type":"about:blank","title":"Bad Request","status":400,"detail":"x"}`)
			if v.Route == nil || v.Route.Operation.OperationID == "" {
				t.Fatalf("not routed: %+v", v.Route)
			}
			wantError(t, "the request", v.Request, c.want)
		})
	}
}

func TestCheckParameters(t *testing.T) {
	for _, c := range []struct {
		path, want string // want: in the error; "": allowed
	}{
		{"/admin/v1/events?limit=10", ""},
		{"/admin/v1/events?limit=0", "limit"},
		{"/admin/v1/events?limit=10001", "limit"},
		{"/admin/v1/events?limit=ten", "limit"},
	} {
		v := check(t, "GET", c.path, "", 400, "application/problem+json",
			`{"type":"about:blank","title":"Bad Request","status":400,"detail":"x"}`)
		wantError(t, c.path, v.Request, c.want)
	}
}

func TestCheckLeavesUnknownRoutes(t *testing.T) {
	v := check(t, "GET", "/nowhere", "", 404, "text/plain", "404 page not found")
	if v.Route != nil || v.Request != nil || v.Response != nil {
		t.Fatalf("%+v, want no verdict on a route the document does not have", v)
	}
}

func TestComponent(t *testing.T) {
	if err := openapitest.Component("ClockState", []byte(`{"now":"2026-05-01T00:00:00Z","scale":1,"paused":false}`)); err != nil {
		t.Errorf("a clock: %v", err)
	}
	if err := openapitest.Component("ClockState", []byte(`{"now":"2026-05-01T00:00:00Z","scale":0,"paused":false}`)); err == nil || !strings.Contains(err.Error(), "scale") {
		t.Errorf("a clock at scale 0: %v, want an error naming scale", err)
	}
	if err := openapitest.Component("NoSuchSchema", []byte(`{}`)); err == nil {
		t.Error("a schema the document does not have: no error")
	}
}

// Checks run from many tests at once: the schemas compiled once are shared.
func TestCheckConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := openapitest.Component("ClockState", []byte(`{"now":"2026-05-01T00:00:00Z","scale":1,"paused":true}`)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkCheck is the check of one answer (GET /admin/v1/clock's, a
// $ref to a component schema) by Check, whose body schemas are compiled
// once, beside the baseline of kin-openapi checking it alone, which
// compiles the schema again at every check of an OpenAPI 3.1 document.
func BenchmarkCheck(b *testing.B) {
	const body = `{"now":"2026-05-01T00:00:00Z","scale":1,"paused":true}`
	header := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"0123456789abcdef"}}
	req, err := http.NewRequest("GET", "http://127.0.0.1:8080/admin/v1/clock", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("compiled-once", func(b *testing.B) {
		for b.Loop() {
			v, err := openapitest.Check(req, nil, 200, header, []byte(body))
			if err != nil || v.Request != nil || v.Response != nil {
				b.Fatalf("%v %+v", err, v)
			}
		}
	})
	b.Run("kin-openapi", func(b *testing.B) {
		doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI())
		if err != nil {
			b.Fatal(err)
		}
		doc.Servers = nil
		router, err := legacy.NewRouter(doc)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			route, params, err := router.FindRoute(req)
			if err != nil {
				b.Fatal(err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				b.Fatal(err)
			}
			if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: 200, Header: header, Body: io.NopCloser(strings.NewReader(body)),
				Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
