package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/server"
)

// undelivered lists a phone's failed or travelling messages.
func (in *instance) undelivered(phone, folder string) []gateway.Message {
	in.t.Helper()
	var out struct{ Messages []gateway.Message }
	in.call("GET", "/phones/v1/"+phone+"/messages?folder="+folder, nil, 200, &out)
	return out.Messages
}

// A message planned and delivered in the script that sends it — MIIT's
// code at a sync with no lag — meets a full inbox as a message delivered
// by its job does: it fails, inbox_full, its last step the refusal. The
// notice, sent first, filled the inbox of one message.
func TestPlannedMessageToAFullInbox(t *testing.T) {
	e := newEnv(t)
	const phone = "13800000311"
	e.putProfile(phone, `{"inbox_limit":1}`)
	e.fixedLags("0s", "0s")
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	inbox, failed := e.inbox(phone), e.undelivered(phone, "failed")
	if len(inbox) != 1 || inbox[0].Sender != "95187" || len(failed) != 1 {
		t.Fatalf("inbox %+v, failed %+v; want the notice in the inbox and the code failed", inbox, failed)
	}
	m := failed[0]
	if m.Sender != "12381" || m.Code == "" || m.Status != "failed" || m.Reason != "inbox_full" ||
		steps(m) != "sent delay failed" || m.Trail[len(m.Trail)-1].Detail != "refused: the inbox is full (1 message)" {
		t.Fatalf("the code %+v (trail %s), want failed, inbox_full, its last step the refusal", m, steps(m))
	}
}

// A phone's failed messages are listed with their reason and trail, those
// still on their way with their trail so far; each leaves the travelling
// list when its outcome is decided.
func TestFailedAndTravellingMessages(t *testing.T) {
	e := newEnv(t)
	const suspended, slow = "13800000301", "13800000302"
	e.putProfile(suspended, `{"service":"suspended"}`)
	e.fixedLags("0s", "0s")
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(suspended)})
	failed := e.undelivered(suspended, "failed")
	if len(failed) != 2 || len(e.inbox(suspended)) != 0 || len(e.undelivered(suspended, "travelling")) != 0 {
		t.Fatalf("failed %+v, want the notice and the code", failed)
	}
	for i, m := range failed {
		last := m.Trail[len(m.Trail)-1]
		if m.Status != "failed" || m.Reason != "suspended" || m.Phone != suspended || last.Step != "failed" || m.Trail[0].Step != "sent" {
			t.Errorf("failed[%d] = %+v", i, m)
		}
	}
	if !strings.Contains(failed[0].Body, v.ID) || failed[0].Sender != "95187" || failed[1].Sender != "12381" || failed[1].Code == "" {
		t.Fatalf("failed: the notice then the code, got %+v", failed)
	}

	e.patchFaults(`{"sms_delay":{"model":"fixed","value":"10m"}}`)
	id := e.gwSend("95187", slow, "slow")
	tr := e.undelivered(slow, "travelling")
	if len(tr) != 1 || tr[0].ID != id || tr[0].Status != "queued" || tr[0].Reason != "" || len(tr[0].Trail) != 2 || tr[0].Trail[1].Step != "delay" {
		t.Fatalf("travelling %+v, want %s queued with its delay", tr, id)
	}
	e.advance("9m")
	if tr := e.undelivered(slow, "travelling"); len(tr) != 1 {
		t.Fatalf("travelling after 9m: %+v", tr)
	}
	e.advance("1m")
	if tr := e.undelivered(slow, "travelling"); len(tr) != 0 || len(e.inbox(slow)) != 1 || len(e.undelivered(slow, "failed")) != 0 {
		t.Fatalf("after the delay: travelling %+v, inbox %+v", tr, e.inbox(slow))
	}

	// a message that fails later, at its delivery, leaves one list for the other
	e.putProfile(slow, `{"reachable":false}`)
	late := e.gwSend("95187", slow, "late")
	if tr := e.undelivered(slow, "travelling"); len(tr) != 1 || tr[0].ID != late {
		t.Fatalf("travelling %+v", tr)
	}
	e.advance("10m")
	if f := e.undelivered(slow, "failed"); len(f) != 1 || f[0].ID != late || f[0].Reason != "unreachable" || len(e.undelivered(slow, "travelling")) != 0 {
		t.Fatalf("failed %+v", f)
	}

	// emptying the phone's messages forgets its failures too
	e.call("DELETE", "/phones/v1/"+suspended+"/messages", nil, 204, nil)
	if f := e.undelivered(suspended, "failed"); len(f) != 0 {
		t.Fatalf("failed after DELETE: %+v", f)
	}
	// an unknown folder names the four
	code, b := e.do("GET", "/phones/v1/"+slow+"/messages?folder=spam", nil)
	if p := problemOf(t, b); code != 400 || p.Detail != `folder: must be "inbox", "blocked", "failed" or "travelling", got "spam"` {
		t.Fatalf("folder=spam: %d %s", code, b)
	}
}

// On a paused clock, a long poll that finds nothing, with nothing on its
// way to the phone, answers 204 at once, saying so; with a message on its
// way, or a running clock, it waits for its timeout.
func TestNothingOnItsWay(t *testing.T) {
	e := newEnv(t)
	const phone = "13800000311"
	for _, q := range []string{"after=start&timeout=5m", "timeout=5m", "after=start&from_miit=true&timeout=5m"} {
		p := e.next(phone, q)
		if p.code != http.StatusNoContent || p.wait != server.WaitNothingOnItsWay || p.took > 2*time.Second {
			t.Fatalf("next?%s on an empty phone: %d %q after %v, want 204 %s at once", q, p.code, p.wait, p.took, server.WaitNothingOnItsWay)
		}
	}
	// what the inbox holds still answers
	first := e.gwSend("95187", phone, "hello")
	e.wantNext(phone, "after=start&timeout=5m", first)
	if p := e.next(phone, "after="+first+"&timeout=5m"); p.code != http.StatusNoContent || p.wait != server.WaitNothingOnItsWay {
		t.Fatalf("after the last one: %d %q", p.code, p.wait)
	}
	// the answer conforms to the OpenAPI document, header and all
	if code, b := e.do("GET", "/phones/v1/"+phone+"/messages/next?after="+first, nil); code != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("next: %d %s", code, b)
	}
	// a suspended phone got nothing, and nothing is coming: proven at once
	e.putProfile(phone, `{"service":"suspended"}`)
	e.gwSend("12381", phone, "code 123456")
	if p := e.next(phone, "after="+first+"&has_code=true&timeout=5m"); p.code != http.StatusNoContent || p.wait != server.WaitNothingOnItsWay || p.took > 2*time.Second {
		t.Fatalf("suspended: %d %q after %v", p.code, p.wait, p.took)
	}
	// a message on its way: the poll waits
	e.patchFaults(`{"sms_delay":{"model":"fixed","value":"1m"}}`)
	e.putProfile(phone, `{}`)
	e.gwSend("95187", phone, "on its way")
	if p := e.next(phone, "after="+first+"&timeout=300ms"); p.code != http.StatusNoContent || p.wait != server.WaitTimeout || p.took < 300*time.Millisecond {
		t.Fatalf("with a message on its way: %d %q after %v, want 204 timeout after 300ms", p.code, p.wait, p.took)
	}
	e.advance("1m")
	// a running clock: the poll waits
	e.call("PUT", "/admin/v1/clock", map[string]any{"paused": false}, 200, nil)
	if p := e.next(phone, "timeout=300ms"); p.code != http.StatusNoContent || p.wait != server.WaitTimeout || p.took < 300*time.Millisecond {
		t.Fatalf("running clock: %d %q after %v, want 204 timeout after 300ms", p.code, p.wait, p.took)
	}
	var st struct{ Paused bool }
	e.call("GET", "/admin/v1/clock", nil, 200, &st)
	b, _ := json.Marshal(st)
	if st.Paused {
		t.Fatalf("clock %s", b)
	}
}

// An order of the phone still to reach MIIT is a code on its way: a poll
// waits for it on the paused clock (an advance from elsewhere brings it);
// once the order synced and the code failed, nothing is on its way.
func TestCodeStillToComeIsOnItsWay(t *testing.T) {
	e := newEnv(t)
	const phone = "13800000321"
	e.putProfile(phone, `{"service":"suspended"}`)
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	if p := e.next(phone, "after=start&has_code=true&timeout=300ms"); p.code != http.StatusNoContent || p.wait != server.WaitTimeout || p.took < 300*time.Millisecond {
		t.Fatalf("before the sync: %d %q after %v, want 204 timeout after 300ms", p.code, p.wait, p.took)
	}
	e.advance("1h")
	if p := e.next(phone, "after=start&has_code=true&timeout=5m"); p.code != http.StatusNoContent || p.wait != server.WaitNothingOnItsWay || p.took > 2*time.Second {
		t.Fatalf("after the sync: %d %q after %v, want 204 nothing_on_its_way at once", p.code, p.wait, p.took)
	}
}

// A code MIIT holds back by its own send delay is on its way too: after
// the sync, on the paused clock, the poll waits for it rather than answer
// that nothing is coming; the advance past the delay brings it.
func TestCodeHeldBackByMIITIsOnItsWay(t *testing.T) {
	e := newEnv(t)
	const phone = "13800000322"
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"miit_send_delay":{"model":"fixed","value":"10m"},"sms_delay":{"model":"fixed","value":"0s"}}`)
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	if p := e.next(phone, "after=start&has_code=true&timeout=300ms"); p.code != http.StatusNoContent || p.wait != server.WaitTimeout || p.took < 300*time.Millisecond {
		t.Fatalf("with the code held back: %d %q after %v, want 204 timeout after 300ms", p.code, p.wait, p.took)
	}
	e.advance("10m")
	if p := e.next(phone, "after=start&has_code=true&timeout=5m"); p.code != http.StatusOK {
		t.Fatalf("after the send delay: %d %q after %v, want the code", p.code, p.wait, p.took)
	}
}

// A code MIIT will send again at noon (auto_resend_noon) is on its way
// too: once the first code is in, a poll for the next one waits for the
// noon the order's re-send is scheduled at, rather than answer that
// nothing is coming; the advance to it brings the code.
func TestCodeResentAtNoonIsOnItsWay(t *testing.T) {
	e := newEnv(t)
	const phone = "13800000323"
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"sms_delay":{"model":"fixed","value":"0s"},"auto_resend_noon":true,"validation_window":"72h"}`)
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	first := polledMessage(t, e.next(phone, "after=start&has_code=true&timeout=5m"))
	if p := e.next(phone, "after="+first.ID+"&has_code=true&timeout=300ms"); p.code != http.StatusNoContent || p.wait != server.WaitTimeout || p.took < 300*time.Millisecond {
		t.Fatalf("with a re-send at noon to come: %d %q after %v, want 204 timeout after 300ms", p.code, p.wait, p.took)
	}
	e.call("POST", "/admin/v1/clock/advance", `{"next":true,"kind":"miit.autoresend"}`, 200, nil)
	if p := e.next(phone, "after="+first.ID+"&has_code=true&timeout=5m"); p.code != http.StatusOK {
		t.Fatalf("after noon: %d %q after %v, want the code sent again", p.code, p.wait, p.took)
	}
}

// A re-send at noon that falls after the order's window ends is not on
// its way: the codes sent before noon (China Standard Time) have expired
// by the next day's noon, when MIIT sends nothing. A poll for a code after
// the first answers nothing_on_its_way at once.
func TestCodeResentAtNoonPastTheWindowIsNotOnItsWay(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // 08:00 in Beijing: the next noon is 28 hours away, past the 24-hour window
	const phone = "13800000324"
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"sms_delay":{"model":"fixed","value":"0s"},"auto_resend_noon":true}`)
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	first := polledMessage(t, e.next(phone, "after=start&has_code=true&timeout=5m"))
	e.wantNothingOnItsWay(phone, "after="+first.ID+"&has_code=true", "with the noon re-send past the window")
}

// A code MIIT holds back for an order canceled since is never sent, so it
// is not on its way: a poll for a code after another order's answers
// nothing_on_its_way at once, and the advance past the send delay brings
// nothing.
func TestHeldCodeOfACanceledOrderIsNotOnItsWay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const phone = "13800000325"
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"miit_send_delay":{"model":"fixed","value":"1h"},"sms_delay":{"model":"fixed","value":"0s"}}`)
	canceled := e.submit(miit.SubmitRequest{Type: "modify", Variant: "entity", EntityLeader: leader(phone)})
	e.patchFaults(`{"miit_send_delay":{"model":"fixed","value":"0s"}}`)
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	other := polledMessage(t, e.next(phone, "after=start&from_miit=true&has_code=true&timeout=5m"))
	e.call("POST", "/provider/v1/filings/"+canceled.ID+"/cancel", struct{}{}, http.StatusOK, nil)
	e.wantNothingOnItsWay(phone, "after="+other.ID+"&has_code=true", "with the held code's order canceled")
	e.advance("2h")
	if got := e.codes(phone); len(got) != 1 {
		t.Fatalf("codes in the inbox %v, want the other order's only", got)
	}
}

// A code MIIT holds back, replaced by a resend, is still sent once its
// order went under review: late and dead, as a delayed SMS arrives. Only
// an order canceled, rejected or past its window sends nothing.
func TestHeldCodeOfAnOrderUnderReviewIsStillSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const phone = "13800000326"
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"miit_send_delay":{"model":"fixed","value":"1h"},"sms_delay":{"model":"fixed","value":"0s"}}`)
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	e.patchFaults(`{"miit_send_delay":{"model":"fixed","value":"0s"}}`)
	if r := e.resend(phone, "071234"); r.Result != "resent" {
		t.Fatalf("resend: %+v", r)
	}
	code := e.code(phone)
	if r := e.validate(code, phone, "071234"); r.Result != "complete" {
		t.Fatalf("validate the resent code: %+v", r)
	}
	if mv := e.miitView(v.ID); mv.Status != "under_review" {
		t.Fatalf("the order reads %s, want under_review", mv.Status)
	}
	e.advance("2h")
	got := e.codes(phone)
	if len(got) != 2 || got[0] != code || got[1] == code {
		t.Fatalf("codes in the inbox %v, want the resent %s, then the held one it replaced", got, code)
	}
}

// A noon re-send texts only whoever has not validated: once the leader
// validated, the order's re-send brings the leader nothing, so the
// leader's poll for another code answers nothing_on_its_way at once,
// while the admin's code comes at noon.
func TestNoonResendToAPersonWhoValidatedIsNotOnItsWay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const a, b = "13800000331", "13800000332"
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"sms_delay":{"model":"fixed","value":"0s"},"auto_resend_noon":true,"validation_window":"72h"}`)
	e.submit(miit.SubmitRequest{Type: "add_provider", EntityLeader: leader(a), WebsiteAdmin: admin(b)})
	first := polledMessage(t, e.next(a, "after=start&has_code=true&timeout=20s"))
	if r := e.validate(e.code(a), a, leaderCert); r.Result != "partial" {
		t.Fatalf("the leader validates: %+v, want partial", r)
	}
	e.wantNothingOnItsWay(a, "after="+first.ID+"&has_code=true", "the leader's poll once validated")
	e.call("POST", "/admin/v1/clock/advance", `{"next":true,"kind":"miit.autoresend"}`, 200, nil)
	if got, admins := e.codes(a), e.codes(b); len(got) != 1 || len(admins) != 2 {
		t.Fatalf("after noon: the leader's codes %v, the admin's %v; want the leader's first only, the admin's sent again", got, admins)
	}
}

// wantNothingOnItsWay checks that a long poll of phone with query answers
// 204 nothing_on_its_way at once, naming what in its failure.
func (in *instance) wantNothingOnItsWay(phone, query, what string) {
	in.t.Helper()
	if p := in.next(phone, query+"&timeout=20s"); p.code != http.StatusNoContent || p.wait != server.WaitNothingOnItsWay || p.took > 2*time.Second {
		in.t.Fatalf("%s: %d %q after %v, want 204 nothing_on_its_way at once", what, p.code, p.wait, p.took)
	}
}
