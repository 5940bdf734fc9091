package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

// The journal through the SDK: the filters reach the server, the matcher
// counts what a test looks for, and the profile's APIFaults read back as
// they were put.
func TestRequests(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := context.Background()
	lat := client.Fixed(10 * time.Millisecond)
	f := client.DefaultFaults()
	f.APIFaults = []client.APIFault{
		{Route: client.RouteResend, ErrorRate: 1, Status: 429, Body: json.RawMessage(`{"busy":true}`), RetryAfter: 3 * time.Second},
		{Route: client.RouteValidate, Latency: &lat, Next: []client.APIStep{{Calls: 1, Drop: true}, {Calls: 2}}},
	}
	got, err := sim.PutFaults(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(f)
	if b, _ := json.Marshal(got); string(b) != string(want) {
		t.Errorf("the profile read back\n%s\nwant\n%s", b, want)
	}

	person := client.Person{Phone: "13800000009", CertificateNumber: "110101199003071234"}
	_, err = sim.ResendPerson(ctx, person)
	var e *client.Error
	if !client.IsStatus(err, 429) || !errors.As(err, &e) || e.Detail != `{"busy":true}` {
		t.Errorf("resend: %v, want the injected 429", err)
	}
	// A POST whose connection is dropped is not retried by Go's client (a
	// GET on a reused connection would be, on a new one).
	if _, err := sim.ValidatePerson(ctx, person, "123456"); err == nil {
		t.Error("the first validation: no error, want its connection dropped")
	}
	if v, err := sim.ValidatePerson(ctx, person, "123456"); err != nil || v.Result != client.ResultNotFound {
		t.Errorf("the second validation: %+v, %v", v, err)
	}
	reqs, err := sim.Requests(ctx, client.RequestFilter{Phone: "+8613800000009"})
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, r := range reqs {
		routes = append(routes, r.Route)
	}
	if !slices.Equal(routes, []string{client.RouteResend, client.RouteValidate, client.RouteValidate}) {
		t.Errorf("the journal of 13800000009: %v", routes)
	}
	yes, no := true, false
	for _, c := range []struct {
		m    client.RequestMatcher
		want int
	}{
		{client.RequestMatcher{}, 3},
		{client.RequestMatcher{Route: client.RouteResend, Status: 429, Body: map[string]any{"certificate_last6": "071234"}}, 1},
		{client.RequestMatcher{Body: map[string]any{"certificate_last6": "000000"}}, 0},
		{client.RequestMatcher{Route: client.RouteValidate, Body: map[string]any{"code": "123456", "phone": "13800000009"}}, 2},
		{client.RequestMatcher{Faulted: &yes}, 3},
		{client.RequestMatcher{Faulted: &no}, 0},
		{client.RequestMatcher{Status: 200}, 1},
		{client.RequestMatcher{Phone: "13800000001"}, 0},
		{client.RequestMatcher{Phone: "13800000009"}, 3},
		{client.RequestMatcher{Phone: "+8613800000009"}, 3}, // as the server's filter reads a number
		{client.RequestMatcher{Phone: "8613800000009"}, 3},
	} {
		if n := reqs.Count(c.m); n != c.want {
			t.Errorf("%+v: %d, want %d", c.m, n, c.want)
		}
	}
	if r := reqs[1]; r.Status != 0 || r.Fault == nil || !r.Fault.Dropped || r.Fault.Latency != "10ms" || *r.Fault.Step != 0 {
		t.Errorf("the dropped call's entry: %+v %+v", r, r.Fault)
	}
	since, err := sim.Requests(ctx, client.RequestFilter{Since: simtest.DefaultStart().Add(time.Minute)})
	if err != nil || len(since) != 0 {
		t.Errorf("since a minute after the start: %d, %v; want none", len(since), err)
	}
	if _, err := sim.Requests(ctx, client.RequestFilter{Route: "GET /nowhere"}); !client.IsStatus(err, 400) {
		t.Errorf("an unknown route: %v, want a 400", err)
	}
}
