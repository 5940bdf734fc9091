package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"smsim/miit"
)

func TestPersonnelTableDecidesWhoGetsCodes(t *testing.T) {
	rows := []struct {
		typ, variant string
		required     []string
	}{
		{"first_filing", "website", []string{"entity_leader", "website_admin"}},
		{"first_filing", "website_and_app", []string{"entity_leader"}},
		{"first_filing", "app", []string{"entity_leader"}},
		{"add_service", "website", []string{"entity_leader", "website_admin"}},
		{"add_service", "website_and_app", []string{"entity_leader"}},
		{"add_service", "app", []string{"entity_leader"}},
		{"add_provider", "", []string{"entity_leader", "website_admin"}},
		{"modify", "entity", []string{"entity_leader"}},
		{"modify", "service", []string{"website_admin"}},
		{"modify", "entity_and_service", []string{"entity_leader", "website_admin"}},
		{"cancel", "entity", []string{"entity_leader"}},
		{"cancel", "website", []string{"website_admin"}},
		{"cancel", "app", []string{"website_admin"}},
		{"remove_provider", "", []string{}},
	}
	e := newEnv(t)
	e.fixedLags("45m", "2m")
	for i, row := range rows {
		t.Run(row.typ+"/"+row.variant, func(t *testing.T) {
			phones := map[string]string{
				"entity_leader": fmt.Sprintf("1390000%02d01", i),
				"website_admin": fmt.Sprintf("1390000%02d02", i),
			}
			certs := map[string]string{"entity_leader": leaderCert, "website_admin": adminCert}
			v := e.submit(miit.SubmitRequest{Type: row.typ, Variant: row.variant,
				EntityLeader: leader(phones["entity_leader"]), WebsiteAdmin: admin(phones["website_admin"])})
			if fmt.Sprint(v.Required) != fmt.Sprint(row.required) || v.Status != "submitted" || len(v.Personnel) != len(row.required) {
				t.Fatalf("submitted %+v, want required %v, status submitted", v, row.required)
			}
			isRequired := map[string]bool{}
			for _, r := range row.required {
				isRequired[r] = true
			}
			for role, phone := range phones {
				if n := len(e.inbox(phone)); isRequired[role] != (n == 1) {
					t.Errorf("%s (required %v) got %d notices", role, isRequired[role], n)
				}
			}
			e.advance("45m")
			mv := e.miitView(v.ID)
			if len(row.required) == 0 {
				if mv.Status != "under_review" || len(mv.Personnel) != 0 || mv.CodesSentAt != nil || mv.Deadline != nil {
					t.Fatalf("MIIT view %+v, want under_review with no one", mv)
				}
				if pv := e.providerView(v.ID); pv.Status != "submitted" {
					t.Fatalf("provider shows %s before the result sync, want submitted", pv.Status)
				}
				e.advance("2m")
				if pv := e.providerView(v.ID); pv.Status != "under_review" {
					t.Fatalf("provider shows %s after the result sync, want under_review", pv.Status)
				}
				return
			}
			if mv.Status != "pending_validation" || len(mv.Personnel) != len(row.required) {
				t.Fatalf("MIIT view %+v, want pending_validation for %v", mv, row.required)
			}
			for role, phone := range phones {
				if got := len(e.codes(phone)); isRequired[role] != (got == 1) {
					t.Errorf("%s (required %v) got %d codes", role, isRequired[role], got)
				}
			}
			for j, role := range row.required {
				want := "partial"
				if j == len(row.required)-1 {
					want = "complete"
				}
				wantValidation(t, e.validate(e.code(phones[role]), phones[role], certs[role]), want, false)
			}
			if mv := e.miitView(v.ID); mv.Status != "under_review" {
				t.Fatalf("MIIT status %s after every validation, want under_review", mv.Status)
			}
		})
	}
}

func TestHappyPath(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("40m", "3m")
	e.patchFaults(`{"review":{"min":"72h","max":"72h","approve_ratio":1}}`)
	v := e.submit(firstFilingWebsite("13800000001", "13800000002"))
	if !v.SubmittedAt.Equal(t0) {
		t.Fatalf("submitted_at %s, want %s", v.SubmittedAt, t0)
	}

	notice := e.inbox("13800000001")
	if len(notice) != 1 || notice[0].Sender != "95187" || notice[0].Code != "" ||
		notice[0].Body != "[ICP Filing] Your ICP filing order "+v.ID+" has been submitted successfully. MIIT will send you a verification code from 12381; complete the text message validation within 24 hours of receiving it." ||
		!notice[0].DeliveredAt.Equal(t0) || notice[0].Folder != "inbox" {
		t.Fatalf("provider notice %+v", notice)
	}

	e.advance("39m")
	if len(e.codes("13800000001")) != 0 || e.miitView(v.ID).Status != "unknown" {
		t.Fatal("a code came before the sync lag ended")
	}
	e.advance("1m") // lands exactly on the sync: due means done
	synced := t0.Add(40 * time.Minute)
	mv := e.miitView(v.ID)
	if mv.Status != "pending_validation" || !mv.CodesSentAt.Equal(synced) || !mv.Deadline.Equal(synced.Add(24*time.Hour)) {
		t.Fatalf("MIIT view after sync %+v", mv)
	}
	if pv := e.providerView(v.ID); pv.Status != "pending_validation" {
		t.Fatalf("provider shows %s once the order reached MIIT, want pending_validation", pv.Status)
	}
	msgs := e.inbox("13800000002")
	code := msgs[len(msgs)-1]
	if code.Sender != "12381" || len(code.Code) != 6 || !code.SentAt.Equal(synced) ||
		code.Body != "[MIIT] Your ICP filing verification code is "+code.Code+". Enter it with your mobile number and the last six characters of your certificate number at https://beian.miit.gov.cn within 24 hours." {
		t.Fatalf("code message %+v", code)
	}
	if e.code("13800000001") == code.Code {
		t.Fatal("two people got the same code")
	}

	wantValidation(t, e.validate(e.code("13800000001"), "13800000001", leaderCert), "partial", false)
	// The provider learns of it after the result sync lag.
	if pv := e.providerView(v.ID); pv.Personnel[0].Validated {
		t.Fatal("provider saw the validation before the result sync lag")
	}
	e.advance("3m")
	if pv := e.providerView(v.ID); !pv.Personnel[0].Validated || pv.Personnel[1].Validated || pv.Status != "pending_validation" {
		t.Fatalf("provider view after the lag %+v", pv)
	}
	// The certificate's last six are compared case-insensitively.
	wantValidation(t, e.validate(code.Code, "+8613800000002", "01567x"), "complete", false)
	mv = e.miitView(v.ID)
	if mv.Status != "under_review" || !mv.Personnel[0].Validated || !mv.Personnel[1].Validated {
		t.Fatalf("MIIT view after both %+v", mv)
	}
	if pv := e.providerView(v.ID); pv.Status != "pending_validation" {
		t.Fatalf("provider shows %s before the result sync, want pending_validation", pv.Status)
	}
	e.advance("3m")
	if pv := e.providerView(v.ID); pv.Status != "under_review" || !pv.Personnel[1].Validated {
		t.Fatalf("provider view after the result sync %+v", pv)
	}
	// Validated: the same code again finds nothing to validate.
	wantValidation(t, e.validate(code.Code, "13800000002", adminCert), "not_found", false)
	wantResend(t, e.resend("13800000002", adminCert), "no_pending")

	e.advance("72h")
	if mv := e.miitView(v.ID); mv.Status != "approved" {
		t.Fatalf("MIIT status after review %s, want approved", mv.Status)
	}
	e.advance("3m")
	if pv := e.providerView(v.ID); pv.Status != "approved" {
		t.Fatalf("provider status after review %s, want approved", pv.Status)
	}
}

func TestReviewCanReturn(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "0s")
	e.patchFaults(`{"review":{"min":"24h","max":"24h","approve_ratio":0}}`)
	v := e.submit(miit.SubmitRequest{Type: "remove_provider"})
	e.advance("30m")
	if pv := e.providerView(v.ID); pv.Status != "under_review" {
		t.Fatalf("with no result lag the provider shows %s, want under_review", pv.Status)
	}
	e.advance("24h")
	if mv, pv := e.miitView(v.ID), e.providerView(v.ID); mv.Status != "returned" || pv.Status != "returned" {
		t.Fatalf("after review MIIT %s, provider %s; want returned", mv.Status, pv.Status)
	}
}

// With both lags zero, an order that needs no one is under review at the
// provider before its submission answers: the answer says so.
func TestSubmissionAnswersTheResultsDueAtOnce(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("0s", "0s")
	v := e.submit(miit.SubmitRequest{Type: "remove_provider"})
	if pv := e.providerView(v.ID); v.Status != "under_review" || pv.Status != "under_review" {
		t.Fatalf("the submission answered %s, the provider shows %s; want under_review both", v.Status, pv.Status)
	}
}

// single submits an order only the entity leader validates and syncs it.
func single(e *env, phone string) miit.ProviderView {
	e.t.Helper()
	e.fixedLags("30m", "1m")
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	e.advance("30m")
	return v
}

func TestFourWrongCodesThenRight(t *testing.T) {
	e := newEnv(t)
	v := single(e, "13700000001")
	code := e.code("13700000001")
	for i := 1; i <= 4; i++ {
		wantValidation(t, e.validate(wrong(code), "13700000001", leaderCert), "failed", false)
		if got := e.miitView(v.ID).Personnel[0].Failures; got != i {
			t.Fatalf("failures %d after %d wrong codes", got, i)
		}
	}
	wantValidation(t, e.validate(code, "13700000001", leaderCert), "complete", false)
	p := e.miitView(v.ID).Personnel[0]
	if !p.Validated || p.Failures != 4 {
		t.Fatalf("after the right code %+v, want validated with failures kept at 4", p)
	}
}

func TestFiveWrongCodesReject(t *testing.T) {
	e := newEnv(t)
	v := single(e, "13700000002")
	code := e.code("13700000002")
	for i := 1; i <= 4; i++ {
		wantValidation(t, e.validate(wrong(code), "13700000002", leaderCert), "failed", false)
	}
	wantValidation(t, e.validate(wrong(code), "13700000002", leaderCert), "failed", true)
	if mv := e.miitView(v.ID); mv.Status != "rejected" || mv.Personnel[0].Failures != 5 {
		t.Fatalf("MIIT view %+v, want rejected with 5 failures", mv)
	}
	wantValidation(t, e.validate(wrong(code), "13700000002", leaderCert), "not_found", false)
	wantValidation(t, e.validate(code, "13700000002", leaderCert), "not_found", false)
	wantResend(t, e.resend("13700000002", leaderCert), "not_found")
	if pv := e.providerView(v.ID); pv.Status != "pending_validation" {
		t.Fatalf("provider shows %s before the result sync", pv.Status)
	}
	e.advance("1m")
	if pv := e.providerView(v.ID); pv.Status != "rejected" {
		t.Fatalf("provider shows %s after the result sync, want rejected", pv.Status)
	}
	code2, _ := e.do("POST", "/provider/v1/filings/"+v.ID+"/cancel", nil)
	if code2 != 409 {
		t.Fatalf("cancel of a rejected order: %d, want 409", code2)
	}
}

func TestFailuresCountPerPerson(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	v := e.submit(firstFilingWebsite("13600000001", "13600000002"))
	e.advance("30m")
	lc := e.code("13600000001")
	for i := 0; i < 4; i++ {
		wantValidation(t, e.validate(wrong(lc), "13600000001", leaderCert), "failed", false)
	}
	ac := e.code("13600000002")
	for i := 0; i < 4; i++ {
		wantValidation(t, e.validate(wrong(ac), "13600000002", adminCert), "failed", false)
	}
	mv := e.miitView(v.ID)
	if mv.Status != "pending_validation" || mv.Personnel[0].Failures != 4 || mv.Personnel[1].Failures != 4 {
		t.Fatalf("eight failures split between two people must not reject: %+v", mv)
	}
	// A wrong certificate matches no one: not_found, and counts nothing.
	wantValidation(t, e.validate(wrong(lc), "13600000001", "999999"), "not_found", false)
	wantValidation(t, e.validate(lc, "13600000002", leaderCert), "not_found", false)
	if mv := e.miitView(v.ID); mv.Personnel[0].Failures != 4 {
		t.Fatalf("a not_found counted a failure: %+v", mv)
	}
}

func TestTwoResendsThenLimit(t *testing.T) {
	e := newEnv(t)
	v := single(e, "13700000003")
	before := e.miitView(v.ID)
	first := e.code("13700000003")
	e.advance("2h")
	wantResend(t, e.resend("13700000003", leaderCert), "resent")
	second := e.code("13700000003")
	wantResend(t, e.resend("13700000003", leaderCert), "resent")
	third := e.code("13700000003")
	wantResend(t, e.resend("13700000003", leaderCert), "limit_reached")
	if codes := e.codes("13700000003"); len(codes) != 3 || first == second || second == third || first == third {
		t.Fatalf("codes %v, want three different codes", codes)
	}
	resent := e.inbox("13700000003")
	if last := resent[len(resent)-1]; last.Sender != "12381" || !last.SentAt.Equal(t0.Add(30*time.Minute+2*time.Hour)) {
		t.Fatalf("resent code message %+v", last)
	}
	mv := e.miitView(v.ID)
	if mv.Personnel[0].Resends != 2 || !mv.Deadline.Equal(*before.Deadline) || !mv.CodesSentAt.Equal(*before.CodesSentAt) {
		t.Fatalf("after two resends %+v; the window must not move (was %s–%s)", mv, before.CodesSentAt, before.Deadline)
	}
	// Old codes are dead: entering one is a wrong code.
	wantValidation(t, e.validate(first, "13700000003", leaderCert), "failed", false)
	wantValidation(t, e.validate(second, "13700000003", leaderCert), "failed", false)
	wantValidation(t, e.validate(third, "13700000003", leaderCert), "complete", false)
	if p := e.miitView(v.ID).Personnel[0]; p.Failures != 2 {
		t.Fatalf("failures %d, want 2", p.Failures)
	}
}

func TestResendAnswers(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	e.submit(firstFilingWebsite("13500000001", "13500000002"))
	// Not synced yet: MIIT has nothing pending for this person.
	wantResend(t, e.resend("13500000001", leaderCert), "no_pending")
	wantValidation(t, e.validate("123456", "13500000001", leaderCert), "not_found", false)
	// Unknown number or certificate.
	wantResend(t, e.resend("13500000009", leaderCert), "not_found")
	wantResend(t, e.resend("13500000001", "000000"), "not_found")
	e.advance("30m")
	wantValidation(t, e.validate(e.code("13500000001"), "13500000001", leaderCert), "partial", false)
	// Validated while the admin still must: nothing pending for the leader.
	wantResend(t, e.resend("13500000001", leaderCert), "no_pending")
	wantResend(t, e.resend("13500000002", adminCert), "resent")
}

func TestValidationWindowCancelsTheOrder(t *testing.T) {
	e := newEnv(t)
	v := single(e, "13700000004")
	code := e.code("13700000004")
	e.advance("23h59m59s")
	if mv := e.miitView(v.ID); mv.Status != "pending_validation" {
		t.Fatalf("status %s one second before the deadline", mv.Status)
	}
	e.advance("1s")
	mv := e.miitView(v.ID)
	if mv.Status != "canceled" || mv.CanceledBy != "expiry" {
		t.Fatalf("at the deadline %+v, want canceled by expiry", mv)
	}
	wantValidation(t, e.validate(code, "13700000004", leaderCert), "not_found", false)
	wantResend(t, e.resend("13700000004", leaderCert), "not_found")
	if pv := e.providerView(v.ID); pv.Status != "pending_validation" || pv.CanceledBy != "" {
		t.Fatalf("provider shows %+v before the result sync, want pending_validation", pv)
	}
	e.advance("1m")
	if pv := e.providerView(v.ID); pv.Status != "canceled" || pv.CanceledBy != "expiry" {
		t.Fatalf("provider shows %+v after the result sync, want canceled by expiry", pv)
	}
	if c, _ := e.do("POST", "/provider/v1/filings/"+v.ID+"/cancel", nil); c != 409 {
		t.Fatalf("cancel after expiry: %d, want 409", c)
	}
}

func TestValidationWindowIsASetting(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"validation_window":"48h"}`)
	v := single(e, "13700000005")
	mv := e.miitView(v.ID)
	if mv.Deadline.Sub(*mv.CodesSentAt) != 48*time.Hour {
		t.Fatalf("window %s, want 48h", mv.Deadline.Sub(*mv.CodesSentAt))
	}
	if body := e.inbox("13700000005")[1].Body; body != miit.CodeText(e.code("13700000005"), 48*time.Hour) {
		t.Fatalf("code message %q does not name the 48-hour window", body)
	}
	e.advance("47h")
	wantValidation(t, e.validate(e.code("13700000005"), "13700000005", leaderCert), "complete", false)
}

func TestCustomerCancel(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "5m")

	// Before the sync: canceled in both views, never reaches MIIT.
	a := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13400000001")})
	var pv miit.ProviderView
	e.call("POST", "/provider/v1/filings/"+a.ID+"/cancel", nil, 200, &pv)
	if pv.Status != "canceled" || pv.CanceledBy != "customer" {
		t.Fatalf("cancel answered %+v", pv)
	}
	e.advance("1h")
	if mv := e.miitView(a.ID); mv.Status != "canceled" || mv.CanceledBy != "customer" || mv.CodesSentAt != nil {
		t.Fatalf("MIIT view of an order canceled before sync %+v", mv)
	}
	if got := e.codes("13400000001"); len(got) != 0 {
		t.Fatalf("an order canceled before sync sent codes %v", got)
	}
	if c, _ := e.do("POST", "/provider/v1/filings/"+a.ID+"/cancel", nil); c != 409 {
		t.Fatalf("second cancel: %d, want 409", c)
	}

	// Pending validation: MIIT learns at once; the code stops working.
	b := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13400000002")})
	e.advance("30m")
	code := e.code("13400000002")
	e.call("POST", "/provider/v1/filings/"+b.ID+"/cancel", nil, 200, &pv)
	if mv := e.miitView(b.ID); mv.Status != "canceled" || pv.Status != "canceled" {
		t.Fatalf("after cancel MIIT %s, provider %s", mv.Status, pv.Status)
	}
	wantValidation(t, e.validate(code, "13400000002", leaderCert), "not_found", false)
	wantResend(t, e.resend("13400000002", leaderCert), "not_found")

	// Under review at MIIT while the provider still shows
	// pending_validation: MIIT's view decides, 409.
	c := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13400000003")})
	e.advance("30m")
	wantValidation(t, e.validate(e.code("13400000003"), "13400000003", leaderCert), "complete", false)
	if pv := e.providerView(c.ID); pv.Status != "pending_validation" {
		t.Fatalf("provider shows %s before the result sync", pv.Status)
	}
	if code, body := e.do("POST", "/provider/v1/filings/"+c.ID+"/cancel", nil); code != 409 {
		t.Fatalf("cancel of an order under review at MIIT: %d %s, want 409", code, body)
	}
	if c, _ := e.do("POST", "/provider/v1/filings/f_0000000000000000/cancel", nil); c != 404 {
		t.Fatalf("cancel of an unknown order: %d, want 404", c)
	}
}

func TestSharedNumberIsOneSubject(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	v := e.submit(firstFilingWebsite("13300000001", "13300000001"))
	if n := len(e.inbox("13300000001")); n != 1 {
		t.Fatalf("%d notices to the shared number, want 1", n)
	}
	e.advance("30m")
	if c := e.codes("13300000001"); len(c) != 1 {
		t.Fatalf("codes %v to the shared number, want one", c)
	}
	code := e.code("13300000001")
	wantValidation(t, e.validate(wrong(code), "13300000001", leaderCert), "failed", false)
	wantResend(t, e.resend("13300000001", adminCert), "resent")
	mv := e.miitView(v.ID)
	for _, p := range mv.Personnel {
		if p.Failures != 1 || p.Resends != 1 {
			t.Fatalf("shared subject counts %+v, want 1 failure and 1 resend for both roles", mv.Personnel)
		}
	}
	// Either person's certificate validates both roles at once.
	wantValidation(t, e.validate(e.code("13300000001"), "13300000001", adminCert), "complete", false)
	mv = e.miitView(v.ID)
	if mv.Status != "under_review" || !mv.Personnel[0].Validated || !mv.Personnel[1].Validated {
		t.Fatalf("after one validation of the shared number %+v", mv)
	}
}

func TestPersonNotRequiredIsIgnored(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	v := e.submit(miit.SubmitRequest{Type: "modify", Variant: "service",
		EntityLeader: leader("13300000011"), WebsiteAdmin: admin("13300000012")})
	e.advance("30m")
	if n := len(e.inbox("13300000011")); n != 0 {
		t.Fatalf("the leader, not required, got %d messages", n)
	}
	if mv := e.miitView(v.ID); len(mv.Personnel) != 1 || mv.Personnel[0].Role != "website_admin" {
		t.Fatalf("MIIT lists %+v, want only the website admin", mv.Personnel)
	}
	wantValidation(t, e.validate(e.code("13300000012"), "13300000011", leaderCert), "not_found", false)
	wantResend(t, e.resend("13300000011", leaderCert), "not_found")
}

func TestPersonInSeveralOrders(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	a := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13200000001")})
	b := e.submit(miit.SubmitRequest{Type: "modify", Variant: "entity", EntityLeader: leader("13200000001")})
	e.advance("30m")
	codes := e.codes("13200000001")
	if len(codes) != 2 {
		t.Fatalf("codes %v, want one per order", codes)
	}
	// A resend re-sends in each order that has resends left.
	wantResend(t, e.resend("13200000001", leaderCert), "resent")
	if n := len(e.codes("13200000001")); n != 4 {
		t.Fatalf("%d codes after one resend over two orders, want 4", n)
	}
	// A code matching one order validates that one and counts no failure.
	var bCode string
	for _, c := range e.codes("13200000001")[2:] {
		wantValidation(t, e.validate(c, "13200000001", leaderCert), "complete", false)
		bCode = c
		break
	}
	am, bm := e.miitView(a.ID), e.miitView(b.ID)
	if am.Personnel[0].Failures != 0 || bm.Personnel[0].Failures != 0 {
		t.Fatalf("a right code counted a failure: %+v %+v", am.Personnel, bm.Personnel)
	}
	if (am.Status == "under_review") == (bm.Status == "under_review") {
		t.Fatalf("one code validated %s and %s; want exactly one order", am.Status, bm.Status)
	}
	// A code matching none counts a failure on every order still pending.
	wantValidation(t, e.validate(wrong(bCode), "13200000001", leaderCert), "failed", false)
	pending := am
	if am.Status == "under_review" {
		pending = e.miitView(b.ID)
	} else {
		pending = e.miitView(a.ID)
	}
	if pending.Personnel[0].Failures != 1 {
		t.Fatalf("pending order failures %d, want 1", pending.Personnel[0].Failures)
	}
}

func TestAutoResendAtNoon(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"auto_resend_noon":true}`)
	e.advance("5h")               // 13:00 CST, May 1
	v := single(e, "13100000001") // codes sent at 13:30 CST
	code := e.code("13100000001")
	e.advance("22h29m59s") // 11:59:59 CST, May 2
	if n := len(e.codes("13100000001")); n != 1 {
		t.Fatalf("%d codes before noon CST", n)
	}
	e.advance("1s")
	codes := e.codes("13100000001")
	if len(codes) != 2 || codes[1] != code {
		t.Fatalf("codes %v at noon CST the next day, want the same code again", codes)
	}
	if p := e.miitView(v.ID).Personnel[0]; p.Resends != 0 {
		t.Fatalf("the automatic re-send counted as a resend: %+v", p)
	}
	wantValidation(t, e.validate(code, "13100000001", leaderCert), "complete", false)
}

func TestNoAutoResendAfterTheWindow(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"auto_resend_noon":true}`)
	single(e, "13100000002") // codes sent at 08:30 CST: the window ends before noon the next day
	e.advance("30h")
	if n := len(e.codes("13100000002")); n != 1 {
		t.Fatalf("%d codes; an expired order must not be re-sent", n)
	}
}

func TestSameSeedSameRun(t *testing.T) {
	run := func() []string {
		e := newEnv(t, withSeed(42))
		v := e.submit(firstFilingWebsite("13800000011", "13800000012"))
		e.advance("1h")
		e.resend("13800000011", leaderCert)
		mv := e.miitView(v.ID)
		return []string{v.ID, mv.CodesSentAt.String(), fmt.Sprint(e.codes("13800000011")), fmt.Sprint(e.codes("13800000012")), e.inbox("13800000012")[0].ID}
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, same calls, different runs:\n%v\n%v", a, b)
	}
	c := func() []string {
		e := newEnv(t, withSeed(43))
		v := e.submit(firstFilingWebsite("13800000011", "13800000012"))
		return []string{v.ID}
	}()
	if c[0] == a[0] {
		t.Fatal("another seed drew the same id")
	}
}

// A run after a reset is the run after a start, also when a phone had a
// fault script before it: the same message ids, the same drawn delays.
func TestSameSeedSameRunAfterAReset(t *testing.T) {
	e := newEnv(t, withSeed(42))
	run := func() string {
		e.patchFaults(`{"sms_delay":{"min":"1s","max":"1m"}}`)
		e.submit(firstFilingWebsite("13800000021", "13800000022"))
		e.advance("2h")
		m := e.inbox("13800000022")
		if len(m) == 0 {
			t.Fatal("no code message on the admin's phone")
		}
		return fmt.Sprint(m[len(m)-1].ID, " ", m[len(m)-1].DeliveredAt)
	}
	first := run()
	e.call("PUT", "/phones/v1/13800000022/script", `{"steps":[{"action":"fail"}]}`, 200, nil)
	e.call("POST", "/gateway/v1/messages", map[string]string{"from": "95187", "to": "13800000022", "body": "failed"}, 202, nil)
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	if again := run(); again != first {
		t.Fatalf("after a reset: %s, want the first run's %s", again, first)
	}
}

// Due means done: with zero lags, what falls due at once is carried out
// before the answer.
func TestZeroLagsAreDoneBeforeTheAnswer(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"result_sync_lag":{"min":"0s","max":"0s"},"review":{"min":"0s","max":"0s","approve_ratio":1}}`)
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000061")})
	if v.Status != "pending_validation" {
		t.Fatalf("with no sync lag the order answered %s, want pending_validation", v.Status)
	}
	if len(e.codes("13900000061")) != 1 {
		t.Fatal("with no sync lag the code is not in the inbox when submit answers")
	}
	wantValidation(t, e.validate(e.code("13900000061"), "13900000061", leaderCert), "complete", false)
	if mv, pv := e.miitView(v.ID), e.providerView(v.ID); mv.Status != "approved" || pv.Status != "approved" || !pv.Personnel[0].Validated {
		t.Fatalf("with no review time nor result lag: MIIT %s, provider %+v; want approved in both", mv.Status, pv)
	}
}

// A customer's cancel is a change the provider knows at once: it brings
// MIIT's state as it stands, the leader validated a moment before, and the
// validation's result, arriving after it, changes nothing.
func TestProviderFlagsComeWithTheCancel(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "5m")
	v := e.submit(firstFilingWebsite("13900000071", "13900000072"))
	e.advance("30m")
	wantValidation(t, e.validate(e.code("13900000071"), "13900000071", leaderCert), "partial", false)
	start := e.events("").Last
	var canceled miit.ProviderView
	e.call("POST", "/provider/v1/filings/"+v.ID+"/cancel", nil, 200, &canceled)
	if canceled.Status != "canceled" || !canceled.Personnel[0].Validated || canceled.Personnel[1].Validated {
		t.Fatalf("the cancel answered %+v, want canceled with the leader validated", canceled)
	}
	e.advance("5m")
	pv := e.providerView(v.ID)
	if pv.Status != "canceled" || !pv.Personnel[0].Validated || pv.Personnel[1].Validated {
		t.Fatalf("provider view %+v, want canceled with the leader validated", pv)
	}
	var provider []string
	for _, r := range e.events(start).Events {
		var d struct{ View, Status, Validated string }
		json.Unmarshal(r.Data, &d)
		if r.Kind == "filing.status" && d.View == "provider" {
			provider = append(provider, d.Status+" "+d.Validated)
		}
	}
	if !slices.Equal(provider, []string{"canceled entity_leader"}) {
		t.Fatalf("the provider's filing.status events %q, want the cancel's alone, with the leader validated", provider)
	}
}

// Without a seed, message ids are never the same twice, across resets:
// the messages a job texts (a resend's code, a notice sent later) are
// named by the job and by its order, whose id is drawn at random.
func TestMessageIDsUniqueAcrossResets(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for round := range 3 {
		e.patchFaults(`{"miit_send_delay":{"min":"1s","max":"1s"}}`) // every code by a job
		single(e, "13700000061")
		wantResend(t, e.resend("13700000061", leaderCert), "resent")
		e.advance("1s")
		msgs := e.inbox("13700000061")
		if len(msgs) != 3 {
			t.Fatalf("round %d: %d messages, want the notice and two codes", round, len(msgs))
		}
		for _, m := range msgs {
			if seen[m.ID] {
				t.Fatalf("round %d: message id %s again after a reset", round, m.ID)
			}
			seen[m.ID] = true
		}
		e.call("POST", "/admin/v1/reset", nil, 200, nil)
	}
}
