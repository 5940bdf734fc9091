package webhook_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/webhook"
)

type smsData struct {
	Phone string `json:"phone"`
	Code  string `json:"code"`
}

func TestPostsSignedEvent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	r := newReceiver(t, answerAll(http.StatusNoContent))
	h := e.register(t, d, webhook.Hook{URL: r.URL + "/in", Events: []string{core.KindSMSDelivered}, Secret: "s3cret"})
	eid := e.emit(t, core.KindSMSDelivered, smsData{Phone: "13800000001", Code: "123456"})

	if n := step(t, d); n != 1 {
		t.Fatalf("handled %d events, want 1", n)
	}
	posts := r.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	p := posts[0]
	did := p.header.Get(webhook.HeaderDelivery)
	if !regexp.MustCompile(`^whd_[0-9a-f]{16}$`).MatchString(did) {
		t.Fatalf("delivery id %q, want whd_ and 16 hex digits", did)
	}
	wantBody := fmt.Sprintf(`{"id":%q,"hook_id":%q,"attempt":1,"event":{"id":%q,"at":"2026-01-15T10:30:00Z","kind":"sms.delivered","ns":"default","data":{"phone":"13800000001","code":"123456"}}}`,
		did, h.ID, eid)
	if string(p.body) != wantBody {
		t.Fatalf("body\n got %s\nwant %s", p.body, wantBody)
	}
	for k, want := range map[string]string{
		"Content-Type":          "application/json",
		"User-Agent":            "smsim-webhook",
		webhook.HeaderEvent:     "sms.delivered",
		webhook.HeaderTimestamp: strconv.FormatInt(t0.Unix(), 10),
		webhook.HeaderSignature: webhook.Sign("s3cret", "1772442000", []byte(wantBody)),
		webhook.HeaderDelivery:  did,
	} {
		if got := p.header.Get(k); got != want {
			t.Errorf("header %s: %q, want %q", k, got, want)
		}
	}
	if err := webhook.Verify(h.Secret, p.header, p.body, t0.Add(10*time.Second), 0); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := webhook.Verify(h.Secret, p.header, []byte(strings.Replace(string(p.body), "123456", "654321", 1)), t0, 0); err == nil {
		t.Fatal("Verify accepted a tampered body")
	}
	if err := webhook.Verify("not the secret", p.header, p.body, t0, 0); err == nil {
		t.Fatal("Verify accepted another secret")
	}
	if err := webhook.Verify(h.Secret, p.header, p.body, t0.Add(time.Hour), 0); err == nil {
		t.Fatal("Verify accepted a post an hour old")
	}

	sameJSON(t, "log", deliveries(t, d, h.ID), []webhook.Delivery{{
		ID: did, HookID: h.ID, EventID: eid, Kind: "sms.delivered", Attempt: 1,
		Status: "delivered", StatusCode: 204, At: t0,
	}})
	if n := retryDue(t, d); n != 0 {
		t.Fatalf("RetryDue made %d attempts after a delivery, want 0", n)
	}
	if n, err := e.rdb.XPending(ctx, e.ks.Events(), webhook.Group).Result(); err != nil || n.Count != 0 {
		t.Fatalf("pending events %+v (%v), want none", n, err)
	}
}

func TestPostsOnlyLaterEventsOfSubscribedKinds(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	ra := newReceiver(t, answerAll(200))
	rb := newReceiver(t, answerAll(200))

	e.emit(t, core.KindSMSFailed, smsData{Phone: "1"}) // before any hook
	a := e.register(t, d, webhook.Hook{URL: ra.URL, Events: []string{core.KindSMSDelivered, core.KindSMSFailed}})
	e1 := e.emit(t, core.KindSMSDelivered, smsData{Phone: "2"})
	e.emit(t, core.KindSMSSent, smsData{Phone: "3"}) // a kind neither receives
	// b comes while events are waiting in the group: it gets none of them
	b := e.register(t, d, webhook.Hook{URL: rb.URL})
	e3 := e.emit(t, core.KindSMSFailed, smsData{Phone: "4"})
	e.emit(t, core.KindClock, map[string]string{"now": "later"})

	if n := step(t, d); n != 4 {
		t.Fatalf("handled %d events, want 4 (those after the first hook)", n)
	}
	ids := func(r *receiver) []string {
		var out []string
		for _, p := range r.Posts() {
			out = append(out, p.payload.Event.ID)
		}
		return out
	}
	if got, want := ids(ra), []string{e1, e3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hook a got events %v, want %v", got, want)
	}
	if got, want := ids(rb), []string{e3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hook b got events %v, want %v", got, want)
	}
	if got := len(deliveries(t, d, a.ID)); got != 2 {
		t.Fatalf("hook a logged %d attempts, want 2", got)
	}
	if got := len(deliveries(t, d, b.ID)); got != 1 {
		t.Fatalf("hook b logged %d attempts, want 1", got)
	}
}

func TestRetriesUntilDelivered(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	r := newReceiver(t, func(n int, _ webhook.Payload) int {
		if n <= 2 {
			return 500
		}
		return 200
	})
	h := e.register(t, d, webhook.Hook{URL: r.URL})
	eid := e.emit(t, core.KindValidation, map[string]string{"result": "ok"})

	step(t, d)
	if n := retryDue(t, d); n != 0 {
		t.Fatalf("RetryDue before the due time made %d attempts, want 0", n)
	}
	e.clock.Set(t0.Add(999 * time.Millisecond))
	if n := retryDue(t, d); n != 0 {
		t.Fatalf("RetryDue 1 ms before the due time made %d attempts, want 0", n)
	}
	if got := len(r.Posts()); got != 1 {
		t.Fatalf("%d posts before the first retry is due, want 1", got)
	}
	e.clock.Set(t0.Add(time.Second))
	if n := retryDue(t, d); n != 1 {
		t.Fatalf("RetryDue made %d attempts, want 1", n)
	}
	e.clock.Set(t0.Add(2 * time.Second))
	if n := retryDue(t, d); n != 0 {
		t.Fatalf("RetryDue before the second retry is due made %d attempts, want 0", n)
	}
	e.clock.Set(t0.Add(3 * time.Second))
	if n := retryDue(t, d); n != 1 {
		t.Fatalf("RetryDue made %d attempts, want 1", n)
	}
	e.clock.Set(t0.Add(time.Hour))
	if n := retryDue(t, d); n != 0 {
		t.Fatalf("RetryDue after the delivery made %d attempts, want 0", n)
	}

	posts := r.Posts()
	if len(posts) != 3 {
		t.Fatalf("%d posts, want 3", len(posts))
	}
	did := posts[0].payload.ID
	for i, p := range posts {
		if p.payload.Attempt != i+1 || p.payload.ID != did || p.header.Get(webhook.HeaderDelivery) != did {
			t.Fatalf("post %d: attempt %d, delivery %s (header %s); want attempt %d, delivery %s",
				i, p.payload.Attempt, p.payload.ID, p.header.Get(webhook.HeaderDelivery), i+1, did)
		}
		if err := webhook.Verify(h.Secret, p.header, p.body, t0.Add(3*time.Second), 0); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if got := posts[1].header.Get(webhook.HeaderTimestamp); got != strconv.FormatInt(t0.Unix()+1, 10) {
		t.Fatalf("second attempt's timestamp %s, want %d", got, t0.Unix()+1)
	}
	sameJSON(t, "log", deliveries(t, d, h.ID), []webhook.Delivery{
		{ID: did, HookID: h.ID, EventID: eid, Kind: "validation", Attempt: 3, Status: "delivered", StatusCode: 200,
			At: t0.Add(3 * time.Second)},
		{ID: did, HookID: h.ID, EventID: eid, Kind: "validation", Attempt: 2, Status: "retrying", StatusCode: 500,
			Error: "status 500", At: t0.Add(time.Second), NextAttemptAt: timeAt(t0.Add(3 * time.Second))},
		{ID: did, HookID: h.ID, EventID: eid, Kind: "validation", Attempt: 1, Status: "retrying", StatusCode: 500,
			Error: "status 500", At: t0, NextAttemptAt: timeAt(t0.Add(time.Second))},
	})
	got, err := d.Deliveries(context.Background(), h.ID, 1)
	if err != nil || len(got) != 1 || got[0].Attempt != 3 {
		t.Fatalf("Deliveries(limit 1) = %+v, %v; want the third attempt", got, err)
	}
}

func TestFailsAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{MaxAttempts: 3, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute }})
	r := newReceiver(t, answerAll(503))
	h := e.register(t, d, webhook.Hook{URL: r.URL})
	eid := e.emit(t, core.KindSMSBlocked, smsData{Phone: "13800000002"})

	step(t, d)
	e.clock.Set(t0.Add(time.Minute))
	retryDue(t, d)
	e.clock.Set(t0.Add(3 * time.Minute))
	retryDue(t, d)
	e.clock.Set(t0.Add(24 * time.Hour))
	if n := retryDue(t, d); n != 0 {
		t.Fatalf("RetryDue after the last attempt made %d attempts, want 0", n)
	}
	if got := len(r.Posts()); got != 3 {
		t.Fatalf("%d posts, want 3", got)
	}
	did := r.Posts()[0].payload.ID
	sameJSON(t, "log", deliveries(t, d, h.ID), []webhook.Delivery{
		{ID: did, HookID: h.ID, EventID: eid, Kind: "sms.blocked", Attempt: 3, Status: "failed", StatusCode: 503,
			Error: "status 503", At: t0.Add(3 * time.Minute)},
		{ID: did, HookID: h.ID, EventID: eid, Kind: "sms.blocked", Attempt: 2, Status: "retrying", StatusCode: 503,
			Error: "status 503", At: t0.Add(time.Minute), NextAttemptAt: timeAt(t0.Add(3 * time.Minute))},
		{ID: did, HookID: h.ID, EventID: eid, Kind: "sms.blocked", Attempt: 1, Status: "retrying", StatusCode: 503,
			Error: "status 503", At: t0, NextAttemptAt: timeAt(t0.Add(time.Minute))},
	})
	if n, err := e.rdb.ZCard(ctx, e.ks.WebhookRetries()).Result(); err != nil || n != 0 {
		t.Fatalf("%d retries left (%v), want none", n, err)
	}
}

func TestRedirectAndUnreachableTargetFail(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{MaxAttempts: 1})
	var followed atomic.Int32
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	goneAddr := gone.Listener.Addr().String()
	gone.Close()

	hr := e.register(t, d, webhook.Hook{URL: redirecting.URL + "/in"})
	hg := e.register(t, d, webhook.Hook{URL: "http://" + goneAddr + "/in"})
	eid := e.emit(t, core.KindSMSFailed, smsData{Phone: "13800000003"})
	step(t, d)
	if n := followed.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
	did := func(h webhook.Hook) string { return deliveries(t, d, h.ID)[0].ID }
	sameJSON(t, "log of the redirected hook", deliveries(t, d, hr.ID), []webhook.Delivery{{
		ID: did(hr), HookID: hr.ID, EventID: eid, Kind: "sms.failed", Attempt: 1, Status: "failed",
		StatusCode: 307, Error: "status 307: redirects are not followed", At: t0,
	}})
	sameJSON(t, "log of the unreachable hook", deliveries(t, d, hg.ID), []webhook.Delivery{{
		ID: did(hg), HookID: hg.ID, EventID: eid, Kind: "sms.failed", Attempt: 1, Status: "failed",
		Error: "dial tcp " + goneAddr + ": connect: connection refused", At: t0,
	}})
	if did(hr) == did(hg) {
		t.Fatalf("two hooks share delivery id %s", did(hr))
	}
}

func TestDeleteDropsLogAndRetries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	r := newReceiver(t, answerAll(500))
	gone := e.register(t, d, webhook.Hook{URL: r.URL + "/gone"})
	kept := e.register(t, d, webhook.Hook{URL: r.URL + "/kept"})
	e.emit(t, core.KindSMSFailed, smsData{Phone: "13800000004"})
	step(t, d)
	if got := len(r.Posts()); got != 2 {
		t.Fatalf("%d posts, want 2", got)
	}

	if err := d.Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	_, err := d.Deliveries(ctx, gone.ID, 0)
	wantError(t, err, 404, fmt.Sprintf("no webhook %q", gone.ID))
	if n, err := e.rdb.Exists(ctx, e.ks.WebhookLog(gone.ID), e.ks.Webhook(gone.ID)).Result(); err != nil || n != 0 {
		t.Fatalf("%d keys of the deleted hook left (%v), want none", n, err)
	}
	retries, err := e.rdb.ZRange(ctx, e.ks.WebhookRetries(), 0, -1).Result()
	if err != nil || len(retries) != 1 || !strings.HasPrefix(retries[0], kept.ID+"|") {
		t.Fatalf("retries %q (%v), want the one of %s", retries, err, kept.ID)
	}
	e.clock.Set(t0.Add(time.Hour))
	if n := retryDue(t, d); n != 1 {
		t.Fatalf("RetryDue made %d attempts, want 1 (to the hook kept)", n)
	}
	posts := r.Posts()
	if len(posts) != 3 || posts[2].payload.HookID != kept.ID {
		t.Fatalf("third post to %s, want %s", posts[len(posts)-1].payload.HookID, kept.ID)
	}
	if got := len(deliveries(t, d, kept.ID)); got != 2 {
		t.Fatalf("hook kept logged %d attempts, want 2", got)
	}
}

func TestDeleteDuringAnAttemptSchedulesNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	var h webhook.Hook
	r := newReceiver(t, func(int, webhook.Payload) int {
		if err := d.Delete(ctx, h.ID); err != nil { // deleted while its post is under way
			t.Error(err)
		}
		return 500
	})
	h = e.register(t, d, webhook.Hook{URL: r.URL})
	e.emit(t, core.KindSMSFailed, smsData{Phone: "13800000005"})
	step(t, d)
	for _, k := range []string{e.ks.WebhookRetries(), e.ks.WebhookInflight()} {
		if n, err := e.rdb.ZCard(ctx, k).Result(); err != nil || n != 0 {
			t.Fatalf("%s holds %d (%v), want nothing", k, n, err)
		}
	}
	if n, err := e.rdb.Exists(ctx, e.ks.WebhookLog(h.ID)).Result(); err != nil || n != 0 {
		t.Fatalf("log of the deleted hook exists (%v)", err)
	}
}

func TestTwoDispatchersPostEachEventOnce(t *testing.T) {
	const events = 60
	e := newEnv(t)
	r := newReceiver(t, answerAll(200))
	first := e.dispatcher(t, webhook.Config{})
	e.register(t, first, webhook.Hook{URL: r.URL, Events: []string{core.KindSMSDelivered}})
	ds := []*webhook.Dispatcher{first, e.dispatcher(t, webhook.Config{})}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var handled atomic.Int64
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() {
			for handled.Load() < events && ctx.Err() == nil {
				n, err := d.Step(ctx, 20*time.Millisecond)
				if err != nil {
					if ctx.Err() == nil {
						t.Error(err)
					}
					return
				}
				handled.Add(int64(n))
			}
		})
	}
	for i := range events {
		e.emit(t, core.KindSMSDelivered, smsData{Phone: fmt.Sprintf("138%08d", i)})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("handled %d of %d events before the deadline", handled.Load(), events)
	}
	if n := handled.Load(); n != events {
		t.Fatalf("handled %d events, want %d", n, events)
	}
	count := map[string]int{}
	for _, p := range r.Posts() {
		count[p.payload.Event.ID]++
	}
	if len(count) != events || len(r.Posts()) != events {
		t.Fatalf("%d posts of %d events, want %d of %d", len(r.Posts()), len(count), events, events)
	}
	for id, n := range count {
		if n != 1 {
			t.Fatalf("event %s posted %d times", id, n)
		}
	}
}

func TestTwoDispatchersMakeEachRetryOnce(t *testing.T) {
	const events = 30
	e := newEnv(t)
	r := newReceiver(t, func(_ int, p webhook.Payload) int {
		if p.Attempt == 1 {
			return 502
		}
		return 200
	})
	a := e.dispatcher(t, webhook.Config{})
	b := e.dispatcher(t, webhook.Config{})
	e.register(t, a, webhook.Hook{URL: r.URL})
	for i := range events {
		e.emit(t, core.KindSMSFailed, smsData{Phone: fmt.Sprintf("139%08d", i)})
	}
	if n := step(t, a); n != events {
		t.Fatalf("handled %d events, want %d", n, events)
	}
	e.clock.Set(t0.Add(time.Second))
	var made atomic.Int64
	var wg sync.WaitGroup
	for _, d := range []*webhook.Dispatcher{a, b} {
		wg.Go(func() {
			n, err := d.RetryDue(context.Background())
			if err != nil {
				t.Error(err)
			}
			made.Add(int64(n))
		})
	}
	wg.Wait()
	if n := made.Load(); n != events {
		t.Fatalf("made %d retries, want %d", n, events)
	}
	second := map[string]int{}
	for _, p := range r.Posts() {
		if p.payload.Attempt == 2 {
			second[p.payload.ID]++
		}
	}
	if len(second) != events {
		t.Fatalf("second attempts of %d deliveries, want %d", len(second), events)
	}
	for id, n := range second {
		if n != 1 {
			t.Fatalf("second attempt of %s made %d times", id, n)
		}
	}
}

func TestTakesOverEventsOfADeadDispatcher(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := newReceiver(t, answerAll(200))
	patient := e.dispatcher(t, webhook.Config{})
	e.register(t, patient, webhook.Hook{URL: r.URL})
	eid := e.emit(t, core.KindSMSDelivered, smsData{Phone: "13800000006"})

	// a dispatcher reads the event and dies before acknowledging it
	res, err := e.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: webhook.Group, Consumer: "dead", Streams: []string{e.ks.Events(), ">"}, Count: 10, Block: -1,
	}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 || res[0].Messages[0].ID != eid {
		t.Fatalf("the dead dispatcher read %+v (%v), want event %s", res, err, eid)
	}
	if n := step(t, patient); n != 0 {
		t.Fatalf("a dispatcher took over %d events not idle for 30 s, want 0", n)
	}

	quick := e.dispatcher(t, webhook.Config{ReclaimAfter: time.Millisecond})
	time.Sleep(5 * time.Millisecond) // the event idles past quick's ReclaimAfter
	if n := step(t, quick); n != 1 {
		t.Fatalf("took over %d events, want 1", n)
	}
	posts := r.Posts()
	if len(posts) != 1 || posts[0].payload.Event.ID != eid {
		t.Fatalf("%d posts, want 1 of event %s", len(posts), eid)
	}
	if p, err := e.rdb.XPending(ctx, e.ks.Events(), webhook.Group).Result(); err != nil || p.Count != 0 {
		t.Fatalf("pending %+v (%v), want none", p, err)
	}
	if n := step(t, quick); n != 0 {
		t.Fatalf("handled %d more events, want 0", n)
	}
}

func TestRunDeliversAndLeaves(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, answerAll(200))
	d := e.dispatcher(t, webhook.Config{Now: time.Now})
	h := e.register(t, d, webhook.Hook{URL: r.URL})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	eid := e.emit(t, core.KindValidation, map[string]string{"result": "ok"})
	// wait until the post is logged and the event acknowledged
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p, err := e.rdb.XPending(ctx, e.ks.Events(), webhook.Group).Result()
		if err != nil {
			t.Fatal(err)
		}
		if p.Count == 0 && len(deliveries(t, d, h.ID)) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	posts := r.Posts()
	if len(posts) != 1 || posts[0].payload.Event.ID != eid {
		t.Fatalf("%d posts, want 1 of event %s", len(posts), eid)
	}
	cs, err := e.rdb.XInfoConsumers(context.Background(), e.ks.Events(), webhook.Group).Result()
	if err != nil || len(cs) != 0 {
		t.Fatalf("consumers left in the group: %+v (%v), want none", cs, err)
	}
}

func TestStepAfterTheLogIsDeleted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := newReceiver(t, answerAll(200))
	d := e.dispatcher(t, webhook.Config{})
	e.register(t, d, webhook.Hook{URL: r.URL})
	if err := e.rdb.Del(ctx, e.ks.Events()).Err(); err != nil { // the group goes with it
		t.Fatal(err)
	}
	if n := step(t, d); n != 0 {
		t.Fatalf("handled %d events, want 0", n)
	}
	eid := e.emit(t, core.KindSMSFailed, smsData{Phone: "13800000007"})
	if n := step(t, d); n != 1 {
		t.Fatalf("handled %d events, want 1", n)
	}
	if posts := r.Posts(); len(posts) != 1 || posts[0].payload.Event.ID != eid {
		t.Fatalf("%d posts, want 1 of event %s", len(posts), eid)
	}
}

func TestFirstHookStartsAtTheEndOfTheLog(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := newReceiver(t, answerAll(200))
	d := e.dispatcher(t, webhook.Config{})
	old := e.register(t, d, webhook.Hook{URL: r.URL})
	if err := d.Delete(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	for range 5 { // while no hook is registered, nobody reads the log
		e.emit(t, core.KindSMSFailed, smsData{Phone: "13800000008"})
	}
	e.register(t, d, webhook.Hook{URL: r.URL})
	eid := e.emit(t, core.KindSMSFailed, smsData{Phone: "13800000009"})
	if n := step(t, d); n != 1 {
		t.Fatalf("read %d events, want 1 (the group starts again at the end of the log)", n)
	}
	if posts := r.Posts(); len(posts) != 1 || posts[0].payload.Event.ID != eid {
		t.Fatalf("%d posts, want 1 of event %s", len(posts), eid)
	}
}

// The dispatchers of many namespaces given one Network post through one
// client: a receiver that both namespaces' hooks name sees their posts on
// one connection. Dispatchers with a network each open one each.
func TestNamespacesShareTheNetworksConnections(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared bool
		conns  int64
	}{
		{"one network", true, 1},
		{"a network each", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()

			e := newEnv(t)
			var network *webhook.Network
			if tc.shared {
				network = webhook.NewNetwork(webhook.Config{})
			}
			for _, ns := range []string{"alpha", "beta"} {
				ks := core.Keyspace{Prefix: e.srv.Prefix, Namespace: ns}
				d := webhook.New(webhook.Config{Redis: e.rdb, Keyspace: ks, Network: network, Now: e.clock.Now})
				e.register(t, d, webhook.Hook{URL: srv.URL, Events: []string{core.KindSMSDelivered}})
				if _, err := core.NewEventLog(e.rdb, ks).Write(context.Background(), simAt, core.KindSMSDelivered, smsData{Phone: "13800000001"}); err != nil {
					t.Fatal(err)
				}
				if n := step(t, d); n != 1 {
					t.Fatalf("namespace %s: %d events posted, want 1", ns, n)
				}
			}
			if n := conns.Load(); n != tc.conns {
				t.Errorf("%d connections for the two namespaces' posts, want %d", n, tc.conns)
			}
		})
	}
}

// Once Delete has answered, no post to the hook begins, also for the
// events of a batch the dispatcher read before; the other hooks get all.
func TestDeletedHookGetsNoMorePosts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	var gone webhook.Hook
	deleted := newReceiver(t, func(n int, _ webhook.Payload) int {
		if n == 1 {
			if err := d.Delete(ctx, gone.ID); err != nil { // while the batch is under way
				t.Error(err)
			}
		}
		return 200
	})
	kept := newReceiver(t, answerAll(200))
	gone = e.register(t, d, webhook.Hook{URL: deleted.URL, Events: []string{core.KindSMSDelivered}})
	e.register(t, d, webhook.Hook{URL: kept.URL, Events: []string{core.KindSMSDelivered}})
	for i := range 3 {
		e.emit(t, core.KindSMSDelivered, smsData{Phone: fmt.Sprintf("1380000001%d", i)})
	}
	if n := step(t, d); n != 3 {
		t.Fatalf("handled %d events, want 3", n)
	}
	if got, want := len(deleted.Posts()), 1; got != want {
		t.Errorf("the hook deleted during its first post got %d posts, want %d", got, want)
	}
	if got := len(kept.Posts()); got != 3 {
		t.Errorf("the other hook got %d posts, want 3", got)
	}
}

// A dispatcher that stops with a post under way finishes it, records it
// and acknowledges its event, and hands back the events it had not begun:
// the dispatcher that takes over posts nothing twice, and at once.
func TestStopFinishesThePostsUnderWay(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	e := newEnv(t)
	posting := make(chan struct{})
	r, letPostEnd := holdingReceiver(t, func(n int) bool {
		if n == 1 {
			close(posting) // the dispatcher stops meanwhile
		}
		return n == 1
	})
	d := e.dispatcher(t, webhook.Config{})
	h := e.register(t, d, webhook.Hook{URL: r.URL})
	e.emit(t, core.KindSMSDelivered, smsData{Phone: "13800000020"})
	e.emit(t, core.KindSMSDelivered, smsData{Phone: "13800000021"})
	done := make(chan error, 1)
	go func() {
		_, err := d.Step(ctx, 0)
		done <- err
	}()
	<-posting
	stop()
	letPostEnd()
	if err := <-done; err == nil {
		t.Fatal("a Step stopped before its second event answered no error")
	}
	if ds := deliveries(t, d, h.ID); len(ds) != 1 || ds[0].Status != webhook.StatusDelivered {
		t.Fatalf("the post under way at the stop was logged %+v, want delivered", ds)
	}
	// the event left was handed back: the next dispatcher takes it at once,
	// not after the 30 s it waits for a dead one's
	next := e.dispatcher(t, webhook.Config{})
	if n := step(t, next); n != 1 {
		t.Fatalf("the next dispatcher handled %d events, want the one left", n)
	}
	if got := len(r.Posts()); got != 2 {
		t.Fatalf("%d posts, want 2: each event once", got)
	}
}

// The wait before a retry counts from the end of the failed attempt: a
// target slow to fail gets its whole wait.
func TestRetryWaitsFromTheEndOfTheAttempt(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, func(int, webhook.Payload) int {
		e.clock.Add(300 * time.Millisecond) // a target slow to fail
		return 500
	})
	d := e.dispatcher(t, webhook.Config{Backoff: func(int) time.Duration { return time.Second }})
	h := e.register(t, d, webhook.Hook{URL: r.URL})
	e.emit(t, core.KindSMSFailed, smsData{Phone: "13800000022"})
	step(t, d)
	ds := deliveries(t, d, h.ID)
	if len(ds) != 1 || ds[0].NextAttemptAt == nil {
		t.Fatalf("log %+v, want one attempt, retrying", ds)
	}
	if wait := ds[0].NextAttemptAt.Sub(ds[0].At); wait < 1300*time.Millisecond {
		t.Fatalf("the next attempt is due %s after the start of one that took 300 ms, want 1 s after its end", wait)
	}
}

// A dispatcher that stops while making a batch of retries finishes those
// it began and puts the others back at once, due, for another to make:
// none waits out the lease, none is lost.
func TestStopPutsBackTheRetriesNotBegun(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	e := newEnv(t)
	var once sync.Once
	r := newReceiver(t, func(int, webhook.Payload) int {
		once.Do(stop) // the process stops as its first retry is posted
		time.Sleep(50 * time.Millisecond)
		return 200
	})
	d := e.dispatcher(t, webhook.Config{})
	h := e.register(t, d, webhook.Hook{URL: r.URL})
	const retries = 30
	for i := range retries {
		ev := fmt.Sprintf(`{"id":"1-%d","at":"2026-03-02T09:00:00Z","kind":"sms.failed","ns":"default","data":{}}`, i)
		m := fmt.Sprintf("%s|whd_%d|2|%s", h.ID, i, ev)
		e.rdb.ZAdd(context.Background(), e.ks.WebhookRetries(), redis.Z{Score: float64(t0.UnixMilli()), Member: m})
	}
	if _, err := d.RetryDue(ctx); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	posted := len(r.Posts())
	left, _ := e.rdb.ZCard(context.Background(), e.ks.WebhookRetries()).Result()
	flying, _ := e.rdb.ZCard(context.Background(), e.ks.WebhookInflight()).Result()
	if posted == 0 || posted >= retries || int(left) != retries-posted || flying != 0 {
		t.Fatalf("%d posted, %d due again, %d claimed: want those begun posted and the rest due again", posted, left, flying)
	}
}

// A target slow to answer holds the other hooks' posts back only for the
// dispatcher's first wait an event, not for its own timeout: Step goes on
// without its first attempts, which finish on their own, each with a
// stand-in retry in the retry set meanwhile (due once the attempt must
// have ended, should the process die), removed as the attempt records its
// outcome.
func TestASlowTargetHoldsTheOthersBackOnlyForTheFirstWait(t *testing.T) {
	e := newEnv(t)
	slow, answerSlow := holdingReceiver(t, func(int) bool { return true })
	fast := newReceiver(t, answerAll(http.StatusOK))
	d := e.dispatcher(t, webhook.Config{FirstWait: 20 * time.Millisecond})
	s := e.register(t, d, webhook.Hook{URL: slow.URL, Events: []string{core.KindSMSDelivered}})
	f := e.register(t, d, webhook.Hook{URL: fast.URL, Events: []string{core.KindSMSDelivered}})
	var ids []string
	for i := range 3 {
		ids = append(ids, e.emit(t, core.KindSMSDelivered, map[string]any{"n": i}))
	}
	start := time.Now()
	if n := step(t, d); n != 3 {
		t.Fatalf("Step handled %d events, want 3", n)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("three events took %s beside a target that does not answer", took)
	}
	// Step waits for an event's posts no longer than the first wait: the
	// fast target's may still be on their way, while the slow one holds
	testkit.WaitFor(t, "the fast target's posts", func() bool { return len(fast.Posts()) >= 3 })
	if got := len(fast.Posts()); got != 3 {
		t.Fatalf("the fast target got %d posts, want 3", got)
	}
	// a fast attempt gone on without has a stand-in too, until it records
	// its outcome: what is left is one stand-in a slow attempt
	var standIns []redis.Z
	testkit.WaitFor(t, "one stand-in a slow attempt", func() bool {
		var err error
		standIns, err = e.rdb.ZRangeWithScores(context.Background(), e.ks.WebhookRetries(), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		slowOnes := slices.IndexFunc(standIns, func(z redis.Z) bool { return !strings.HasPrefix(z.Member.(string), s.ID+"|") }) < 0
		return len(standIns) == 3 && slowOnes
	})
	if due := time.UnixMilli(int64(standIns[0].Score)); due.Before(e.clock.Now().Add(30 * time.Second)) {
		t.Fatalf("a stand-in due at %s, want after the attempt's timeout", due)
	}
	answerSlow()
	d.Wait()
	if n, err := e.rdb.ZCard(context.Background(), e.ks.WebhookRetries()).Result(); err != nil || n != 0 {
		t.Fatalf("%d retries left once the slow attempts ended (%v), want none", n, err)
	}
	for _, h := range []webhook.Hook{s, f} {
		ds := deliveries(t, d, h.ID)
		if len(ds) != 3 {
			t.Fatalf("hook %s: %d deliveries logged, want 3", h.URL, len(ds))
		}
		for _, x := range ds {
			if x.Status != webhook.StatusDelivered || x.Attempt != 1 || !slices.Contains(ids, x.EventID) {
				t.Fatalf("hook %s: %+v, want each event delivered at its first attempt", h.URL, x)
			}
		}
	}
}

// A target slow to answer holds up its own retries, not the other hooks':
// a hook has at most its share of retries under way at once, the claim
// passes over the rest of its retries for the others' behind them, and
// RetryDue goes on without its attempts once the first wait is over. The
// slow hook's retries left due are made once its target answers again.
func TestASlowTargetHoldsUpOnlyItsOwnRetries(t *testing.T) {
	e := newEnv(t)
	var arrived atomic.Int64
	slow, answerSlow := holdingReceiver(t, func(int) bool {
		arrived.Add(1)
		return true
	})
	fast := newReceiver(t, answerAll(http.StatusOK))
	d := e.dispatcher(t, webhook.Config{FirstWait: 20 * time.Millisecond})
	s := e.register(t, d, webhook.Hook{URL: slow.URL})
	f := e.register(t, d, webhook.Hook{URL: fast.URL})
	const slowRetries, fastRetries, share = 12, 5, 8
	due := func(h webhook.Hook, n int, at time.Time) {
		for i := range n {
			ev := fmt.Sprintf(`{"id":"1-%d","at":"2026-03-02T09:00:00Z","kind":"sms.failed","ns":"default","data":{}}`, i)
			m := fmt.Sprintf("%s|whd_%s_%d|2|%s", h.ID, h.ID, i, ev)
			if err := e.rdb.ZAdd(context.Background(), e.ks.WebhookRetries(), redis.Z{Score: float64(at.UnixMilli()), Member: m}).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	due(s, slowRetries, t0.Add(-time.Minute)) // the slow hook's come first
	due(f, fastRetries, t0)
	made := make(chan int, 1)
	go func() { made <- retryDue(t, d) }()
	select {
	case n := <-made:
		if n != share+fastRetries {
			t.Errorf("RetryDue began %d attempts, want %d: the slow hook's share and every fast one", n, share+fastRetries)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RetryDue waited on a target that does not answer")
	}
	// RetryDue waits for its attempts no longer than the first wait: the
	// fast target's may still be on their way, while the slow one holds
	testkit.WaitFor(t, "the fast target's posts", func() bool { return len(fast.Posts()) >= fastRetries })
	if got := len(fast.Posts()); got != fastRetries {
		t.Errorf("the fast target got %d posts, want %d", got, fastRetries)
	}
	left, err := e.rdb.ZCard(context.Background(), e.ks.WebhookRetries()).Result()
	if err != nil || left != slowRetries-share {
		t.Errorf("%d retries still due (%v), want the slow hook's %d beyond its share", left, err, slowRetries-share)
	}
	if n := retryDue(t, d); n != 0 {
		t.Errorf("RetryDue began %d more attempts while the slow hook has its share under way, want 0", n)
	}
	answerSlow()
	d.Wait()
	if n := retryDue(t, d); n != slowRetries-share {
		t.Errorf("RetryDue began %d attempts once the slow target answered, want %d", n, slowRetries-share)
	}
	d.Wait()
	if got := arrived.Load(); got != slowRetries {
		t.Errorf("the slow target got %d posts, want %d", got, slowRetries)
	}
	for _, c := range []struct {
		h    webhook.Hook
		want int
	}{{s, slowRetries}, {f, fastRetries}} {
		ds := deliveries(t, d, c.h.ID)
		if len(ds) != c.want {
			t.Fatalf("hook %s: %d deliveries logged, want %d", c.h.URL, len(ds), c.want)
		}
		for _, x := range ds {
			if x.Status != webhook.StatusDelivered || x.Attempt != 2 {
				t.Fatalf("hook %s: %+v, want each retry delivered at its second attempt", c.h.URL, x)
			}
		}
	}
	for _, k := range []string{e.ks.WebhookRetries(), e.ks.WebhookInflight()} {
		if n, err := e.rdb.ZCard(context.Background(), k).Result(); err != nil || n != 0 {
			t.Errorf("%s holds %d (%v), want nothing left", k, n, err)
		}
	}
}
