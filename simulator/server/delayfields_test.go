package server_test

import (
	"encoding/json"
	"testing"
)

// A delay that gives a field its model does not take is a 400 naming the
// field, the model and the model's fields, wherever a delay is taken and
// whatever was stored before; nothing changes.
func TestDelayFieldOfAnotherModelIsRefused(t *testing.T) {
	e := newEnv(t)
	for _, before := range []string{
		`{"sms_delay":{"model":"uniform","min":"1s","max":"2s"}}`,
		`{"sms_delay":{"model":"fixed","value":"1s"}}`,
		`{"sms_delay":{"model":"lognormal","median":"1s","p99":"2s"}}`,
	} {
		e.patchFaults(before)
		_, stored := e.do("GET", "/admin/v1/faults", nil)
		for _, c := range []struct{ method, path, body, detail string }{
			{"PATCH", "/admin/v1/faults", `{"sms_delay":{"model":"uniform","value":"40m"}}`,
				"sms_delay.value: the uniform model takes min and max, not value"},
			{"PATCH", "/admin/v1/faults", `{"sms_delay":{"model":"fixed","min":"1m","max":"2m"}}`,
				"sms_delay.min: the fixed model takes value, not min"},
			{"PUT", "/admin/v1/faults", `{"sms_delay":{"model":"uniform","value":"40m"}}`,
				"sms_delay.value: the uniform model takes min and max, not value"},
			{"PUT", "/admin/v1/faults", `{"sync_lag":{"model":"lognormal","median":"1m","p99":"2m","max":"3m"}}`,
				"sync_lag.max: the lognormal model takes median and p99, not max"},
			{"PATCH", "/admin/v1/faults", `{"sender_delays":{"miit":{"value":"1m","max":"2m"}}}`,
				"sender_delays.miit.max: the fixed model (named by value) takes value, not max"},
			{"PATCH", "/admin/v1/faults", `{"result_sync_lag":{"median":"1m","min":"2m"}}`,
				"result_sync_lag.min: the lognormal model (named by median) takes median and p99, not min"},
			{"PATCH", "/admin/v1/faults", `{"miit_send_delay":{"model":"uniform","p99":"1m"}}`,
				"miit_send_delay.p99: the uniform model takes min and max, not p99"},
			{"PATCH", "/admin/v1/faults", `{"review":{"model":"fixed","value":"1h","min":"2h","approve_ratio":0.5}}`,
				"review.min: the fixed model takes value, not min"},
			{"PATCH", "/admin/v1/faults", `{"api_faults":[{"route":"POST /miit/v1/validations","latency":{"model":"fixed","value":"1s","p99":"2s"}}]}`,
				"api_faults[0].latency.p99: the fixed model takes value, not p99"},
			{"PATCH", "/admin/v1/faults", `{"api_faults":[{"route":"POST /miit/v1/validations","next":[{"calls":1,"latency":{"min":"1s","value":"2s"}}]}]}`,
				"api_faults[0].next[0].latency.min: the fixed model (named by value) takes value, not min"},
			{"PUT", "/phones/v1/13800000001/profile", `{"delay":{"model":"fixed","min":"1m","max":"2m"}}`,
				"delay.min: the fixed model takes value, not min"},
			{"PUT", "/phones/v1/13800000001/profile", `{"delay":{"model":"uniform","value":"40m"}}`,
				"delay.value: the uniform model takes min and max, not value"},
			{"PUT", "/admin/v1/scenario", `{"name":"mixed","faults":{"sms_delay":{"model":"uniform","value":"40m"}}}`,
				"faults.sms_delay.value: the uniform model takes min and max, not value"},
			{"PUT", "/admin/v1/scenario", `{"name":"mixed","phones":{"13800000001":{"delay":{"model":"fixed","min":"1m"}}}}`,
				"phones.13800000001.delay.min: the fixed model takes value, not min"},
		} {
			code, b := e.do(c.method, c.path, c.body)
			if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
				t.Errorf("after %s, %s %s %s: %d %q, want 400 %q", before, c.method, c.path, c.body, code, p.Detail, c.detail)
			}
		}
		if _, after := e.do("GET", "/admin/v1/faults", nil); string(after) != string(stored) {
			t.Errorf("after %s, the refusals changed the profile:\n%s\nto\n%s", before, stored, after)
		}
		if _, prof := e.do("GET", "/phones/v1/13800000001/profile", nil); !jsonHas(t, prof, "delay", `{"model":"fixed","value":"0s"}`) {
			t.Errorf("after %s, the refusals changed the phone's profile: %s", before, prof)
		}
	}
}

// A delay of a request is read against the delay it changes: a field it
// leaves out keeps the value it had while the model stays, else takes its
// start value when the start value has the model, else is absent; a null
// skips the value it had; the fields of the model it had are let go, and a
// null for one of them is let be. A min above its max says where a bound
// the request did not give came from.
func TestDelayReadAgainstTheOneItChanges(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		key, want          string // the delay answered, or the detail of a 400
	}{
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"model":"lognormal","median":"3s","p99":"2m"}}`, 200,
			"sms_delay", `{"model":"lognormal","median":"3s","p99":"2m"}`},
		// uniform again: the log-normal fields go, max is the start value's
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"min":"5s"}}`, 400,
			"", "sms_delay: min (5s) exceeds max (0s, the start value)"},
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"max":"5s"}}`, 200,
			"sms_delay", `{"model":"uniform","min":"0s","max":"5s"}`},
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"min":"10s"}}`, 400,
			"", "sms_delay: min (10s) exceeds max (5s, stored)"},
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"min":"2s"}}`, 200,
			"sms_delay", `{"model":"uniform","min":"2s","max":"5s"}`},
		// a null takes the start value, not the stored one
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"max":null}}`, 400,
			"", "sms_delay: min (2s, stored) exceeds max (0s, the start value)"},
		// the model alone: the start value has no fixed value
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"model":"fixed"}}`, 400,
			"", `sms_delay.value: missing; give a duration such as "45m"`},
		// nulls for the fields of the model it had are let be
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"model":"fixed","value":"40m","min":null,"max":null}}`, 200,
			"sms_delay", `{"model":"fixed","value":"40m"}`},
		{"PATCH", "/admin/v1/faults", `{"sms_delay":{"value":"1m"}}`, 200,
			"sms_delay", `{"model":"fixed","value":"1m"}`},
		{"PATCH", "/admin/v1/faults", `{"sync_lag":{"model":"lognormal","median":"40m","p99":"2h"}}`, 200,
			"sync_lag", `{"model":"lognormal","median":"40m","p99":"2h"}`},
		{"PATCH", "/admin/v1/faults", `{"sync_lag":{"min":"45m"}}`, 200,
			"sync_lag", `{"model":"uniform","min":"45m","max":"1h"}`},
		{"PATCH", "/admin/v1/faults", `{"sync_lag":{"min":"2h","max":null}}`, 400,
			"", "sync_lag: min (2h) exceeds max (1h, the start value)"},
		// a model change to one the start value does not have: only what
		// is given
		{"PATCH", "/admin/v1/faults", `{"miit_send_delay":{"min":"1m"}}`, 400,
			"", "miit_send_delay: min (1m) exceeds max (0s, absent)"},
		{"PATCH", "/admin/v1/faults", `{"miit_send_delay":{"max":"1m"}}`, 200,
			"miit_send_delay", `{"model":"uniform","min":"0s","max":"1m"}`},
		{"PATCH", "/admin/v1/faults", `{"miit_send_delay":{"model":"fixed"}}`, 200,
			"miit_send_delay", `{"model":"fixed","value":"0s"}`},
		// review: approve_ratio is kept apart from the model
		{"PATCH", "/admin/v1/faults", `{"review":{"approve_ratio":0.5}}`, 200,
			"review", `{"model":"uniform","min":"24h","max":"480h","approve_ratio":0.5}`},
		{"PATCH", "/admin/v1/faults", `{"review":{"model":"fixed","value":"72h"}}`, 200,
			"review", `{"model":"fixed","value":"72h","approve_ratio":0.5}`},
		// a new entry of sender_delays has neither a stored value nor a
		// start value
		{"PATCH", "/admin/v1/faults", `{"sender_delays":{"95187":{"min":"1m"}}}`, 400,
			"", "sender_delays.95187: min (1m) exceeds max (0s, absent)"},
		{"PATCH", "/admin/v1/faults", `{"sender_delays":{"95187":{"max":"1m"}}}`, 200,
			"sender_delays", `{"95187":{"model":"uniform","min":"0s","max":"1m"}}`},
		{"PATCH", "/admin/v1/faults", `{"sender_delays":{"95187":{"min":"2m"}}}`, 400,
			"", "sender_delays.95187: min (2m) exceeds max (1m, stored)"},
		// a PUT reads its delays against the start values
		{"PUT", "/admin/v1/faults", `{"sync_lag":{"min":"2h"}}`, 400,
			"", "sync_lag: min (2h) exceeds max (1h, the start value)"},
		{"PUT", "/admin/v1/faults", `{"sync_lag":{"max":"2h"}}`, 200,
			"sync_lag", `{"model":"uniform","min":"30m","max":"2h"}`},
		{"PUT", "/phones/v1/13800000001/profile", `{"delay":{"min":"1m"}}`, 400,
			"", "delay: min (1m) exceeds max (0s, absent)"},
		{"PUT", "/phones/v1/13800000001/profile", `{"delay":{"max":"2m"}}`, 200,
			"delay", `{"model":"uniform","min":"0s","max":"2m"}`},
	} {
		code, b := e.do(c.method, c.path, c.body)
		switch {
		case code != c.status:
			t.Fatalf("%s %s %s: %d %s, want %d", c.method, c.path, c.body, code, b, c.status)
		case c.status == 400:
			if p := problemOf(t, b); p.Detail != c.want {
				t.Fatalf("%s %s %s: %q, want %q", c.method, c.path, c.body, p.Detail, c.want)
			}
		case !jsonHas(t, b, c.key, c.want):
			t.Fatalf("%s %s %s: %s, want %s %s", c.method, c.path, c.body, b, c.key, c.want)
		}
	}
}

// jsonHas tells whether the JSON object b has at key the JSON value want.
func jsonHas(t *testing.T, b []byte, key, want string) bool {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	var got, w any
	if err := json.Unmarshal(obj[key], &got); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	return string(gb) == string(wb)
}
