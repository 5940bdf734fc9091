package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/server"
)

// staleCounter counts the scripts a process's store client had refused as
// stale: planned with a clock or a fault profile that changed before the
// script ran (core.Stale). With before set, it calls it once, before the
// first script whose arguments hold the text, then lets the script run.
type staleCounter struct {
	refused atomic.Int64
	mu      sync.Mutex
	text    string
	before  func()
}

func (c *staleCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *staleCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.maybeBefore(cmd)
		err := next(ctx, cmd)
		if core.Stale(err) {
			c.refused.Add(1)
		}
		return err
	}
}
func (c *staleCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.maybeBefore(cmd)
		}
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if core.Stale(cmd.Err()) {
				c.refused.Add(1)
			}
		}
		return err
	}
}

// maybeBefore calls before, once, when cmd is the first script whose
// arguments hold the text.
func (c *staleCounter) maybeBefore(cmd redis.Cmder) {
	if name := strings.ToLower(cmd.Name()); name != "evalsha" && name != "eval" && name != "fcall" {
		return
	}
	c.mu.Lock()
	before := c.before
	if before != nil && slices.ContainsFunc(cmd.Args(), func(a any) bool {
		s, ok := a.(string)
		return ok && strings.Contains(s, c.text)
	}) {
		c.before = nil
	} else {
		before = nil
	}
	c.mu.Unlock()
	if before != nil {
		before()
	}
}

// muted keeps a process's words of its changes (core.ChangesChannel) from
// the others, as a word lost on the way would be.
type muted struct{}

func (muted) DialHook(next redis.DialHook) redis.DialHook { return next }
func (muted) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "publish" && strings.HasSuffix(fmt.Sprint(cmd.Args()[1]), ":changes") {
			return nil
		}
		return next(ctx, cmd)
	}
}
func (muted) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A process keeps the clock and the fault profile it read; a change made
// through another process is seen by its next request all the same, even
// when the other's word of it is lost (muted): the script the request runs
// finds what it was planned with changed, refuses it, and the request is
// planned again with what is stored now. Each case warms process a's
// snapshot with a first request, changes the profile (or the clock)
// through process b, then checks that a's next request acts by the
// change, and that it was refused once as stale on the way.
func TestAProfileChangedElsewhereIsSeenByTheNextRequest(t *testing.T) {
	const phone, second = "13800000001", "13800000002"
	cases := []struct {
		name   string
		setup  func(a *instance)               // through a, warming its snapshot
		change func(b *instance)               // through b
		check  func(t *testing.T, a *instance) // a's next request
	}{
		{
			name: "a message sent",
			setup: func(a *instance) {
				a.patchFaults(`{"sms_delay":{"min":"0s","max":"0s"}}`)
				a.call("POST", "/gateway/v1/messages", map[string]string{"from": "95187", "to": phone, "body": "first"}, http.StatusAccepted, nil)
			},
			change: func(b *instance) { b.patchFaults(`{"sms_delay":{"min":"1h","max":"1h"}}`) },
			check: func(t *testing.T, a *instance) {
				var sent struct{ ID string }
				a.call("POST", "/gateway/v1/messages", map[string]string{"from": "95187", "to": phone, "body": "second"}, http.StatusAccepted, &sent)
				var m struct{ Status string }
				a.call("GET", "/gateway/v1/messages/"+sent.ID, nil, http.StatusOK, &m)
				if m.Status != gateway.StatusQueued {
					t.Errorf("a message sent after the delay became an hour is %s, want %s", m.Status, gateway.StatusQueued)
				}
			},
		},
		{
			name: "an order submitted",
			setup: func(a *instance) {
				a.fixedLags("0s", "0s")
				if v := a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)}); v.Status != miit.StatusPendingValidation {
					t.Fatalf("an order with no sync lag shows %s, want %s", v.Status, miit.StatusPendingValidation)
				}
			},
			change: func(b *instance) { b.patchFaults(`{"sync_lag":{"min":"1h","max":"1h"}}`) },
			check: func(t *testing.T, a *instance) {
				v := a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(second)})
				if v.Status != miit.StatusSubmitted {
					t.Errorf("an order submitted after the sync lag became an hour shows %s, want %s", v.Status, miit.StatusSubmitted)
				}
				if c := a.codes(second); len(c) != 0 {
					t.Errorf("its person has codes %v before it reached MIIT", c)
				}
			},
		},
		{
			name: "a validation",
			setup: func(a *instance) {
				a.fixedLags("0s", "0s")
				a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
			},
			change: func(b *instance) { b.patchFaults(`{"spurious_not_found_rate":1}`) },
			check: func(t *testing.T, a *instance) {
				if r := a.validate(a.code(phone), phone, leaderCert); r.Result != miit.ResultNotFound {
					t.Errorf("the right code while every validation glitches: %s, want %s", r.Result, miit.ResultNotFound)
				}
			},
		},
		{
			name: "a resend",
			setup: func(a *instance) {
				a.fixedLags("0s", "0s")
				a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
			},
			change: func(b *instance) { b.patchFaults(`{"sms_delay":{"min":"1h","max":"1h"}}`) },
			check: func(t *testing.T, a *instance) {
				wantResend(t, a.resend(phone, leaderCert), miit.ResultResent)
				if c := a.codes(phone); len(c) != 1 {
					t.Errorf("the inbox holds codes %v, want the first alone: the resent one travels an hour", c)
				}
			},
		},
		{
			name: "the clock advanced",
			setup: func(a *instance) {
				a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
			},
			change: func(b *instance) { b.advance("1h") },
			check: func(t *testing.T, a *instance) {
				v := a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(second)})
				if want := t0.Add(time.Hour); !v.SubmittedAt.Equal(want) {
					t.Errorf("an order submitted after the clock moved an hour was submitted at %s, want %s", v.SubmittedAt, want)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a, b := e.instance, e.newInstance()
			b.rdb.AddHook(muted{})
			var stale staleCounter
			a.rdb.AddHook(&stale)
			tc.setup(a)
			if n := stale.refused.Load(); n != 0 {
				t.Fatalf("%d scripts refused as stale before the change", n)
			}
			tc.change(b)
			tc.check(t, a)
			if n := stale.refused.Load(); n != 1 {
				t.Errorf("%d scripts of process a refused as stale, want 1: its snapshot was from before the change", n)
			}
		})
	}
}

// The sync job plans an order's codes with the snapshot it reads; a
// change of the profile made between that read and its script is seen:
// the script refuses the plan, and the job plans again. Here the
// validation window becomes two hours just before the sync's script runs:
// the code message says two hours.
func TestSyncJobPlansAgainWhenTheProfileChangedUnderIt(t *testing.T) {
	e := newEnv(t)
	a, b := e.instance, e.newInstance()
	a.fixedLags("30m", "0s")
	const phone = "13800000001"
	a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	stale := staleCounter{text: `"review_due"`, before: func() { b.patchFaults(`{"validation_window":"2h"}`) }}
	a.rdb.AddHook(&stale)
	a.advance("30m") // the sync job, in a's advance
	msgs := a.inbox(phone)
	var codes []message
	for _, m := range msgs {
		if m.Code != "" {
			codes = append(codes, m)
		}
	}
	if len(codes) != 1 {
		t.Fatalf("the inbox holds %d codes, want 1: %+v", len(codes), msgs)
	}
	want := "[MIIT] Your ICP filing verification code is " + codes[0].Code + ". Enter it with your mobile number and the last six characters of your certificate number at https://beian.miit.gov.cn within 2 hours."
	if codes[0].Body != want {
		t.Errorf("the code message reads\n%q\nwant\n%q", codes[0].Body, want)
	}
	if n := stale.refused.Load(); n != 1 {
		t.Errorf("%d sync scripts refused as stale, want 1", n)
	}
	stale.mu.Lock()
	defer stale.mu.Unlock()
	if stale.before != nil {
		t.Error("no sync script ran")
	}
}

// A change made through one process reaches what another only reads, not
// only what it writes: a long poll that would wait reads the clock's pause
// from Redis, word or none; and once the word of a change has come, the
// journal dates a call by the clock as it now stands, and the API faults
// are those now set, from the first call on.
func TestAChangeElsewhereReachesWhatAProcessOnlyReads(t *testing.T) {
	e := newEnv(t)
	a, b := e.instance, e.newInstance()
	const phone = "13800000001"
	a.call("PUT", "/admin/v1/clock", `{"paused":false}`, 200, nil)
	a.call("GET", "/phones/v1/"+phone+"/messages", nil, 200, nil) // a holds the clock running, the profile without API faults

	quiet := e.newInstance()
	quiet.rdb.AddHook(muted{})
	quiet.call("PUT", "/admin/v1/clock", `{"paused":true}`, 200, nil)
	if p := a.next(phone, "timeout=20s"); p.code != http.StatusNoContent || p.wait != server.WaitNothingOnItsWay || p.took > 10*time.Second {
		t.Fatalf("a poll after the clock was paused elsewhere, word lost: %d %q after %v, want 204 nothing_on_its_way at once", p.code, p.wait, p.took)
	}

	words := value(t, a.reg, "smsim_changes_heard_total", nil)
	b.advance("5h")
	b.patchFaults(`{"api_faults":[{"route":"POST /miit/v1/validations","next":[{"calls":1,"status":503}]}]}`)
	waitValue(t, a.reg, "smsim_changes_heard_total", nil, words+2) // a word goes by Pub/Sub, beside the requests
	var clock core.ClockState
	b.call("GET", "/admin/v1/clock", nil, 200, &clock)
	if c, body := a.do("POST", "/miit/v1/validations", validation(phone)); c != http.StatusServiceUnavailable {
		t.Fatalf("the first validation after the API fault was set elsewhere: %d %s, want the 503", c, body)
	}
	if c, body := a.do("POST", "/miit/v1/validations", validation(phone)); c != http.StatusOK {
		t.Fatalf("the second validation: %d %s, want 200", c, body)
	}
	got := a.requests("?route=POST%20/miit/v1/validations")
	if len(got) != 2 || !got[0].At.Equal(clock.Now) || !got[1].At.Equal(clock.Now) {
		t.Fatalf("the journal %+v, want two calls at %s (the paused clock, advanced elsewhere)", got, clock.Now)
	}
}
