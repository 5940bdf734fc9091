package client_test

import (
	"testing"
	"time"

	"smsim/simulator/client"
)

func TestValidateTheWholeOrder(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	order := codesSent(t, sim)
	m, err := sim.MIITFiling(ctx, order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != client.FilingPendingValidation || m.CodesSentAt == nil || m.Deadline == nil ||
		!m.Deadline.Equal(m.CodesSentAt.Add(24*time.Hour)) || len(m.Personnel) != 2 {
		t.Fatalf("MIIT after the sync: %+v", m)
	}
	leaderCode, err := sim.WaitForCode(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	adminCode, err := sim.WaitForCode(ctx, admin.Phone)
	if err != nil {
		t.Fatal(err)
	}

	r, err := sim.ValidatePerson(ctx, admin, wrong(adminCode))
	if err != nil {
		t.Fatal(err)
	}
	if r != (client.ValidationResult{Result: client.ResultFailed, Message: client.TextFailed}) {
		t.Fatalf("wrong code: %+v", r)
	}
	r, err = sim.Validate(ctx, client.ValidateRequest{Code: leaderCode, Phone: leader.Phone, CertificateLast6: "071234"})
	if err != nil {
		t.Fatal(err)
	}
	if r != (client.ValidationResult{Result: client.ResultPartial, Message: client.TextPartial}) {
		t.Fatalf("first person: %+v", r)
	}
	r, err = sim.ValidatePerson(ctx, admin, adminCode)
	if err != nil {
		t.Fatal(err)
	}
	if r != (client.ValidationResult{Result: client.ResultComplete, Message: client.TextComplete}) {
		t.Fatalf("last person: %+v", r)
	}
	m, err = sim.MIITFiling(ctx, order.ID)
	if err != nil || m.Status != client.FilingUnderReview || m.Personnel[1].Failures != 1 {
		t.Fatalf("MIIT after the validations: %+v, %v", m, err)
	}
	if _, err := sim.Advance(ctx, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	p, err := sim.Filing(ctx, order.ID)
	if err != nil || p.Status != client.FilingUnderReview || !p.Personnel[0].Validated || !p.Personnel[1].Validated {
		t.Fatalf("the provider after the result sync lag: %+v, %v", p, err)
	}
}

func TestResendAnswers(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	r, err := sim.ResendPerson(ctx, leader)
	if err != nil {
		t.Fatal(err)
	}
	if r != (client.ResendResult{Result: client.ResultNotFound, Message: client.TextResendNotFound}) {
		t.Fatalf("resend for nobody: %+v", r)
	}
	codesSent(t, sim)
	for i, want := range []client.ResendResult{
		{Result: client.ResultResent, Message: client.TextResent},
		{Result: client.ResultResent, Message: client.TextResent},
		{Result: client.ResultLimitReached, Message: client.TextLimitReached},
	} {
		r, err := sim.Resend(ctx, client.ResendRequest{Phone: leader.Phone, CertificateLast6: "071234"})
		if err != nil {
			t.Fatal(err)
		}
		if r != want {
			t.Fatalf("resend %d: %+v, want %+v", i+1, r, want)
		}
	}
}

func TestLast6(t *testing.T) {
	for in, want := range map[string]string{"11010119920101567X": "01567X", " 123456 ": "123456", "12345": "12345"} {
		if got := client.Last6(in); got != want {
			t.Errorf("Last6(%q) = %q, want %q", in, got, want)
		}
	}
}

// wrong answers a well-formed code that is not code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}
