package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core"
)

type eventList struct {
	Events []core.Record
	Last   string
}

func (in *instance) events(after string) eventList {
	in.t.Helper()
	var l eventList
	in.call("GET", "/admin/v1/events?after="+after, nil, 200, &l)
	return l
}

func kinds(rs []core.Record) string {
	var k []string
	for _, r := range rs {
		k = append(k, r.Kind)
	}
	return strings.Join(k, " ")
}

func TestEventLogRecordsTheFlow(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	start := e.events("").Last
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13800000301")})
	e.advance("30m")
	code := e.code("13800000301")
	e.validate(wrong(code), "13800000301", leaderCert)
	e.resend("13800000301", leaderCert)
	e.validate(e.code("13800000301"), "13800000301", leaderCert)
	e.advance("1m")
	l := e.events(start)
	want := "filing.submitted sms.sent sms.delivered filing.status filing.status sms.sent sms.delivered clock " +
		"validation resend sms.sent sms.delivered filing.status validation filing.status clock"
	if got := kinds(l.Events); got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}
	if l.Last != l.Events[len(l.Events)-1].ID {
		t.Fatalf("last %s, want the newest event's id", l.Last)
	}
	var sub miit.ProviderView
	json.Unmarshal(l.Events[0].Data, &sub)
	if sub.ID != v.ID || !l.Events[0].At.Equal(t0) {
		t.Fatalf("submitted event %+v %s", sub, l.Events[0].At)
	}
	var status struct{ ID, View, Status, Validated string }
	json.Unmarshal(l.Events[3].Data, &status)
	if status.ID != v.ID || status.View != "miit" || status.Status != "pending_validation" || !l.Events[3].At.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("sync event %+v at %s", status, l.Events[4].At)
	}
	var delivered struct {
		ID, Phone, Sender, Code, Status, Folder string
		Trail                                   []struct{ Step string }
	}
	json.Unmarshal(l.Events[6].Data, &delivered)
	if delivered.Phone != "13800000301" || delivered.Sender != "12381" || delivered.Code != code || delivered.Status != "delivered" ||
		len(delivered.Trail) != 3 || delivered.Trail[2].Step != "delivered" {
		t.Fatalf("delivery event %+v", delivered)
	}
	var val struct {
		Phone, Result string
		Rejected      bool
	}
	json.Unmarshal(l.Events[8].Data, &val)
	if val.Phone != "13800000301" || val.Result != "failed" || strings.Contains(string(l.Events[8].Data), code) {
		t.Fatalf("validation event %s", l.Events[9].Data)
	}
	json.Unmarshal(l.Events[14].Data, &status)
	if status.View != "provider" || status.Status != "under_review" || status.Validated != "entity_leader" {
		t.Fatalf("provider's result sync event %+v", status)
	}
	// Catching up from an event gives exactly what came after it.
	if got := kinds(e.events(l.Events[12].ID).Events); got != "validation filing.status clock" {
		t.Fatalf("after the 13th event: %s", got)
	}
}

func TestEventSocketCatchesUpThenFollows(t *testing.T) {
	e := newEnv(t)
	b := e.newInstance()
	e.sendSMS("95187", "13800000311", "first")
	first := e.events("").Events[0].ID
	e.sendSMS("95187", "13800000311", "second")

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(b.url, "http")+"/ws/events?after="+first, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() core.Record {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var r core.Record
		if err := ws.ReadJSON(&r); err != nil {
			t.Fatalf("reading the event socket: %v", err)
		}
		return r
	}
	// Caught up: the second message's events, not the first's.
	for _, want := range []string{"sms.delivered", "sms.sent", "sms.delivered"} {
		if r := read(); r.Kind != want {
			t.Fatalf("event %s, want %s", r.Kind, want)
		}
	}
	// Live, through the other instance.
	e.sendSMS("95187", "13800000311", "third")
	for _, want := range []string{"sms.sent", "sms.delivered"} {
		r := read()
		if r.Kind != want || !strings.Contains(string(r.Data), "third") {
			t.Fatalf("live event %s %s, want %s of the third message", r.Kind, r.Data, want)
		}
	}
	if c, _ := b.do("GET", "/ws/events", nil); c != 426 {
		t.Fatalf("a plain GET: %d, want 426", c)
	}
	if c, _ := b.do("GET", "/ws/events?after=yesterday", nil); c != 400 {
		t.Fatalf("a bad after: %d, want 400", c)
	}
}

// The syncs of an advance go to Redis in runs: a watcher on another
// process sees every event of the log, once, in its order. Some syncs'
// scripts refuse their place in a run (a code message the network holds
// less long than the gap to the next sync goes first): no failure of the
// store for that.
func TestEventSocketFollowsAnAdvanceInRuns(t *testing.T) {
	e := newEnv(t)
	b := e.newInstance()
	e.patchFaults(`{"sync_lag":{"min":"1m","max":"2h"},"sms_delay":{"min":"0s","max":"3m"}}`)
	var refused refusalCounter
	e.rdb.AddHook(&refused)
	for i := range 40 {
		e.submit(firstFilingWebsite(fmt.Sprintf("137%08d", 2*i), fmt.Sprintf("137%08d", 2*i+1)))
	}
	before := e.events("").Events
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(b.url, "http")+"/ws/events?after="+before[len(before)-1].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	e.advance("3h")
	var logged []string
	for _, r := range e.events(before[len(before)-1].ID).Events {
		logged = append(logged, r.ID+" "+r.Kind)
	}
	if len(logged) < 40*6 {
		t.Fatalf("%d events in the log after the advance, want the 40 syncs' 6 each", len(logged))
	}
	wantSocketSees(t, ws, logged)
	if refused.n.Load() == 0 {
		t.Fatal("no script refused its place in a run: the case is not made")
	}
	for _, m := range families(t, e.reg)["smsim_redis_errors_total"].GetMetric() {
		if v := m.GetCounter().GetValue(); v != 0 {
			t.Errorf("smsim_redis_errors_total %v: %v, want none", m.GetLabel(), v)
		}
	}
}

// wantSocketSees reads from the event socket ws as many events as logged
// lists ("id kind", in the log's order), and fails unless they are those.
func wantSocketSees(t *testing.T, ws *websocket.Conn, logged []string) {
	t.Helper()
	var seen []string
	for len(seen) < len(logged) {
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var r core.Record
		if err := ws.ReadJSON(&r); err != nil {
			t.Fatalf("after %d events of %d: %v", len(seen), len(logged), err)
		}
		seen = append(seen, r.ID+" "+r.Kind)
	}
	if strings.Join(seen, "\n") != strings.Join(logged, "\n") {
		t.Fatalf("the socket saw\n%s\nthe log holds\n%s", strings.Join(seen, "\n"), strings.Join(logged, "\n"))
	}
}

// refusalCounter counts the jobs of runs whose scripts refused their place
// (answers of a script's run form).
type refusalCounter struct{ n atomic.Int64 }

func (c *refusalCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (c *refusalCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (c *refusalCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			run, ok := cmd.(*redis.Cmd)
			if !ok || cmd.Name() != "evalsha" && cmd.Name() != "fcall" {
				continue
			}
			answers, _ := run.Slice() // a run form's: the jobs' answers
			for _, a := range answers {
				if err, ok := a.(error); ok && redis.HasErrorPrefix(err, "RUN") {
					c.n.Add(1)
				}
			}
		}
		return err
	}
}

func TestListings(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	a := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13800000321")})
	b := e.submit(firstFilingWebsite("13800000322", "13800000323"))
	e.advance("30m")
	e.call("POST", "/provider/v1/filings/"+a.ID+"/cancel", nil, 200, nil)
	var pl struct {
		Filings []miit.ProviderView
		Total   int
	}
	e.call("GET", "/provider/v1/filings", nil, 200, &pl)
	if pl.Total != 2 || pl.Filings[0].ID != b.ID || pl.Filings[1].ID != a.ID {
		t.Fatalf("provider listing %+v, want both, newest first", pl)
	}
	e.call("GET", "/provider/v1/filings?status=canceled", nil, 200, &pl)
	if pl.Total != 1 || pl.Filings[0].ID != a.ID {
		t.Fatalf("canceled filings %+v", pl)
	}
	var ml struct {
		Filings []miit.MIITView
		Total   int
	}
	e.call("GET", "/miit/v1/filings?status=pending_validation&limit=1", nil, 200, &ml)
	if ml.Total != 1 || ml.Filings[0].ID != b.ID || len(ml.Filings[0].Personnel) != 2 || ml.Filings[0].Deadline == nil {
		t.Fatalf("pending filings at MIIT %+v", ml)
	}
	e.call("GET", "/miit/v1/filings?offset=1", nil, 200, &ml)
	if ml.Total != 2 || len(ml.Filings) != 1 || ml.Filings[0].ID != a.ID {
		t.Fatalf("second page %+v", ml)
	}
	e.call("PUT", "/phones/v1/13900000329/profile", `{"spam_filter":true}`, 200, nil)
	var phones struct {
		Phones []struct {
			Phone          string
			Profile        map[string]any
			Inbox, Blocked int
		}
		Total int
	}
	e.call("GET", "/phones/v1", nil, 200, &phones)
	if phones.Total != 4 || phones.Phones[0].Phone != "13800000321" || phones.Phones[0].Inbox != 2 || phones.Phones[3].Phone != "13900000329" ||
		phones.Phones[3].Profile["spam_filter"] != true {
		t.Fatalf("phones %+v", phones)
	}
	e.call("GET", "/phones/v1?q=0032&limit=2", nil, 200, &phones)
	if phones.Total != 4 || len(phones.Phones) != 2 {
		t.Fatalf("phones matching 0032, first 2: %+v", phones)
	}
	e.call("GET", "/phones/v1?q=3900", nil, 200, &phones)
	if phones.Total != 1 {
		t.Fatalf("phones matching 3900: %+v", phones)
	}
	for _, bad := range []string{"/provider/v1/filings?status=lost", "/miit/v1/filings?limit=0", "/miit/v1/filings?limit=5000",
		"/phones/v1?offset=-1", "/phones/v1?q=abc", "/admin/v1/events?limit=x", "/admin/v1/events?after=x"} {
		if c, _ := e.do("GET", bad, nil); c != 400 {
			t.Errorf("GET %s: %d, want 400", bad, c)
		}
	}
}
