package client_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

func TestListFilings(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	var ids []string
	for range 3 {
		v, err := sim.SubmitFirstFiling(ctx, leader, admin)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if _, err := sim.Cancel(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	all, err := sim.Filings(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total != 3 || len(all.Filings) != 3 || all.Filings[0].ID != ids[2] || all.Filings[2].ID != ids[0] {
		t.Fatalf("all orders %+v: want 3, newest first", all)
	}
	pg, err := sim.Filings(ctx, client.ListOptions{Status: client.FilingSubmitted, Limit: 1, Offset: 1})
	if err != nil || pg.Total != 2 || len(pg.Filings) != 1 || pg.Filings[0].ID != ids[1] {
		t.Fatalf("submitted, second page of one: %+v, %v", pg, err)
	}
	m, err := sim.MIITFilings(ctx, client.ListOptions{Status: client.FilingUnknown})
	if err != nil || m.Total != 2 || m.Filings[0].Status != client.FilingUnknown {
		t.Fatalf("MIIT's unknown orders %+v, %v", m, err)
	}
	if _, err := sim.Filings(ctx, client.ListOptions{Status: "lost"}); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("unknown status: %v, want a 400", err)
	}
	if _, err := sim.MIITFilings(ctx, client.ListOptions{Limit: 5000}); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("limit 5000: %v, want a 400", err)
	}
}

func TestListPhones(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	codesSent(t, sim)
	p := client.DefaultPhoneProfile()
	p.SpamFilter = true
	if _, err := sim.SetProfile(ctx, "13900000009", p); err != nil {
		t.Fatal(err)
	}
	l, err := sim.Phones(ctx, client.PhoneListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != 3 || len(l.Phones) != 3 {
		t.Fatalf("phones %+v", l)
	}
	if got := l.Phones[0]; got.Phone != leader.Phone || got.Inbox != 2 || got.Blocked != 0 || got.Profile.SpamFilter {
		t.Fatalf("the leader's phone %+v: want the notice and the code", got)
	}
	if got := l.Phones[2]; got.Phone != "13900000009" || !got.Profile.SpamFilter || got.Inbox != 0 {
		t.Fatalf("a phone with a profile only %+v", got)
	}
	l, err = sim.Phones(ctx, client.PhoneListOptions{Q: "0000002", Limit: 10})
	if err != nil || l.Total != 1 || l.Phones[0].Phone != admin.Phone {
		t.Fatalf("q=0000002: %+v, %v", l, err)
	}
	if _, err := sim.Phones(ctx, client.PhoneListOptions{Q: "abc"}); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("q=abc: %v, want a 400", err)
	}
}

func TestEvents(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	first, err := sim.Events(ctx, client.EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	order := codesSent(t, sim)
	page, err := sim.Events(ctx, client.EventOptions{After: first.Last})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) == 0 || page.Events[0].Kind != client.KindFilingSubmitted || page.Last != page.Events[len(page.Events)-1].ID {
		t.Fatalf("events after %q: %+v", first.Last, page)
	}
	var submitted client.ProviderView
	if err := json.Unmarshal(page.Events[0].Data, &submitted); err != nil || submitted.ID != order.ID {
		t.Fatalf("data of the submission %s: %v", page.Events[0].Data, err)
	}
	last := page.Events[len(page.Events)-1]
	if last.Kind != client.KindClock || !last.At.Equal(simtest.DefaultStart().Add(time.Hour)) {
		t.Fatalf("last event %+v: want the advance's clock", last)
	}
	one, err := sim.Events(ctx, client.EventOptions{After: first.Last, Limit: 1})
	if err != nil || len(one.Events) != 1 || one.Events[0].ID != page.Events[0].ID || one.Last != page.Last {
		t.Fatalf("a page of one %+v, %v", one, err)
	}
	if _, err := sim.Events(ctx, client.EventOptions{After: "yesterday"}); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("after=yesterday: %v, want a 400", err)
	}
}
