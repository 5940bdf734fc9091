package server_test

import (
	"fmt"
	"testing"
	"time"

	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core"
)

func (in *instance) schedule(query string) simulator.Schedule {
	in.t.Helper()
	var s simulator.Schedule
	in.call("GET", "/admin/v1/schedule"+query, nil, 200, &s)
	return s
}

func wantJobs(t *testing.T, got simulator.Schedule, more bool, want ...simulator.ScheduledJob) {
	t.Helper()
	if got.More != more || len(got.Scheduled) != len(want) {
		t.Fatalf("schedule %+v, more %v; want %+v, more %v", got.Scheduled, got.More, want, more)
	}
	for i := range want {
		if g := got.Scheduled[i]; g.Kind != want[i].Kind || !g.Due.Equal(want[i].Due) || g.Order != want[i].Order ||
			g.Phone != want[i].Phone || (want[i].Message == "*") != (g.Message != "") {
			t.Fatalf("job %d is %+v, want %+v", i, g, want[i])
		}
	}
}

// An order's jobs are listed in due order, with what they concern, and the
// filters choose among them; the code's digits never show.
func TestScheduleLists(t *testing.T) {
	e := newEnv(t)
	wantJobs(t, e.schedule(""), false)
	e.fixedLags("30m", "1m")
	e.patchFaults(`{"sms_delay":{"min":"5m","max":"5m"}}`)
	v := e.submit(firstFilingWebsite("13800000001", "13800000002"))
	s := e.schedule("")
	if !s.Now.Equal(t0) {
		t.Fatalf("now %s, want %s", s.Now, t0)
	}
	wantJobs(t, s, false,
		simulator.ScheduledJob{Kind: "gateway.deliver", Due: t0.Add(5 * time.Minute), Phone: "13800000001", Message: "*"},
		simulator.ScheduledJob{Kind: "gateway.deliver", Due: t0.Add(5 * time.Minute), Phone: "13800000002", Message: "*"},
		simulator.ScheduledJob{Kind: miit.JobSync, Due: t0.Add(30 * time.Minute), Order: v.ID})

	e.advance("30m") // the sync: codes sent, delivered 5 minutes later; the window ends in 24 hours
	synced := t0.Add(30 * time.Minute)
	deadline := synced.Add(24 * time.Hour)
	wantJobs(t, e.schedule(""), false,
		simulator.ScheduledJob{Kind: "gateway.deliver", Due: synced.Add(5 * time.Minute), Phone: "13800000001", Message: "*"},
		simulator.ScheduledJob{Kind: "gateway.deliver", Due: synced.Add(5 * time.Minute), Phone: "13800000002", Message: "*"},
		simulator.ScheduledJob{Kind: miit.JobExpire, Due: deadline, Order: v.ID})
	wantJobs(t, e.schedule("?kind=miit.expire"), false, simulator.ScheduledJob{Kind: miit.JobExpire, Due: deadline, Order: v.ID})
	wantJobs(t, e.schedule("?order="+v.ID), false, simulator.ScheduledJob{Kind: miit.JobExpire, Due: deadline, Order: v.ID})
	wantJobs(t, e.schedule("?phone=%2B8613800000002"), false,
		simulator.ScheduledJob{Kind: "gateway.deliver", Due: synced.Add(5 * time.Minute), Phone: "13800000002", Message: "*"})
	wantJobs(t, e.schedule("?limit=1"), true,
		simulator.ScheduledJob{Kind: "gateway.deliver", Due: synced.Add(5 * time.Minute), Phone: "13800000001", Message: "*"})
	wantJobs(t, e.schedule("?kind=miit.sync&order="+v.ID), false)
	if all, empty := e.schedule(""), e.schedule("?kind=&order=&phone="); fmt.Sprint(all) != fmt.Sprint(empty) {
		t.Fatalf("empty filters list %+v, no filters %+v", empty, all)
	}

	// the delivery names the message the phone's folder will hold
	msg := e.schedule("?phone=13800000001").Scheduled[0].Message
	var gm struct {
		Status string `json:"status"`
	}
	e.call("GET", "/gateway/v1/messages/"+msg, nil, 200, &gm)
	if gm.Status != "queued" {
		t.Fatalf("the scheduled delivery's message is %s", gm.Status)
	}

	for _, c := range []struct{ query, detail string }{
		{"?kind=miit.lunch", `kind: "miit.lunch" is not a kind of scheduled job: gateway.deliver, miit.autoresend, miit.code, miit.expire, miit.result, miit.review, miit.sync, provider.notice`},
		{"?order=42", `order: "42" is not a filing order id such as f_85bbaf51479afbe4`},
		{"?phone=12345", `phone: "12345" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
		{"?limit=0", `limit: must be a whole number from 1 to 1000, got "0"`},
		{"?limit=1001", `limit: must be a whole number from 1 to 1000, got "1001"`},
	} {
		code, b := e.do("GET", "/admin/v1/schedule"+c.query, nil)
		if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
			t.Errorf("%s: %d %q, want 400 %q", c.query, code, p.Detail, c.detail)
		}
	}
}

// advance {"to": …} lands on that moment; one before now is refused and
// moves nothing.
func TestAdvanceTo(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	v := single(e, "13700000041")
	deadline := *e.miitView(v.ID).Deadline

	var st core.ClockState
	e.call("POST", "/admin/v1/clock/advance", map[string]string{"to": deadline.Add(-time.Millisecond).Format(time.RFC3339Nano)}, 200, &st)
	if !st.Now.Equal(deadline.Add(-time.Millisecond)) || !st.Paused {
		t.Fatalf("advance to a millisecond before the deadline: %+v", st)
	}
	if got := e.miitView(v.ID).Status; got != "pending_validation" {
		t.Fatalf("a millisecond before the deadline the order is %s", got)
	}
	// the same moment again: nothing moves; in another zone, the same instant
	e.call("POST", "/admin/v1/clock/advance", map[string]string{"to": st.Now.In(time.FixedZone("CST", 8*3600)).Format(time.RFC3339Nano)}, 200, &st)
	if !st.Now.Equal(deadline.Add(-time.Millisecond)) {
		t.Fatalf("advance to now moved the clock to %s", st.Now)
	}
	e.call("POST", "/admin/v1/clock/advance", map[string]string{"to": deadline.Format(time.RFC3339Nano)}, 200, &st)
	if got := e.miitView(v.ID).Status; got != "canceled" || !st.Now.Equal(deadline) {
		t.Fatalf("at the deadline the order is %s, the clock %s", got, st.Now)
	}

	for _, c := range []struct{ body, detail string }{
		{`{"to":"2026-05-01T00:00:00Z"}`, fmt.Sprintf("to: 2026-05-01T00:00:00Z is before the clock's now, %s: the clock only moves forward", deadline.Format(time.RFC3339Nano))},
		{`{"to":"tomorrow"}`, `to: "tomorrow" is not an RFC 3339 time such as 2026-05-01T12:00:00Z`},
		{`{"to":"2026-06-01T00:00:00Z","by":"1h"}`, "to: give by (a duration) or to (a moment), not both"},
		{`{"to":"2099-01-01T00:00:00Z"}`, fmt.Sprintf("to: 2099-01-01T00:00:00Z is more than 87600h after the clock's now, %s: advance in steps", deadline.Format(time.RFC3339Nano))},
		{`{}`, `by: missing; give by (a duration such as "45m"), to (an RFC 3339 time) or next: true`},
		{`{"by":"-1h"}`, `by: must not be negative, got "-1h"`},
		{`{"by":"-0s"}`, `by: must not be negative, got "-0s"`},
	} {
		code, b := e.do("POST", "/admin/v1/clock/advance", c.body)
		if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
			t.Errorf("%s: %d %q, want 400 %q", c.body, code, p.Detail, c.detail)
		}
	}
	if now := e.now(); !now.Equal(deadline) {
		t.Fatalf("refused advances moved the clock to %s", now)
	}
}

// advance {"next": true} lands on the due time of the next job the filters
// choose and carries it out; with nothing to go to it is a 409.
func TestAdvanceNext(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	code, b := e.do("POST", "/admin/v1/clock/advance", `{"next":true}`)
	if p := problemOf(t, b); code != 409 || p.Type != "urn:smsim:problem:conflict" || p.Detail != "next: nothing is scheduled" {
		t.Fatalf("next with nothing scheduled: %d %+v", code, p)
	}
	a := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13700000051")})
	e.advance("10m")
	b2 := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13700000052")})

	next := func(body string) core.ClockState {
		t.Helper()
		var st core.ClockState
		e.call("POST", "/admin/v1/clock/advance", body, 200, &st)
		return st
	}
	if st := next(`{"next":true}`); !st.Now.Equal(t0.Add(30*time.Minute)) || e.miitView(a.ID).Status != "pending_validation" {
		t.Fatalf("next: the clock at %s, the first order %s", st.Now, e.miitView(a.ID).Status)
	}
	if st := next(fmt.Sprintf(`{"next":true,"kind":"miit.sync","order":%q}`, b2.ID)); !st.Now.Equal(t0.Add(40*time.Minute)) || e.miitView(b2.ID).Status != "pending_validation" {
		t.Fatalf("next sync of the second order: the clock at %s, the order %s", st.Now, e.miitView(b2.ID).Status)
	}
	// the second order's expiry, past the first's
	if st := next(fmt.Sprintf(`{"next":true,"kind":"miit.expire","order":%q}`, b2.ID)); !st.Now.Equal(t0.Add(10*time.Minute + 30*time.Minute + 24*time.Hour)) {
		t.Fatalf("next expiry of the second order: the clock at %s", st.Now)
	}
	if a, b := e.miitView(a.ID).Status, e.miitView(b2.ID).Status; a != "canceled" || b != "canceled" {
		t.Fatalf("after the second expiry the orders are %s and %s", a, b)
	}
	code, b = e.do("POST", "/admin/v1/clock/advance", `{"next":true,"kind":"miit.code","phone":"13700000051"}`)
	if p := problemOf(t, b); code != 409 || p.Detail != "next: nothing of kind miit.code for phone 13700000051 is scheduled" {
		t.Fatalf("next with nothing such scheduled: %d %+v", code, p)
	}
	before := e.now()
	for _, c := range []struct{ body, detail string }{
		{`{"next":true,"by":"1h"}`, "next: give next alone, or with kind, order and phone; not with by or to"},
		{`{"next":true,"to":"2030-01-01T00:00:00Z"}`, "next: give next alone, or with kind, order and phone; not with by or to"},
		{`{"kind":"miit.sync"}`, "kind: chooses the job of next: true; give next too"},
		{`{"order":"f_0000000000000000","by":"1h"}`, "order: chooses the job of next: true; give next too"},
		{`{"phone":"13700000051"}`, "phone: chooses the job of next: true; give next too"},
		{`{"next":true,"kind":"sync"}`, `kind: "sync" is not a kind of scheduled job: gateway.deliver, miit.autoresend, miit.code, miit.expire, miit.result, miit.review, miit.sync, provider.notice`},
		{`{"next":true,"phone":"555"}`, `phone: "555" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
	} {
		code, b := e.do("POST", "/admin/v1/clock/advance", c.body)
		if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
			t.Errorf("%s: %d %q, want 400 %q", c.body, code, p.Detail, c.detail)
		}
	}
	if now := e.now(); !now.Equal(before) {
		t.Fatalf("refused advances moved the clock from %s to %s", before, now)
	}
}
