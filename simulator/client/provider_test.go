package client_test

import (
	"net/http"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

func TestSubmitAndReadAnOrder(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	v, err := sim.SubmitFirstFiling(ctx, leader, admin)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID == "" || v.Type != client.TypeFirstFiling || v.Variant != "website" || v.Status != client.FilingSubmitted ||
		!v.SubmittedAt.Equal(simtest.DefaultStart()) || len(v.Required) != 2 || len(v.Personnel) != 2 {
		t.Fatalf("order %+v", v)
	}
	if p := v.Personnel[1]; p.Role != client.WebsiteAdmin || p.Name != admin.Name || p.Phone != admin.Phone || p.Validated {
		t.Fatalf("website admin %+v", p)
	}
	got, err := sim.Filing(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != v.ID || got.Status != client.FilingSubmitted {
		t.Fatalf("read back %+v", got)
	}
	m, err := sim.MIITFiling(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != client.FilingUnknown || len(m.Personnel) != 0 {
		t.Fatalf("MIIT before the sync: %+v", m)
	}
}

func TestCancelAnOrder(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	v, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
	if err != nil {
		t.Fatal(err)
	}
	c, err := sim.Cancel(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != client.FilingCanceled {
		t.Fatalf("canceled order %+v", c)
	}
	m, err := sim.MIITFiling(ctx, v.ID)
	if err != nil || m.Status != client.FilingCanceled {
		t.Fatalf("MIIT's view %+v, %v: MIIT learns of a cancel at once", m, err)
	}
	if _, err := sim.Cancel(ctx, v.ID); !client.IsStatus(err, http.StatusConflict) {
		t.Fatalf("cancel twice: %v, want a 409", err)
	}
}

func TestChangeTheNumberOfACancellationOrder(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	v, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeCancel, Variant: "website", WebsiteAdmin: &admin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := sim.ChangeNumbers(ctx, v.ID, map[string]client.NumberChange{client.WebsiteAdmin: {Phone: "13900000009"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Personnel) != 1 || got.Personnel[0].Phone != "13900000009" {
		t.Fatalf("order %+v", got)
	}
	code, err := sim.WaitForCode(ctx, "13900000009")
	if err != nil {
		t.Fatal(err)
	}
	old, err := sim.LatestCode(ctx, admin.Phone)
	if err != nil || old.Code != code {
		t.Fatalf("the new number got %s, the old one %+v (%v): want the current code again", code, old, err)
	}
	moved := admin
	moved.Phone = "13900000009"
	r, err := sim.ValidatePerson(ctx, moved, code)
	if err != nil || r.Result != client.ResultComplete {
		t.Fatalf("validate from the new number: %+v, %v", r, err)
	}

	other, err := sim.SubmitFirstFiling(ctx, leader, admin)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sim.ChangeNumbers(ctx, other.ID, map[string]client.NumberChange{client.WebsiteAdmin: {Phone: "13900000009"}})
	if !client.IsStatus(err, http.StatusConflict) {
		t.Fatalf("change a number of a first filing: %v, want a 409", err)
	}
}
