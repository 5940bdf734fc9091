package miit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
)

// With the default sync lag (uniform in 30–60 minutes) each order reaches
// MIIT within it; the provider shows pending_validation from that very
// moment, and the code is in the inbox then.
func TestDefaultSyncLag(t *testing.T) {
	w := newWorld(t)
	const n = 12
	ids := make([]string, n)
	phones := make([]string, n)
	for i := range n {
		phones[i] = fmt.Sprintf("136000000%02d", i)
		ids[i] = w.submit(appFiling(phones[i])).ID
	}
	w.advance(30*time.Minute - time.Millisecond)
	for w.now().Before(t0.Add(60 * time.Minute)) {
		for i, id := range ids {
			mv, pv := w.miitView(id), w.providerView(id)
			codes := w.inbox(phones[i])[1:]
			pending := mv.Status == "pending_validation"
			if pending != (pv.Status == "pending_validation") || pending != (len(codes) == 1) || (!pending && (mv.Status != "unknown" || pv.Status != "submitted")) {
				t.Fatalf("at %s order %d: MIIT %s, provider %s, codes %+v; want all three to move together", w.now().Sub(t0), i, mv.Status, pv.Status, codes)
			}
			if pending && !codes[0].SentAt.Equal(*mv.CodesSentAt) {
				t.Fatalf("order %d: code sent at %s, MIIT says %s", i, codes[0].SentAt, mv.CodesSentAt)
			}
		}
		w.advance(t0.Add(w.now().Sub(t0).Truncate(time.Minute) + time.Minute).Sub(w.now()))
	}
	synced := map[time.Time]bool{}
	for i, id := range ids {
		mv := w.miitView(id)
		if mv.Status != "pending_validation" {
			t.Fatalf("order %d is %s after 60 minutes", i, mv.Status)
		}
		if lag := mv.CodesSentAt.Sub(t0); lag < 30*time.Minute || lag > 60*time.Minute {
			t.Errorf("order %d synced after %s, want 30m to 60m", i, lag)
		}
		if !mv.Deadline.Equal(mv.CodesSentAt.Add(24 * time.Hour)) {
			t.Errorf("order %d: deadline %s, want 24h after %s", i, mv.Deadline, mv.CodesSentAt)
		}
		synced[*mv.CodesSentAt] = true
	}
	if len(synced) < n/2 {
		t.Fatalf("%d orders synced at only %d distinct times: the lag is not drawn", n, len(synced))
	}
}

func TestHappyPath(t *testing.T) {
	w := newWorld(t)
	w.lags(40*time.Minute, 3*time.Minute)
	w.set(func(f *core.Faults) { f.Review = fixedReview(72*time.Hour, 1) })
	v := w.submit(websiteFiling("13600000101", "13600000102"))

	w.advance(40*time.Minute - time.Millisecond)
	if len(w.codes("13600000101")) != 0 || w.miitView(v.ID).Status != "unknown" {
		t.Fatal("a code came before the sync lag ended")
	}
	w.advance(time.Millisecond) // lands exactly on the sync: due means done
	synced := t0.Add(40 * time.Minute)
	mv := w.miitView(v.ID)
	if mv.Status != "pending_validation" || !mv.CodesSentAt.Equal(synced) || !mv.Deadline.Equal(synced.Add(24*time.Hour)) {
		t.Fatalf("MIIT view after the sync %+v", mv)
	}
	for i, p := range mv.Personnel {
		if p.Role != []string{"entity_leader", "website_admin"}[i] || p.Phone != []string{"13600000101", "13600000102"}[i] ||
			p.Validated || p.Failures != 0 || p.Resends != 0 {
			t.Fatalf("MIIT personnel %+v", mv.Personnel)
		}
	}
	if pv := w.providerView(v.ID); pv.Status != "pending_validation" {
		t.Fatalf("provider shows %s once the order reached MIIT, want pending_validation", pv.Status)
	}
	for _, phone := range []string{"13600000101", "13600000102"} {
		msgs := w.inbox(phone)
		if len(msgs) != 2 {
			t.Fatalf("inbox of %s %+v, want the notice and the code", phone, msgs)
		}
		m := msgs[1]
		if m.Sender != "12381" || len(m.Code) != 6 || !m.SentAt.Equal(synced) || m.DeliveredAt == nil || !m.DeliveredAt.Equal(synced) ||
			m.Status != gateway.StatusDelivered || m.Folder != gateway.FolderInbox ||
			m.Body != "[MIIT] Your ICP filing verification code is "+m.Code+". Enter it with your mobile number and the last six characters of your certificate number at https://beian.miit.gov.cn within 24 hours." {
			t.Fatalf("code message %+v", m)
		}
	}

	w.advance(10 * time.Minute)
	validated := w.now()
	wantValidation(t, w.validate(w.code("13600000101"), "13600000101", leaderCert), "partial", false)
	w.advance(3*time.Minute - time.Millisecond)
	if pv := w.providerView(v.ID); pv.Personnel[0].Validated {
		t.Fatal("provider saw the validation before the result sync lag")
	}
	w.advance(time.Millisecond)
	if pv := w.providerView(v.ID); !pv.Personnel[0].Validated || pv.Personnel[1].Validated || pv.Status != "pending_validation" {
		t.Fatalf("provider view after the lag %+v", pv)
	}
	wantValidation(t, w.validate(w.code("13600000102"), "13600000102", adminCert), "complete", false)
	if mv := w.miitView(v.ID); mv.Status != "under_review" || !mv.Personnel[1].Validated {
		t.Fatalf("MIIT view after both %+v", mv)
	}
	if pv := w.providerView(v.ID); pv.Status != "pending_validation" || pv.Personnel[1].Validated {
		t.Fatalf("provider view before the result sync %+v", pv)
	}
	w.advance(3 * time.Minute)
	if pv := w.providerView(v.ID); pv.Status != "under_review" || !pv.Personnel[1].Validated {
		t.Fatalf("provider view after the result sync %+v", pv)
	}

	// The review takes 72h from the last validation.
	w.advance(validated.Add(3*time.Minute+72*time.Hour).Sub(w.now()) - time.Millisecond)
	if st := w.miitView(v.ID).Status; st != "under_review" {
		t.Fatalf("MIIT status %s before the review time", st)
	}
	w.advance(time.Millisecond)
	if st := w.miitView(v.ID).Status; st != "approved" {
		t.Fatalf("MIIT status %s after the review time, want approved", st)
	}
	if st := w.providerView(v.ID).Status; st != "under_review" {
		t.Fatalf("provider status %s before the result sync, want under_review", st)
	}
	w.advance(3 * time.Minute)
	if st := w.providerView(v.ID).Status; st != "approved" {
		t.Fatalf("provider status %s after the result sync, want approved", st)
	}
}

// The event log tells the order's story in both views.
func TestEventLogRecordsTheFlow(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	w.set(func(f *core.Faults) { f.Review = fixedReview(24*time.Hour, 1) })
	v := w.submit(websiteFiling("13600000111", "13600000112"))
	w.advance(30 * time.Minute)
	w.validate(w.code("13600000111"), "13600000111", leaderCert)
	w.advance(time.Minute)
	w.validate(w.code("13600000112"), "13600000112", adminCert)
	w.advance(25 * time.Hour)
	records, err := w.events.After(w.ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var story []string
	for _, r := range records {
		var d map[string]any
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatal(err)
		}
		switch r.Kind {
		case core.KindFilingSubmitted:
			story = append(story, fmt.Sprintf("%s submitted %v", r.At.Sub(t0), d["id"] == v.ID))
		case core.KindFilingStatus:
			story = append(story, fmt.Sprintf("%s %s %s [%s]", r.At.Sub(t0), d["view"], d["status"], d["validated"]))
		case core.KindValidation:
			story = append(story, fmt.Sprintf("%s validation %s", r.At.Sub(t0), d["result"]))
		}
	}
	want := []string{
		"0s submitted true",
		"30m0s miit pending_validation []",
		"30m0s provider pending_validation []",
		"30m0s miit pending_validation [entity_leader]",
		"30m0s validation partial",
		"31m0s provider pending_validation [entity_leader]",
		"31m0s miit under_review [entity_leader,website_admin]",
		"31m0s validation complete",
		"32m0s provider under_review [entity_leader,website_admin]",
		"24h31m0s miit approved [entity_leader,website_admin]",
		"24h32m0s provider approved [entity_leader,website_admin]",
	}
	if strings.Join(story, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the event log tells\n%s\nwant\n%s", strings.Join(story, "\n"), strings.Join(want, "\n"))
	}
}

func TestReviewOutcome(t *testing.T) {
	for _, c := range []struct {
		ratio float64
		want  string
	}{{1, "approved"}, {0, "returned"}} {
		t.Run(c.want, func(t *testing.T) {
			w := newWorld(t)
			w.set(func(f *core.Faults) { f.Review = fixedReview(5*time.Hour, c.ratio) })
			v := w.single("13600000121")
			wantValidation(t, w.validate(w.code("13600000121"), "13600000121", leaderCert), "complete", false)
			w.advance(5*time.Hour - time.Millisecond)
			if st := w.miitView(v.ID).Status; st != "under_review" {
				t.Fatalf("status %s before the review time", st)
			}
			w.advance(time.Millisecond)
			if st := w.miitView(v.ID).Status; st != c.want {
				t.Fatalf("MIIT status %s after the review time, want %s", st, c.want)
			}
			w.advance(time.Minute)
			if st := w.providerView(v.ID).Status; st != c.want {
				t.Fatalf("provider status %s after the result sync, want %s", st, c.want)
			}
		})
	}
}

// An order that needs no one goes to review when it reaches MIIT; the
// provider shows submitted until that arrives, and the review time counts
// from then.
func TestOrderThatNeedsNoOne(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, 2*time.Minute)
	w.set(func(f *core.Faults) { f.Review = fixedReview(24*time.Hour, 1) })
	v := w.submit(miit.SubmitRequest{Type: "remove_provider"})
	if len(v.Required) != 0 || len(v.Personnel) != 0 || v.Personnel == nil || v.Variant != "" {
		t.Fatalf("submitted %+v, want no one required", v)
	}
	w.advance(30 * time.Minute)
	if mv := w.miitView(v.ID); mv.Status != "under_review" || mv.CodesSentAt != nil || mv.Deadline != nil {
		t.Fatalf("MIIT view %+v, want under review with no codes", mv)
	}
	w.advance(2*time.Minute - time.Millisecond)
	if st := w.providerView(v.ID).Status; st != "submitted" {
		t.Fatalf("provider shows %s before the result sync, want submitted", st)
	}
	w.advance(time.Millisecond)
	if st := w.providerView(v.ID).Status; st != "under_review" {
		t.Fatalf("provider shows %s after the result sync, want under_review", st)
	}
	w.advance(24*time.Hour - 2*time.Minute - time.Millisecond)
	if st := w.miitView(v.ID).Status; st != "under_review" {
		t.Fatalf("MIIT status %s before 24h of review", st)
	}
	w.advance(time.Millisecond)
	if st := w.miitView(v.ID).Status; st != "approved" {
		t.Fatalf("MIIT status %s after 24h of review, want approved", st)
	}
}

// With every lag zero, what falls due at once is done before the answer.
func TestZeroLagsAreDoneBeforeTheAnswer(t *testing.T) {
	w := newWorld(t)
	w.lags(0, 0)
	w.set(func(f *core.Faults) { f.Review = fixedReview(0, 1) })
	v := w.submit(appFiling("13600000131"))
	if v.Status != "pending_validation" {
		t.Fatalf("with no sync lag the order answered %s, want pending_validation", v.Status)
	}
	if len(w.codes("13600000131")) != 1 {
		t.Fatal("with no sync lag the code is not in the inbox when submit answers")
	}
	wantValidation(t, w.validate(w.code("13600000131"), "13600000131", leaderCert), "complete", false)
	if mv, pv := w.miitView(v.ID), w.providerView(v.ID); mv.Status != "approved" || pv.Status != "approved" || !pv.Personnel[0].Validated {
		t.Fatalf("with no review time nor result lag: MIIT %s, provider %+v; want approved in both", mv.Status, pv)
	}
	n := w.submit(miit.SubmitRequest{Type: "remove_provider"})
	if n.Status != "approved" {
		t.Fatalf("an order that needs no one answered %s with every lag zero, want approved", n.Status)
	}
}

// Due means done: a validation one millisecond before the deadline counts;
// at the deadline MIIT has canceled the order.
func TestValidationWindow(t *testing.T) {
	t.Run("last millisecond", func(t *testing.T) {
		w := newWorld(t)
		w.single("13600000141")
		w.advance(24*time.Hour - time.Millisecond)
		wantValidation(t, w.validate(w.code("13600000141"), "13600000141", leaderCert), "complete", false)
	})
	t.Run("deadline", func(t *testing.T) {
		w := newWorld(t)
		v := w.single("13600000142")
		code := w.code("13600000142")
		w.advance(24*time.Hour - time.Millisecond)
		if st := w.miitView(v.ID).Status; st != "pending_validation" {
			t.Fatalf("status %s one millisecond before the deadline", st)
		}
		w.advance(time.Millisecond)
		mv := w.miitView(v.ID)
		if mv.Status != "canceled" || mv.CanceledBy != "expiry" {
			t.Fatalf("at the deadline %+v, want canceled by expiry", mv)
		}
		wantValidation(t, w.validate(code, "13600000142", leaderCert), "not_found", false)
		wantResend(t, w.resend("13600000142", leaderCert), "not_found")
		if st := w.providerView(v.ID).Status; st != "pending_validation" {
			t.Fatalf("provider shows %s before the result sync, want pending_validation", st)
		}
		w.advance(time.Minute)
		if st := w.providerView(v.ID).Status; st != "canceled" {
			t.Fatalf("provider shows %s after the result sync, want canceled", st)
		}
	})
	t.Run("deadline passed, its end not yet carried out", func(t *testing.T) {
		w := newWorld(t)
		v := w.single("13600000143")
		code := w.code("13600000143")
		w.jump(24 * time.Hour)
		wantValidation(t, w.validate(code, "13600000143", leaderCert), "not_found", false)
		wantResend(t, w.resend("13600000143", leaderCert), "not_found")
		if mv := w.miitView(v.ID); mv.Personnel[0].Validated || mv.Personnel[0].Resends != 0 {
			t.Fatalf("after the deadline MIIT changed %+v", mv.Personnel[0])
		}
	})
	t.Run("a setting", func(t *testing.T) {
		w := newWorld(t)
		w.set(func(f *core.Faults) { f.ValidationWindow = 48 * time.Hour })
		v := w.single("13600000144")
		mv := w.miitView(v.ID)
		if mv.Deadline.Sub(*mv.CodesSentAt) != 48*time.Hour {
			t.Fatalf("window %s, want 48h", mv.Deadline.Sub(*mv.CodesSentAt))
		}
		code := w.code("13600000144")
		if body := w.inbox("13600000144")[1].Body; body != miit.CodeText(code, 48*time.Hour) || !strings.Contains(body, " within 48 hours.") {
			t.Fatalf("code message %q does not name the 48-hour window", body)
		}
		w.advance(48*time.Hour - time.Millisecond)
		wantValidation(t, w.validate(code, "13600000144", leaderCert), "complete", false)
	})
}

// The provider takes MIIT's outcomes in MIIT's order even when a later one
// arrives first.
func TestResultsArrivingOutOfOrder(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, 5*time.Minute)
	v := w.submit(websiteFiling("13600000151", "13600000152"))
	w.advance(30 * time.Minute)
	wantValidation(t, w.validate(w.code("13600000151"), "13600000151", leaderCert), "partial", false)
	w.lags(30*time.Minute, time.Minute)
	wantValidation(t, w.validate(w.code("13600000152"), "13600000152", adminCert), "complete", false)
	w.advance(time.Minute)
	if pv := w.providerView(v.ID); pv.Status != "under_review" || !pv.Personnel[0].Validated || !pv.Personnel[1].Validated {
		t.Fatalf("after the later outcome %+v, want under review with both validated", pv)
	}
	w.advance(4 * time.Minute) // the earlier outcome arrives last
	if pv := w.providerView(v.ID); pv.Status != "under_review" || !pv.Personnel[0].Validated || !pv.Personnel[1].Validated {
		t.Fatalf("an older outcome overwrote a newer one: %+v", pv)
	}
}

// The provider's validated flags follow MIIT's with the lag even when the
// customer cancels in the meantime.
func TestProviderFlagsFollowAfterCancel(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, 5*time.Minute)
	v := w.submit(websiteFiling("13600000161", "13600000162"))
	w.advance(30 * time.Minute)
	wantValidation(t, w.validate(w.code("13600000161"), "13600000161", leaderCert), "partial", false)
	w.cancel(v.ID)
	w.advance(5 * time.Minute)
	pv := w.providerView(v.ID)
	if pv.Status != "canceled" || !pv.Personnel[0].Validated || pv.Personnel[1].Validated {
		t.Fatalf("provider view %+v, want canceled with the leader validated", pv)
	}
}

// MIIT may take its own time to hand the first codes over; the window
// still counts from the sync.
func TestMIITSendDelay(t *testing.T) {
	w := newWorld(t)
	w.set(func(f *core.Faults) { f.MIITSendDelay = core.Fixed(20 * time.Minute) })
	v := w.single("13600000171")
	mv := w.miitView(v.ID)
	if mv.Status != "pending_validation" || !mv.CodesSentAt.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("MIIT view %+v, want codes sent at the sync", mv)
	}
	w.advance(20*time.Minute - time.Millisecond)
	if n := len(w.codes("13600000171")); n != 0 {
		t.Fatalf("%d codes before MIIT's send delay", n)
	}
	w.advance(time.Millisecond)
	msgs := w.inbox("13600000171")
	if last := msgs[len(msgs)-1]; last.Code == "" || !last.SentAt.Equal(t0.Add(50*time.Minute)) {
		t.Fatalf("code message %+v, want it sent 20m after the sync", last)
	}
	if mv := w.miitView(v.ID); !mv.Deadline.Equal(t0.Add(30*time.Minute + 24*time.Hour)) {
		t.Fatalf("deadline %s, want 24h from the sync", mv.Deadline)
	}
}

// The network's delay for MIIT's senders holds the code, not the notice.
func TestCodesDelayedByTheNetwork(t *testing.T) {
	w := newWorld(t)
	w.set(func(f *core.Faults) { f.SenderDelays = map[string]core.Delay{"miit": core.Fixed(40 * time.Minute)} })
	w.single("13600000181")
	if msgs := w.inbox("13600000181"); len(msgs) != 1 || msgs[0].Sender != "95187" {
		t.Fatalf("inbox %+v at the sync, want the notice alone", msgs)
	}
	w.advance(40 * time.Minute)
	msgs := w.inbox("13600000181")
	if len(msgs) != 2 {
		t.Fatalf("inbox %+v, want the code 40m after the sync", msgs)
	}
	if m := msgs[1]; !m.SentAt.Equal(t0.Add(30*time.Minute)) || !m.DeliveredAt.Equal(t0.Add(70*time.Minute)) {
		t.Fatalf("code message %+v, want sent at the sync and delivered 40m later", m)
	}
}

// A phone whose security app files MIIT's messages as spam finds the code
// in its blocked folder; it still validates.
func TestCodeBlockedAsSpam(t *testing.T) {
	w := newWorld(t)
	if err := w.gw.SetProfile(w.ctx, "13600000191", gateway.Profile{SpamFilter: true, Service: gateway.ServiceActive, Reachable: true,
		Delay: core.Fixed(0), BlockSenders: []string{}, BlockKeywords: []string{}}); err != nil {
		t.Fatal(err)
	}
	w.single("13600000191")
	if n := len(w.codes("13600000191")); n != 0 {
		t.Fatalf("%d codes in the inbox of a phone that blocks MIIT", n)
	}
	blocked := w.folder("13600000191", gateway.FolderBlocked)
	if len(blocked) != 1 || blocked[0].Sender != "12381" || blocked[0].Code == "" {
		t.Fatalf("blocked folder %+v, want the code", blocked)
	}
	wantValidation(t, w.validate(blocked[0].Code, "13600000191", leaderCert), "complete", false)
}

// MIIT says it sent the code; nothing reaches the network. A resend may
// fare better.
func TestLostCodes(t *testing.T) {
	w := newWorld(t)
	w.set(func(f *core.Faults) { f.LostCodeRate = 1 })
	v := w.single("13600000201")
	if mv := w.miitView(v.ID); mv.Status != "pending_validation" || mv.CodesSentAt == nil {
		t.Fatalf("MIIT view %+v, want the codes sent", mv)
	}
	if msgs := w.inbox("13600000201"); len(msgs) != 1 {
		t.Fatalf("inbox %+v, want the notice alone", msgs)
	}
	wantResend(t, w.resend("13600000201", leaderCert), "resent")
	if n := len(w.codes("13600000201")); n != 0 {
		t.Fatal("a resend reached the phone with every code lost")
	}
	w.set(func(f *core.Faults) { f.LostCodeRate = 0 })
	wantResend(t, w.resend("13600000201", leaderCert), "resent")
	wantValidation(t, w.validate(w.code("13600000201"), "13600000201", leaderCert), "complete", false)
}

// The automatic re-send: the current code once more at 12:00 China
// Standard Time the day after, to whoever has not validated; not a resend.
func TestAutoResendAtNoon(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	w.set(func(f *core.Faults) { f.AutoResendNoon = true })
	w.advance(5 * time.Hour) // 13:00 CST, May 1
	v := w.submit(websiteFiling("13600000211", "13600000212"))
	w.advance(30 * time.Minute) // codes sent at 13:30 CST
	lc, ac := w.code("13600000211"), w.code("13600000212")
	wantValidation(t, w.validate(lc, "13600000211", leaderCert), "partial", false)
	w.advance(22*time.Hour + 30*time.Minute - time.Millisecond) // 11:59:59.999 CST, May 2
	if n := len(w.codes("13600000212")); n != 1 {
		t.Fatalf("%d codes before noon CST", n)
	}
	w.advance(time.Millisecond)
	codes := w.codes("13600000212")
	if len(codes) != 2 || codes[1] != ac {
		t.Fatalf("codes %v at noon CST the next day, want the same code again", codes)
	}
	msgs := w.inbox("13600000212")
	if m := msgs[len(msgs)-1]; m.Sender != "12381" || !m.SentAt.Equal(time.Date(2026, 5, 2, 4, 0, 0, 0, time.UTC)) || m.Body != miit.CodeText(ac, 24*time.Hour) {
		t.Fatalf("re-sent message %+v", m)
	}
	if n := len(w.codes("13600000211")); n != 1 {
		t.Fatalf("the validated leader got %d codes, want only the first", n)
	}
	if p := w.miitView(v.ID).Personnel[1]; p.Resends != 0 {
		t.Fatalf("the automatic re-send counted as a resend: %+v", p)
	}
	wantValidation(t, w.validate(ac, "13600000212", adminCert), "complete", false)
}

func TestNoAutoResend(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		w := newWorld(t)
		w.advance(5 * time.Hour)
		w.single("13600000221")
		w.advance(23 * time.Hour)
		if n := len(w.codes("13600000221")); n != 1 {
			t.Fatalf("%d codes without the automatic re-send", n)
		}
	})
	t.Run("window ended before noon", func(t *testing.T) {
		w := newWorld(t)
		w.set(func(f *core.Faults) { f.AutoResendNoon = true })
		w.single("13600000222") // codes sent at 08:30 CST: the window ends before noon the next day
		w.advance(30 * time.Hour)
		if n := len(w.codes("13600000222")); n != 1 {
			t.Fatalf("%d codes; an expired order must not be re-sent", n)
		}
	})
	t.Run("rejected before noon", func(t *testing.T) {
		w := newWorld(t)
		w.set(func(f *core.Faults) { f.AutoResendNoon = true })
		w.advance(5 * time.Hour)
		w.single("13600000223")
		for range 5 {
			w.validate("000000", "13600000223", leaderCert)
		}
		w.advance(23 * time.Hour)
		if n := len(w.codes("13600000223")); n != 1 {
			t.Fatalf("%d codes; a rejected order must not be re-sent", n)
		}
	})
}

// Every handler checks its arguments before it reads them: a malformed job
// fails for good, and goes to the dead-letter set instead of being tried
// again; the advance goes on.
func TestMalformedJobs(t *testing.T) {
	for kind, arity := range map[string]int{
		miit.JobSync: 1, miit.JobCode: 5, miit.JobNotice: 3, miit.JobExpire: 1,
		miit.JobResult: 4, miit.JobReview: 1, miit.JobAutoResend: 1,
	} {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t)
			if _, err := w.sched.Schedule(w.ctx, t0, kind, "f_0000000000000000", "x", "y", "z", "u", "v"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.sched.Advance(w.ctx, 0); err != nil {
				t.Fatalf("advance over a malformed %s: %v", kind, err)
			}
			dead, total, err := w.sched.DeadJobs(w.ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("malformed job %s #1 due 2026-05-01T00:00:00Z [f_0000000000000000 x y z u v]: 6 arguments, want %d", kind, arity)
			if kind == miit.JobSync { // the filing, then its numbers
				want = `malformed job miit.sync #1 due 2026-05-01T00:00:00Z [f_0000000000000000 x y z u v]: argument 2, "x", is not a mobile number`
			}
			if total != 1 || dead[0].Kind != kind || dead[0].Error != want {
				t.Fatalf("dead jobs (%d): %+v, want one %s: %s", total, dead, kind, want)
			}
			if n, _ := w.sched.Pending(w.ctx); n != 0 {
				t.Fatalf("%d jobs pending, want 0", n)
			}
		})
	}
}

// The jobs of an order that is gone (a reset) do nothing.
func TestJobsOfAnOrderThatIsGone(t *testing.T) {
	w := newWorld(t)
	const id = "f_0000000000000000"
	for _, j := range []struct {
		kind string
		args []string
	}{
		{miit.JobSync, []string{id}},
		{miit.JobSync, []string{"x"}},
		{miit.JobCode, []string{id, "1", "13600000231", "123456", "86400000"}},
		{miit.JobExpire, []string{id}},
		{miit.JobResult, []string{id, "1", "approved", ""}},
		{miit.JobReview, []string{id}},
		{miit.JobAutoResend, []string{id}},
	} {
		if _, err := w.sched.Schedule(w.ctx, t0, j.kind, j.args...); err != nil {
			t.Fatal(err)
		}
	}
	w.advance(0)
	if p, err := w.svc.MIITViews(w.ctx, "", 10, 0); err != nil || p.Total != 0 {
		t.Fatalf("orders %+v, %v; want none", p, err)
	}
	if msgs := w.inbox("13600000231"); len(msgs) != 0 {
		t.Fatalf("a code of an order that is gone was sent: %+v", msgs)
	}
	if n, err := w.sched.Pending(w.ctx); err != nil || n != 0 {
		t.Fatalf("%d jobs pending, %v; want none", n, err)
	}
}

// seedOfACollision is a seed whose first two orders draw the same first
// code candidate, 688288.
const seedOfACollision = 530137

// No two live codes are equal: a code drawn while it is live is drawn
// again; once dead (validated, rejected, canceled, expired, replaced by a
// resend) it may be drawn anew. The message of a code drawn again reads
// that code, whether the order reached MIIT by its job or at once.
func TestACodeIsUniqueWhileLive(t *testing.T) {
	for _, lag := range []time.Duration{30 * time.Minute, 0} {
		t.Run(fmt.Sprintf("sync lag %s", lag), func(t *testing.T) { testACodeIsUniqueWhileLive(t, lag) })
	}
}

func testACodeIsUniqueWhileLive(t *testing.T, lag time.Duration) {
	r := core.NewSeededSource(seedOfACollision)
	a, b := r.ID("f", "filing", "1"), r.ID("f", "filing", "2")
	if r.Code("code", a, "1", "0", "0") != "688288" || r.Code("code", b, "1", "0", "0") != "688288" {
		t.Fatal("the draws of ids and codes changed: find a seed whose first two orders draw the same first code")
	}
	for _, c := range []struct {
		name  string
		end   func(w *world)
		again bool // B may be given A's code
	}{
		{"A pending", func(w *world) {}, false},
		{"A's code resent at once", func(w *world) {
			w.set(func(f *core.Faults) { f.ResendPolicy = core.ResendSameCode })
			w.resend("13600000241", leaderCert)
		}, false},
		{"A validated", func(w *world) { w.validate("688288", "13600000241", leaderCert) }, true},
		{"A rejected", func(w *world) {
			for range 5 {
				w.validate("000000", "13600000241", leaderCert)
			}
		}, true},
		{"A canceled", func(w *world) { w.cancel(a) }, true},
		{"A expired", func(w *world) { w.advance(24 * time.Hour) }, true},
		{"A's code replaced by a resend", func(w *world) { w.resend("13600000241", leaderCert) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, withSeed(seedOfACollision))
			w.lags(lag, time.Minute)
			if v := w.submit(appFiling("13600000241")); v.ID != a {
				t.Fatalf("the first order is %s, want %s", v.ID, a)
			}
			w.advance(30 * time.Minute)
			if got := w.codes("13600000241"); len(got) != 1 || got[0] != "688288" {
				t.Fatalf("A's codes %v, want 688288", got)
			}
			c.end(w)
			if v := w.submit(appFiling("13600000242")); v.ID != b {
				t.Fatalf("the second order is %s, want %s", v.ID, b)
			}
			w.advance(30 * time.Minute)
			bc := w.code("13600000242")
			if (bc == "688288") != c.again {
				t.Fatalf("B's code %s with A's 688288 %s", bc, map[bool]string{true: "dead: want it drawn anew", false: "live: want another"}[c.again])
			}
			if ms := w.inbox("13600000242"); ms[len(ms)-1].Body != miit.CodeText(bc, 24*time.Hour) {
				t.Fatalf("B's code message reads %q, want the text of %s", ms[len(ms)-1].Body, bc)
			}
			wantValidation(t, w.validate(bc, "13600000242", leaderCert), "complete", false)
			if !c.again {
				wantValidation(t, w.validate("688288", "13600000241", leaderCert), "complete", false)
			}
		})
	}
}

// A code MIIT still holds back (miit_send_delay) when the customer
// cancels the order reaches the phone after the cancel: a dead code.
func TestNoCodeOfACanceledOrderIsSent(t *testing.T) {
	w := newWorld(t)
	w.set(func(f *core.Faults) { f.MIITSendDelay = core.Fixed(20 * time.Minute) })
	v := w.single("13800000901")
	w.cancel(v.ID)
	w.advance(20 * time.Minute)
	if codes := w.codes("13800000901"); len(codes) != 0 {
		t.Fatalf("the phone got %v after its order was canceled", codes)
	}
}

func TestNoCodeOfARejectedOrderIsSent(t *testing.T) {
	w := newWorld(t)
	w.set(func(f *core.Faults) { f.MIITSendDelay = core.Fixed(20 * time.Minute) })
	w.single("13800000902")
	for range 5 {
		w.validate("000000", "13800000902", leaderCert)
	}
	w.advance(20 * time.Minute)
	if codes := w.codes("13800000902"); len(codes) != 0 {
		t.Fatalf("the phone got %v after its order was rejected", codes)
	}
}

// An advance sends the syncs due one after another to Redis in runs
// (core.Scheduler.HandleSteps): what it does is what carrying them out one
// at a time does — the same event log, in the same order, the same
// messages in the same folders — with syncs whose messages the network
// holds past the next sync, codes MIIT sends later, codes lost, orders that
// need no one, and numbers changed while the sync waited.
func TestSyncsInRunsDoWhatOneAtATimeDoes(t *testing.T) {
	story := func(run int) (events []string, folders []string, runs int) {
		w, err := buildWorldWith(t, core.SchedulerOptions{Run: run})
		if err != nil {
			t.Fatal(err)
		}
		w.set(func(f *core.Faults) {
			f.SyncLag = core.Uniform(time.Minute, 3*time.Hour)
			f.SMSDelay = core.Uniform(0, 20*time.Minute)
			f.LostCodeRate = 0.1
		})
		var phones []string
		for i := range 60 {
			a, b := fmt.Sprintf("1360%07d", 2*i), fmt.Sprintf("1360%07d", 2*i+1)
			switch i % 4 {
			case 0:
				w.submit(appFiling(a))
				phones = append(phones, a)
			case 1:
				w.submit(websiteFiling(a, b))
				phones = append(phones, a, b)
			case 2:
				w.set(func(f *core.Faults) { f.MIITSendDelay = core.Uniform(0, 10*time.Minute) })
				w.submit(websiteFiling(a, b))
				w.set(func(f *core.Faults) { f.MIITSendDelay = core.Fixed(0) })
				phones = append(phones, a, b)
			default: // a cancel order whose number changes before its sync
				v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin(b)})
				c := fmt.Sprintf("1361%07d", i)
				if _, err := w.svc.ChangeNumbers(w.ctx, v.ID, adminTo(c)); err != nil {
					t.Fatal(err)
				}
				phones = append(phones, b, c)
			}
		}
		count := &runCount{}
		w.rdb.AddHook(count)
		w.advance(4 * time.Hour)
		records, err := w.events.After(w.ctx, "", 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			events = append(events, fmt.Sprintf("%s %s %s", r.At.Sub(t0), r.Kind, r.Data))
		}
		for _, p := range phones {
			for _, m := range w.inbox(p) {
				folders = append(folders, fmt.Sprintf("%s %s %s %s", p, m.ID, m.Body, m.DeliveredAt))
			}
		}
		return events, folders, count.n
	}
	oneEvents, oneFolders, oneRuns := story(1)
	runEvents, runFolders, runRuns := story(16)
	if len(oneEvents) < 300 {
		t.Fatalf("the story is %d events long, want the syncs of 60 orders and their messages", len(oneEvents))
	}
	if got, want := strings.Join(runEvents, "\n"), strings.Join(oneEvents, "\n"); got != want {
		t.Fatalf("the event log in runs\n%s\nwant, as one at a time\n%s", got, want)
	}
	if got, want := strings.Join(runFolders, "\n"), strings.Join(oneFolders, "\n"); got != want {
		t.Fatalf("the inboxes in runs\n%s\nwant, as one at a time\n%s", got, want)
	}
	if oneRuns != 0 || runRuns < 5 {
		t.Fatalf("%d runs of syncs one at a time, %d in runs: want none, and some", oneRuns, runRuns)
	}
}

// runCount counts the pipelines of more than one job's script a client
// sends.
type runCount struct {
	mu sync.Mutex
	n  int
}

func (c *runCount) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (c *runCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (c *runCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		jobs := 0 // the scripts' own calls, or the jobs of a script's run form (an argument each)
		for _, cmd := range cmds {
			if cmd.Name() == "evalsha" || cmd.Name() == "fcall" {
				args := cmd.Args()
				keys, _ := args[2].(int)
				jobs += max(1, len(args)-3-keys)
			}
		}
		if jobs > 1 {
			c.mu.Lock()
			c.n++
			c.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}
