package server_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// The limits of these tests: what is finished lives an hour, anything else
// two days from its last write.
var testLimits = core.Limits{Retention: time.Hour, NamespaceTTL: 48 * time.Hour, InboxMax: 1000}

// slack is how much a TTL may have run down while a test ran: a real Redis
// counts it down, miniredis does not.
const slack = 10 * time.Second

// pttl answers the lifetime left of key: -1 when it has none, -2 when it
// does not exist, as PTTL answers.
func (e *env) pttl(key string) time.Duration {
	e.t.Helper()
	ms, err := e.rdb.Do(context.Background(), "PTTL", key).Int64()
	if err != nil {
		e.t.Fatalf("PTTL %s: %v", key, err)
	}
	if ms < 0 {
		return time.Duration(ms)
	}
	return time.Duration(ms) * time.Millisecond
}

// wantTTL checks that key lives want from about now: a little less on a
// real Redis, which counts down while the test runs.
func (e *env) wantTTL(what, key string, want time.Duration) {
	e.t.Helper()
	if got := e.pttl(key); got > want || got <= want-slack {
		e.t.Errorf("%s lives %s, want %s (%s)", what, got, want, key)
	}
}

// wantNoTTL checks that key exists and never expires.
func (e *env) wantNoTTL(what, key string) {
	e.t.Helper()
	if got := e.pttl(key); got != -1 {
		e.t.Errorf("%s: PTTL %d, want -1: a key that lives for ever (%s)", what, got, key)
	}
}

// wantGone checks that key does not exist.
func (e *env) wantGone(what, key string) {
	e.t.Helper()
	if got := e.pttl(key); got != -2 {
		e.t.Errorf("%s still exists, PTTL %d (%s)", what, got, key)
	}
}

// zeroLags makes an order reach MIIT, and its outcomes the provider, at
// once, and its review take an hour.
func (e *env) zeroLags() {
	e.t.Helper()
	e.fixedLags("0s", "0s")
	e.patchFaults(`{"review":{"model":"fixed","value":"1h","approve_ratio":1}}`)
}

// An order under way is kept for the namespace's TTL, with its number's
// index and its live code; once it ends, it and the index are retained.
// Its messages are retained once delivered, and so is the inbox after each
// delivery.
func TestFinishedOrderIsRetained(t *testing.T) {
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	ks := e.keys()
	const phone = "13800000001"
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	code := e.code(phone)

	e.wantTTL("an order under way", ks.Filing(v.ID), 48*time.Hour)
	e.wantTTL("the index of its number", ks.Who(phone), 48*time.Hour)
	e.wantTTL("its live code, the clock paused", ks.Code(code), 48*time.Hour)
	msgs := e.inbox(phone)
	if len(msgs) != 2 {
		t.Fatalf("inbox %+v, want the notice and the code", msgs)
	}
	for _, m := range msgs {
		e.wantTTL("a message delivered", ks.Message(m.ID), time.Hour)
	}
	e.wantTTL("the inbox", ks.PhoneInbox(phone), time.Hour)

	wantValidation(t, e.validate(code, phone, leaderCert), miit.ResultComplete, false)
	e.wantGone("the code validated", ks.Code(code))
	e.wantTTL("an order under review", ks.Filing(v.ID), 48*time.Hour)
	e.wantTTL("the index of its number", ks.Who(phone), 48*time.Hour)

	e.advance("1h") // reviewed: approved
	if st := e.providerView(v.ID).Status; st != miit.StatusApproved {
		t.Fatalf("provider shows %s, want approved", st)
	}
	e.wantTTL("an order approved", ks.Filing(v.ID), time.Hour)
	e.wantTTL("the index of its number, no order under way", ks.Who(phone), time.Hour)
}

// An order that reaches MIIT by its sync job, not within the submission,
// is bounded alike: the job's script writes the order, its code and its
// messages with the namespace's lifetimes.
func TestOrderSyncedByItsJobIsBounded(t *testing.T) {
	e := newEnv(t, withLimits(testLimits))
	e.fixedLags("30m", "0s")
	ks := e.keys()
	const phone = "13800000001"
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	e.advance("30m") // the sync job
	if st := e.providerView(v.ID).Status; st != miit.StatusPendingValidation {
		t.Fatalf("provider shows %s after the sync, want pending_validation", st)
	}
	code := e.code(phone)
	e.wantTTL("an order synced by its job", ks.Filing(v.ID), 48*time.Hour)
	e.wantTTL("its live code, the clock paused", ks.Code(code), 48*time.Hour)
	for _, m := range e.inbox(phone) {
		e.wantTTL("a message delivered", ks.Message(m.ID), time.Hour)
	}
}

// A number's index lives as long as an order of it is under way: an order
// of it that ends is retained alone.
func TestIndexOfANumberWithAnOrderUnderWay(t *testing.T) {
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	ks := e.keys()
	const phone = "13800000002"
	first := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	second := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	code := e.code(phone) // the second order's
	e.call("POST", "/provider/v1/filings/"+first.ID+"/cancel", nil, 200, nil)
	e.wantTTL("an order canceled", ks.Filing(first.ID), time.Hour)
	e.wantTTL("the index, an order of it under way", ks.Who(phone), 48*time.Hour)
	e.wantTTL("the live code of the order under way", ks.Code(code), 48*time.Hour)

	for range miit.MaxFailures { // the second is rejected
		e.validate(wrong(code), phone, leaderCert)
	}
	if st := e.miitView(second.ID).Status; st != miit.StatusRejected {
		t.Fatalf("MIIT shows %s, want rejected", st)
	}
	e.wantTTL("an order rejected", ks.Filing(second.ID), time.Hour)
	e.wantTTL("the index, no order under way", ks.Who(phone), time.Hour)
	e.wantGone("the code of the order rejected", ks.Code(code))
}

// A resend's new code replaces the old one's key; a window that ends frees
// the code and retains the order.
func TestCodesOfResendsAndExpiries(t *testing.T) {
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	ks := e.keys()
	const phone = "13800000003"
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	old := e.code(phone)
	wantResend(t, e.resend(phone, leaderCert), miit.ResultResent)
	code := e.code(phone)
	if code == old {
		t.Fatalf("the resend sent the same code %s", code)
	}
	e.wantGone("the code a resend replaced", ks.Code(old))
	e.wantTTL("the new code", ks.Code(code), 48*time.Hour)

	e.advance("24h") // the window ends
	if st := e.miitView(v.ID).Status; st != miit.StatusCanceled {
		t.Fatalf("MIIT shows %s, want canceled", st)
	}
	e.wantGone("the code of the order canceled", ks.Code(code))
	e.wantTTL("an order canceled by its window", ks.Filing(v.ID), time.Hour)
	e.wantTTL("the index of its number", ks.Who(phone), time.Hour)
}

// A live code's key lives until the clock reaches its deadline, in real
// time at the clock's scale, set again when the scale changes; while the
// clock is paused it is kept like anything under way.
func TestCodeLivesUntilItsDeadline(t *testing.T) {
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	ks := e.keys()
	const phone = "13800000004"
	e.call("PUT", "/admin/v1/clock", `{"scale": 60, "paused": false}`, 200, nil)
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	key := ks.Code(e.code(phone))
	// 24 simulated hours at 60 simulated seconds a second: 24 minutes
	e.wantTTL("a live code at 60×", key, 24*time.Minute)

	e.call("PUT", "/admin/v1/clock", `{"scale": 3600}`, 200, nil)
	if got := e.pttl(key); got > 24*time.Second || got < 20*time.Second {
		t.Errorf("a live code lives %s after the scale went to 3600×, want about 24 s", got)
	}
	// an advance on the running clock brings the deadline nearer
	e.advance("18h")
	if got := e.pttl(key); got > 6*time.Second || got < 2*time.Second {
		t.Errorf("a live code lives %s after an advance of 18 h at 3600×, want about 6 s", got)
	}
	e.call("PUT", "/admin/v1/clock", `{"paused": true}`, 200, nil)
	e.wantTTL("a live code, the clock paused", key, 48*time.Hour)
}

// A clock so slow that an order's window is more real time than a key's
// lifetime can say keeps the live code as long as the namespace: with no
// namespace TTL, for ever; never a lifetime that wrapped around and
// deleted it. The code still validates.
func TestCodeOfAClockTooSlowToBoundLivesOn(t *testing.T) {
	for _, c := range []struct {
		name   string
		limits core.Limits
		want   time.Duration // -1: for ever
	}{
		{"no limits", core.Limits{}, -1},
		{"a namespace TTL", testLimits, 48 * time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withLimits(c.limits))
			e.zeroLags()
			const phone = "13800000004"
			e.call("PUT", "/admin/v1/clock", `{"scale": 1e-300, "paused": false}`, 200, nil)
			e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
			code := e.code(phone)
			if c.want < 0 {
				e.wantNoTTL("a live code at 1e-300×", e.keys().Code(code))
			} else {
				e.wantTTL("a live code at 1e-300×", e.keys().Code(code), c.want)
			}
			wantValidation(t, e.validate(code, phone, leaderCert), miit.ResultComplete, false)
		})
	}
}

// A namespace's fault profile sets its own retention; null goes back to
// the server's.
func TestRetentionOfTheFaultProfile(t *testing.T) {
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	ks := e.keys()
	e.patchFaults(`{"retention": "10m"}`)
	const phone = "13800000005"
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	for _, m := range e.inbox(phone) {
		e.wantTTL("a message delivered", ks.Message(m.ID), 10*time.Minute)
	}
	e.wantTTL("the inbox", ks.PhoneInbox(phone), 10*time.Minute)
	e.call("POST", "/provider/v1/filings/"+v.ID+"/cancel", nil, 200, nil)
	e.wantTTL("an order canceled", ks.Filing(v.ID), 10*time.Minute)

	e.patchFaults(`{"retention": "0s"}`) // as long as what is under way
	e.call("POST", "/gateway/v1/messages", map[string]string{"from": "95555", "to": phone, "body": "hello"}, 202, nil)
	e.wantTTL("the inbox, kept as long as the namespace", ks.PhoneInbox(phone), 48*time.Hour)

	e.patchFaults(`{"retention": null}`)
	e.call("POST", "/gateway/v1/messages", map[string]string{"from": "95555", "to": phone, "body": "hello"}, 202, nil)
	e.wantTTL("the inbox, the server's retention again", ks.PhoneInbox(phone), time.Hour)
}

// With no limits (--retention 0, --namespace-ttl 0) nothing expires, as
// before there were limits: no key of a whole flow has a TTL.
func TestNoLimitsSetNoTTL(t *testing.T) {
	e := newEnv(t)
	e.zeroLags()
	const phone = "13800000006"
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	wantValidation(t, e.validate(e.code(phone), phone, leaderCert), miit.ResultComplete, false)
	e.advance("1h")
	if st := e.providerView(v.ID).Status; st != miit.StatusApproved {
		t.Fatalf("provider shows %s, want approved", st)
	}
	keys, err := testkit.Keys(context.Background(), e.rdb, e.keys().Pattern())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 10 {
		t.Fatalf("the flow left %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		e.wantNoTTL("a key with no limits", k)
	}
}

// --retention 0 with a namespace TTL: what is finished lives as long as
// anything else.
func TestZeroRetentionKeepsAsLongAsTheNamespace(t *testing.T) {
	e := newEnv(t, withLimits(core.Limits{NamespaceTTL: 48 * time.Hour}))
	e.zeroLags()
	ks := e.keys()
	const phone = "13800000007"
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	e.call("POST", "/provider/v1/filings/"+v.ID+"/cancel", nil, 200, nil)
	e.wantTTL("an order canceled", ks.Filing(v.ID), 48*time.Hour)
	for _, m := range e.inbox(phone) {
		e.wantTTL("a message delivered", ks.Message(m.ID), 48*time.Hour)
	}
}

// A folder keeps its newest --inbox-max messages; every delivery succeeds.
func TestInboxKeepsTheNewest(t *testing.T) {
	e := newEnv(t, withLimits(core.Limits{InboxMax: 3}))
	const phone = "13800000008"
	var ids []string
	for _, body := range []string{"one", "two", "three", "four", "five"} {
		var sent struct{ ID, Status string }
		e.call("POST", "/gateway/v1/messages", map[string]string{"from": "95555", "to": phone, "body": body}, 202, &sent)
		ids = append(ids, sent.ID)
	}
	var bodies []string
	for _, m := range e.inbox(phone) {
		bodies = append(bodies, m.Body)
	}
	if len(bodies) != 3 || bodies[0] != "three" || bodies[2] != "five" {
		t.Fatalf("inbox %v, want three, four, five", bodies)
	}
	// A client whose last message was trimmed resumes after it: the first
	// message still held comes next, on the long poll and the socket alike.
	e.wantNext(phone, "after="+ids[0]+"&timeout=1s", ids[2])
	c := e.dialAfter(phone, ids[1])
	if m, _ := readFrame(t, c); m.ID != ids[2] {
		t.Fatalf("socket after the trimmed %s sent %s (%q) first, want %s", ids[1], m.ID, m.Body, ids[2])
	}
	// an id never delivered to this phone is still a 404
	if p := e.next("13800000009", "after="+ids[0]+"&timeout=1s"); p.code != 404 {
		t.Fatalf("next after another phone's message: %d %s, want 404", p.code, p.body)
	}
}

// The index of a number lives as long as the order under way it lists:
// every write to the order (its sync, a validation, a resend) keeps both,
// so a code entered near the end of the namespace's TTL, counted from the
// last write, still finds its order (miniredis, its clock moved by hand).
func TestIndexLivesAsLongAsItsOrderUnderWay(t *testing.T) {
	if testkit.RealRedis() {
		t.Skip("expiry itself is tested on miniredis, whose TTLs run down by hand; a real Redis is only checked to set them")
	}
	e := newEnv(t, withLimits(testLimits)) // the namespace's keys live 48 h from their last write
	e.fixedLags("30m", "0s")
	ks := e.keys()
	v := e.submit(firstFilingWebsite("13800000021", "13800000022"))
	e.redis.Mini.FastForward(40 * time.Hour)
	e.advance("30m") // the sync
	e.wantTTL("the index, after the sync", ks.Who("13800000021"), 48*time.Hour)
	leaderCode := e.code("13800000021") // read now: the inboxes are retained an hour
	e.redis.Mini.FastForward(40 * time.Hour)
	wantValidation(t, e.validate(leaderCode, "13800000021", leaderCert), "partial", false)
	wantResend(t, e.resend("13800000022", adminCert), "resent")
	adminCode := e.code("13800000022")
	e.redis.Mini.FastForward(40 * time.Hour)
	// the leader's index, kept by the validation, still finds the order
	wantResend(t, e.resend("13800000021", leaderCert), "no_pending")
	wantValidation(t, e.validate(adminCode, "13800000022", adminCert), "complete", false)
	if mv := e.miitView(v.ID); mv.Status != miit.StatusUnderReview {
		t.Fatalf("MIIT shows %s, want under_review", mv.Status)
	}
}

// In an order of two, the index of the one who does nothing lives as long
// as the order the other keeps writing to: a validation keeps the other
// numbers' indexes too, at most once in half the TTL (miniredis, its clock
// and its TIME moved by hand).
func TestAnIdlePartnersIndexLivesAsLongAsTheOrder(t *testing.T) {
	if testkit.RealRedis() {
		t.Skip("expiry itself is tested on miniredis, whose TTLs run down by hand; a real Redis is only checked to set them")
	}
	e := newEnv(t, withLimits(testLimits)) // the namespace's keys live 48 h from their last write
	e.fixedLags("0s", "0s")
	mini := e.redis.Mini
	now := time.Now()
	pass := func(d time.Duration) { now = now.Add(d); mini.SetTime(now); mini.FastForward(d) }
	pass(0)
	v := e.submit(firstFilingWebsite("13800000031", "13800000032")) // synced at once
	leaderCode, adminCode := e.code("13800000031"), e.code("13800000032")
	pass(40 * time.Hour)
	wantValidation(t, e.validate(wrong(leaderCode), "13800000031", leaderCert), "failed", false) // the leader's try keeps the admin's index
	pass(40 * time.Hour)
	wantValidation(t, e.validate(leaderCode, "13800000031", leaderCert), "partial", false)
	pass(40 * time.Hour)
	wantValidation(t, e.validate(adminCode, "13800000032", adminCert), "complete", false)
	if mv := e.miitView(v.ID); mv.Status != miit.StatusUnderReview {
		t.Fatalf("MIIT shows %s, want under_review", mv.Status)
	}
}

// What is retained is gone once the retention has passed (miniredis, its
// clock moved by hand): the order and its messages read as never were.
func TestFinishedOrderExpires(t *testing.T) {
	if testkit.RealRedis() {
		t.Skip("expiry itself is tested on miniredis, whose TTLs run down by hand; a real Redis is only checked to set them")
	}
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	const phone = "13800000009"
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	e.call("POST", "/provider/v1/filings/"+v.ID+"/cancel", nil, 200, nil)
	msgs := e.inbox(phone)
	e.redis.Mini.FastForward(time.Hour - time.Second)
	e.call("GET", "/provider/v1/filings/"+v.ID, nil, 200, nil)
	e.redis.Mini.FastForward(2 * time.Second)
	e.call("GET", "/provider/v1/filings/"+v.ID, nil, 404, nil)
	e.call("GET", "/gateway/v1/messages/"+msgs[0].ID, nil, 404, nil)
	if got := e.inbox(phone); len(got) != 0 {
		t.Fatalf("inbox %+v after the retention, want it empty", got)
	}
	if code, _ := e.do("GET", "/provider/v1/filings", nil); code != 200 {
		t.Fatalf("listing the orders: %d", code)
	}
	if n, _ := e.rdb.ZCard(context.Background(), e.keys().Filings()).Result(); n != 0 {
		t.Fatalf("the list of orders holds %d after listing them, want none: the order expired", n)
	}
}

// A number not written to for the retention — no message sent or
// delivered to it, no profile given — has its keys expired: the listing
// of phones leaves it out at once, and the script that records a new
// number when the store's set reaches 64 takes it out of the set.
func TestPhonesLeaveTheListingAfterTheRetention(t *testing.T) {
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	ctx := context.Background()
	ks := e.keys()
	e.patchFaults(`{"retention": "10m"}`)
	const old, recent, next = "13800000011", "13800000012", "13800000013"
	for _, to := range []string{old, recent} {
		e.call("POST", "/gateway/v1/messages", map[string]string{"from": "95555", "to": to, "body": "hello"}, 202, nil)
	}
	listed := func() []string {
		var l struct {
			Phones []struct{ Phone string }
			Total  int
		}
		e.call("GET", "/phones/v1", nil, 200, &l)
		var out []string
		for _, p := range l.Phones {
			out = append(out, p.Phone)
		}
		if len(out) != l.Total {
			t.Fatalf("the listing has %d phones and says %d", len(out), l.Total)
		}
		return out
	}
	if got := listed(); fmt.Sprint(got) != fmt.Sprint([]string{old, recent}) {
		t.Fatalf("phones %v, want %s and %s", got, old, recent)
	}
	// the old number was last written to eleven minutes ago (real time)
	eleven := time.Now().Add(-11 * time.Minute).UnixMilli()
	if err := e.rdb.ZAdd(ctx, ks.Phones(), redis.Z{Score: float64(eleven), Member: old}).Err(); err != nil {
		t.Fatal(err)
	}
	if got := listed(); fmt.Sprint(got) != fmt.Sprint([]string{recent}) {
		t.Fatalf("phones %v, want %s alone: %s was not written to for the retention", got, recent, old)
	}
	// the store's set forgets it once it reaches 64 numbers with a new one
	var more []string
	for i := range 61 {
		more = append(more, fmt.Sprintf("139000000%02d", i))
	}
	for _, to := range append(more, next) {
		if n, _ := e.rdb.ZCard(ctx, ks.Phones()).Result(); n == 64 {
			t.Fatalf("the store's set holds 64 numbers before %s: %s was not taken out", to, old)
		}
		e.call("POST", "/gateway/v1/messages", map[string]string{"from": "95555", "to": to, "body": "hello"}, 202, nil)
	}
	if got, _ := e.rdb.ZRange(ctx, ks.Phones(), 0, -1).Result(); len(got) != 63 || slices.Contains(got, old) || !slices.Contains(got, next) {
		t.Fatalf("the store's numbers %v, want 63 without %s: the send that made them 64 takes out those past the retention", got, old)
	}
	// a profile writes the number too, and brings it back
	e.call("PUT", "/phones/v1/"+old+"/profile", `{"spam_filter":true}`, 200, nil)
	if got := listed(); len(got) != 64 || !slices.Contains(got, old) {
		t.Fatalf("phones %v after a profile for %s", got, old)
	}
}

// The list of orders forgets the expired ones as new orders come, without
// a listing: each 32nd submission looks at the next 64 ids of the list, so
// the ids of 64 orders that expired are gone once 64 more were submitted.
func TestExpiredOrdersLeaveTheListAsOrdersCome(t *testing.T) {
	if testkit.RealRedis() {
		t.Skip("expiry itself is tested on miniredis, whose TTLs run down by hand; a real Redis is only checked to set them")
	}
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	ctx := context.Background()
	const n = 64
	var old []string
	for i := range n {
		v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(fmt.Sprintf("1380000%04d", i))})
		e.call("POST", "/provider/v1/filings/"+v.ID+"/cancel", nil, 200, nil)
		old = append(old, v.ID)
	}
	e.redis.Mini.FastForward(time.Hour + time.Second) // the retention: the canceled orders expire
	for i := range n {
		e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(fmt.Sprintf("1390000%04d", i))})
	}
	ids, err := e.rdb.ZRange(ctx, e.keys().Filings(), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n || slices.Contains(ids, old[0]) || slices.Contains(ids, old[n-1]) {
		t.Fatalf("the list holds %d ids (the first expired %v, the last %v), want the %d submitted after the others expired",
			len(ids), slices.Contains(ids, old[0]), slices.Contains(ids, old[n-1]), n)
	}
}

// An answer kept for an Idempotency-Key lives 24 h, and no longer than the
// namespace's keys: a namespace that expired keeps no answer to replay.
func TestAnswerOfAnIdempotencyKeyLivesNoLongerThanItsNamespace(t *testing.T) {
	for _, c := range []struct {
		ttl, want time.Duration
	}{{48 * time.Hour, 24 * time.Hour}, {2 * time.Hour, 2 * time.Hour}} {
		e := newEnv(t, withLimits(core.Limits{NamespaceTTL: c.ttl}))
		resp, b := e.send("/gateway/v1/messages", `{"from":"95187","to":"13800000001","body":"hello"}`, keyed("hello-1"))
		if resp.StatusCode != 202 {
			t.Fatalf("send: %d %s", resp.StatusCode, b)
		}
		e.wantTTL(fmt.Sprintf("an answer, the namespace TTL %s", c.ttl), e.keys().Answer("hello-1"), c.want)
		resp, b = e.send("/gateway/v1/messages", `{"from":"95187","to":"13800000001","body":"hello again"}`, keyed("hello-1"))
		if p := answerProblem(t, resp, b, 422); !strings.Contains(p.Detail, "within "+core.FormatDuration(c.want)+";") {
			t.Errorf("the key given to another request: %q, want it to say within %s", p.Detail, core.FormatDuration(c.want))
		}
	}
}

// liveCodes answers the namespace's list of live codes, each with its
// deadline (simulated ms), as it stands.
func (e *env) liveCodes() map[string]int64 {
	e.t.Helper()
	zs, err := e.rdb.ZRangeWithScores(context.Background(), e.keys().CodesByDeadline(), 0, -1).Result()
	if err != nil {
		e.t.Fatalf("the live codes: %v", err)
	}
	out := map[string]int64{}
	for _, z := range zs {
		out[z.Member.(string)] = int64(z.Score)
	}
	return out
}

// The live codes are listed, each by its order's deadline, from the
// moment a code is made live until it is freed: validated, replaced by a
// resend, or its order ended.
func TestLiveCodesAreListedUntilFreed(t *testing.T) {
	e := newEnv(t)
	e.zeroLags()
	e.patchFaults(`{"resend_policy": "new_code"}`)
	const leaderPhone, adminPhone = "13800000301", "13800000302"
	v := e.submit(firstFilingWebsite(leaderPhone, adminPhone))
	deadline := e.miitView(v.ID).Deadline
	if deadline == nil {
		t.Fatal("the order has no deadline after its sync")
	}
	leaderCode, adminCode := e.code(leaderPhone), e.code(adminPhone)
	want := map[string]int64{leaderCode: deadline.UnixMilli(), adminCode: deadline.UnixMilli()}
	if got := e.liveCodes(); !maps.Equal(got, want) {
		t.Fatalf("live codes after the sync: %v, want %v", got, want)
	}

	wantValidation(t, e.validate(leaderCode, leaderPhone, leaderCert), miit.ResultPartial, false)
	if got := e.liveCodes(); !maps.Equal(got, map[string]int64{adminCode: deadline.UnixMilli()}) {
		t.Fatalf("live codes after the leader validated: %v, want the administrator's alone", got)
	}

	if r := e.resend(adminPhone, adminCert); r.Result != miit.ResultResent {
		t.Fatalf("resend: %+v", r)
	}
	resent := e.code(adminPhone)
	if resent == adminCode {
		t.Fatalf("the resend texted the same code %s under the new_code policy", resent)
	}
	if got := e.liveCodes(); !maps.Equal(got, map[string]int64{resent: deadline.UnixMilli()}) {
		t.Fatalf("live codes after the resend: %v, want the new code %s alone", got, resent)
	}

	e.call("POST", "/provider/v1/filings/"+v.ID+"/cancel", nil, 200, nil)
	if got := e.liveCodes(); len(got) != 0 {
		t.Fatalf("live codes after the order was canceled: %v, want none", got)
	}
}

// Retiming the codes after a change of the clock reads the list of live
// codes, not the database: its commands do not grow with the keys the
// store holds, and it sends no SCAN. A code whose key is gone leaves the
// list then.
func TestRetimingReadsTheLiveCodesNotTheDatabase(t *testing.T) {
	e := newEnv(t, withLimits(testLimits))
	e.zeroLags()
	ctx := context.Background()
	const phone, other = "13800000311", "13800000312"
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(other)})
	key, gone := e.keys().Code(e.code(phone)), e.code(other)
	if err := e.rdb.Del(ctx, e.keys().Code(gone)).Err(); err != nil { // as if it expired
		t.Fatal(err)
	}
	var count commandCounter
	e.rdb.AddHook(&count)
	e.call("PUT", "/admin/v1/clock", `{"scale": 30, "paused": false}`, 200, nil) // the scripts loaded
	count.take()
	e.call("PUT", "/admin/v1/clock", `{"scale": 120}`, 200, nil)
	small, smallDetail := count.take()
	// keys of another namespace, and of nothing smsim knows
	p := e.rdb.Pipeline()
	for i := range 5000 {
		p.Set(ctx, fmt.Sprintf("%s:{elsewhere}:k%d", e.redis.Prefix, i), "x", time.Hour)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	count.take()
	e.call("PUT", "/admin/v1/clock", `{"scale": 60}`, 200, nil)
	n, detail := count.take()
	if strings.Contains(detail, "scan") || n != small {
		t.Errorf("with 5000 more keys in the store, a change of the clock's scale sent %d commands (%s), want no SCAN and as many as without them: %d (%s)",
			n, detail, small, smallDetail)
	}
	// 24 simulated hours at 60 simulated seconds a second: 24 minutes
	e.wantTTL("a live code at 60×", key, 24*time.Minute)
	if _, listed := e.liveCodes()[gone]; listed {
		t.Errorf("code %s is still listed live after a retiming found its key gone", gone)
	}
	e.advance("1h")
	n, detail = count.take()
	if strings.Contains(detail, "scan") {
		t.Errorf("an advance of the running clock sent %d commands (%s), want no SCAN", n, detail)
	}
}

// A code whose deadline has passed is dead whatever its key says: when a
// code made live is a multiple of 64 (one in 64, the codes being drawn at
// random), those leave the list, which so holds no more than the live
// codes and about the last 64 that died.
func TestDeadCodesLeaveTheListNowAndThen(t *testing.T) {
	e := newEnv(t)
	e.zeroLags()
	ctx := context.Background()
	past := e.now().Add(-time.Hour).UnixMilli()
	dead := []redis.Z{{Score: float64(past), Member: "000001"}, {Score: float64(past), Member: "000002"}}
	if err := e.rdb.ZAdd(ctx, e.keys().CodesByDeadline(), dead...).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		phone := fmt.Sprintf("1380001%04d", i)
		e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
		code, _ := strconv.Atoi(e.code(phone))
		live := e.liveCodes()
		_, listed := live["000001"]
		if code%64 != 0 {
			if !listed {
				t.Fatalf("the dead codes left the list at code %06d, not a multiple of 64", code)
			}
			continue
		}
		if listed || len(live) != i+1 {
			t.Fatalf("at code %06d, a multiple of 64, the list holds %d codes (the dead ones still: %v), want the %d live ones", code, len(live), listed, i+1)
		}
		return
	}
	t.Fatal("no code of 1000 was a multiple of 64")
}

// A reset namespace has no codes that a store written before left
// unlisted: it notes its codes listed, so that neither a change of its
// clock nor a process that opens it after reads the database to list
// them.
func TestAResetNamespaceHasNoCodesToList(t *testing.T) {
	e := newEnv(t)
	e.zeroLags()
	ctx := context.Background()
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13800000321")})
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	e.zeroLags()
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13800000322")})
	if v, _ := e.rdb.HGet(ctx, e.keys().Seq(), core.CodesIndexed).Result(); v != "1" {
		t.Errorf("seq's %s is %q after a reset, want 1: the namespace has nothing of before to list", core.CodesIndexed, v)
	}
	var count commandCounter
	e.rdb.AddHook(&count)
	e.call("PUT", "/admin/v1/clock", `{"scale": 30, "paused": false}`, 200, nil)
	if n, detail := count.take(); strings.Contains(detail, "scan") {
		t.Errorf("after a reset, a change of the clock sent %d commands (%s), want no SCAN", n, detail)
	}
}
