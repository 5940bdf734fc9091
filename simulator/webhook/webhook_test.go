package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/webhook"
)

// t0 is the real time the tests start at; simAt the simulated time of
// their events.
var (
	t0    = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	simAt = time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
)

type env struct {
	srv    *testkit.Redis
	ks     core.Keyspace
	rdb    redis.UniversalClient
	events *core.EventLog
	clock  *testkit.Clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testkit.StartRedis(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	rdb := srv.Client(t)
	return &env{srv: srv, ks: ks, rdb: rdb, events: core.NewEventLog(rdb, ks), clock: testkit.NewClock(t0)}
}

// dispatcher returns a dispatcher on a client of its own, as another process
// would have, on the env's clock unless c sets one.
func (e *env) dispatcher(t *testing.T, c webhook.Config) *webhook.Dispatcher {
	t.Helper()
	c.Redis = e.srv.Client(t)
	c.Keyspace = e.ks
	if c.Now == nil {
		c.Now = e.clock.Now
	}
	return webhook.New(c)
}

// emit appends an event to the log and answers its id.
func (e *env) emit(t *testing.T, kind string, data any) string {
	t.Helper()
	id, err := e.events.Write(context.Background(), simAt, kind, data)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) register(t *testing.T, d *webhook.Dispatcher, h webhook.Hook) webhook.Hook {
	t.Helper()
	h, err := d.Register(context.Background(), h)
	if err != nil {
		t.Fatalf("register %s: %v", h.URL, err)
	}
	return h
}

// step runs d.Step until it finds no event and answers how many it handled.
func step(t *testing.T, d *webhook.Dispatcher) int {
	t.Helper()
	total := 0
	for {
		n, err := d.Step(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

func retryDue(t *testing.T, d *webhook.Dispatcher) int {
	t.Helper()
	n, err := d.RetryDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func deliveries(t *testing.T, d *webhook.Dispatcher, id string) []webhook.Delivery {
	t.Helper()
	ds, err := d.Deliveries(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ds {
		ds[i].DurationMS = 0 // measured, not chosen
	}
	return ds
}

// receiver is a webhook target that keeps what it is sent and answers post
// n (1-based) with the status answer(n, payload).
type receiver struct{ *testkit.Receiver }

type post struct {
	header  http.Header
	body    []byte
	payload webhook.Payload
}

func newReceiver(t *testing.T, answer func(n int, p webhook.Payload) int) *receiver {
	t.Helper()
	return &receiver{testkit.NewReceiver(t, func(n int, body []byte) int {
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			return http.StatusBadRequest
		}
		return answer(n, p)
	})}
}

// holdingReceiver starts a receiver that answers 200, holding each post n
// for which hold(n) is true until open is called: by the test, or at its
// end, before the receiver closes, so that a failing test ends.
func holdingReceiver(t *testing.T, hold func(n int) bool) (r *receiver, open func()) {
	t.Helper()
	gate := make(chan struct{})
	var once sync.Once
	open = func() { once.Do(func() { close(gate) }) }
	r = newReceiver(t, func(n int, _ webhook.Payload) int {
		if hold(n) {
			<-gate
		}
		return http.StatusOK
	})
	t.Cleanup(open)
	return r, open
}

func answerAll(code int) func(int, webhook.Payload) int {
	return func(int, webhook.Payload) int { return code }
}

// Posts answers the posts so far, decoded.
func (r *receiver) Posts() []post {
	var out []post
	for _, p := range r.Receiver.Posts() {
		var payload webhook.Payload
		json.Unmarshal(p.Body, &payload)
		out = append(out, post{header: p.Header, body: p.Body, payload: payload})
	}
	return out
}

// wantError checks that err is a *core.Error with code and detail.
func wantError(t *testing.T, err error, code int, detail string) {
	t.Helper()
	var se *core.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want a *core.Error %d %q", err, err, code, detail)
	}
	if se.Code != code || se.Detail != detail {
		t.Fatalf("error %d %q\nwant  %d %q", se.Code, se.Detail, code, detail)
	}
}

// sameJSON checks that got and want marshal alike.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func timeAt(t time.Time) *time.Time { return &t }
