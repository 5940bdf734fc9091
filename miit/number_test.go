package miit_test

import (
	"slices"
	"testing"
	"time"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
)

func adminTo(phone string) map[string]miit.NumberChange {
	return map[string]miit.NumberChange{"website_admin": {Phone: phone}}
}

// The FAQ's case: the admin's number became unavailable while a
// cancellation order waits; the number is changed in place and the
// current code goes to the new one.
func TestNumberChangeOfACancelOrder(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	if err := w.gw.SetProfile(w.ctx, "13400000001", gateway.Profile{Service: gateway.ServiceActive, Reachable: false,
		Delay: core.Fixed(0), BlockSenders: []string{}, BlockKeywords: []string{}}); err != nil {
		t.Fatal(err)
	}
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13400000001")})
	w.advance(30 * time.Minute)
	if msgs := w.inbox("13400000001"); len(msgs) != 0 {
		t.Fatalf("an unavailable number got %+v", msgs)
	}
	wantResend(t, w.resend("13400000001", adminCert), "resent") // resending cannot help
	wantValidation(t, w.validate("000000", "13400000001", adminCert), "failed", false)
	before := w.miitView(v.ID)
	w.advance(time.Hour)

	pv, err := w.svc.ChangeNumbers(w.ctx, v.ID, adminTo("+8613400000002"))
	if err != nil {
		t.Fatal(err)
	}
	if pv.Status != "pending_validation" || pv.Personnel[0].Phone != "13400000002" || pv.Personnel[0].Name != "Han Meimei" {
		t.Fatalf("provider view after the change %+v", pv)
	}
	msgs := w.inbox("13400000002")
	if len(msgs) != 1 || msgs[0].Sender != "12381" || !msgs[0].SentAt.Equal(w.now()) || msgs[0].Body != miit.CodeText(msgs[0].Code, 24*time.Hour) {
		t.Fatalf("inbox of the new number %+v, want the code at once", msgs)
	}
	mv := w.miitView(v.ID)
	if p := mv.Personnel[0]; p.Phone != "13400000002" || p.Resends != 1 || p.Failures != 1 || !mv.Deadline.Equal(*before.Deadline) {
		t.Fatalf("MIIT view after the change %+v; want the new number, counts and deadline as they were", mv)
	}
	code := msgs[0].Code
	wantValidation(t, w.validate(code, "13400000001", adminCert), "not_found", false)
	wantResend(t, w.resend("13400000001", adminCert), "not_found")
	wantValidation(t, w.validate(code, "13400000002", adminCert), "complete", false)

	_, err = w.svc.ChangeNumbers(w.ctx, v.ID, adminTo("13400000003"))
	wantError(t, err, 409, "filing "+v.ID+" is under_review at MIIT: its numbers can no longer change")
}

// The new number gets the current code, not a new one: the code the old
// number got still works from the new one.
func TestNumberChangeSendsTheCurrentCode(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "entity", EntityLeader: leader("13400000011")})
	w.advance(30 * time.Minute)
	code := w.code("13400000011")
	if _, err := w.svc.ChangeNumbers(w.ctx, v.ID, map[string]miit.NumberChange{"entity_leader": {Phone: "13400000012"}}); err != nil {
		t.Fatal(err)
	}
	if got := w.codes("13400000012"); len(got) != 1 || got[0] != code {
		t.Fatalf("the new number got %v, want the current code %s", got, code)
	}
	if p := w.miitView(v.ID).Personnel[0]; p.Resends != 0 {
		t.Fatalf("the change counted as a resend: %+v", p)
	}
	wantResend(t, w.resend("13400000012", leaderCert), "resent")
	wantResend(t, w.resend("13400000012", leaderCert), "resent")
	wantResend(t, w.resend("13400000012", leaderCert), "limit_reached")
	wantValidation(t, w.validate(w.code("13400000012"), "13400000012", leaderCert), "complete", false)
}

// Before the sync nothing is sent at the change: the codes go to the new
// number when the order reaches MIIT.
func TestNumberChangeBeforeTheSync(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "app", WebsiteAdmin: admin("13400000021")})
	if _, err := w.svc.ChangeNumbers(w.ctx, v.ID, adminTo("13400000022")); err != nil {
		t.Fatal(err)
	}
	if msgs := w.inbox("13400000022"); len(msgs) != 0 {
		t.Fatalf("the new number got %+v before the sync", msgs)
	}
	if mv := w.miitView(v.ID); mv.Status != "unknown" {
		t.Fatalf("MIIT view %+v, want unknown", mv)
	}
	w.advance(30 * time.Minute)
	if n := len(w.codes("13400000021")); n != 0 {
		t.Fatalf("the old number got %d codes", n)
	}
	if n := len(w.codes("13400000022")); n != 1 {
		t.Fatalf("the new number got %d codes at the sync, want 1", n)
	}
	wantValidation(t, w.validate(w.code("13400000022"), "13400000022", adminCert), "complete", false)
}

// A change while MIIT holds the first code back: the new number gets it
// at once, the old one never.
func TestNumberChangeDuringMIITsSendDelay(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	w.set(func(f *core.Faults) { f.MIITSendDelay = core.Fixed(20 * time.Minute) })
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13400000031")})
	w.advance(40 * time.Minute)
	if _, err := w.svc.ChangeNumbers(w.ctx, v.ID, adminTo("13400000032")); err != nil {
		t.Fatal(err)
	}
	w.advance(time.Hour)
	if n := len(w.codes("13400000031")); n != 0 {
		t.Fatalf("the old number got %d codes after the change", n)
	}
	if n := len(w.codes("13400000032")); n != 1 {
		t.Fatalf("the new number got %d codes, want 1", n)
	}
}

func TestNumberChangeRefusals(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	c := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", EntityLeader: leader("13400000041"), WebsiteAdmin: admin("13400000042")})
	other := w.submit(websiteFiling("13400000043", "13400000044"))
	w.advance(30 * time.Minute)
	for _, x := range []struct {
		name    string
		id      string
		changes map[string]miit.NumberChange
		code    int
		detail  string
	}{
		{"nothing to change", c.ID, map[string]miit.NumberChange{}, 400,
			`body: name the person whose number changes, e.g. {"website_admin": {"phone": "13900000009"}}`},
		{"unknown role", c.ID, map[string]miit.NumberChange{"nobody": {Phone: "13400000045"}}, 400,
			"nobody: unknown field; give entity_leader or website_admin"},
		{"a role the order does not need", c.ID, map[string]miit.NumberChange{"entity_leader": {Phone: "13400000045"}}, 400,
			"entity_leader: does not validate this order (it needs website_admin)"},
		{"malformed number", c.ID, adminTo("123"), 400,
			`website_admin.phone: "123" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
		{"missing number", c.ID, adminTo(""), 400,
			`website_admin.phone: missing; give a mainland mobile number such as "13800000001"`},
		{"one good change, one bad", c.ID, map[string]miit.NumberChange{"website_admin": {Phone: "13400000045"}, "entity_leader": {Phone: "13400000046"}}, 400,
			"entity_leader: does not validate this order (it needs website_admin)"},
		{"an order of another type", other.ID, adminTo("13400000045"), 409,
			"filing " + other.ID + " is a first_filing order: its numbers cannot be changed in place; cancel it and submit a new order with the new number (only a cancel order may change a number in place)"},
	} {
		t.Run(x.name, func(t *testing.T) {
			pv, err := w.svc.ChangeNumbers(w.ctx, x.id, x.changes)
			if pv.ID != "" {
				t.Errorf("a refused change answered %+v", pv)
			}
			wantError(t, err, x.code, x.detail)
		})
	}
	// Nothing changed, nothing was sent.
	want := map[string]string{c.ID + " website_admin": "13400000042",
		other.ID + " entity_leader": "13400000043", other.ID + " website_admin": "13400000044"}
	for _, id := range []string{c.ID, other.ID} {
		for _, p := range w.miitView(id).Personnel {
			if p.Phone != want[id+" "+p.Role] {
				t.Errorf("order %s: %+v changed", id, p)
			}
		}
	}
	for _, phone := range []string{"13400000045", "13400000046"} {
		if msgs := w.inbox(phone); len(msgs) != 0 {
			t.Errorf("%s got %+v", phone, msgs)
		}
	}
}

func TestNumberChangeOnlyWhilePending(t *testing.T) {
	for _, c := range []struct {
		name, status string
		end          func(w *world, id string)
	}{
		{"rejected", "rejected", func(w *world, id string) {
			for range 5 {
				w.validate("000000", "13400000051", adminCert)
			}
		}},
		{"canceled by the customer", "canceled", func(w *world, id string) { w.cancel(id) }},
		{"canceled at the window's end", "canceled", func(w *world, id string) { w.advance(24 * time.Hour) }},
		{"approved", "approved", func(w *world, id string) {
			w.validate(w.code("13400000051"), "13400000051", adminCert)
			w.advance(21 * 24 * time.Hour)
		}},
		// The window has ended but MIIT has not carried its end out yet.
		{"past the deadline", "pending_validation", func(w *world, id string) { w.jump(24 * time.Hour) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.lags(30*time.Minute, time.Minute)
			v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13400000051")})
			w.advance(30 * time.Minute)
			c.end(w, v.ID)
			_, err := w.svc.ChangeNumbers(w.ctx, v.ID, adminTo("13400000052"))
			want := "filing " + v.ID + " is " + c.status + " at MIIT: its numbers can no longer change"
			if c.status == "pending_validation" {
				want = "filing " + v.ID + " cannot change its numbers: its validation window has ended and MIIT has canceled it"
			}
			wantError(t, err, 409, want)
			if p := w.providerView(v.ID).Personnel[0]; p.Phone != "13400000051" {
				t.Fatalf("a refused change moved the number: %+v", p)
			}
			if msgs := w.inbox("13400000052"); len(msgs) != 0 {
				t.Fatalf("the new number got %+v", msgs)
			}
		})
	}
}

// A number "changed" to itself is refused, naming the field: it would be a
// resend that counts nothing.
func TestNumberChangeToTheSameNumber(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13800000904")})
	w.advance(30 * time.Minute)
	_, err := w.svc.ChangeNumbers(w.ctx, v.ID, adminTo("+8613800000904"))
	wantError(t, err, 400, "website_admin.phone: the order already has 13800000904; give the new number (a code is sent again with POST /miit/v1/resends)")
	if n := len(w.codes("13800000904")); n != 1 {
		t.Fatalf("%d code messages, want the one of the sync", n)
	}
}

// The sync job carries the order's numbers as it was submitted; a job of
// the filing alone — written before jobs took them — reads them from the
// order, and texts the codes alike.
func TestSyncJobOfTheFilingAlone(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "app", WebsiteAdmin: admin("13400000031")})
	jobs, err := w.sched.Scheduled(w.ctx, 10, func(j core.Job) bool { return j.Kind == miit.JobSync })
	if err != nil || len(jobs) != 1 {
		t.Fatalf("sync jobs %+v, %v; want one", jobs, err)
	}
	if got, want := jobs[0].Args, []string{v.ID, "13400000031"}; !slices.Equal(got, want) {
		t.Fatalf("the sync job's arguments: %q, want %q", got, want)
	}
	if err := w.rdb.ZRem(w.ctx, w.ks.SchedDue(), jobs[0].Member()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sched.Schedule(w.ctx, jobs[0].Due, miit.JobSync, v.ID); err != nil {
		t.Fatal(err)
	}
	w.advance(30 * time.Minute)
	if n := len(w.codes("13400000031")); n != 1 {
		t.Fatalf("%d codes at the sync, want 1", n)
	}
	if mv := w.miitView(v.ID); mv.Status != miit.StatusPendingValidation {
		t.Fatalf("MIIT view %+v, want %s", mv, miit.StatusPendingValidation)
	}
}
