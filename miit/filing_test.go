package miit_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"smsim/miit"
	"smsim/simulator/core"
)

func TestSubmitRefusesMalformedOrders(t *testing.T) {
	w := newWorld(t)
	with := func(p *miit.Person, change func(p *miit.Person)) *miit.Person {
		change(p)
		return p
	}
	for _, c := range []struct {
		name   string
		req    miit.SubmitRequest
		detail string
	}{
		{"unknown type", miit.SubmitRequest{Type: "nope", EntityLeader: leader("13800000001")},
			`type: must be one of add_provider, add_service, cancel, first_filing, modify, remove_provider, got "nope"`},
		{"missing variant", miit.SubmitRequest{Type: "first_filing", EntityLeader: leader("13800000001")},
			"variant: missing; type first_filing takes one of app, website, website_and_app"},
		{"variant of a type without", miit.SubmitRequest{Type: "remove_provider", Variant: "app"},
			`variant: type remove_provider takes no variant, got "app"`},
		{"no one named", miit.SubmitRequest{Type: "first_filing", Variant: "website"},
			"entity_leader: missing; a first_filing/website filing must name the entity leader"},
		{"required admin missing", miit.SubmitRequest{Type: "first_filing", Variant: "website", EntityLeader: leader("13800000001")},
			"website_admin: missing; a first_filing/website filing must name the website admin"},
		{"required leader missing, admin given", miit.SubmitRequest{Type: "modify", Variant: "entity", WebsiteAdmin: admin("13800000002")},
			"entity_leader: missing; a modify/entity filing must name the entity leader"},
		{"required person missing from a type without variants", miit.SubmitRequest{Type: "add_provider", EntityLeader: leader("13800000001")},
			"website_admin: missing; a add_provider filing must name the website admin"},
		{"name missing", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.Name = "" })),
			"entity_leader.name: missing"},
		{"name blank", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.Name = " \t " })),
			"entity_leader.name: missing"},
		{"name of 101 characters", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.Name = strings.Repeat("李", 101) })),
			"entity_leader.name: longer than 100 characters"},
		{"phone missing", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.Phone = "" })),
			`entity_leader.phone: missing; give a mainland mobile number such as "13800000001"`},
		{"phone not mainland mobile", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.Phone = "12800000001" })),
			`entity_leader.phone: "12800000001" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
		{"phone too short", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.Phone = "+86138000" })),
			`entity_leader.phone: "+86138000" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
		{"certificate missing", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.CertificateNumber = "" })),
			"entity_leader.certificate_number: missing"},
		{"certificate of five", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.CertificateNumber = "12345" })),
			`entity_leader.certificate_number: must be 6 to 32 letters and digits, got "12345"`},
		{"certificate of 33", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.CertificateNumber = strings.Repeat("1", 33) })),
			`entity_leader.certificate_number: must be 6 to 32 letters and digits, got "` + strings.Repeat("1", 33) + `"`},
		{"certificate with a dash", appFilingWith(with(leader("13800000001"), func(p *miit.Person) { p.CertificateNumber = "110101-1990" })),
			`entity_leader.certificate_number: must be 6 to 32 letters and digits, got "110101-1990"`},
		{"required admin malformed", miit.SubmitRequest{Type: "first_filing", Variant: "website", EntityLeader: leader("13800000001"),
			WebsiteAdmin: with(admin("13800000002"), func(p *miit.Person) { p.CertificateNumber = "X" })},
			`website_admin.certificate_number: must be 6 to 32 letters and digits, got "X"`},
		{"person not required but malformed", miit.SubmitRequest{Type: "modify", Variant: "service", WebsiteAdmin: admin("13800000002"),
			EntityLeader: with(leader("13800000001"), func(p *miit.Person) { p.Phone = "123" })},
			`entity_leader.phone: "123" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := w.svc.Submit(w.ctx, c.req)
			if v.ID != "" {
				t.Errorf("a refused order answered %+v", v)
			}
			wantError(t, err, 400, c.detail)
		})
	}
	// Nothing of a refused order was kept or sent.
	w.advance(2 * time.Hour)
	if p, err := w.svc.ProviderViews(w.ctx, "", 10, 0); err != nil || p.Total != 0 {
		t.Fatalf("orders after refusals: %+v, %v; want none", p, err)
	}
	for _, phone := range []string{"13800000001", "13800000002"} {
		if msgs := w.inbox(phone); len(msgs) != 0 {
			t.Errorf("%s got %+v from refused orders", phone, msgs)
		}
	}
}

func appFilingWith(p *miit.Person) miit.SubmitRequest {
	return miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: p}
}

func TestSubmitAcceptsTheEdgesOfEachField(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name, phone, stored string
		person              miit.Person
	}{
		{"+86 before the number", "+8613800000011", "13800000011", miit.Person{Name: "Li Lei", CertificateNumber: "110101199003071234"}},
		{"86 before the number", "8613800000012", "13800000012", miit.Person{Name: "Li Lei", CertificateNumber: "110101199003071234"}},
		{"name of 100 characters", "13800000013", "13800000013", miit.Person{Name: strings.Repeat("李", 100), CertificateNumber: "110101199003071234"}},
		{"certificate of six", "13800000014", "13800000014", miit.Person{Name: "Li Lei", CertificateNumber: "E12345"}},
		{"certificate of 32", "13800000015", "13800000015", miit.Person{Name: "Li Lei", CertificateNumber: strings.Repeat("a", 26) + "071234"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := c.person
			p.Phone = c.phone
			v := w.submit(appFilingWith(&p))
			if got := v.Personnel[0]; got.Phone != c.stored || got.Name != c.person.Name {
				t.Fatalf("provider lists %+v, want phone %s and the name as given", got, c.stored)
			}
			if msgs := w.inbox(c.stored); len(msgs) != 1 {
				t.Fatalf("the notice went elsewhere: inbox of %s %+v", c.stored, msgs)
			}
		})
	}
}

func TestSubmittedOrderInBothViews(t *testing.T) {
	w := newWorld(t)
	w.advance(90 * time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "add_provider", EntityLeader: leader("13800000021"), WebsiteAdmin: admin("13800000022")})
	if !regexp.MustCompile(`^f_[0-9a-f]{16}$`).MatchString(v.ID) {
		t.Fatalf("id %q, want f_ and 16 hex digits", v.ID)
	}
	want := miit.ProviderView{ID: v.ID, Type: "add_provider", Status: "submitted", Required: []string{"entity_leader", "website_admin"},
		SubmittedAt: t0.Add(90 * time.Minute), Personnel: []miit.ProviderPerson{
			{Role: "entity_leader", Name: "Li Lei", Phone: "13800000021"},
			{Role: "website_admin", Name: "Han Meimei", Phone: "13800000022"},
		}}
	if !sameProviderView(v, want) {
		t.Fatalf("submit answered %+v\nwant %+v", v, want)
	}
	if got := w.providerView(v.ID); !sameProviderView(got, want) {
		t.Fatalf("provider view %+v\nwant %+v", got, want)
	}
	mv := w.miitView(v.ID)
	if mv.ID != v.ID || mv.Type != "add_provider" || mv.Variant != "" || mv.Status != "unknown" || mv.CanceledBy != "" ||
		mv.CodesSentAt != nil || mv.Deadline != nil || mv.Personnel == nil || len(mv.Personnel) != 0 {
		t.Fatalf("MIIT view before the sync %+v, want unknown with an empty personnel", mv)
	}
	notice := w.inbox("13800000021")
	if len(notice) != 1 || notice[0].Sender != "95187" || notice[0].Code != "" || !notice[0].SentAt.Equal(t0.Add(90*time.Minute)) ||
		notice[0].Body != "[ICP Filing] Your ICP filing order "+v.ID+" has been submitted successfully. MIIT will send you a verification code from 12381; complete the text message validation within 24 hours of receiving it." {
		t.Fatalf("notice %+v", notice)
	}
}

func sameProviderView(a, b miit.ProviderView) bool {
	if a.ID != b.ID || a.Type != b.Type || a.Variant != b.Variant || a.Status != b.Status || !a.SubmittedAt.Equal(b.SubmittedAt) ||
		strings.Join(a.Required, ",") != strings.Join(b.Required, ",") || len(a.Personnel) != len(b.Personnel) {
		return false
	}
	for i := range a.Personnel {
		if a.Personnel[i] != b.Personnel[i] {
			return false
		}
	}
	return true
}

// The notice states the window of the fault profile.
func TestNoticeNamesTheWindow(t *testing.T) {
	w := newWorld(t)
	w.set(func(f *core.Faults) { f.ValidationWindow = 90 * time.Minute })
	v := w.submit(appFiling("13800000031"))
	if got := w.inbox("13800000031")[0].Body; got != "[ICP Filing] Your ICP filing order "+v.ID+" has been submitted successfully. MIIT will send you a verification code from 12381; complete the text message validation within 90 minutes of receiving it." {
		t.Fatalf("notice %q", got)
	}
}

func TestUnknownOrders(t *testing.T) {
	w := newWorld(t)
	for _, id := range []string{"f_0000000000000000", "x", "f_ABCDEF0123456789", ""} {
		t.Run(id, func(t *testing.T) {
			detail := `no filing order "` + id + `"`
			_, err := w.svc.ProviderView(w.ctx, id)
			wantError(t, err, 404, detail)
			_, err = w.svc.MIITView(w.ctx, id)
			wantError(t, err, 404, detail)
			_, err = w.svc.Cancel(w.ctx, id)
			wantError(t, err, 404, detail)
			_, err = w.svc.ChangeNumbers(w.ctx, id, map[string]miit.NumberChange{"website_admin": {Phone: "13800000041"}})
			wantError(t, err, 404, detail)
		})
	}
}

// A shared number is one subject: one notice, one code, one count of
// failures and resends for both roles, and either certificate validates
// both.
func TestSharedNumberIsOneSubject(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13800000051", "13800000051"))
	if n := len(w.inbox("13800000051")); n != 1 {
		t.Fatalf("%d notices to the shared number, want 1", n)
	}
	w.advance(30 * time.Minute)
	if c := w.codes("13800000051"); len(c) != 1 {
		t.Fatalf("codes %v to the shared number, want one", c)
	}
	code := w.code("13800000051")
	wantValidation(t, w.validate(wrong(code), "13800000051", leaderCert), "failed", false)
	wantValidation(t, w.validate(wrong(code), "13800000051", adminCert), "failed", false)
	wantResend(t, w.resend("13800000051", adminCert), "resent")
	mv := w.miitView(v.ID)
	if len(mv.Personnel) != 2 {
		t.Fatalf("MIIT lists %+v, want both roles", mv.Personnel)
	}
	for _, p := range mv.Personnel {
		if p.Phone != "13800000051" || p.Failures != 2 || p.Resends != 1 || p.Validated {
			t.Fatalf("shared subject %+v, want 2 failures and 1 resend for both roles", mv.Personnel)
		}
	}
	wantValidation(t, w.validate(w.code("13800000051"), "13800000051", adminCert), "complete", false)
	mv = w.miitView(v.ID)
	if mv.Status != "under_review" || !mv.Personnel[0].Validated || !mv.Personnel[1].Validated {
		t.Fatalf("after one validation of the shared number %+v, want both validated, under review", mv)
	}
}

func TestSharedNumberRejectsOnFiveFailuresOfEitherCertificate(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13800000052", "13800000052"))
	w.advance(30 * time.Minute)
	code := w.code("13800000052")
	for i, cert := range []string{leaderCert, adminCert, leaderCert, adminCert} {
		wantValidation(t, w.validate(wrong(code), "13800000052", cert), "failed", false)
		if f := w.miitView(v.ID).Personnel[1].Failures; f != i+1 {
			t.Fatalf("failures %d after %d wrong codes", f, i+1)
		}
	}
	wantValidation(t, w.validate(wrong(code), "13800000052", leaderCert), "failed", true)
	if st := w.miitView(v.ID).Status; st != "rejected" {
		t.Fatalf("status %s, want rejected", st)
	}
}

// A person given but not required matches nothing, even on the phone of
// one who is.
func TestPersonNotRequiredOnASharedPhone(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "modify", Variant: "service",
		EntityLeader: leader("13800000053"), WebsiteAdmin: admin("13800000053")})
	w.advance(30 * time.Minute)
	if msgs := w.inbox("13800000053"); len(msgs) != 2 {
		t.Fatalf("inbox %+v, want one notice and one code", msgs)
	}
	code := w.code("13800000053")
	wantValidation(t, w.validate(code, "13800000053", leaderCert), "not_found", false)
	wantResend(t, w.resend("13800000053", leaderCert), "not_found")
	if mv := w.miitView(v.ID); len(mv.Personnel) != 1 || mv.Personnel[0].Role != "website_admin" || mv.Personnel[0].Failures != 0 {
		t.Fatalf("MIIT lists %+v, want the website admin alone, no failure", mv.Personnel)
	}
	wantValidation(t, w.validate(code, "13800000053", adminCert), "complete", false)
}

func TestCustomerCancel(t *testing.T) {
	t.Run("before the sync", func(t *testing.T) {
		w := newWorld(t)
		w.lags(30*time.Minute, 5*time.Minute)
		v := w.submit(appFiling("13800000061"))
		w.advance(10 * time.Minute)
		pv := w.cancel(v.ID)
		if pv.Status != "canceled" || pv.ID != v.ID {
			t.Fatalf("cancel answered %+v, want the provider view, canceled", pv)
		}
		mv := w.miitView(v.ID)
		if mv.Status != "canceled" || mv.CanceledBy != "customer" || mv.CodesSentAt != nil || len(mv.Personnel) != 0 {
			t.Fatalf("MIIT view %+v, want canceled by the customer, never synced", mv)
		}
		w.advance(48 * time.Hour)
		if got := w.codes("13800000061"); len(got) != 0 {
			t.Fatalf("an order canceled before its sync sent codes %v", got)
		}
		if mv := w.miitView(v.ID); mv.Status != "canceled" || mv.CodesSentAt != nil {
			t.Fatalf("after its sync lag the canceled order is %+v", mv)
		}
		wantResend(t, w.resend("13800000061", leaderCert), "not_found")
		_, err := w.svc.Cancel(w.ctx, v.ID)
		wantError(t, err, 409, "filing "+v.ID+" cannot be canceled: it is canceled at MIIT; only an order not yet synced or pending validation can be")
	})
	t.Run("pending validation", func(t *testing.T) {
		w := newWorld(t)
		v := w.single("13800000062")
		code := w.code("13800000062")
		if pv := w.cancel(v.ID); pv.Status != "canceled" {
			t.Fatalf("cancel answered %+v", pv)
		}
		if mv := w.miitView(v.ID); mv.Status != "canceled" || mv.CanceledBy != "customer" {
			t.Fatalf("MIIT learns of the cancel at once: %+v", mv)
		}
		wantValidation(t, w.validate(code, "13800000062", leaderCert), "not_found", false)
		wantResend(t, w.resend("13800000062", leaderCert), "not_found")
		w.advance(25 * time.Hour) // the window's end changes nothing
		if mv, pv := w.miitView(v.ID), w.providerView(v.ID); mv.CanceledBy != "customer" || pv.Status != "canceled" {
			t.Fatalf("after the window MIIT %+v, provider %s", mv, pv.Status)
		}
	})
	t.Run("under review at MIIT, pending at the provider", func(t *testing.T) {
		w := newWorld(t)
		v := w.single("13800000063")
		wantValidation(t, w.validate(w.code("13800000063"), "13800000063", leaderCert), "complete", false)
		if pv := w.providerView(v.ID); pv.Status != "pending_validation" {
			t.Fatalf("provider shows %s before the result sync", pv.Status)
		}
		_, err := w.svc.Cancel(w.ctx, v.ID)
		wantError(t, err, 409, "filing "+v.ID+" cannot be canceled: it is under_review at MIIT; only an order not yet synced or pending validation can be")
		if mv := w.miitView(v.ID); mv.Status != "under_review" {
			t.Fatalf("a refused cancel changed MIIT's status to %s", mv.Status)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		w := newWorld(t)
		v := w.single("13800000064")
		for range 5 {
			w.validate(wrong(w.code("13800000064")), "13800000064", leaderCert)
		}
		_, err := w.svc.Cancel(w.ctx, v.ID)
		wantError(t, err, 409, "filing "+v.ID+" cannot be canceled: it is rejected at MIIT; only an order not yet synced or pending validation can be")
	})
	for _, c := range []struct {
		ratio   float64
		outcome string
	}{{1, "approved"}, {0, "returned"}} {
		t.Run(c.outcome, func(t *testing.T) {
			w := newWorld(t)
			w.set(func(f *core.Faults) { f.Review = fixedReview(72*time.Hour, c.ratio) })
			v := w.single("13800000065")
			wantValidation(t, w.validate(w.code("13800000065"), "13800000065", leaderCert), "complete", false)
			w.advance(72 * time.Hour)
			_, err := w.svc.Cancel(w.ctx, v.ID)
			wantError(t, err, 409, "filing "+v.ID+" cannot be canceled: it is "+c.outcome+" at MIIT; only an order not yet synced or pending validation can be")
		})
	}
	t.Run("window ended, the end carried out", func(t *testing.T) {
		w := newWorld(t)
		v := w.single("13800000066")
		w.advance(24 * time.Hour)
		_, err := w.svc.Cancel(w.ctx, v.ID)
		wantError(t, err, 409, "filing "+v.ID+" cannot be canceled: it is canceled at MIIT; only an order not yet synced or pending validation can be")
		if mv := w.miitView(v.ID); mv.CanceledBy != "expiry" {
			t.Fatalf("a refused cancel changed who canceled: %+v", mv)
		}
	})
	t.Run("window ended, the end not yet carried out", func(t *testing.T) {
		w := newWorld(t)
		v := w.single("13800000067")
		w.jump(24 * time.Hour)
		_, err := w.svc.Cancel(w.ctx, v.ID)
		wantError(t, err, 409, "filing "+v.ID+" cannot be canceled: its validation window has ended and MIIT has canceled it")
		w.advance(0)
		if mv := w.miitView(v.ID); mv.Status != "canceled" || mv.CanceledBy != "expiry" {
			t.Fatalf("once the end is carried out MIIT shows %+v, want canceled by expiry", mv)
		}
	})
}

// Submit leaves the caller's request as it was.
func TestSubmitLeavesTheRequestAlone(t *testing.T) {
	w := newWorld(t)
	p := leader("+8613800000903")
	w.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: p})
	if p.Phone != "+8613800000903" {
		t.Fatalf("Submit changed the caller's person: phone %q", p.Phone)
	}
}
