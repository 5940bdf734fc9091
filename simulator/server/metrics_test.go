package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core/testkit"
)

// metricNames are smsim's own metrics: every one is served at /metrics
// once traffic flowed, and cmd/smsim/README.md lists them
// (TestMetricsDocListsEveryMetric).
var metricNames = []string{
	"smsim_messages_sent_total",
	"smsim_messages_total",
	"smsim_message_delivery_delay_seconds",
	"smsim_validations_total",
	"smsim_resends_total",
	"smsim_orders",
	"smsim_scheduler_events_total",
	"smsim_scheduler_dead_jobs_total",
	"smsim_changes_heard_total",
	"smsim_scheduler_lag_seconds",
	"smsim_websocket_connections",
	"smsim_long_polls",
	"smsim_http_requests_total",
	"smsim_http_request_duration_seconds",
	"smsim_redis_errors_total",
	"smsim_http_refused_total",
	"smsim_websocket_slow_drops_total",
}

// listenerMetrics are those of server.LimitListener, on the binary's
// registry (TestLimitListenerAnswers503BeyondTheCap moves them).
var listenerMetrics = []string{"smsim_http_connections", "smsim_http_connections_refused_total"}

// poolMetrics are those of the store client's connection pool
// (TestStorePoolMetrics, in package simulator, moves them).
var poolMetrics = []string{"smsim_redis_pool_connections", "smsim_redis_pool_waits_total",
	"smsim_redis_pool_wait_seconds_total", "smsim_redis_pool_timeouts_total"}

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

// Every metric is served with its help text, follows the naming
// conventions, and moves as traffic flows.
func TestMetricsNamesHelpAndTheyMove(t *testing.T) {
	e := newEnv(t, withSeed(11))
	const (
		phone   = "13900000061"
		spammed = "13900000062"
		off     = "13900000063"
		later   = "13900000064"
	)
	before := families(t, e.reg)

	ws := e.dial(phone)
	waitValue(t, e.reg, "smsim_websocket_connections", nil, 1)

	// a filing, its code delayed 10 s, one wrong code, a resend, the right code
	e.fixedLags("30m", "1m")
	e.patchFaults(`{"sms_delay":{"min":"10s","max":"10s"}}`)
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	e.advance("30m10s")
	wantValidation(t, e.validate(wrong(e.code(phone)), phone, leaderCert), "failed", false)
	wantResend(t, e.resend(phone, leaderCert), "resent")
	e.advance("10s")
	wantValidation(t, e.validate(e.code(phone), phone, leaderCert), "complete", false)
	if s := e.miitView(v.ID).Status; s != "under_review" {
		t.Fatalf("order %s, want under_review", s)
	}
	// a message blocked as spam, one that fails
	e.putProfile(spammed, `{"spam_filter":true}`)
	e.gwSend("12381", spammed, "from MIIT")
	e.putProfile(off, `{"reachable":false}`)
	e.gwSend("95187", off, "to nobody")
	// and an event that fails for good
	if err := e.rdb.ZAdd(context.Background(), e.keys().SchedDue(), redis.Z{Score: 0, Member: "x|soon|miit.sync"}).Err(); err != nil {
		t.Fatal(err)
	}
	e.advance("10s")
	// the background loop of a running clock delivers one (10 simulated
	// seconds are 10 real milliseconds at scale 1000)
	e.call("PUT", "/admin/v1/clock", `{"paused":false,"scale":1000}`, 200, nil)
	poll := e.goGet("/phones/v1/" + later + "/messages/next?after=start&timeout=10s")
	waitValue(t, e.reg, "smsim_long_polls", nil, 1)
	id := e.gwSend("95187", later, "by the loop")
	if m := polledMessage(t, await(t, poll, 10*time.Second)); m.ID != id {
		t.Fatalf("long poll answered %s, want %s", m.ID, id)
	}
	waitValue(t, e.reg, "smsim_long_polls", nil, 0)
	e.call("PUT", "/admin/v1/clock", `{"paused":true}`, 200, nil)
	// a command Redis refuses: a folder that is not a sorted set
	if err := e.rdb.Set(context.Background(), e.keys().PhoneInbox(off), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if code, b := e.do("GET", "/phones/v1/"+off+"/messages", nil); code != http.StatusInternalServerError {
		t.Fatalf("reading a folder of the wrong type: %d %s, want 500", code, b)
	}
	ws.Close()
	waitValue(t, e.reg, "smsim_websocket_connections", nil, 0)
	// a request the guard refuses: a bodiless POST that does not say JSON
	if resp, b := rawRequest(t, "POST", e.url+"/admin/v1/reset", "", "", nil); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("a reset without a type: %d %s, want 415", resp.StatusCode, b)
	}

	// a change made through another process, of which this one hears
	e.newInstance().patchFaults(`{"drop_rate":0}`)
	waitValue(t, e.reg, "smsim_changes_heard_total", nil, 1)

	after := families(t, e.reg)
	for _, name := range metricNames {
		mf := after[name]
		if mf == nil {
			t.Errorf("%s is not served", name)
			continue
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s has no help text", name)
		}
		if name == "smsim_websocket_connections" || name == "smsim_long_polls" {
			continue // gauges that went 0, 1, 0
		}
		if name == "smsim_websocket_slow_drops_total" {
			continue // a slow client's drop: TestEventSocketDropsTheSlowKeepsTheReader
		}
		if a, b := activity(before[name]), activity(mf); b <= a {
			t.Errorf("%s did not move: %v before the traffic, %v after", name, a, b)
		}
	}
	var all []*dto.MetricFamily
	for _, mf := range after {
		all = append(all, mf)
	}
	problems, err := promlint.NewWithMetricFamilies(all).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("naming: %s: %s", p.Metric, p.Text)
	}

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"smsim_messages_sent_total", map[string]string{"sender_kind": "miit"}, 3},  // two codes, one to spammed
		{"smsim_messages_sent_total", map[string]string{"sender_kind": "other"}, 3}, // the notice, two by 95187
		{"smsim_messages_total", map[string]string{"status": "delivered", "sender_kind": "miit", "reason": ""}, 2},
		{"smsim_messages_total", map[string]string{"status": "blocked", "sender_kind": "miit", "reason": ""}, 1},
		{"smsim_messages_total", map[string]string{"status": "failed", "sender_kind": "other", "reason": "unreachable"}, 1},
		{"smsim_validations_total", map[string]string{"result": "failed"}, 1},
		{"smsim_validations_total", map[string]string{"result": "complete"}, 1},
		{"smsim_resends_total", map[string]string{"result": "resent"}, 1},
		{"smsim_orders", map[string]string{"namespace": "default", "status": "under_review"}, 1},
		{"smsim_orders", map[string]string{"namespace": "default", "status": "pending_validation"}, 0},
		{"smsim_redis_errors_total", map[string]string{"command": "zrangebyscore"}, 1},
		{"smsim_redis_errors_total", map[string]string{"command": testkit.ScriptCommand()}, 0}, // NOSCRIPT, Function not found: loaded
		{"smsim_redis_errors_total", map[string]string{"command": "get"}, 0},                   // profiles never set: redis.Nil
		{"smsim_http_requests_total", map[string]string{"route": "GET /phones/v1/{phone}/messages", "method": "GET", "code": "500"}, 1},
	} {
		if got := value(t, e.reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// the one command that failed is the only one counted: not the
	// features go-redis asks a server for as it connects, which Redis
	// before 7.2 and miniredis refuse (CLIENT SETINFO, CLIENT
	// MAINT_NOTIFICATIONS)
	var failed []string
	for _, m := range families(t, e.reg)["smsim_redis_errors_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "command" && m.GetCounter().GetValue() > 0 {
				failed = append(failed, l.GetValue())
			}
		}
	}
	if !slices.Equal(failed, []string{"zrangebyscore"}) {
		t.Errorf("smsim_redis_errors_total counts %v, want zrangebyscore alone", failed)
	}
	// every message that reached a folder took its 10 simulated seconds
	for _, kind := range []string{"miit", "other"} {
		h := series(t, e.reg, "smsim_message_delivery_delay_seconds", map[string]string{"sender_kind": kind}).GetHistogram()
		if h.GetSampleCount() == 0 || h.GetSampleSum() != 10*float64(h.GetSampleCount()) {
			t.Errorf("delivery delay of %s messages: %d observations summing to %vs, want each 10s", kind, h.GetSampleCount(), h.GetSampleSum())
		}
	}
	for _, trigger := range []string{"loop", "advance", "request"} {
		if h := series(t, e.reg, "smsim_scheduler_lag_seconds", map[string]string{"trigger": trigger}); h.GetHistogram().GetSampleCount() == 0 {
			t.Errorf("no scheduler lag observed for trigger %s", trigger)
		}
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

// wantOrders checks the default namespace's orders gauge of each instance
// against want, for every status.
func wantOrders(t *testing.T, want map[string]float64, ins ...*instance) {
	t.Helper()
	for i, in := range ins {
		got := map[string]float64{}
		for _, m := range families(t, in.reg)["smsim_orders"].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == "default" {
				got[labels["status"]] = m.GetGauge().GetValue()
			}
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

// The metrics table of cmd/smsim/README.md lists smsim's own metrics, and no
// other.
func TestMetricsDocListsEveryMetric(t *testing.T) {
	b, err := os.ReadFile("../../cmd/smsim/README.md")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(smsim_[a-z_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		listed = append(listed, m[1])
	}
	slices.Sort(listed)
	want := slices.Sorted(slices.Values(slices.Concat(metricNames, listenerMetrics, poolMetrics)))
	if !slices.Equal(listed, want) {
		t.Fatalf("cmd/smsim/README.md lists the metrics\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
}

// Every series whose labels are known beforehand is served from the start,
// at 0, so that a panel that queries one has data on a fresh server.
func TestMetricsStartAtZero(t *testing.T) {
	e := newEnv(t)
	var want []map[string]string
	add := func(name string, labels ...string) {
		m := map[string]string{"__name__": name}
		for i := 0; i < len(labels); i += 2 {
			m[labels[i]] = labels[i+1]
		}
		want = append(want, m)
	}
	for _, r := range []string{"complete", "partial", "failed", "not_found"} {
		add("smsim_validations_total", "result", r)
	}
	for _, r := range []string{"resent", "no_pending", "limit_reached", "not_found"} {
		add("smsim_resends_total", "result", r)
	}
	for _, k := range []string{"miit", "other"} {
		add("smsim_messages_sent_total", "sender_kind", k)
		add("smsim_message_delivery_delay_seconds", "sender_kind", k)
		add("smsim_messages_total", "status", "delivered", "sender_kind", k, "reason", "")
		add("smsim_messages_total", "status", "blocked", "sender_kind", k, "reason", "")
		for _, r := range []string{"suspended", "unreachable", "dropped", "outage", "throttled", "inbox_full", "scripted"} {
			add("smsim_messages_total", "status", "failed", "sender_kind", k, "reason", r)
		}
	}
	for _, trigger := range []string{"loop", "advance", "request"} {
		add("smsim_scheduler_lag_seconds", "trigger", trigger)
	}
	for _, kind := range simulator.JobKinds() {
		add("smsim_scheduler_events_total", "kind", kind, "outcome", "ok")
		add("smsim_scheduler_events_total", "kind", kind, "outcome", "error")
	}
	add("smsim_http_request_duration_seconds", "route", "POST /miit/v1/validations")
	add("smsim_http_request_duration_seconds", "route", "GET /admin/v1/schedule")
	for _, w := range want {
		name := w["__name__"]
		labels := map[string]string{}
		for k, v := range w {
			if k != "__name__" {
				labels[k] = v
			}
		}
		m := series(t, e.reg, name, labels)
		if m == nil {
			t.Errorf("%s%v is not served on a fresh server", name, labels)
			continue
		}
		if v := m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount()); v != 0 {
			t.Errorf("%s%v = %v on a fresh server", name, labels, v)
		}
	}
}
