package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core/testkit"
	"smsim/simulator/webhook"
)

// post is one webhook post a receiver got.
type post struct {
	header  http.Header
	body    []byte
	payload webhook.Payload
}

// receiver is a webhook target on loopback: it records every post and
// answers with the status answer gives for it (the n-th post, from 1).
type receiver struct{ *testkit.Receiver }

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	return &receiver{testkit.NewReceiver(t, func(n int, _ []byte) int { return answer(n) })}
}

// next waits (real time: the posts are made by the background dispatcher)
// for the next post.
func (rc *receiver) next(t *testing.T) post {
	t.Helper()
	p := rc.Next(t)
	var payload webhook.Payload
	if err := json.Unmarshal(p.Body, &payload); err != nil {
		t.Errorf("webhook body %s: %v", p.Body, err)
	}
	return post{header: p.Header, body: p.Body, payload: payload}
}

func (in *instance) registerWebhook(body any) webhook.Hook {
	in.t.Helper()
	var h webhook.Hook
	in.call("POST", "/admin/v1/webhooks", body, 201, &h)
	return h
}

func (in *instance) deliveries(id string) []webhook.Delivery {
	in.t.Helper()
	var out struct{ Deliveries []webhook.Delivery }
	in.call("GET", "/admin/v1/webhooks/"+id+"/deliveries", nil, 200, &out)
	return out.Deliveries
}

// waitLog reads a webhook's delivery log once it holds n attempts (or after
// five seconds, whatever it holds): the attempt a receiver just answered
// is logged a moment later.
func waitLog(t *testing.T, in *instance, id string, n int) []webhook.Delivery {
	t.Helper()
	var log []webhook.Delivery
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if log = in.deliveries(id); len(log) >= n {
			break
		}
	}
	return log
}

// A validation, start to end, reaches a namespace's webhook as signed
// posts of the default kinds, in the order they happened, each logged as
// delivered; another namespace's webhook gets none of it.
func TestWebhooksPostTheFlowSigned(t *testing.T) {
	e := newEnv(t)
	a, b := e.in("hooks-a"), e.in("hooks-b")
	rcA := newReceiver(t, func(int) int { return 204 })
	rcB := newReceiver(t, func(int) int { return 200 })
	hook := a.registerWebhook(map[string]any{"url": rcA.URL + "/smsim", "secret": "s3cret"})
	if !strings.HasPrefix(hook.ID, "wh_") || hook.Secret != "s3cret" || strings.Join(hook.Events, " ") != "sms.delivered sms.blocked sms.failed validation filing.status" {
		t.Fatalf("registered %+v, want an id, the secret given and the default kinds", hook)
	}
	hookB := b.registerWebhook(map[string]any{"url": rcB.URL, "events": []string{"filing.submitted"}})
	if len(hookB.Secret) != 64 {
		t.Fatalf("generated secret %q, want 64 hex digits", hookB.Secret)
	}

	a.fixedLags("30m", "0s")
	v := a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000501")})
	a.advance("30m")
	wantValidation(t, a.validate(a.code("13900000501"), "13900000501", leaderCert), "complete", false)

	type seen struct{ kind, detail string }
	var got []seen
	for len(got) == 0 || got[len(got)-1].kind != "filing.status" || !strings.Contains(got[len(got)-1].detail, "provider under_review") {
		p := rcA.next(t)
		if err := webhook.Verify("s3cret", p.header, p.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("post %s: signature: %v", p.body, err)
		}
		ev := p.payload.Event
		if p.header.Get("X-Smsim-Event") != ev.Kind || p.header.Get("X-Smsim-Delivery") != p.payload.ID ||
			p.payload.HookID != hook.ID || p.payload.Attempt != 1 || ev.Namespace != "hooks-a" {
			t.Fatalf("post headers %v payload %+v: want the kind, the delivery id, hook %s, attempt 1, namespace hooks-a", p.header, p.payload, hook.ID)
		}
		var d struct {
			ID, View, Status, Phone, Sender, Result string
		}
		json.Unmarshal(ev.Data, &d)
		s := seen{kind: ev.Kind}
		switch ev.Kind {
		case "filing.status":
			s.detail = d.View + " " + d.Status
		case "sms.delivered":
			s.detail = d.Sender + " " + d.Phone
		case "validation":
			s.detail = d.Result + " " + d.Phone
		}
		got = append(got, s)
		if len(got) > 20 {
			t.Fatalf("posts %v: never reached the provider's under_review", got)
		}
	}
	want := []seen{
		{"sms.delivered", "95187 13900000501"},
		{"filing.status", "miit pending_validation"},
		{"filing.status", "provider pending_validation"},
		{"sms.delivered", "12381 13900000501"},
		{"filing.status", "miit under_review"}, // written by the validation's own script
		{"validation", "complete 13900000501"},
		{"filing.status", "provider under_review"},
	}
	if len(got) != len(want) {
		t.Fatalf("posts %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("posts %v, want %v", got, want)
		}
	}

	log := waitLog(t, a, hook.ID, len(want))
	if len(log) != len(want) {
		t.Fatalf("delivery log holds %d attempts, want %d", len(log), len(want))
	}
	for i, d := range log {
		w := want[len(want)-1-i] // newest first
		if d.Kind != w.kind || d.Status != "delivered" || d.StatusCode != 204 || d.Attempt != 1 || d.HookID != hook.ID || d.NextAttemptAt != nil || d.Error != "" {
			t.Errorf("log[%d] = %+v, want %s delivered at the first attempt with 204", i, d, w.kind)
		}
	}
	var limited struct{ Deliveries []webhook.Delivery }
	a.call("GET", "/admin/v1/webhooks/"+hook.ID+"/deliveries?limit=2", nil, 200, &limited)
	if len(limited.Deliveries) != 2 || limited.Deliveries[0].ID != log[0].ID {
		t.Errorf("limit=2 answered %d attempts, want the newest 2", len(limited.Deliveries))
	}

	// hooks-b, which asked for filing.submitted, got nothing of hooks-a's
	b.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000502")})
	p := rcB.next(t)
	if p.payload.Event.Kind != "filing.submitted" || p.payload.Event.Namespace != "hooks-b" || !strings.Contains(string(p.payload.Event.Data), "13900000502") {
		t.Fatalf("hooks-b's first post: %s, want its own filing.submitted", p.body)
	}
	if v.ID == "" {
		t.Fatal("no filing id")
	}
}

// A target that fails is posted again after the backoff, each attempt in
// the log; one that never recovers gets the last attempt logged as failed.
func TestWebhookRetriesAndGivesUp(t *testing.T) {
	e := newEnv(t, func(e *env) {
		e.hooks = func(c *simulator.Config) {
			c.WebhookBackoff = func(int) time.Duration { return time.Millisecond }
			c.WebhookAttempts = 3
		}
	})
	flaky := newReceiver(t, func(n int) int {
		if n <= 2 {
			return 503
		}
		return 200
	})
	dead := newReceiver(t, func(int) int { return 500 })
	hf := e.registerWebhook(map[string]any{"url": flaky.URL, "events": []string{"clock"}})
	hd := e.registerWebhook(map[string]any{"url": dead.URL, "events": []string{"clock"}})
	e.advance("1m")

	for i := 1; i <= 3; i++ {
		if p := flaky.next(t); p.payload.Attempt != i || p.payload.Event.Kind != "clock" {
			t.Fatalf("flaky's post %d: attempt %d of %s", i, p.payload.Attempt, p.payload.Event.Kind)
		}
		if p := dead.next(t); p.payload.Attempt != i {
			t.Fatalf("dead's post %d: attempt %d", i, p.payload.Attempt)
		}
	}
	wantLog := func(id string, want []string) {
		t.Helper()
		log := waitLog(t, e.instance, id, len(want))
		var got []string
		for _, d := range log {
			s := d.Status + " " + d.Error
			if d.NextAttemptAt != nil {
				s += " then again"
			}
			got = append(got, strings.TrimSpace(s))
			if d.ID != log[0].ID {
				t.Errorf("attempts of one event under delivery ids %s and %s", d.ID, log[0].ID)
			}
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("log of %s: %q, want %q", id, got, want)
		}
	}
	wantLog(hf.ID, []string{"delivered", "retrying status 503 then again", "retrying status 503 then again"})
	wantLog(hd.ID, []string{"failed status 500", "retrying status 500 then again", "retrying status 500 then again"})
	// The last attempt is logged as failed: nothing of it is left to try,
	// and no fourth post came or can come.
	ctx := context.Background()
	for _, key := range []string{e.keys().WebhookRetries(), e.keys().WebhookInflight()} {
		left, err := e.rdb.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range left {
			if strings.HasPrefix(m, hd.ID+"|") {
				t.Fatalf("%s still holds %s after its last attempt", key, m)
			}
		}
	}
	if n := len(dead.Posts()); n != 3 {
		t.Fatalf("the dead target got %d posts, want 3", n)
	}
}

// Registering, reading and deleting webhooks, and the refusals, word for
// word.
func TestWebhookRegistry(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(int) int { return 200 })
	h := e.registerWebhook(map[string]any{"url": rc.URL, "events": []string{"validation", "validation", "resend"}})
	if strings.Join(h.Events, " ") != "validation resend" {
		t.Fatalf("events %v, want validation resend (repeats once)", h.Events)
	}
	var got webhook.Hook
	e.call("GET", "/admin/v1/webhooks/"+h.ID, nil, 200, &got)
	if got.ID != h.ID || got.URL != rc.URL || got.Secret != h.Secret {
		t.Fatalf("read %+v, want %+v", got, h)
	}
	var list struct{ Webhooks []webhook.Hook }
	e.call("GET", "/admin/v1/webhooks", nil, 200, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].ID != h.ID {
		t.Fatalf("list %+v", list)
	}
	e.in("elsewhere").call("GET", "/admin/v1/webhooks", nil, 200, &list)
	if len(list.Webhooks) != 0 {
		t.Fatalf("another namespace lists %+v", list)
	}
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		detail       string
	}{
		{"POST", "/admin/v1/webhooks", map[string]any{"url": "http://example.com/hook"}, 400, `url: host "example.com" is not allowed: only loopback hosts and hosts given with --webhook-host may receive webhooks`},
		{"POST", "/admin/v1/webhooks", map[string]any{"url": "ftp://127.0.0.1/hook"}, 400, `url: scheme "ftp" is not allowed: use http or https`},
		{"POST", "/admin/v1/webhooks", map[string]any{"url": "/hook"}, 400, `url: "/hook" is not absolute; give an http or https URL such as http://127.0.0.1:8080/hook`},
		{"POST", "/admin/v1/webhooks", map[string]any{}, 400, `url: required`},
		{"POST", "/admin/v1/webhooks", map[string]any{"url": rc.URL + "/x y"}, 400, `url: "` + rc.URL + `/x y" is not a valid URI: it holds ' ' at byte ` + strconv.Itoa(len(rc.URL)+2) + `; percent-encode it (%20 for a space)`},
		{"POST", "/admin/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"sms.lost"}}, 400, `events: unknown kind "sms.lost"; known kinds: filing.submitted, filing.status, sms.sent, sms.delivered, sms.blocked, sms.failed, validation, resend, clock, faults, phone.profile, phone.cleared`},
		{"POST", "/admin/v1/webhooks", map[string]any{"url": rc.URL, "secret": strings.Repeat("k", 257)}, 400, `secret: 257 characters; at most 256`},
		{"POST", "/admin/v1/webhooks", map[string]any{"url": rc.URL, "retries": 3}, 400, `retries: unknown field`},
		{"GET", "/admin/v1/webhooks/wh_0000000000000000", nil, 404, `no webhook "wh_0000000000000000"`},
		{"GET", "/admin/v1/webhooks/wh_0000000000000000/deliveries", nil, 404, `no webhook "wh_0000000000000000"`},
		{"GET", "/admin/v1/webhooks/" + h.ID + "/deliveries?limit=501", nil, 400, `limit: must be a whole number from 1 to 500, got "501"`},
		{"DELETE", "/admin/v1/webhooks/wh_0000000000000000", nil, 404, `no webhook "wh_0000000000000000"`},
	} {
		code, b := e.do(c.method, c.path, c.body)
		var p struct{ Detail string }
		json.Unmarshal(b, &p)
		if code != c.status || p.Detail != c.detail {
			t.Errorf("%s %s %v: %d %q, want %d %q", c.method, c.path, c.body, code, p.Detail, c.status, c.detail)
		}
	}
	for i := 1; i < webhook.MaxHooks; i++ {
		e.registerWebhook(map[string]any{"url": rc.URL})
	}
	code, b := e.do("POST", "/admin/v1/webhooks", map[string]any{"url": rc.URL})
	if code != 409 || !strings.Contains(string(b), "too many webhooks: a namespace holds at most 20; delete one first") {
		t.Fatalf("the 21st webhook: %d %s, want 409", code, b)
	}
	e.call("DELETE", "/admin/v1/webhooks/"+h.ID, nil, 204, nil)
	e.call("GET", "/admin/v1/webhooks/"+h.ID, nil, 404, nil)
	e.call("POST", "/admin/v1/webhooks", map[string]any{"url": rc.URL}, 201, nil) // room again

	// a reset forgets the namespace's webhooks with the rest
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	e.call("GET", "/admin/v1/webhooks", nil, 200, &list)
	if len(list.Webhooks) != 0 {
		t.Fatalf("%d webhooks after a reset", len(list.Webhooks))
	}
}

// A host given in the configuration may receive webhooks besides loopback.
func TestWebhookConfiguredHost(t *testing.T) {
	e := newEnv(t, func(e *env) {
		e.hooks = func(c *simulator.Config) { c.WebhookHosts = []string{"hooks.example"} }
	})
	h := e.registerWebhook(map[string]any{"url": "https://hooks.example/smsim"})
	if h.URL != "https://hooks.example/smsim" {
		t.Fatalf("registered %+v", h)
	}
	code, b := e.do("POST", "/admin/v1/webhooks", map[string]any{"url": "https://other.example/smsim"})
	if code != 400 || !strings.Contains(string(b), `url: host \"other.example\" is not allowed`) {
		t.Fatalf("another host: %d %s, want 400", code, b)
	}
}

// Two processes run the dispatcher of one namespace: each event is posted
// once.
func TestWebhookEachEventOnceAcrossProcesses(t *testing.T) {
	e := newEnv(t)
	other := e.newInstance()
	rc := newReceiver(t, func(int) int { return 200 })
	h := e.registerWebhook(map[string]any{"url": rc.URL, "events": []string{"clock"}})
	const n = 20
	alternately(n, e.instance, other, func(i int, in *instance) { in.advance("1m") })
	ids := map[string]bool{}
	for range n {
		p := rc.next(t)
		if ids[p.payload.Event.ID] {
			t.Fatalf("event %s posted twice", p.payload.Event.ID)
		}
		ids[p.payload.Event.ID] = true
	}
	if log := waitLog(t, e.instance, h.ID, n); len(log) != n {
		t.Fatalf("the log holds %d attempts, want %d", len(log), n)
	}
	// Every event was read by the dispatchers' group and none is pending or
	// left to retry: no post can come beyond the n made.
	ctx := context.Background()
	last, err := e.rdb.XRevRangeN(ctx, e.keys().Events(), "+", "-", 1).Result()
	if err != nil || len(last) != 1 {
		t.Fatalf("the newest event: %v %v", last, err)
	}
	groups, err := e.rdb.XInfoGroups(ctx, e.keys().Events()).Result()
	if err != nil || len(groups) != 1 {
		t.Fatalf("the dispatchers' groups: %+v %v", groups, err)
	}
	if g := groups[0]; g.Pending != 0 || g.LastDeliveredID != last[0].ID {
		t.Fatalf("group %+v, want nothing pending and everything read up to %s", g, last[0].ID)
	}
	if n, err := e.rdb.ZCard(ctx, e.keys().WebhookRetries()).Result(); err != nil || n != 0 {
		t.Fatalf("%d retries left (%v)", n, err)
	}
	if got := len(rc.Posts()); got != n {
		t.Fatalf("%d posts, want %d", got, n)
	}
}
