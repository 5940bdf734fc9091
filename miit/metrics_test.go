package miit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core/testkit"
)

var statuses = []string{"unknown", "pending_validation", "under_review", "approved", "returned", "rejected", "canceled"}

// orders reads smsim_orders of namespace ns from reg: the statuses that
// count any, in MIIT's order, and how many series there are.
func orders(t *testing.T, reg prometheus.Gatherer, ns string) string {
	t.Helper()
	var out []string
	for _, st := range statuses {
		if n := testkit.Metric(t, reg, "smsim_orders", map[string]string{"namespace": ns, "status": st}); n != 0 {
			out = append(out, fmt.Sprintf("%s=%v", st, n))
		}
	}
	return strings.Join(out, " ")
}

func series(t *testing.T, reg prometheus.Gatherer, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// The count of orders in each MIIT status moves with every step of the
// flow, read from the store at each scrape.
func TestOrdersByStatus(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(miit.NewOrdersCollector(w.rdb, w.ks.Prefix,
		func(context.Context) ([]string, error) { return []string{"default", "other"}, nil }, slog.New(slog.DiscardHandler)))

	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"nothing yet", func() {}, ""},
		{"five submitted", func() {
			for _, p := range []string{"13200000001", "13200000002", "13200000003", "13200000005"} {
				w.submit(appFiling(p))
			}
			w.submit(miit.SubmitRequest{Type: "remove_provider"})
		}, "unknown=5"},
		{"one canceled before its sync", func() { w.cancel(w.orderOf("13200000005")) }, "unknown=4 canceled=1"},
		{"synced", func() { w.advance(30 * time.Minute) }, "pending_validation=3 under_review=1 canceled=1"},
		{"one validated, one rejected", func() {
			w.validate(w.code("13200000001"), "13200000001", leaderCert)
			for range 5 {
				w.validate("000000", "13200000002", leaderCert)
			}
		}, "pending_validation=1 under_review=2 rejected=1 canceled=1"},
		{"one expired", func() { w.advance(24 * time.Hour) }, "under_review=2 rejected=1 canceled=2"},
		{"reviewed", func() { w.advance(21 * 24 * time.Hour) }, "approved=2 rejected=1 canceled=2"},
	}
	for _, s := range steps {
		s.do()
		if got := orders(t, reg, "default"); got != s.want {
			t.Fatalf("%s: orders %q, want %q", s.name, got, s.want)
		}
		if got := orders(t, reg, "other"); got != "" {
			t.Fatalf("%s: the other namespace counts %q", s.name, got)
		}
		if n := series(t, reg, "smsim_orders"); n != 2*len(statuses) {
			t.Fatalf("%s: %d series, want one per namespace and status", s.name, n)
		}
	}
}

// orderOf answers the id of the one order of phone.
func (w *world) orderOf(phone string) string {
	w.t.Helper()
	p, err := w.svc.ProviderViews(w.ctx, "", 100, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	id := ""
	for _, v := range p.Items {
		for _, person := range v.Personnel {
			if person.Phone == phone {
				if id != "" {
					w.t.Fatalf("%s is in more than one order", phone)
				}
				id = v.ID
			}
		}
	}
	if id == "" {
		w.t.Fatalf("%s is in no order", phone)
	}
	return id
}

// A scrape that cannot read the store reports no orders and says why,
// instead of failing.
func TestOrdersCollectorWithoutItsStore(t *testing.T) {
	for _, c := range []struct {
		name       string
		rdb        func(w *world) redis.UniversalClient
		namespaces func(context.Context) ([]string, error)
		logged     string
	}{
		{"namespaces unreadable", func(w *world) redis.UniversalClient { return w.rdb },
			func(context.Context) ([]string, error) { return nil, errors.New("store gone") },
			`level=WARN msg="reading the namespaces" err="store gone"`},
		{"counts unreadable", func(w *world) redis.UniversalClient {
			c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
			t.Cleanup(func() { c.Close() })
			return c
		}, func(context.Context) ([]string, error) { return []string{"default"}, nil },
			`level=WARN msg="reading the count of orders by status" err=`},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.submit(appFiling("13200000011"))
			var log bytes.Buffer
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(miit.NewOrdersCollector(c.rdb(w), w.ks.Prefix, c.namespaces, slog.New(slog.NewTextHandler(&log, nil))))
			if n := series(t, reg, "smsim_orders"); n != 0 {
				t.Fatalf("%d series without the store, want none", n)
			}
			if !strings.Contains(log.String(), c.logged) {
				t.Fatalf("log %q, want it to say %q", log.String(), c.logged)
			}
		})
	}
}
