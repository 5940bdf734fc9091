package client_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

func TestInboxAndBlockedFolder(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	p := client.DefaultPhoneProfile()
	p.BlockKeywords = []string{"lottery"}
	if _, err := sim.SetProfile(ctx, "+8613800000003", p); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"hello", "you won the lottery", "bye"} {
		if _, err := sim.Send(ctx, "95555", "13800000003", body); err != nil {
			t.Fatal(err)
		}
	}
	inbox, err := sim.Messages(ctx, "13800000003", "")
	if err != nil {
		t.Fatal(err)
	}
	if bodies(inbox) != "hello|bye" || inbox[0].Folder != client.FolderInbox || inbox[0].Sender != "95555" ||
		inbox[0].Phone != "13800000003" || inbox[0].DeliveredAt == nil || !inbox[0].DeliveredAt.Equal(simtest.DefaultStart()) {
		t.Fatalf("inbox %+v", inbox)
	}
	blocked, err := sim.Messages(ctx, "13800000003", client.FolderBlocked)
	if err != nil || bodies(blocked) != "you won the lottery" {
		t.Fatalf("blocked %+v, %v", blocked, err)
	}
	if _, err := sim.Messages(ctx, "13800000003", "spam"); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("folder spam: %v, want a 400", err)
	}
	if err := sim.ClearMessages(ctx, "13800000003"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{client.FolderInbox, client.FolderBlocked} {
		if ms, err := sim.Messages(ctx, "13800000003", f); err != nil || len(ms) != 0 {
			t.Fatalf("%s after clearing: %+v, %v", f, ms, err)
		}
	}
}

func bodies(ms []client.Message) string {
	var b []string
	for _, m := range ms {
		b = append(b, m.Body)
	}
	return strings.Join(b, "|")
}

func TestNextFiltersAndTimesOut(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	onItsWay(t, sim, leader.Phone) // so that the poll for nothing new waits for its timeout
	for _, m := range [][2]string{{"95187", "notice f_123456ab"}, {"12381", "no code here"}, {"12381", "code 654321 here"}, {"95555", "sale 111111"}} {
		if _, err := sim.Send(ctx, m[0], leader.Phone, m[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		o    client.NextOptions
		want string
	}{
		{"first", client.NextOptions{After: client.AfterStart}, "notice f_123456ab"},
		{"from MIIT", client.NextOptions{After: client.AfterStart, FromMIIT: true}, "no code here"},
		{"with a code", client.NextOptions{After: client.AfterStart, HasCode: true}, "code 654321 here"},
		{"sender", client.NextOptions{After: client.AfterStart, Sender: "95555"}, "sale 111111"},
		{"match", client.NextOptions{After: client.AfterStart, Match: `^sale \d+$`}, "sale 111111"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, ok, err := sim.Next(ctx, leader.Phone, c.o)
			if err != nil || !ok || m.Body != c.want {
				t.Fatalf("next: %+v %v %v, want %q", m, ok, err, c.want)
			}
		})
	}
	start := time.Now()
	_, ok, err := sim.Next(ctx, leader.Phone, client.NextOptions{Timeout: 50 * time.Millisecond})
	if err != nil || ok {
		t.Fatalf("nothing new: %v %v, want no message", ok, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the poll took %s, want about its timeout", d)
	}
	if _, _, err := sim.Next(ctx, leader.Phone, client.NextOptions{Match: "("}); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("bad regular expression: %v, want a 400", err)
	}
	if _, _, err := sim.Next(ctx, leader.Phone, client.NextOptions{After: "m_0000000000000000"}); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("after an unknown message: %v, want a 404", err)
	}
}

// A deadline of the context shortens the long poll: the server answers
// "nothing" in time rather than the request failing.
func TestNextHonoursTheContextDeadline(t *testing.T) {
	sim := runT(t)
	onItsWay(t, sim, leader.Phone)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, ok, err := sim.Next(ctx, leader.Phone, client.NextOptions{})
	if ok || (err != nil && ctx.Err() == nil) {
		t.Fatalf("next: %v %v", ok, err)
	}
}

func TestProfileRoundTrip(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	p, err := sim.Profile(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, client.DefaultPhoneProfile()) {
		t.Fatalf("profile of a new phone %+v", p)
	}
	magic, err := sim.Profile(ctx, "19900000001")
	if err != nil || magic.Service != client.ServiceSuspended {
		t.Fatalf("magic number's profile %+v, %v", magic, err)
	}
	want := client.PhoneProfile{SpamFilter: true, Service: client.ServiceActive, Reachable: false,
		Delay: client.Uniform(time.Minute, 5*time.Minute), InboxLimit: 20,
		BlockSenders: []string{"95555"}, BlockKeywords: []string{"lottery"}, DuplicateRate: 0.5}
	got, err := sim.SetProfile(ctx, leader.Phone, want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("set %+v, answered %+v", want, got)
	}
	if got, err = sim.Profile(ctx, leader.Phone); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	bad := want
	bad.Service = "gone"
	if _, err := sim.SetProfile(ctx, leader.Phone, bad); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("bad service: %v, want a 400", err)
	}
}

func TestFaultScript(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	sc, err := sim.SetScript(ctx, admin.Phone, client.Script{Steps: []client.Step{
		{Action: client.ActionFail, Count: 2}, {Action: client.ActionDelay, By: "40m"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := client.Script{Steps: []client.Step{{Action: "fail", Count: 2}, {Action: "delay", Count: 1, By: "40m"}}}
	if !reflect.DeepEqual(sc, want) {
		t.Fatalf("script %+v, want %+v", sc, want)
	}
	id, err := sim.Send(ctx, "95187", admin.Phone, "one")
	if err != nil {
		t.Fatal(err)
	}
	m, err := sim.Message(ctx, id)
	if err != nil || m.Status != client.MessageFailed || m.Reason != client.ReasonScripted {
		t.Fatalf("first message %+v, %v", m, err)
	}
	sc, err = sim.Script(ctx, admin.Phone)
	if err != nil || len(sc.Steps) != 2 || sc.Steps[0].Count != 1 {
		t.Fatalf("what is left: %+v, %v", sc, err)
	}
	if err := sim.ClearScript(ctx, admin.Phone); err != nil {
		t.Fatal(err)
	}
	if sc, err = sim.Script(ctx, admin.Phone); err != nil || len(sc.Steps) != 0 {
		t.Fatalf("cleared: %+v, %v", sc, err)
	}
	_, err = sim.SetScript(ctx, admin.Phone, client.Script{Steps: []client.Step{{Action: "explode"}}})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 400 || !strings.HasPrefix(e.Detail, "steps[0].action:") {
		t.Fatalf("unknown action: %v", err)
	}
	// a script of no steps replaces one: the phone is treated as usual
	if _, err := sim.SetScript(ctx, admin.Phone, client.Script{Steps: []client.Step{{Action: client.ActionFail}}}); err != nil {
		t.Fatal(err)
	}
	if sc, err = sim.SetScript(ctx, admin.Phone, client.Script{}); err != nil || len(sc.Steps) != 0 {
		t.Fatalf("an empty script: %+v, %v", sc, err)
	}
	if sc, err = sim.Script(ctx, admin.Phone); err != nil || len(sc.Steps) != 0 {
		t.Fatalf("after an empty script: %+v, %v", sc, err)
	}
}
