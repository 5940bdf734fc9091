package server_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"smsim/gateway"
	"smsim/miit"
)

// sendSMS sends a message through the gateway and answers its id.
func (in *instance) sendSMS(from, to, body string) string {
	in.t.Helper()
	var out struct{ ID string }
	in.call("POST", "/gateway/v1/messages", map[string]string{"from": from, "to": to, "body": body}, 202, &out)
	return out.ID
}

func (in *instance) gwMessage(id string) gateway.Message {
	in.t.Helper()
	var m gateway.Message
	in.call("GET", "/gateway/v1/messages/"+id, nil, 200, &m)
	return m
}

// steps lists the steps of a message's trail.
func steps(m gateway.Message) string {
	var s []string
	for _, d := range m.Trail {
		s = append(s, d.Step)
	}
	return strings.Join(s, " ")
}

func delivered(t *testing.T, m gateway.Message, after time.Duration) {
	t.Helper()
	if m.Status != "delivered" || m.DeliveredAt == nil || m.DeliveredAt.Sub(m.SentAt) != after {
		t.Fatalf("message %+v, want delivered %s after it was sent", m, after)
	}
}

func TestDelayModels(t *testing.T) {
	e := newEnv(t, withSeed(1))
	e.patchFaults(`{"sms_delay":{"model":"fixed","value":"10m"},"sender_delays":{"miit":{"model":"fixed","value":"3m"},"95555":{"min":"1m","max":"1m"}}}`)
	a := e.sendSMS("95187", "13800000201", "fixed")
	b := e.sendSMS("12381", "13800000201", "code 123456")
	c := e.sendSMS("106123456789012381", "13800000201", "code 654321")
	d := e.sendSMS("95555", "13800000201", "uniform")
	e.advance("10m")
	delivered(t, e.gwMessage(a), 10*time.Minute)
	delivered(t, e.gwMessage(b), 3*time.Minute)
	delivered(t, e.gwMessage(c), 3*time.Minute)
	delivered(t, e.gwMessage(d), time.Minute)
	if m := e.gwMessage(a); steps(m) != "sent delay delivered" || !strings.Contains(m.Trail[1].Detail, "10m (drawn from fixed 10m)") {
		t.Fatalf("trail %+v", m.Trail)
	}

	// Log-normal: the long tail of real SMS.
	e.patchFaults(`{"sms_delay":{"model":"lognormal","median":"1m","p99":"1h"},"sender_delays":null}`)
	var ids []string
	for i := range 300 {
		ids = append(ids, e.sendSMS("95187", fmt.Sprintf("138%08d", 300+i), "tail"))
	}
	e.advance("240h")
	var delays []time.Duration
	for _, id := range ids {
		m := e.gwMessage(id)
		if m.Status != "delivered" {
			t.Fatalf("%s is %s after 10 days", id, m.Status)
		}
		delays = append(delays, m.DeliveredAt.Sub(m.SentAt))
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	median, over := delays[150], 0
	for _, d := range delays {
		if d > time.Hour {
			over++
		}
	}
	if median < 40*time.Second || median > 90*time.Second || over > 9 || delays[299] < 10*time.Minute {
		t.Fatalf("log-normal median 1m p99 1h drew median %s, %d of 300 over 1h, longest %s", median, over, delays[299])
	}
}

func TestDuplicateAndReorder(t *testing.T) {
	e := newEnv(t, withSeed(2))
	e.patchFaults(`{"duplicate_rate":1}`)
	id := e.sendSMS("95187", "13800000211", "twice")
	inbox := e.inbox("13800000211")
	if len(inbox) != 2 || inbox[0].ID != id || inbox[1].Body != "twice" {
		t.Fatalf("inbox %+v, want the message and its copy", inbox)
	}
	dup := e.gwMessage(inbox[1].ID)
	if dup.DuplicateOf != id || !strings.HasPrefix(steps(dup), "duplicate sent") {
		t.Fatalf("copy %+v", dup)
	}

	e.patchFaults(`{"duplicate_rate":0,"reorder_rate":1,"reorder_max":"10m"}`)
	r := e.sendSMS("95187", "13800000212", "late")
	m := e.gwMessage(r)
	if m.Status != "queued" || steps(m) != "sent delay reorder" {
		t.Fatalf("reordered message %+v", m)
	}
	e.advance("10m")
	if m = e.gwMessage(r); m.Status != "delivered" || m.DeliveredAt.Sub(m.SentAt) > 10*time.Minute {
		t.Fatalf("reordered message after 10m %+v", m)
	}
}

func TestCarrierOutage(t *testing.T) {
	e := newEnv(t)
	start, end := t0.Add(time.Hour), t0.Add(2*time.Hour)
	e.patchFaults(fmt.Sprintf(`{"outages":[{"carrier":"china_mobile","start":%q,"end":%q,"mode":"hold"},
		{"prefixes":["1330000"],"carrier":"test_carrier","start":%q,"end":%q,"mode":"refuse"},
		{"prefixes":["1530000","1890000"],"start":%q,"end":%q,"mode":"refuse"}]}`,
		start.Format(time.RFC3339), end.Format(time.RFC3339), start.Format(time.RFC3339), end.Format(time.RFC3339),
		start.Format(time.RFC3339), end.Format(time.RFC3339)))
	before := e.sendSMS("95187", "13800000221", "before")
	e.advance("70m")
	held := e.sendSMS("95187", "13800000221", "held")
	refused := e.sendSMS("95187", "13300000221", "refused")
	other := e.sendSMS("95187", "13300100221", "other carrier")
	delivered(t, e.gwMessage(before), 0)
	if m := e.gwMessage(held); m.Status != "queued" || !strings.Contains(m.Trail[len(m.Trail)-1].Detail, "held by the china_mobile outage") {
		t.Fatalf("during the outage %+v", m)
	}
	if m := e.gwMessage(refused); m.Status != "failed" || m.Reason != "outage" {
		t.Fatalf("refusing outage %+v", m)
	}
	unnamed := e.sendSMS("95187", "15300000221", "refused by an outage given by prefixes alone")
	if m := e.gwMessage(unnamed); m.Status != "failed" || !strings.HasPrefix(m.Trail[len(m.Trail)-1].Detail, "refused by the outage of 1530000…, 1890000… (until ") {
		t.Fatalf("refused by an outage without a carrier %+v", m.Trail)
	}
	delivered(t, e.gwMessage(other), 0)
	e.advance("49m59s")
	if m := e.gwMessage(held); m.Status != "queued" {
		t.Fatalf("before the end of the outage %+v", m)
	}
	e.advance("1s")
	if m := e.gwMessage(held); m.Status != "delivered" || !m.DeliveredAt.Equal(end) {
		t.Fatalf("at the end of the outage %+v, want delivered at %s", m, end)
	}
}

// A change of the outages applies to the messages an outage holds, as to
// those still on their way: shortened, it holds them until its new end;
// taken away, it lets them out at once. So for a message held when it was
// sent (due at once, during the outage) and for one held when it fell due.
func TestOutageChangedLooksAgainAtWhatItHolds(t *testing.T) {
	e := newEnv(t)
	outage := func(end time.Duration) string {
		return fmt.Sprintf(`{"outages":[{"carrier":"china_mobile","start":%q,"end":%q,"mode":"hold"}]}`,
			t0.Format(time.RFC3339), t0.Add(end).Format(time.RFC3339))
	}
	e.patchFaults(outage(3 * time.Hour))
	e.call("PUT", "/phones/v1/13800000272/profile", `{"delay":{"model":"fixed","value":"5m"}}`, 200, nil)
	ids := []string{e.sendSMS("95187", "13800000271", "held when sent"), e.sendSMS("95187", "13800000272", "held when it fell due")}
	e.advance("10m")
	for _, id := range ids {
		if m := e.gwMessage(id); m.Status != "queued" || m.Trail[len(m.Trail)-1].Detail != "held by the china_mobile outage until 2026-05-01T03:00:00Z" {
			t.Fatalf("during the outage %+v", m)
		}
	}

	e.patchFaults(outage(30 * time.Minute))
	for _, id := range ids {
		m := e.gwMessage(id)
		last := m.Trail[len(m.Trail)-2:]
		if m.Status != "queued" || last[0].Step != "outage" || last[0].Detail != "the outages changed: looked at again" || !last[0].At.Equal(t0.Add(10*time.Minute)) ||
			last[1].Detail != "held by the china_mobile outage until 2026-05-01T00:30:00Z" {
			t.Fatalf("after the outage was shortened %+v", m)
		}
	}
	e.advance("19m59s")
	if m := e.gwMessage(ids[0]); m.Status != "queued" {
		t.Fatalf("before the outage's new end %+v", m)
	}
	e.advance("1s")
	delivered(t, e.gwMessage(ids[0]), 30*time.Minute)
	delivered(t, e.gwMessage(ids[1]), 30*time.Minute)

	e.patchFaults(outage(3 * time.Hour))
	held := e.sendSMS("95187", "13800000271", "held again")
	e.advance("5m")
	e.patchFaults(`{"sms_delay":{"model":"fixed","value":"0s"}}`) // the outages as they were: nothing to look at
	if m := e.gwMessage(held); m.Status != "queued" || steps(m) != "sent delay outage" {
		t.Fatalf("after a change of another setting %+v", m)
	}
	e.patchFaults(`{"outages":[]}`)
	m := e.gwMessage(held)
	delivered(t, m, 5*time.Minute)
	if steps(m) != "sent delay outage outage delivered" {
		t.Fatalf("after the outage was taken away: trail %s", steps(m))
	}
	var sched struct{ Scheduled []map[string]any }
	e.call("GET", "/admin/v1/schedule?kind=gateway.deliver", nil, 200, &sched)
	if len(sched.Scheduled) != 0 {
		t.Fatalf("deliveries left scheduled %+v", sched.Scheduled)
	}

	// two carriers' outages ending at once: taking one away leaves the
	// other's messages as they are
	end := t0.Add(3 * time.Hour).Format(time.RFC3339)
	from := t0.Add(30 * time.Minute).Format(time.RFC3339)
	e.patchFaults(fmt.Sprintf(`{"outages":[{"carrier":"china_mobile","start":%q,"end":%q,"mode":"hold"},
		{"carrier":"china_unicom","start":%q,"end":%q,"mode":"hold"}]}`, from, end, from, end))
	mobile, unicom := e.sendSMS("95187", "13800000273", "mobile"), e.sendSMS("95187", "13000000273", "unicom")
	e.patchFaults(fmt.Sprintf(`{"outages":[{"carrier":"china_mobile","start":%q,"end":%q,"mode":"hold"}]}`, from, end))
	if m := e.gwMessage(mobile); m.Status != "queued" || steps(m) != "sent delay outage" {
		t.Fatalf("the message of the outage left as it was: %+v, trail %s", m, steps(m))
	}
	if m := e.gwMessage(unicom); m.Status != "delivered" || steps(m) != "sent delay outage outage delivered" {
		t.Fatalf("the message of the outage taken away: %+v, trail %s", m, steps(m))
	}
}

// A throttle changed, or taken away, forgets what it counted: nothing of
// before holds a message back. One left as it was keeps counting.
func TestThrottleChangedStartsAfresh(t *testing.T) {
	e := newEnv(t)
	strict := `{"throttles":[{"sender":"95187","limit":1,"per":"10h","mode":"hold"}]}`
	e.patchFaults(strict)
	e.sendSMS("95187", "13800000253", "one")
	if m := e.gwMessage(e.sendSMS("95187", "13800000253", "two")); m.Status != "queued" || !strings.Contains(m.Trail[1].Detail, "held 10h by the limit") {
		t.Fatalf("over the strict throttle %+v", m)
	}
	e.patchFaults(`{"throttles":[]}`)
	e.patchFaults(strict) // put back as it was
	delivered(t, e.gwMessage(e.sendSMS("95187", "13800000253", "three")), 0)
	e.patchFaults(`{"throttles":[{"sender":"95187","limit":100,"per":"1m","mode":"hold"}]}`)
	delivered(t, e.gwMessage(e.sendSMS("95187", "13800000253", "four")), 0)
	e.patchFaults(`{"throttles":[{"sender":"95187","limit":1,"per":"10h","mode":"refuse"}]}`)
	delivered(t, e.gwMessage(e.sendSMS("95187", "13800000253", "five")), 0)
	if m := e.gwMessage(e.sendSMS("95187", "13800000253", "six")); m.Status != "failed" || m.Reason != "throttled" {
		t.Fatalf("over the new throttle %+v", m)
	}
	e.patchFaults(`{"drop_rate":0}`)
	if m := e.gwMessage(e.sendSMS("95187", "13800000253", "seven")); m.Status != "failed" || m.Reason != "throttled" {
		t.Fatalf("over the throttle, after a change of another setting %+v", m)
	}
}

// The network's second copy of a message counts against no throttle: it
// travels from when the carrier took the first.
func TestDuplicateCountsAgainstNoThrottle(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"throttles":[{"sender":"95187","limit":2,"per":"1h","burst":1,"mode":"hold"}]}`)
	first := e.sendSMS("95187", "13800000254", "one")
	twice := e.sendSMS("95187", "19900000005", "two") // the magic number that gets everything twice
	third := e.sendSMS("95187", "13800000254", "three")
	e.advance("1h")
	delivered(t, e.gwMessage(first), 0)
	delivered(t, e.gwMessage(twice), 30*time.Minute)
	delivered(t, e.gwMessage(third), time.Hour) // the copy took no place
	var copies []string
	for _, m := range e.inbox("19900000005") {
		if m.ID != twice {
			copies = append(copies, m.ID)
		}
	}
	if len(copies) != 1 {
		t.Fatalf("copies of %s: %v", twice, copies)
	}
	c := e.gwMessage(copies[0])
	if c.Status != "delivered" || c.DuplicateOf != twice || !c.DeliveredAt.Equal(t0.Add(30*time.Minute)) || steps(c) != "duplicate sent delay delivered" {
		t.Fatalf("the second copy %+v, trail %s", c, steps(c))
	}
}

func TestPhoneFaults(t *testing.T) {
	e := newEnv(t)
	e.call("PUT", "/phones/v1/13800000231/profile", `{"delay":{"model":"fixed","value":"7m"},"inbox_limit":2,
		"block_senders":["95555"],"block_keywords":["loan"]}`, 200, nil)
	slow := e.sendSMS("95187", "13800000231", "one")
	e.advance("7m")
	delivered(t, e.gwMessage(slow), 7*time.Minute)
	if m := e.gwMessage(slow); steps(m) != "sent delay phone_delay delivered" {
		t.Fatalf("trail %s", steps(m))
	}
	spam := e.sendSMS("95555", "13800000231", "hello")
	loan := e.sendSMS("95187", "13800000231", "cheap loan today")
	e.advance("7m")
	if m := e.gwMessage(spam); m.Status != "blocked" || !strings.Contains(m.Trail[len(m.Trail)-1].Detail, "blocks sender 95555") {
		t.Fatalf("blocked sender %+v", m)
	}
	if m := e.gwMessage(loan); m.Status != "blocked" || !strings.Contains(m.Trail[len(m.Trail)-1].Detail, `keyword "loan"`) {
		t.Fatalf("blocked keyword %+v", m)
	}
	two := e.sendSMS("95187", "13800000231", "two")
	three := e.sendSMS("95187", "13800000231", "three")
	e.advance("7m")
	delivered(t, e.gwMessage(two), 7*time.Minute)
	if m := e.gwMessage(three); m.Status != "failed" || m.Reason != "inbox_full" || m.Trail[len(m.Trail)-1].Detail != "refused: the inbox is full (2 messages)" {
		t.Fatalf("over the inbox limit %+v", m)
	}
}

func TestFaultScript(t *testing.T) {
	e := newEnv(t)
	var sc gateway.Script
	e.call("PUT", "/phones/v1/13800000241/script", `{"steps":[{"action":"fail","count":2},{"action":"delay","by":"40m"},{"action":"block"},{"action":"duplicate"}]}`, 200, &sc)
	if len(sc.Steps) != 4 || sc.Steps[0].Count != 2 || sc.Steps[1].By != "40m" {
		t.Fatalf("script %+v", sc)
	}
	var ids []string
	for i := range 6 {
		ids = append(ids, e.sendSMS("95187", "13800000241", fmt.Sprintf("m%d", i)))
	}
	e.call("GET", "/phones/v1/13800000241/script", nil, 200, &sc)
	if len(sc.Steps) != 0 {
		t.Fatalf("script left %+v after six messages", sc)
	}
	for _, i := range []int{0, 1} {
		if m := e.gwMessage(ids[i]); m.Status != "failed" || m.Reason != "scripted" {
			t.Fatalf("message %d %+v, want failed by the script", i, m)
		}
	}
	if m := e.gwMessage(ids[2]); m.Status != "queued" {
		t.Fatalf("delayed message %+v", m)
	}
	if m := e.gwMessage(ids[3]); m.Status != "blocked" {
		t.Fatalf("blocked message %+v", m)
	}
	delivered(t, e.gwMessage(ids[5]), 0) // back to normal
	e.advance("40m")
	delivered(t, e.gwMessage(ids[2]), 40*time.Minute)
	inbox := e.inbox("13800000241")
	var bodies []string
	for _, m := range inbox {
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, " ") != "m4 m4 m5 m2" {
		t.Fatalf("inbox %v, want the duplicated m4 twice, m5, then the delayed m2", bodies)
	}
	e.call("PUT", "/phones/v1/13800000241/script", `{"steps":[{"action":"fail"}]}`, 200, nil)
	if c, _ := e.do("DELETE", "/phones/v1/13800000241/script", nil); c != 204 {
		t.Fatalf("DELETE script: %d", c)
	}
	delivered(t, e.gwMessage(e.sendSMS("95187", "13800000241", "normal")), 0)
	for _, bad := range []struct{ body, detail string }{
		{`{"steps":[{"action":"explode"}]}`, `steps[0].action: must be one of deliver, fail, block, delay or duplicate, got "explode"`},
		{`{"steps":[{"action":"fail"},{"action":"delay"}]}`, `steps[1].by: missing; give a duration such as "45m"`},
		{`{"steps":[{"action":"fail","by":"1m"}]}`, `steps[0].by: only a delay step takes it`},
		{`{"steps":[{"action":"fail","count":-1}]}`, `steps[0].count: must be 1 or more, or 0 for one message, got -1`},
		{`{"steps":[{"action":"fail","count":5000}]}`, `steps: cover at most 1000 messages in all`},
		{`{"steps":[{"action":"fail","count":600},{"action":"block","count":401}]}`, `steps: cover at most 1000 messages in all`},
		// counts the script once made room for before it checked the total (160 GB for ten billion)
		{`{"steps":[{"action":"fail","count":10000000000}]}`, `steps: cover at most 1000 messages in all`},
		{`{"steps":[{"action":"fail","count":9223372036854775807}]}`, `steps: cover at most 1000 messages in all`},
	} {
		if c, b := e.do("PUT", "/phones/v1/13800000241/script", bad.body); c != 400 || problemOf(t, b).Detail != bad.detail {
			t.Errorf("script %s: %d %s, want a 400 %q", bad.body, c, b, bad.detail)
		}
	}
	e.call("GET", "/phones/v1/13800000241/script", nil, 200, &sc)
	if len(sc.Steps) != 0 {
		t.Fatalf("a refused script left %+v", sc)
	}
}

func TestThrottle(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"throttles":[{"sender":"12381","limit":2,"per":"1m","burst":2,"mode":"hold"},
		{"carrier":"china_unicom","limit":1,"per":"1h","mode":"refuse"}]}`)
	var ids []string
	for range 5 {
		ids = append(ids, e.sendSMS("12381", "13800000251", "code 111111"))
	}
	e.advance("2m")
	for i, want := range []time.Duration{0, 0, 30 * time.Second, 60 * time.Second, 90 * time.Second} {
		delivered(t, e.gwMessage(ids[i]), want)
	}
	if m := e.gwMessage(ids[4]); !strings.Contains(m.Trail[1].Detail, "held 1m30s by the limit of 2 messages per 1m (burst 2) for sender 12381") {
		t.Fatalf("throttle trail %+v", m.Trail)
	}
	first := e.sendSMS("95187", "13000000251", "one")
	second := e.sendSMS("95187", "13000000251", "two")
	delivered(t, e.gwMessage(first), 0)
	if m := e.gwMessage(second); m.Status != "failed" || m.Reason != "throttled" {
		t.Fatalf("over a refusing throttle %+v", m)
	}
}

// A holding throttle refuses a message it would hold longer than any delay
// may be (10 years), and the schedule stays readable: nothing is held past
// the times smsim can write.
func TestThrottleHoldsNoLongerThanADelayMay(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"throttles":[{"sender":"95187","limit":1,"per":"87600h","mode":"hold"}]}`)
	var ids []string
	for range 3 {
		ids = append(ids, e.sendSMS("95187", "13800000252", "hello"))
	}
	if m := e.gwMessage(ids[1]); m.Status != "queued" || !strings.Contains(m.Trail[1].Detail, "held 87600h by the limit") {
		t.Fatalf("the second message, held 10 years: %+v", m)
	}
	m := e.gwMessage(ids[2])
	if m.Status != "failed" || m.Reason != "throttled" ||
		!strings.Contains(m.Trail[1].Detail, "refused: the limit of 1 message per 87600h (burst 1) for sender 95187 would hold it more than 87600h") {
		t.Fatalf("the third message, to be held 20 years: %+v", m)
	}
	e.call("GET", "/admin/v1/schedule", nil, 200, nil)
}

func TestNumberChangeOnlyForCancelOrders(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	e.call("PUT", "/phones/v1/13800000261/profile", `{"reachable":false}`, 200, nil)
	v := e.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13800000261")})
	e.advance("30m")
	if len(e.inbox("13800000261")) != 0 {
		t.Fatal("an unavailable number got messages")
	}
	var pv miit.ProviderView
	e.call("PATCH", "/provider/v1/filings/"+v.ID+"/personnel", `{"website_admin":{"phone":"13800000262"}}`, 200, &pv)
	if pv.Personnel[0].Phone != "13800000262" {
		t.Fatalf("provider view after the change %+v", pv)
	}
	code := e.code("13800000262")
	if mv := e.miitView(v.ID); mv.Personnel[0].Phone != "13800000262" || mv.Personnel[0].Resends != 0 {
		t.Fatalf("MIIT view after the change %+v", mv.Personnel)
	}
	wantValidation(t, e.validate(code, "13800000261", adminCert), "not_found", false)
	wantValidation(t, e.validate(code, "13800000262", adminCert), "complete", false)
	if c, _ := e.do("PATCH", "/provider/v1/filings/"+v.ID+"/personnel", `{"website_admin":{"phone":"13800000263"}}`); c != 409 {
		t.Fatalf("change after validation: %d, want 409", c)
	}

	other := e.submit(firstFilingWebsite("13800000264", "13800000265"))
	c, b := e.do("PATCH", "/provider/v1/filings/"+other.ID+"/personnel", `{"website_admin":{"phone":"13800000266"}}`)
	if c != 409 || !strings.Contains(string(b), "cancel it and submit a new order") {
		t.Fatalf("change on a first filing: %d %s, want 409", c, b)
	}
	for body, want := range map[string]string{
		`{"website_admin":{"phone":"123"}}`:          "website_admin.phone",
		`{"entity_leader":{"phone":"13800000267"}}`:  "entity_leader: does not validate this order",
		`{"nobody":{"phone":"13800000267"}}`:         "nobody",
		`{"website_admin":{"phone":"1","name":"x"}}`: "name",
		`{}`: "body",
	} {
		v2 := e.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13800000268")})
		if c, b := e.do("PATCH", "/provider/v1/filings/"+v2.ID+"/personnel", body); c != 400 || !strings.Contains(string(b), want) {
			t.Errorf("PATCH %s: %d %s, want a 400 naming %q", body, c, b, want)
		}
	}
}

func TestMIITGlitches(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"lost_code_rate":1}`)
	v := single(e, "13800000271")
	if mv := e.miitView(v.ID); mv.Status != "pending_validation" || len(e.codes("13800000271")) != 0 {
		t.Fatalf("with every code lost: MIIT %s, codes %v", mv.Status, e.codes("13800000271"))
	}
	e.patchFaults(`{"lost_code_rate":0}`)
	wantResend(t, e.resend("13800000271", leaderCert), "resent")
	if len(e.codes("13800000271")) != 1 {
		t.Fatal("a resend after a lost code did not arrive")
	}

	e.patchFaults(`{"miit_send_delay":{"model":"fixed","value":"20m"}}`)
	w := single(e, "13800000272")
	if len(e.codes("13800000272")) != 0 {
		t.Fatal("the code left MIIT before its send delay")
	}
	e.advance("20m")
	mv := e.miitView(w.ID)
	msgs := e.inbox("13800000272")
	last := msgs[len(msgs)-1]
	if last.Code == "" || !last.SentAt.Equal(mv.CodesSentAt.Add(20*time.Minute)) {
		t.Fatalf("code message %+v, want it sent 20m after codes_sent_at %s", last, mv.CodesSentAt)
	}
}

func TestResendPolicySameCode(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"resend_policy":"same_code"}`)
	single(e, "13800000281")
	code := e.code("13800000281")
	wantResend(t, e.resend("13800000281", leaderCert), "resent")
	if codes := e.codes("13800000281"); len(codes) != 2 || codes[1] != code {
		t.Fatalf("codes %v, want the same code twice", codes)
	}
	wantValidation(t, e.validate(code, "13800000281", leaderCert), "complete", false)
}

func TestReviewDelayModel(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "0s")
	e.patchFaults(`{"review":{"model":"fixed","value":"5h","approve_ratio":0}}`)
	v := e.submit(miit.SubmitRequest{Type: "remove_provider"})
	e.advance("30m")
	e.advance("4h59m59s")
	if st := e.miitView(v.ID).Status; st != "under_review" {
		t.Fatalf("status %s before the review time", st)
	}
	e.advance("1s")
	if st := e.providerView(v.ID).Status; st != "returned" {
		t.Fatalf("status %s after the review time, want returned", st)
	}
}

func TestMagicNumbers(t *testing.T) {
	e := newEnv(t)
	send := func(to string) gateway.Message { return e.gwMessage(e.sendSMS("12381", to, "code 123456")) }
	if m := send(gateway.MagicSuspended); m.Reason != "suspended" {
		t.Errorf("%s: %+v", gateway.MagicSuspended, m)
	}
	if m := send(gateway.MagicUnreachable); m.Reason != "unreachable" {
		t.Errorf("%s: %+v", gateway.MagicUnreachable, m)
	}
	if m := send(gateway.MagicSpamFilter); m.Status != "blocked" {
		t.Errorf("%s: %+v", gateway.MagicSpamFilter, m)
	}
	late := send(gateway.MagicLongDelay)
	send(gateway.MagicDuplicate)
	if n := len(e.inbox(gateway.MagicDuplicate)); n != 2 {
		t.Errorf("%s got %d copies, want 2", gateway.MagicDuplicate, n)
	}
	e.advance("2h")
	delivered(t, e.gwMessage(late.ID), 2*time.Hour)

	v := single(e, gateway.MagicSpuriousNotFound)
	code := e.code(gateway.MagicSpuriousNotFound)
	wantValidation(t, e.validate(code, gateway.MagicSpuriousNotFound, leaderCert), "not_found", false)
	if p := e.miitView(v.ID).Personnel[0]; p.Validated || p.Failures != 0 {
		t.Fatalf("the spurious not_found applied something: %+v", p)
	}
	wantValidation(t, e.validate(code, gateway.MagicSpuriousNotFound, leaderCert), "complete", false)

	// A profile set by hand wins; magic_numbers off turns them all off.
	e.call("PUT", "/phones/v1/"+gateway.MagicSuspended+"/profile", `{}`, 200, nil)
	delivered(t, send(gateway.MagicSuspended), 0)
	e.patchFaults(`{"magic_numbers":false}`)
	delivered(t, send(gateway.MagicUnreachable), 0)
}

func TestScenarios(t *testing.T) {
	e := newEnv(t)
	var list struct {
		Scenarios []struct{ Name, Description string }
	}
	e.call("GET", "/admin/v1/scenarios", nil, 200, &list)
	if len(list.Scenarios) != 5 || list.Scenarios[0].Name != "bad_carrier_day" || list.Scenarios[0].Description == "" {
		t.Fatalf("scenarios %+v", list)
	}
	e.advance("3h")
	var res struct {
		Name   string
		Faults map[string]any
	}
	e.call("PUT", "/admin/v1/scenario", `{"name":"bad_carrier_day"}`, 200, &res)
	outages := res.Faults["outages"].([]any)
	if res.Name != "bad_carrier_day" || len(outages) != 1 || outages[0].(map[string]any)["start"] != t0.Add(4*time.Hour).Format(time.RFC3339) {
		t.Fatalf("applied %+v", res)
	}
	var f map[string]any
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if f["drop_rate"] != 0.05 || len(f["throttles"].([]any)) != 1 {
		t.Fatalf("faults after the scenario %v", f)
	}
	custom := `{"name":"mine","faults":{"drop_rate":0.5},"phones":{"+8613800000291":{"spam_filter":true}}}`
	e.call("PUT", "/admin/v1/scenario", custom, 200, nil)
	var p map[string]any
	e.call("GET", "/phones/v1/13800000291/profile", nil, 200, &p)
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if p["spam_filter"] != true || f["drop_rate"] != 0.5 || len(f["throttles"].([]any)) != 0 {
		t.Fatalf("custom scenario: profile %+v, faults %v", p, f)
	}
	for body, want := range map[string]string{
		`{"name":"nope"}`:                                                   "no shipped scenario",
		`{"faults":{"drop_rate":-1}}`:                                       "faults.drop_rate",
		`{"phones":{"123":{}}}`:                                             "phones",
		`{"phones":{"13800000292":{"service":"gone"}}}`:                     "phones.13800000292.service",
		`{"faults":{"drop_rate":0.9},"phones":{"1":{}}}`:                    "phones",
		`{"name":"calm_day","phones":{"13800000292":{"spam_filter":true}}}`: `name: \"calm_day\" is a shipped scenario, and these are not its settings: give its name alone to apply it, or name a scenario of your own otherwise`,
		// one number twice: which profile it got would be left to chance
		`{"phones":{"+8613800000292":{"reachable":false},"13800000292":{"inbox_limit":3}}}`: `phones: \"+8613800000292\" and \"13800000292\" are the same number, 13800000292: give it once`,
	} {
		if c, b := e.do("PUT", "/admin/v1/scenario", body); c != 400 || !strings.Contains(string(b), want) {
			t.Errorf("scenario %s: %d %s, want a 400 naming %q", body, c, b, want)
		}
	}
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if f["drop_rate"] != 0.5 {
		t.Fatalf("a refused scenario changed the faults: %v", f)
	}
}

func TestBadFaultSettings(t *testing.T) {
	e := newEnv(t)
	for body, want := range map[string]string{
		`{"sms_delay":{"model":"lognormal","median":"1h","p99":"1m"}}`:                 "sms_delay.p99: must not be below the median",
		`{"sms_delay":{"model":"lognormal","median":"0s","p99":"1m"}}`:                 "sms_delay.median",
		`{"sms_delay":{"model":"gamma"}}`:                                              "sms_delay.model",
		`{"sms_delay":{"model":"fixed","value":"-1m"}}`:                                "sms_delay.value",
		`{"sender_delays":{"abc":{"min":"1m","max":"2m"}}}`:                            "sender_delays",
		`{"duplicate_rate":1.5}`:                                                       "duplicate_rate",
		`{"reorder_rate":-0.5}`:                                                        "reorder_rate",
		`{"lost_code_rate":2}`:                                                         "lost_code_rate",
		`{"resend_policy":"sometimes"}`:                                                "resend_policy",
		`{"outages":[{"carrier":"china_mobile","start":"x","end":"y","mode":"hold"}]}`: "outages[0].start",
		`{"outages":[{"carrier":"china_mobile","start":"2026-05-01T02:00:00Z","end":"2026-05-01T01:00:00Z","mode":"hold"}]}`: "outages[0].end",
		`{"outages":[{"carrier":"china_mobile","start":"2026-05-01T00:00:00Z","end":"2026-05-01T01:00:00Z","mode":"drop"}]}`: "outages[0].mode",
		`{"throttles":[{"sender":"12381","limit":0,"per":"1m","mode":"hold"}]}`:                                              "throttles[0].limit",
		`{"throttles":[{"sender":"12381","carrier":"china_mobile","limit":1,"per":"1m","mode":"hold"}]}`:                     "throttles[0]: give a sender or a carrier",
		`{"throttles":[{"sender":"12381","limit":1,"per":"0s","mode":"hold"}]}`:                                              "throttles[0].per",
		`{"review":{"model":"lognormal","median":"2h","p99":"1h"}}`:                                                          "review.p99",
		`{"miit_send_delay":{"bogus":1}}`: "bogus: unknown field",
	} {
		if c, b := e.do("PATCH", "/admin/v1/faults", body); c != 400 || !strings.Contains(string(b), want) {
			t.Errorf("PATCH %s: %d %s, want a 400 naming %q", body, c, b, want)
		}
	}
}

// The same seed and the same calls give the same codes, delays and
// outcomes, faults and all.
func TestSameSeedSameFaults(t *testing.T) {
	run := func() string {
		e := newEnv(t, withSeed(99))
		e.patchFaults(`{"sms_delay":{"model":"lognormal","median":"1m","p99":"2h"},"drop_rate":0.2,"duplicate_rate":0.2,"spam_block_rate":0.2,"reorder_rate":0.3}`)
		var ids []string
		for i := range 40 {
			ids = append(ids, e.sendSMS("12381", fmt.Sprintf("139%08d", i), fmt.Sprintf("code %06d", i)))
		}
		v := e.submit(firstFilingWebsite("13900000101", "13900000102"))
		e.advance("48h")
		var out []string
		for _, id := range ids {
			m := e.gwMessage(id)
			out = append(out, fmt.Sprint(m.ID, m.Status, m.Reason, m.DeliveredAt))
		}
		mv := e.miitView(v.ID)
		out = append(out, v.ID, mv.Status, fmt.Sprint(mv.CodesSentAt), fmt.Sprint(e.codes("13900000101")))
		return strings.Join(out, "\n")
	}
	a, b := run(), run()
	if a != b {
		t.Fatalf("same seed, same calls, different outcomes:\n%s\n---\n%s", a, b)
	}
	if !strings.Contains(a, "failed") || !strings.Contains(a, "blocked") {
		t.Fatalf("the faults never struck:\n%s", a)
	}
}

// An outage time whose offset takes it past year 9999 in UTC is refused: it
// was stored, and every read of the profile after it failed, for it cannot
// be written in RFC 3339.
func TestOutageTimesStayWithinRFC3339(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, body, detail string }{
		{"PUT", `{"outages":[{"carrier":"china_mobile","start":"2026-05-01T00:00:00Z","end":"9999-12-31T23:59:59-01:00","mode":"hold"}]}`,
			`outages[0].end: "9999-12-31T23:59:59-01:00" is in the year 10000 in UTC; give a time from year 0000 to 9999 in UTC`},
		{"PATCH", `{"outages":[{"carrier":"china_mobile","start":"0000-01-01T00:00:00+00:01","end":"2026-05-01T00:00:00Z","mode":"refuse"}]}`,
			`outages[0].start: "0000-01-01T00:00:00+00:01" is in the year -1 in UTC; give a time from year 0000 to 9999 in UTC`},
	} {
		code, b := e.do(c.method, "/admin/v1/faults", c.body)
		if code != 400 || problemOf(t, b).Detail != c.detail {
			t.Errorf("%s %s: %d %s, want 400 %q", c.method, c.body, code, b, c.detail)
		}
	}
	var f map[string]any
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if o := f["outages"].([]any); len(o) != 0 {
		t.Fatalf("outages %v, want none", o)
	}
	// The last moment RFC 3339 writes is allowed, and reads back.
	e.call("PUT", "/admin/v1/faults", `{"outages":[{"carrier":"china_mobile","start":"2026-05-01T00:00:00Z","end":"9999-12-31T23:59:59.999999999Z","mode":"hold"}]}`, 200, nil)
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if end := f["outages"].([]any)[0].(map[string]any)["end"]; end != "9999-12-31T23:59:59.999999999Z" {
		t.Fatalf("end %v", end)
	}
}

// A whole number written with a fraction of zeros or an exponent (5.0,
// 1e3) is a whole number, as JSON Schema counts one: a throttle's limit
// and a phone's inbox_limit take it, in a whole profile and in a patch,
// and answer it as it is meant.
func TestWholeNumbersWrittenWithAFractionOrAnExponent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ limit, want string }{{"5.0", "5"}, {"1e3", "1000"}} {
		body := `{"throttles":[{"sender":"95187","limit":` + c.limit + `,"per":"1m","mode":"hold"}]}`
		for _, method := range []string{"PUT", "PATCH"} {
			status, b := e.do(method, "/admin/v1/faults", body)
			if status != http.StatusOK || !strings.Contains(string(b), `"limit":`+c.want+`,`) {
				t.Errorf("%s a throttle's limit %s: %d %s, want 200 and limit %s", method, c.limit, status, b, c.want)
			}
		}
	}
	status, b := e.do("PUT", "/phones/v1/13800000001/profile", `{"inbox_limit":5.0}`)
	if status != http.StatusOK || !strings.Contains(string(b), `"inbox_limit":5,`) && !strings.Contains(string(b), `"inbox_limit":5}`) {
		t.Errorf("a profile's inbox_limit 5.0: %d %s, want 200 and 5", status, b)
	}
	// a fraction too fine for a float, an exponent that would underflow
	// one: no whole number
	for _, c := range []struct{ method, path, body, detail string }{
		{"PUT", "/admin/v1/faults", `{"throttles":[{"sender":"95187","limit":5.00000000000000000000000000000000000000001,"per":"1m","mode":"hold"}]}`,
			"throttles[0].limit: expected a whole number, got a JSON number 5.00000000000000000000000000000000000000001"},
		{"PUT", "/phones/v1/13800000001/profile", `{"inbox_limit":1e-700000000}`,
			"inbox_limit: expected a whole number, got a JSON number 1e-700000000"},
	} {
		resp, b := rawRequest(t, c.method, e.url+c.path, "application/json", c.body, nil)
		wantProblem(t, c.method+" "+c.body, resp, b, http.StatusBadRequest, c.detail)
	}
}
