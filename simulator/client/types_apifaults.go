package client

import (
	"encoding/json"
	"time"
)

// Routes of the provider, MIIT and phone APIs, as openapi.json names them:
// what an APIFault's Route and a RequestMatcher's Route name.
const (
	RouteSubmit          = "POST /provider/v1/filings"
	RouteProviderFiling  = "GET /provider/v1/filings/{id}"
	RouteCancel          = "POST /provider/v1/filings/{id}/cancel"
	RouteChangeNumbers   = "PATCH /provider/v1/filings/{id}/personnel"
	RouteValidate        = "POST /miit/v1/validations"
	RouteResend          = "POST /miit/v1/resends"
	RouteMIITFiling      = "GET /miit/v1/filings/{id}"
	RouteMessages        = "GET /phones/v1/{phone}/messages"
	RouteNextMessage     = "GET /phones/v1/{phone}/messages/next"
	RoutePhoneProfile    = "GET /phones/v1/{phone}/profile"
	RouteSetPhoneProfile = "PUT /phones/v1/{phone}/profile"
)

// The magic numbers of the API's faults (while the profile's MagicNumbers
// is on): the first validation or resend that names one gets its fault,
// the later ones are answered as usual; a reset makes the next one the
// first again.
const (
	MagicAPIUnavailable = "19900000007" // answered 503 with Retry-After: 1
	MagicAPIDropped     = "19900000008" // its connection closed without an answer
)

// APIFault is what the fault profile does to the calls of one route of
// smsim's own API, in real time: Latency before every answer; the calls
// of the Next script, one step after another, counted from the last time
// the profile's APIFaults were set; once the script is through, a share
// DropRate of the calls lose their connection and a share ErrorRate answer
// Status (503 unless set) with Body (nil: a problem detail) and a
// Retry-After header of RetryAfter (0: none).
type APIFault struct {
	Route      string // RouteValidate, …
	Latency    *Delay // nil: none; at most 5m
	ErrorRate  float64
	Status     int
	Body       json.RawMessage
	RetryAfter time.Duration
	DropRate   float64
	Next       []APIStep
}

// APIStep is a step of an APIFault's script: what the next Calls calls
// get — an error (Status), a dropped connection (Drop), a Latency, or
// nothing at all.
type APIStep struct {
	Calls      int
	Latency    *Delay
	Status     int
	Body       json.RawMessage
	RetryAfter time.Duration
	Drop       bool
}

type apiFaultJSON struct {
	Route      string          `json:"route"`
	Latency    *Delay          `json:"latency,omitempty"`
	ErrorRate  float64         `json:"error_rate,omitempty"`
	Status     int             `json:"status,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
	RetryAfter string          `json:"retry_after,omitempty"`
	DropRate   float64         `json:"drop_rate,omitempty"`
	Next       []APIStep       `json:"next,omitempty"`
}

type apiStepJSON struct {
	Calls      int             `json:"calls"`
	Latency    *Delay          `json:"latency,omitempty"`
	Status     int             `json:"status,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
	RetryAfter string          `json:"retry_after,omitempty"`
	Drop       bool            `json:"drop,omitempty"`
}

func optDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return formatDuration(d)
}

// MarshalJSON writes the entry as the server does.
func (a APIFault) MarshalJSON() ([]byte, error) {
	return json.Marshal(apiFaultJSON{Route: a.Route, Latency: a.Latency, ErrorRate: a.ErrorRate, Status: a.Status,
		Body: a.Body, RetryAfter: optDuration(a.RetryAfter), DropRate: a.DropRate, Next: a.Next})
}

// UnmarshalJSON reads the entry as the server writes it.
func (a *APIFault) UnmarshalJSON(b []byte) error {
	var w apiFaultJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var p durations
	*a = APIFault{Route: w.Route, Latency: w.Latency, ErrorRate: w.ErrorRate, Status: w.Status, Body: w.Body,
		RetryAfter: p.parse("retry_after", w.RetryAfter), DropRate: w.DropRate, Next: w.Next}
	return p.err
}

// MarshalJSON writes the step as the server does.
func (s APIStep) MarshalJSON() ([]byte, error) {
	return json.Marshal(apiStepJSON{Calls: s.Calls, Latency: s.Latency, Status: s.Status, Body: s.Body,
		RetryAfter: optDuration(s.RetryAfter), Drop: s.Drop})
}

// UnmarshalJSON reads the step as the server writes it.
func (s *APIStep) UnmarshalJSON(b []byte) error {
	var w apiStepJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var p durations
	*s = APIStep{Calls: w.Calls, Latency: w.Latency, Status: w.Status, Body: w.Body,
		RetryAfter: p.parse("retry_after", w.RetryAfter), Drop: w.Drop}
	return p.err
}
