package server

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
)

// requestTypes makes a value of each type the API decodes a request body
// into with core.DecodeStrict (Server.decode), by route. The fault profile,
// a phone's profile and a scenario have parsers of their own, fuzzed where
// they live.
var requestTypes = map[string]func() any{
	"POST /provider/v1/filings":                 func() any { return new(miit.SubmitRequest) },
	"PATCH /provider/v1/filings/{id}/personnel": func() any { return new(map[string]miit.NumberChange) },
	"POST /miit/v1/validations":                 func() any { return new(miit.ValidateRequest) },
	"POST /miit/v1/resends":                     func() any { return new(miit.ResendRequest) },
	"POST /gateway/v1/messages":                 func() any { return new(sendRequest) },
	"PUT /phones/v1/{phone}/script":             func() any { return new(gateway.Script) },
	"PUT /admin/v1/clock":                       func() any { return new(clockRequest) },
	"POST /admin/v1/clock/advance":              func() any { return new(advanceRequest) },
	"POST /admin/v1/webhooks":                   func() any { return new(webhookRequest) },
}

// Every request body, decoded into each type the API decodes one into: a
// refusal is a 400 naming a field or the body; what is accepted writes
// JSON that, its nulls left out (a request may not send null: it leaves
// the field out), decodes to the same value.
func FuzzDecodeRequests(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		for route, newValue := range requestTypes {
			v := newValue()
			if err := core.DecodeStrict(bytes.NewReader(body), v); err != nil {
				e, ok := err.(*core.Error)
				if !ok || e.Code != 400 {
					t.Fatalf("%s: refused with %T %v, want a *core.Error of status 400", route, err, err)
				}
				if field, what, ok := strings.Cut(e.Detail, ": "); !ok || field == "" || what == "" {
					t.Fatalf("%s: detail %q names no field", route, e.Detail)
				}
				continue
			}
			b, err := json.Marshal(v)
			if err == nil {
				b, err = withoutNulls(b)
			}
			if err != nil {
				t.Fatalf("%s: %s decoded as %+v, which cannot be written: %v", route, body, v, err)
			}
			again := newValue()
			if err := core.DecodeStrict(bytes.NewReader(b), again); err != nil || !reflect.DeepEqual(again, v) {
				t.Fatalf("%s: %s decoded as %+v, written %s, read back as %+v, %v", route, body, v, b, again, err)
			}
		}
	})
}

// withoutNulls answers the JSON b with the members whose value is null left
// out, at every depth: what Go writes for a nil pointer, slice or map,
// which a request leaves out instead.
func withoutNulls(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers as they were written
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var drop func(v any) any
	drop = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, m := range v {
				if m == nil {
					delete(v, k)
				} else {
					v[k] = drop(m)
				}
			}
		case []any:
			for i, m := range v {
				v[i] = drop(m)
			}
		}
		return v
	}
	return json.Marshal(drop(doc))
}
