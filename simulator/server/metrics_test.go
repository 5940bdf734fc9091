package server_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"smsim/miit"
)

func withLogger(l *slog.Logger) envOption { return func(e *env) { e.log = l } }

// families gathers reg by metric name.
func families(t testing.TB, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// activity sums a family: the values of counters and gauges, the
// observation counts of histograms.
func activity(mf *dto.MetricFamily) float64 {
	var n float64
	for _, m := range mf.GetMetric() {
		switch {
		case m.Counter != nil:
			n += m.GetCounter().GetValue()
		case m.Gauge != nil:
			n += m.GetGauge().GetValue()
		case m.Histogram != nil:
			n += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return n
}

// series finds the series of name with exactly labels; nil when there is
// none.
func series(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	mf := families(t, reg)[name]
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) == fmt.Sprint(labels) {
			return m
		}
	}
	return nil
}

// value answers the value of a counter or gauge series (0 when absent).
func value(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	m := series(t, reg, name, labels)
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// waitValue waits (real time) until a series reads want: for what another
// goroutine of the server does on its own, such as closing a websocket.
func waitValue(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := value(t, reg, name, labels)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// orderStatuses counts the orders of ids by MIIT's status, as MIIT's view
// shows them.
func (in *instance) orderStatuses(ids ...string) map[string]float64 {
	in.t.Helper()
	out := map[string]float64{}
	for _, id := range ids {
		out[in.miitView(id).Status]++
	}
	return out
}

// wantOrders checks the orders gauge of each instance against want, for
// every status.
func wantOrders(t *testing.T, want map[string]float64, ins ...*instance) {
	t.Helper()
	for i, in := range ins {
		got := map[string]float64{}
		for _, m := range families(t, in.reg)["smsim_orders"].GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
		for _, st := range []string{"unknown", "pending_validation", "under_review", "approved", "returned", "rejected", "canceled"} {
			if got[st] != want[st] {
				t.Fatalf("instance %d: smsim_orders = %v, want %v", i, got, want)
			}
		}
	}
}

// The orders gauge follows every change of status, reads the same on two
// instances of one Redis, and is zero after a reset.
func TestOrdersGaugeFollowsEveryStatus(t *testing.T) {
	e := newEnv(t)
	other := e.newInstance()
	e.fixedLags("30m", "1m")
	e.patchFaults(`{"review":{"min":"1h","max":"1h","approve_ratio":1}}`)
	var ids []string
	submit := func(phone string) string {
		v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
		ids = append(ids, v.ID)
		return v.ID
	}
	check := func(want map[string]float64) {
		t.Helper()
		if truth := e.orderStatuses(ids...); fmt.Sprint(truth) != fmt.Sprint(want) {
			t.Fatalf("the orders are %v, the test expects %v", truth, want)
		}
		wantOrders(t, want, e.instance, other)
	}

	submit("13900000071")
	submit("13900000072")
	submit("13900000073")
	submit("13900000074")
	canceled := submit("13900000075")
	check(map[string]float64{"unknown": 5})
	e.call("POST", "/provider/v1/filings/"+canceled+"/cancel", nil, 200, nil)
	check(map[string]float64{"unknown": 4, "canceled": 1})

	e.advance("30m")
	check(map[string]float64{"pending_validation": 4, "canceled": 1})
	wantValidation(t, e.validate(e.code("13900000071"), "13900000071", leaderCert), "complete", false)
	for i := 0; i < 5; i++ {
		e.validate(wrong(e.code("13900000072")), "13900000072", leaderCert)
	}
	check(map[string]float64{"pending_validation": 2, "under_review": 1, "rejected": 1, "canceled": 1})

	e.advance("1h") // the review approves the first
	wantValidation(t, e.validate(e.code("13900000074"), "13900000074", leaderCert), "complete", false)
	check(map[string]float64{"pending_validation": 1, "under_review": 1, "approved": 1, "rejected": 1, "canceled": 1})

	e.patchFaults(`{"review":{"min":"1h","max":"1h","approve_ratio":0}}`)
	e.advance("1h") // the review returns the fourth
	check(map[string]float64{"pending_validation": 1, "approved": 1, "returned": 1, "rejected": 1, "canceled": 1})

	e.advance("24h") // the third's window ends
	check(map[string]float64{"approved": 1, "returned": 1, "rejected": 1, "canceled": 2})

	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	wantOrders(t, map[string]float64{}, e.instance, other)
}
