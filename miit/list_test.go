package miit_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"smsim/miit"
)

func TestListsOfNoOrders(t *testing.T) {
	w := newWorld(t)
	pp, err := w.svc.ProviderViews(w.ctx, "", 10, 0)
	if err != nil || pp.Total != 0 || pp.Items == nil || len(pp.Items) != 0 {
		t.Fatalf("provider list %+v, %v; want an empty page", pp, err)
	}
	mp, err := w.svc.MIITViews(w.ctx, "", 10, 0)
	if err != nil || mp.Total != 0 || mp.Items == nil || len(mp.Items) != 0 {
		t.Fatalf("MIIT list %+v, %v; want an empty page", mp, err)
	}
}

// Each list is newest first, filtered by the status of its own view, cut
// to a page, with the total it was cut from.
func TestLists(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	a := w.submit(appFiling("13300000001"))
	b := w.submit(websiteFiling("13300000002", "13300000003"))
	c := w.submit(miit.SubmitRequest{Type: "remove_provider"})
	w.advance(30 * time.Minute)
	w.cancel(a.ID)

	name := map[string]string{a.ID: "a", b.ID: "b", c.ID: "c"}
	page := func(total int, items []string) string {
		return fmt.Sprintf("%s of %d", strings.Join(items, " "), total)
	}
	provider := func(status string, limit, offset int) string {
		t.Helper()
		p, err := w.svc.ProviderViews(w.ctx, status, limit, offset)
		if err != nil {
			t.Fatal(err)
		}
		var items []string
		for _, v := range p.Items {
			items = append(items, name[v.ID]+":"+v.Status)
		}
		return page(p.Total, items)
	}
	mit := func(status string, limit, offset int) string {
		t.Helper()
		p, err := w.svc.MIITViews(w.ctx, status, limit, offset)
		if err != nil {
			t.Fatal(err)
		}
		var items []string
		for _, v := range p.Items {
			items = append(items, name[v.ID]+":"+v.Status)
		}
		return page(p.Total, items)
	}
	for _, x := range []struct {
		name string
		got  func() string
		want string
	}{
		{"provider, all", func() string { return provider("", 10, 0) }, "c:submitted b:pending_validation a:canceled of 3"},
		{"provider, first page", func() string { return provider("", 2, 0) }, "c:submitted b:pending_validation of 3"},
		{"provider, second page", func() string { return provider("", 2, 2) }, "a:canceled of 3"},
		{"provider, past the end", func() string { return provider("", 2, 5) }, " of 3"},
		{"provider, canceled", func() string { return provider("canceled", 10, 0) }, "a:canceled of 1"},
		{"provider, under review: not yet", func() string { return provider("under_review", 10, 0) }, " of 0"},
		{"MIIT, all", func() string { return mit("", 10, 0) }, "c:under_review b:pending_validation a:canceled of 3"},
		{"MIIT, under review", func() string { return mit("under_review", 10, 0) }, "c:under_review of 1"},
		{"MIIT, pending, second of one", func() string { return mit("pending_validation", 1, 1) }, " of 1"},
		{"MIIT, unknown", func() string { return mit("unknown", 10, 0) }, " of 0"},
	} {
		t.Run(x.name, func(t *testing.T) {
			if got := x.got(); got != x.want {
				t.Fatalf("list %q, want %q", got, x.want)
			}
		})
	}
	p, _ := w.svc.MIITViews(w.ctx, "pending_validation", 1, 0)
	if v := p.Items[0]; len(v.Personnel) != 2 || v.Deadline == nil || v.CodesSentAt == nil {
		t.Fatalf("MIIT lists %+v, want the order as MIITView shows it", v)
	}
	w.advance(time.Minute)
	if got := provider("under_review", 10, 0); got != "c:under_review of 1" {
		t.Fatalf("provider list of orders under review after the result sync %q", got)
	}
}
