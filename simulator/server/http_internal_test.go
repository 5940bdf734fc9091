package server

import (
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// An answer that cannot be encoded is a 500 problem, logged, never a 200
// with an empty body; one that can is written whole.
func TestWriteJSONAnswersWhatCannotBeEncodedWithA500(t *testing.T) {
	var logged testkit.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logged, nil))}
	cases := []struct {
		name   string
		v      any
		detail string
	}{
		{"a time past year 9999", core.ClockState{Now: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Scale: 1},
			"internal error: the answer cannot be written as JSON: json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]"},
		{"a NaN", map[string]float64{"rate": math.NaN()},
			"internal error: the answer cannot be written as JSON: json: unsupported value: NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/admin/v1/clock", nil)
			r.Pattern = "GET /admin/v1/clock"
			s.writeJSON(rec, r, http.StatusOK, c.v)
			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("answer %d %q: %v", rec.Code, rec.Body, err)
			}
			want := Problem{Type: "urn:smsim:problem:internal", Title: "Internal Server Error", Status: 500, Detail: c.detail}
			if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" || p != want {
				t.Fatalf("answer %d %s %+v, want 500 application/problem+json %+v", rec.Code, rec.Header().Get("Content-Type"), p, want)
			}
		})
	}
	lines := logged.JSONLines(t)
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2: %s", len(lines), logged.String())
	}
	for i, l := range lines {
		if l["level"] != "ERROR" || l["msg"] != "answer cannot be encoded" || l["route"] != "GET /admin/v1/clock" || l["err"] != cases[i].detail[len("internal error: the answer cannot be written as JSON: "):] {
			t.Errorf("log line %v", l)
		}
	}

	rec := httptest.NewRecorder()
	s.writeJSON(rec, httptest.NewRequest("GET", "/admin/v1/clock", nil), http.StatusAccepted, core.ClockState{Now: core.MaxTime(), Scale: 2})
	if want := "{\"now\":\"9900-01-01T00:00:00Z\",\"scale\":2,\"paused\":false}\n"; rec.Code != 202 || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != want {
		t.Fatalf("answer %d %s %q, want 202 application/json %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body, want)
	}
}
