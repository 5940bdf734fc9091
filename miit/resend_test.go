package miit_test

import (
	"sync"
	"testing"
	"time"

	"smsim/miit"
	"smsim/simulator/core"
)

// Two resends, each a new code that kills the one before; the third is
// refused; the window does not move.
func TestTwoResendsThenLimit(t *testing.T) {
	w := newWorld(t)
	v := w.single("13500000001")
	before := w.miitView(v.ID)
	first := w.code("13500000001")
	w.advance(2 * time.Hour)
	wantResend(t, w.resend("13500000001", leaderCert), "resent")
	second := w.code("13500000001")
	msgs := w.inbox("13500000001")
	if m := msgs[len(msgs)-1]; m.Sender != "12381" || !m.SentAt.Equal(w.now()) || !m.DeliveredAt.Equal(w.now()) || m.Body != miit.CodeText(second, 24*time.Hour) {
		t.Fatalf("resent code message %+v, want it from 12381 at once", m)
	}
	wantResend(t, w.resend("13500000001", leaderCert), "resent")
	third := w.code("13500000001")
	wantResend(t, w.resend("13500000001", leaderCert), "limit_reached")
	if codes := w.codes("13500000001"); len(codes) != 3 || first == second || second == third || first == third {
		t.Fatalf("codes %v, want three different codes", codes)
	}
	mv := w.miitView(v.ID)
	if mv.Personnel[0].Resends != 2 || !mv.Deadline.Equal(*before.Deadline) || !mv.CodesSentAt.Equal(*before.CodesSentAt) {
		t.Fatalf("after two resends %+v; the window must stay %s–%s", mv, before.CodesSentAt, before.Deadline)
	}
	// The earlier codes are dead: entering one is a wrong code.
	wantValidation(t, w.validate(first, "13500000001", leaderCert), "failed", false)
	wantValidation(t, w.validate(second, "13500000001", leaderCert), "failed", false)
	wantValidation(t, w.validate(third, "13500000001", leaderCert), "complete", false)
	if p := w.miitView(v.ID).Personnel[0]; p.Failures != 2 || p.Resends != 2 {
		t.Fatalf("person %+v, want 2 failures and 2 resends", p)
	}
}

// A resend leaves the run of failures as it was.
func TestResendKeepsTheFailures(t *testing.T) {
	w := newWorld(t)
	v := w.single("13500000011")
	for range 3 {
		wantValidation(t, w.validate("000000", "13500000011", leaderCert), "failed", false)
	}
	wantResend(t, w.resend("13500000011", leaderCert), "resent")
	if p := w.miitView(v.ID).Personnel[0]; p.Failures != 3 {
		t.Fatalf("failures %d after a resend, want 3", p.Failures)
	}
	wantValidation(t, w.validate("000000", "13500000011", leaderCert), "failed", false)
	wantValidation(t, w.validate("000000", "13500000011", leaderCert), "failed", true)
}

func TestResendAnswers(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13500000021", "13500000022"))
	for _, c := range []struct {
		name, phone, cert, want string
	}{
		{"still in sync lag", "13500000021", leaderCert, "no_pending"},
		{"still in sync lag, lower-case certificate", "13500000022", "01567x", "no_pending"},
		{"unknown number", "13500000029", leaderCert, "not_found"},
		{"certificate of no one", "13500000021", "000000", "not_found"},
		{"the other person's certificate", "13500000021", adminCert, "not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantResend(t, w.resend(c.phone, c.cert), c.want)
		})
	}
	w.advance(30 * time.Minute)
	wantValidation(t, w.validate(w.code("13500000021"), "13500000021", leaderCert), "partial", false)
	// Validated while the admin still must: nothing pending for the leader.
	wantResend(t, w.resend("13500000021", leaderCert), "no_pending")
	wantResend(t, w.resend("+8613500000022", adminCert), "resent")
	wantValidation(t, w.validate(w.code("13500000022"), "13500000022", adminCert), "complete", false)
	// Under review, then approved: nothing pending for anyone.
	wantResend(t, w.resend("13500000022", adminCert), "no_pending")
	w.advance(21 * 24 * time.Hour)
	if st := w.miitView(v.ID).Status; st != "approved" {
		t.Fatalf("status %s after the longest review, want approved", st)
	}
	wantResend(t, w.resend("13500000021", leaderCert), "no_pending")
	if p := w.miitView(v.ID).Personnel; p[0].Resends != 0 || p[1].Resends != 1 {
		t.Fatalf("resends %+v, want only the admin's one", p)
	}
}

func TestResendAfterTheOrderEnded(t *testing.T) {
	for _, c := range []struct {
		name string
		end  func(w *world, id string)
	}{
		{"rejected", func(w *world, id string) {
			for range 5 {
				w.validate("000000", "13500000031", leaderCert)
			}
		}},
		{"canceled by the customer", func(w *world, id string) { w.cancel(id) }},
		{"canceled at the window's end", func(w *world, id string) { w.advance(24 * time.Hour) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			v := w.single("13500000031")
			c.end(w, v.ID)
			wantResend(t, w.resend("13500000031", leaderCert), "not_found")
			if n := len(w.codes("13500000031")); n != 1 {
				t.Fatalf("%d codes, want no resend", n)
			}
		})
	}
}

func TestResendRefusesMalformedInput(t *testing.T) {
	w := newWorld(t)
	v := w.single("13500000041")
	for _, c := range []struct {
		name, phone, cert, detail string
	}{
		{"phone missing", "", leaderCert, `phone: missing; give a mainland mobile number such as "13800000001"`},
		{"phone malformed", "23500000041", leaderCert, `phone: "23500000041" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
		{"certificate missing", "13500000041", "", "certificate_last6: missing; give the last six characters of the certificate number"},
		{"certificate of five", "13500000041", "71234", `certificate_last6: must be six letters or digits (the last six characters of the certificate number), got "71234"`},
		{"certificate not letters or digits", "13500000041", "07123 ", `certificate_last6: must be six letters or digits (the last six characters of the certificate number), got "07123 "`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := w.svc.Resend(w.ctx, miit.ResendRequest{Phone: c.phone, CertificateLast6: c.cert})
			if r != (miit.ResendResult{}) {
				t.Errorf("malformed input answered %+v", r)
			}
			wantError(t, err, 400, c.detail)
		})
	}
	if p := w.miitView(v.ID).Personnel[0]; p.Resends != 0 {
		t.Fatalf("malformed input counted as a resend: %+v", p)
	}
}

// With the same_code policy a resend texts the current code again, which
// keeps working; it still counts as one of the two.
func TestResendPolicySameCode(t *testing.T) {
	w := newWorld(t)
	w.set(func(f *core.Faults) { f.ResendPolicy = core.ResendSameCode })
	v := w.single("13500000051")
	code := w.code("13500000051")
	wantResend(t, w.resend("13500000051", leaderCert), "resent")
	wantResend(t, w.resend("13500000051", leaderCert), "resent")
	wantResend(t, w.resend("13500000051", leaderCert), "limit_reached")
	if codes := w.codes("13500000051"); len(codes) != 3 || codes[1] != code || codes[2] != code {
		t.Fatalf("codes %v, want the same code three times", codes)
	}
	if p := w.miitView(v.ID).Personnel[0]; p.Resends != 2 {
		t.Fatalf("resends %d, want 2", p.Resends)
	}
	wantValidation(t, w.validate(code, "13500000051", leaderCert), "complete", false)
}

// When phone + certificate match people in several orders, a resend
// re-sends in each that has resends left.
func TestResendInSeveralOrders(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	a := w.submit(appFiling("13500000061"))
	w.advance(30 * time.Minute)
	wantResend(t, w.resend("13500000061", leaderCert), "resent")
	b := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "entity", EntityLeader: leader("13500000061")})
	// A resends, B is still in its sync lag: the best answer is resent.
	wantResend(t, w.resend("13500000061", leaderCert), "resent")
	// A has none left, B is in its sync lag: limit_reached beats no_pending.
	wantResend(t, w.resend("13500000061", leaderCert), "limit_reached")
	w.advance(30 * time.Minute)
	if n := len(w.codes("13500000061")); n != 4 {
		t.Fatalf("%d codes, want A's three and B's first", n)
	}
	// A has none left, B has: B alone re-sends.
	wantResend(t, w.resend("13500000061", leaderCert), "resent")
	if ra, rb := w.miitView(a.ID).Personnel[0].Resends, w.miitView(b.ID).Personnel[0].Resends; ra != 2 || rb != 1 {
		t.Fatalf("resends A %d, B %d; want 2 and 1", ra, rb)
	}
	if n := len(w.codes("13500000061")); n != 5 {
		t.Fatalf("%d codes, want one more, B's", n)
	}
	wantResend(t, w.resend("13500000061", leaderCert), "resent")
	wantResend(t, w.resend("13500000061", leaderCert), "limit_reached")
	// The newest code is B's: it validates B alone.
	wantValidation(t, w.validate(w.code("13500000061"), "13500000061", leaderCert), "complete", false)
	if sa, sb := w.miitView(a.ID).Status, w.miitView(b.ID).Status; sa != "pending_validation" || sb != "under_review" {
		t.Fatalf("A %s, B %s; want A pending and B under review", sa, sb)
	}
	// B validated (no_pending), A at its limit: limit_reached.
	wantResend(t, w.resend("13500000061", leaderCert), "limit_reached")
	w.cancel(a.ID)
	// B validated, A canceled: no_pending beats not_found.
	wantResend(t, w.resend("13500000061", leaderCert), "no_pending")
}

func TestResendsAreCountedByResult(t *testing.T) {
	w := newWorld(t)
	w.single("13500000071")
	for range 3 {
		w.resend("13500000071", leaderCert)
	}
	w.resend("13500000079", leaderCert)
	for result, want := range map[string]float64{"resent": 2, "limit_reached": 1, "not_found": 1, "no_pending": 0} {
		if got := w.counter("smsim_resends_total", map[string]string{"result": result}); got != want {
			t.Errorf("smsim_resends_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// Twenty resends at once: exactly two succeed, each with a new code.
func TestConcurrentResendsSucceedExactlyTwice(t *testing.T) {
	w := newWorld(t)
	v := w.single("13500000081")
	const n = 20
	results := make([]miit.ResendResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = w.svc.Resend(w.ctx, miit.ResendRequest{Phone: "13500000081", CertificateLast6: leaderCert})
		})
	}
	wg.Wait()
	count := map[string]int{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("resend %d: %v", i, errs[i])
		}
		wantResend(t, r, r.Result)
		count[r.Result]++
	}
	if count["resent"] != 2 || count["limit_reached"] != n-2 {
		t.Fatalf("answers %v, want 2 resent and %d limit_reached", count, n-2)
	}
	codes := w.codes("13500000081")
	if len(codes) != 3 || codes[0] == codes[1] || codes[1] == codes[2] || codes[0] == codes[2] {
		t.Fatalf("codes %v, want the first and two new ones", codes)
	}
	if mv := w.miitView(v.ID); mv.Personnel[0].Resends != 2 {
		t.Fatalf("resends %d, want 2", mv.Personnel[0].Resends)
	}
	// Whichever resend was carried out last issued the live code.
	live := 0
	for _, c := range codes {
		if w.validate(c, "13500000081", leaderCert).Result == "complete" {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d of the codes %v validated, want exactly one", live, codes)
	}
}

// An order that comes to the number between the read of its orders and
// the resend is found on a second reading.
func TestResendReadsTheOrdersAgainWhenTheyChange(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13500000091")})
	w.advance(30 * time.Minute)
	once := false
	w.afterLookup("13500000092", func() {
		if once {
			return
		}
		once = true
		if _, err := w.svc.ChangeNumbers(w.ctx, v.ID, map[string]miit.NumberChange{"website_admin": {Phone: "13500000092"}}); err != nil {
			t.Fatal(err)
		}
	})
	wantResend(t, w.resend("13500000092", adminCert), "resent")
	if p := w.miitView(v.ID).Personnel[0]; p.Phone != "13500000092" || p.Resends != 1 {
		t.Fatalf("person %+v, want the resend counted on the new number", p)
	}
}

func TestResendGivesUpWhenTheOrdersKeepChanging(t *testing.T) {
	w := newWorld(t)
	w.afterLookup("13500000093", func() {
		if _, err := w.svc.Submit(w.ctx, appFiling("13500000093")); err != nil {
			t.Fatal(err)
		}
	})
	_, err := w.svc.Resend(w.ctx, miit.ResendRequest{Phone: "13500000093", CertificateLast6: leaderCert})
	if err == nil || err.Error() != "resend: the orders of this number kept changing" {
		t.Fatalf("resend while the orders keep changing: %v", err)
	}
}
