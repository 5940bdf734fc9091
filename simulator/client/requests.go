package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Request is a request to the provider, MIIT or phone API as the
// namespace's request journal kept it: what the client sent, what smsim
// answered, when in both clocks, and the fault the profile's APIFaults
// applied.
type Request struct {
	ID        string          `json:"id"` // its X-Request-Id
	Method    string          `json:"method"`
	Route     string          `json:"route"` // RouteValidate, …
	Path      string          `json:"path"`
	Query     string          `json:"query,omitempty"`
	Body      json.RawMessage `json:"body,omitempty"`   // the JSON sent, or its text as a JSON string
	Status    int             `json:"status"`           // 0: the connection was dropped
	Answer    json.RawMessage `json:"answer,omitempty"` // the JSON answered
	At        time.Time       `json:"at"`               // simulated
	RealAt    time.Time       `json:"real_at"`
	Took      string          `json:"took"` // real time to the answer, a Go duration string
	Phones    []string        `json:"phones,omitempty"`
	Order     string          `json:"order,omitempty"`
	Fault     *AppliedFault   `json:"fault,omitempty"`
	Truncated bool            `json:"truncated,omitempty"`
}

// AppliedFault is what the profile's APIFaults (or a magic number of the
// API) did to a call.
type AppliedFault struct {
	Call    int64  `json:"call"`              // the call's number on its route since APIFaults were set
	Step    *int   `json:"step,omitempty"`    // the step of the script; nil: the rates
	Magic   string `json:"magic,omitempty"`   // the magic number whose fault it is
	Latency string `json:"latency,omitempty"` // the latency added, a Go duration string
	Status  int    `json:"status,omitempty"`  // the error answered
	Dropped bool   `json:"dropped,omitempty"` // the connection was closed without an answer
}

// RequestFilter chooses requests of the journal on the server; a zero
// field chooses all.
type RequestFilter struct {
	Route string // RouteValidate, …
	Phone string
	Order string
	Since time.Time // simulated, inclusive
	Until time.Time // simulated, exclusive
}

// RequestList is the journal's requests, oldest first.
type RequestList []Request

// Requests reads the namespace's request journal (GET /admin/v1/requests):
// the requests f chooses, oldest first. The server first writes what it
// holds, so the list has every request this client's calls got answered.
func (c *Client) Requests(ctx context.Context, f RequestFilter) (RequestList, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("route", f.Route)
	set("phone", f.Phone)
	set("order", f.Order)
	if !f.Since.IsZero() {
		q.Set("since", formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		q.Set("until", formatTime(f.Until))
	}
	var out struct {
		Requests RequestList `json:"requests"`
	}
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/requests", query: q}, &out)
	return out.Requests, err
}

// RequestMatcher tells which requests a test looks for, as WireMock's
// verify does: every field set must match; a zero field matches all.
type RequestMatcher struct {
	Route  string
	Phone  string // among the numbers the request names (+86 or not, as the server reads one)
	Order  string
	Status int
	// Body holds fields the JSON body must have, each with the same JSON
	// value ({"code": "123456"}).
	Body map[string]any
	// Faulted: true matches the calls APIFaults did something to, false
	// those it left alone; nil both.
	Faulted *bool
}

// Match tells whether r is one the matcher looks for.
func (m RequestMatcher) Match(r Request) bool {
	if (m.Route != "" && r.Route != m.Route) || (m.Phone != "" && !slices.Contains(r.Phones, m.Phone) && !slices.Contains(r.Phones, mainlandNumber(m.Phone))) ||
		(m.Order != "" && r.Order != m.Order) || (m.Status != 0 && r.Status != m.Status) ||
		(m.Faulted != nil && *m.Faulted != (r.Fault != nil)) {
		return false
	}
	if len(m.Body) == 0 {
		return true
	}
	var body map[string]any
	if json.Unmarshal(r.Body, &body) != nil {
		return false
	}
	for k, want := range m.Body {
		got, ok := body[k]
		if !ok || !sameJSON(got, want) {
			return false
		}
	}
	return true
}

// sameJSON tells whether a value read from JSON equals want once want is
// written as JSON and read back (so 6 matches 6.0, a struct its object).
func sameJSON(got, want any) bool {
	b, err := json.Marshal(want)
	if err != nil {
		return false
	}
	var w any
	if json.NewDecoder(bytes.NewReader(b)).Decode(&w) != nil {
		return false
	}
	return reflect.DeepEqual(got, w)
}

// Matching answers the requests m matches, in order.
func (l RequestList) Matching(m RequestMatcher) RequestList {
	out := RequestList{}
	for _, r := range l {
		if m.Match(r) {
			out = append(out, r)
		}
	}
	return out
}

// Count answers how many requests m matches.
func (l RequestList) Count(m RequestMatcher) int { return len(l.Matching(m)) }

// mainlandNumber is phone as the journal names a number: without +86, or
// the 86 before eleven digits, as the server normalises one.
func mainlandNumber(phone string) string {
	switch {
	case strings.HasPrefix(phone, "+86"):
		return phone[3:]
	case strings.HasPrefix(phone, "86") && len(phone) == 13:
		return phone[2:]
	}
	return phone
}
