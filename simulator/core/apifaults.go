package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiRoutes are the routes of smsim's own API that the fault profile's
// api_faults may slow down, fail or cut, and whose calls the request
// journal keeps: the provider's, MIIT's and the phones', each named as the
// OpenAPI document and the server's mux name it. A test of the server
// holds this list to its routes.
var apiRoutes = []string{
	"POST /provider/v1/filings",
	"GET /provider/v1/filings",
	"GET /provider/v1/filings/{id}",
	"POST /provider/v1/filings/{id}/cancel",
	"PATCH /provider/v1/filings/{id}/personnel",
	"POST /miit/v1/validations",
	"POST /miit/v1/resends",
	"GET /miit/v1/filings",
	"GET /miit/v1/filings/{id}",
	"GET /phones/v1",
	"GET /phones/v1/{phone}/messages",
	"DELETE /phones/v1/{phone}/messages",
	"GET /phones/v1/{phone}/messages/next",
	"GET /phones/v1/{phone}/profile",
	"PUT /phones/v1/{phone}/profile",
	"GET /phones/v1/{phone}/ws",
	"GET /phones/v1/{phone}/script",
	"PUT /phones/v1/{phone}/script",
	"DELETE /phones/v1/{phone}/script",
}

// APIRoutes answers the routes of the provider, MIIT and phone APIs.
func APIRoutes() []string { return slices.Clone(apiRoutes) }

// IsAPIRoute tells whether route is one of APIRoutes.
func IsAPIRoute(route string) bool { return slices.Contains(apiRoutes, route) }

// CheckAPIRoute refuses, naming field, a route that is not one of
// APIRoutes.
func CheckAPIRoute(field, route string) error {
	if IsAPIRoute(route) {
		return nil
	}
	return Invalid("%s: %q is not a route of the provider, MIIT or phone API; give one as openapi.json names it: %s",
		field, route, strings.Join(apiRoutes, ", "))
}

// MaxAPILatency bounds the latency api_faults add to a call, in real time.
const MaxAPILatency = 5 * time.Minute

// MaxAPIScript bounds the calls of an api_faults script.
const MaxAPIScript = 1_000_000

// APIFault is what the fault profile does to the calls of one route of
// smsim's own API: Latency (real time) before every answer; the calls of
// the Next script, one step after another, counted from when api_faults
// were last set; once the script is through, a share DropRate of the calls
// lose their connection and a share ErrorRate answer Error instead of what
// the route answers.
type APIFault struct {
	Route     string
	Latency   *Delay // nil: none
	ErrorRate float64
	Error     APIError
	DropRate  float64
	Next      []APIStep
}

// APIError is an answer api_faults put in place of the route's own: Status
// (4xx or 5xx), Body (JSON; nil: a problem detail naming the fault), and
// a Retry-After header when RetryAfter is set (whole seconds, rounded up).
type APIError struct {
	Status     int
	Body       json.RawMessage
	RetryAfter *time.Duration
}

// APIStep is a step of an api_faults script: what the next Calls calls get
// — a latency, an error (Error.Status not 0), a dropped connection, or
// nothing at all (the call goes through as it would).
type APIStep struct {
	Calls   int
	Latency *Delay
	Error   APIError
	Drop    bool
}

// The wire forms.
type apiFaultJSON struct {
	Route      string          `json:"route"`
	Latency    *DelayJSON      `json:"latency,omitempty"`
	ErrorRate  float64         `json:"error_rate,omitempty"`
	Status     int             `json:"status,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
	RetryAfter *string         `json:"retry_after,omitempty"`
	DropRate   float64         `json:"drop_rate,omitempty"`
	Next       []apiStepJSON   `json:"next,omitempty"`
}

type apiStepJSON struct {
	Calls      int             `json:"calls"`
	Latency    *DelayJSON      `json:"latency,omitempty"`
	Status     int             `json:"status,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
	RetryAfter *string         `json:"retry_after,omitempty"`
	Drop       bool            `json:"drop,omitempty"`
}

func apiFaultsWire(fs []APIFault) []apiFaultJSON {
	var out []apiFaultJSON
	for _, f := range fs {
		w := apiFaultJSON{Route: f.Route, Latency: delayWire(f.Latency), ErrorRate: f.ErrorRate, DropRate: f.DropRate}
		w.Status, w.Body, w.RetryAfter = f.Error.wire()
		for _, s := range f.Next {
			sw := apiStepJSON{Calls: s.Calls, Latency: delayWire(s.Latency), Drop: s.Drop}
			sw.Status, sw.Body, sw.RetryAfter = s.Error.wire()
			w.Next = append(w.Next, sw)
		}
		out = append(out, w)
	}
	return out
}

func delayWire(d *Delay) *DelayJSON {
	if d == nil {
		return nil
	}
	w := d.wire()
	return &w
}

func (e APIError) wire() (int, json.RawMessage, *string) {
	var ra *string
	if e.RetryAfter != nil {
		s := FormatDuration(*e.RetryAfter)
		ra = &s
	}
	return e.Status, e.Body, ra
}

func (p *parser) apiFaults(ws []apiFaultJSON) []APIFault {
	var out []APIFault
	seen := map[string]bool{}
	for i, w := range ws {
		field := fmt.Sprintf("api_faults[%d]", i)
		if p.err == nil {
			if w.Route == "" {
				p.fail("%s.route: missing; name a route as openapi.json does, such as \"POST /miit/v1/validations\"", field)
			} else if err := CheckAPIRoute(field+".route", w.Route); err != nil {
				p.err = err
			} else if seen[w.Route] {
				p.fail("%s.route: %q has an entry already; give each route one", field, w.Route)
			}
		}
		seen[w.Route] = true
		f := APIFault{Route: w.Route, Latency: p.apiLatency(field+".latency", w.Latency),
			ErrorRate: p.rate(field+".error_rate", w.ErrorRate), DropRate: p.rate(field+".drop_rate", w.DropRate)}
		f.Error = p.apiError(field, w.Status, w.Body, w.RetryAfter)
		if f.Error.Status == 0 {
			if w.ErrorRate > 0 {
				f.Error.Status = 503
			} else if w.Body != nil || w.RetryAfter != nil {
				p.fail("%s: body and retry_after belong to an error: give an error_rate", field)
			}
		}
		total := 0
		for j, sw := range w.Next {
			sf := fmt.Sprintf("%s.next[%d]", field, j)
			if p.err == nil && sw.Calls < 1 {
				p.fail("%s.calls: must be at least 1, got %d", sf, sw.Calls)
			}
			total += max(sw.Calls, 0)
			if p.err == nil && total > MaxAPIScript {
				p.fail("%s.calls: the script counts more than %d calls", sf, MaxAPIScript)
			}
			s := APIStep{Calls: sw.Calls, Latency: p.apiLatency(sf+".latency", sw.Latency), Drop: sw.Drop}
			s.Error = p.apiError(sf, sw.Status, sw.Body, sw.RetryAfter)
			switch {
			case s.Error.Status == 0 && (sw.Body != nil || sw.RetryAfter != nil):
				p.fail("%s: body and retry_after belong to an error: give a status", sf)
			case s.Error.Status != 0 && s.Drop:
				p.fail("%s: a step answers a status or drops the connection, not both", sf)
			}
			f.Next = append(f.Next, s)
		}
		out = append(out, f)
	}
	return out
}

func (p *parser) apiLatency(field string, w *DelayJSON) *Delay {
	if w == nil || p.err != nil {
		return nil
	}
	d := p.delay(field, *w)
	if p.err == nil && d.upper() > MaxAPILatency {
		p.fail("%s: must be at most %s, got %s", field, FormatDuration(MaxAPILatency), d)
	}
	return &d
}

// upper is the longest the delay draws (its 99th percentile for a
// log-normal one, whose draws are cut at MaxAPILatency).
func (d Delay) upper() time.Duration {
	switch d.Model {
	case ModelFixed:
		return d.Value
	case ModelLogNormal:
		return d.P99
	}
	return d.Max
}

func (p *parser) apiError(field string, status int, body json.RawMessage, retryAfter *string) APIError {
	e := APIError{Status: status}
	if p.err != nil {
		return e
	}
	if status != 0 && (status < 400 || status > 599) {
		p.fail("%s.status: must be an error status from 400 to 599, got %d", field, status)
	}
	if body != nil {
		var c bytes.Buffer
		if err := json.Compact(&c, body); err != nil {
			p.fail("%s.body: not JSON: %v", field, err)
		}
		e.Body = c.Bytes()
	}
	if retryAfter != nil {
		d := p.dur(field+".retry_after", *retryAfter)
		if p.err == nil && d < time.Second {
			p.fail("%s.retry_after: must be at least 1s, got %q", field, *retryAfter)
		}
		e.RetryAfter = &d
	}
	return e
}

// APIFaultOf answers the entry of api_faults for route, if any.
func (f Faults) APIFaultOf(route string) (APIFault, bool) {
	for _, a := range f.APIFaults {
		if a.Route == route {
			return a, true
		}
	}
	return APIFault{}, false
}

// APIDecision is what api_faults do to one call: wait Latency (real time),
// then drop the connection, or answer Error, or let the call through.
type APIDecision struct {
	Latency time.Duration
	Drop    bool
	Error   APIError // Status 0: none
	Applied AppliedFault
}

// AppliedFault is the fault a call got, as the request journal shows it:
// the call's number on its route since api_faults were last set, the step
// of the script that applied (absent: the rates), and what was done.
type AppliedFault struct {
	Call    int64  `json:"call"`
	Step    *int   `json:"step,omitempty"`
	Magic   string `json:"magic,omitempty"` // the magic number whose fault it is
	Latency string `json:"latency,omitempty"`
	Status  int    `json:"status,omitempty"`
	Dropped bool   `json:"dropped,omitempty"`
}

// None tells whether nothing was done to the call.
func (a AppliedFault) None() bool { return a.Latency == "" && a.Status == 0 && !a.Dropped }

// Decide decides call number call (from 1) of the route in namespace ns:
// the script's step when the call falls in it, else the rates, drawn from
// src by the namespace, the route and the call's number.
func (a APIFault) Decide(src *Source, ns string, call int64) APIDecision {
	d := APIDecision{Applied: AppliedFault{Call: call}}
	latency := a.Latency
	from := int64(0)
	for i, s := range a.Next {
		if call <= from+int64(s.Calls) {
			i := i
			d.Applied.Step = &i
			d.Drop, d.Error = s.Drop, s.Error
			if s.Latency != nil {
				latency = s.Latency
			}
			d.setLatency(latency, src, ns, a.Route, call)
			return d
		}
		from += int64(s.Calls)
	}
	d.setLatency(latency, src, ns, a.Route, call)
	n := strconv.FormatInt(call, 10)
	switch {
	case src.Chance(a.DropRate, "api_drop", ns, a.Route, n):
		d.Drop = true
	case src.Chance(a.ErrorRate, "api_error", ns, a.Route, n):
		d.Error = a.Error
	}
	d.Applied.Dropped, d.Applied.Status = d.Drop, d.Error.Status
	return d
}

func (d *APIDecision) setLatency(l *Delay, src *Source, ns, route string, call int64) {
	if l != nil {
		d.Latency = min(l.Draw(src, "api_latency", ns, route, strconv.FormatInt(call, 10)), MaxAPILatency)
	}
	if d.Latency > 0 {
		d.Applied.Latency = FormatDuration(d.Latency)
	}
	d.Applied.Dropped, d.Applied.Status = d.Drop, d.Error.Status
}

// RetryAfterHeader is the Retry-After header of the error, whole seconds
// rounded up ("" for none).
func (e APIError) RetryAfterHeader() string {
	if e.RetryAfter == nil {
		return ""
	}
	return strconv.FormatInt(int64(math.Ceil(e.RetryAfter.Seconds())), 10)
}
