package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// wholeNumberFields are integer fields of request bodies, one per endpoint
// that takes a JSON body with one: body is the request with N where the
// number goes, read answers the stored setting, at is where the field is
// in it, and field is how a 400 names it.
var wholeNumberFields = []struct {
	name, method, path, body string
	read                     string
	at                       []any
	field                    string
}{
	{"phone script", "PUT", "/phones/v1/" + phoneA + "/script", `{"steps":[{"action":"fail","count":N}]}`,
		"/phones/v1/" + phoneA + "/script", []any{"steps", 0, "count"}, "steps[0].count"},
	{"phone profile", "PUT", "/phones/v1/" + phoneA + "/profile", `{"inbox_limit":N}`,
		"/phones/v1/" + phoneA + "/profile", []any{"inbox_limit"}, "inbox_limit"},
	{"fault profile", "PUT", "/admin/v1/faults", `{"throttles":[{"sender":"95187","limit":N,"per":"1m","mode":"hold"}]}`,
		"/admin/v1/faults", []any{"throttles", 0, "limit"}, "throttles[0].limit"},
	{"fault patch", "PATCH", "/admin/v1/faults", `{"api_faults":[{"route":"POST /miit/v1/resends","next":[{"calls":N,"status":503}]}]}`,
		"/admin/v1/faults", []any{"api_faults", 0, "next", 0, "calls"}, "api_faults[0].next[0].calls"},
	{"scenario", "PUT", "/admin/v1/scenario", `{"name":"whole","phones":{"` + phoneB + `":{"inbox_limit":N}}}`,
		"/phones/v1/" + phoneB + "/profile", []any{"inbox_limit"}, "phones." + phoneB + ".inbox_limit"},
}

// A number that is whole by its digits — a fraction of zeros, an exponent
// — is taken wherever a body has a whole number, as JSON Schema counts it,
// and stored as that whole number.
func TestWholeNumbersAreTakenInEveryBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, f := range wholeNumberFields {
		for _, c := range []struct{ given, want string }{
			{"5", "5"}, {"5.0", "5"}, {"5e0", "5"}, {"50e-1", "5"}, {"0.5E+1", "5"}, {"1e3", "1000"}, {"1000.000", "1000"},
		} {
			body := strings.Replace(f.body, "N", c.given, 1)
			if status, b := e.do(f.method, f.path, body); status != http.StatusOK {
				t.Errorf("%s: %s %s: %d %s, want 200", f.name, f.method, body, status, b)
				continue
			}
			_, b := e.do("GET", f.read, nil)
			if got := numberAt(t, b, f.at); got != c.want {
				t.Errorf("%s: %s %s, then GET %s: %v is %s, want %s", f.name, f.method, body, f.read, f.at, got, c.want)
			}
		}
	}
}

// A number that is not whole is refused where a whole number is due, with
// a 400 naming the field and the number as given; one out of range, and a
// number where a string is due, are refused as they always were.
func TestNumbersThatAreNotWholeAreRefusedInEveryBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, f := range wholeNumberFields {
		for _, c := range []struct{ given, detail string }{
			{"5.5", f.field + ": expected a whole number, got a JSON number 5.5"},
			{"1e-3", f.field + ": expected a whole number, got a JSON number 1e-3"},
			{"5.000000000000000000001", f.field + ": expected a whole number, got a JSON number 5.000000000000000000001"},
			{"1e19", f.field + ": 1e19 is out of range; expected a whole number from -9223372036854775808 to 9223372036854775807"},
		} {
			body := strings.Replace(f.body, "N", c.given, 1)
			resp, b := rawRequest(t, f.method, e.url+f.path, "application/json", body, nil)
			wantProblem(t, f.name+": "+body, resp, b, http.StatusBadRequest, c.detail)
		}
	}
	resp, b := rawRequest(t, "PUT", e.url+"/phones/v1/"+phoneA+"/script", "application/json", `{"steps":[{"action":5.0}]}`, nil)
	wantProblem(t, "a script's action 5.0", resp, b, http.StatusBadRequest, "steps[0].action: expected a string, got a JSON number")
}

// numberAt answers the JSON number at path in the document b, as written.
func numberAt(t *testing.T, b []byte, path []any) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[s]
		case int:
			a, _ := v.([]any)
			if s >= len(a) {
				t.Fatalf("%s: no %v", b, path)
			}
			v = a[s]
		}
	}
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%s: %v is %v, not a number", b, path, v)
	}
	return string(n)
}
