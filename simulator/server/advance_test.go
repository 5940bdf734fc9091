package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"
	"smsim/simulator/server/openapitest"
)

// advanceWithKey posts an advance with an Idempotency-Key header and
// answers its status and body.
func (in *instance) advanceWithKey(by, key string) (int, []byte) {
	in.t.Helper()
	return in.advanceBodyWithKey(`{"by": "`+by+`"}`, key)
}

// advanceBodyWithKey posts an advance of body under an Idempotency-Key.
func (in *instance) advanceBodyWithKey(body, key string) (int, []byte) {
	in.t.Helper()
	req, err := http.NewRequest("POST", in.url+"/admin/v1/clock/advance", strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := (&http.Client{Transport: openapitest.Transport(in.t, nil)}).Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// A retried advance with the same Idempotency-Key moves nothing and
// answers as the first did; another key moves the clock again; the first
// key, given again later, is still answered as its advance was (the API
// keeps every POST's answer under its key); a key that is no key is a 400.
func TestAdvanceIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("k", 256)
	for _, c := range []struct {
		key, want string
		code      int
	}{
		{"k-1", `{"now":"2026-05-01T01:00:00Z","scale":1,"paused":true}`, 200},
		{"k-1", `{"now":"2026-05-01T01:00:00Z","scale":1,"paused":true}`, 200},
		{"k-2", `{"now":"2026-05-01T02:00:00Z","scale":1,"paused":true}`, 200},
		{"k-1", `{"now":"2026-05-01T01:00:00Z","scale":1,"paused":true}`, 200},
		{"k-3", `{"now":"2026-05-01T03:00:00Z","scale":1,"paused":true}`, 200},
		{long, `Idempotency-Key: must be 1 to 255 printable ASCII characters, no spaces, got "` + long + `"`, 400},
		{"two words", `Idempotency-Key: must be 1 to 255 printable ASCII characters, no spaces, got "two words"`, 400},
	} {
		code, b := e.advanceWithKey("1h", c.key)
		got := strings.TrimSpace(string(b))
		if code == 400 {
			var p server.Problem
			json.Unmarshal(b, &p)
			got = p.Detail
		}
		if code != c.code || got != c.want {
			t.Errorf("advance 1h with key %.20q: %d %s, want %d %s", c.key, code, got, c.code, c.want)
		}
	}
	if now := e.now(); !now.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("clock %s, want +3h", now)
	}
	clocks := 0
	for _, ev := range e.events("0").Events {
		if ev.Kind == core.KindClock {
			clocks++
		}
	}
	if clocks != 3 {
		t.Errorf("%d clock events, want 3: a replay moves nothing", clocks)
	}
}

// A retry of an advance to a time, or to the next job, is answered as the
// advance was, also when the API's record of its answer is gone (its
// process died before it recorded it): on a running clock the time is past
// by then, and the job carried out.
func TestAdvanceToOrNextRetriedIsAnsweredAsItWas(t *testing.T) {
	e := newEnv(t)
	e.fixedLags("30m", "1m")
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000081")})
	e.call("PUT", "/admin/v1/clock", `{"paused":false,"scale":1}`, 200, nil)
	to := fmt.Sprintf(`{"to": %q}`, t0.Add(10*time.Minute).Format(time.RFC3339))
	for _, c := range []struct{ key, body string }{{"to-1", to}, {"next-1", `{"next": true, "kind": "miit.sync"}`}} {
		code, first := e.advanceBodyWithKey(c.body, c.key)
		if code != 200 {
			t.Fatalf("advance %s: %d %s", c.body, code, first)
		}
		// the process that served it died before the API recorded its answer
		if err := e.rdb.Del(context.Background(), e.keys().Answer(c.key)).Err(); err != nil {
			t.Fatal(err)
		}
		if code, again := e.advanceBodyWithKey(c.body, c.key); code != 200 || string(again) != string(first) {
			t.Errorf("retried advance %s: %d %s, want 200 %s", c.body, code, again, first)
		}
	}
}

// The events that fail for good are listed, newest first, with what they
// failed with; the others are carried out.
func TestDeadJobs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var list struct {
		Jobs  []core.DeadJob `json:"jobs"`
		Total int            `json:"total"`
	}
	e.call("GET", "/admin/v1/dead-jobs", nil, 200, &list)
	if list.Total != 0 || len(list.Jobs) != 0 {
		t.Fatalf("dead jobs at the start: %+v", list)
	}
	e.fixedLags("30m", "1m")
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000071")})
	due := e.keys().SchedDue()
	for _, m := range []string{"x|soon|miit.sync", "999999999998|1777593660000|miit.sync|" + v.ID + "|extra"} {
		if err := e.rdb.ZAdd(ctx, due, redis.Z{Score: float64(t0.Add(time.Minute).UnixMilli()), Member: m}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	e.advance("1h")
	if s := e.miitView(v.ID).Status; s != "pending_validation" {
		t.Fatalf("the order is %s, want pending_validation: the others go on", s)
	}
	e.call("GET", "/admin/v1/dead-jobs", nil, 200, &list)
	var got []string
	for _, d := range list.Jobs {
		due := "-"
		if d.Due != nil {
			due = d.Due.Format(time.RFC3339)
		}
		got = append(got, fmt.Sprintf("%q %q %s %q: %s", d.Job, d.Kind, due, d.Args, d.Error))
	}
	want := []string{ // newest first: of two due at once, the set orders them by stored form
		`"x|soon|miit.sync" "" - []: malformed job "x|soon|miit.sync": due: strconv.ParseInt: parsing "soon": invalid syntax`,
		`"999999999998|1777593660000|miit.sync|` + v.ID + `|extra" "miit.sync" 2026-05-01T00:01:00Z ["` + v.ID + `" "extra"]: ` +
			`malformed job miit.sync #999999999998 due 2026-05-01T00:01:00Z [` + v.ID + ` extra]: argument 2, "extra", is not a mobile number`,
	}
	if list.Total != 2 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dead jobs (%d):\n%s\nwant (2):\n%s", list.Total, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e.call("GET", "/admin/v1/dead-jobs?limit=1", nil, 200, &list)
	if list.Total != 2 || len(list.Jobs) != 1 || list.Jobs[0].Job != "x|soon|miit.sync" {
		t.Errorf("limit=1: %+v", list)
	}
	code, b := e.do("GET", "/admin/v1/dead-jobs?limit=0", nil)
	var p server.Problem
	json.Unmarshal(b, &p)
	if code != 400 || p.Detail != `limit: must be a whole number from 1 to 1000, got "0"` {
		t.Errorf("limit=0: %d %+v", code, p)
	}
	// another namespace has none
	e.in("other").call("GET", "/admin/v1/dead-jobs", nil, 200, &list)
	if list.Total != 0 || len(list.Jobs) != 0 {
		t.Errorf("dead jobs of another namespace: %+v", list)
	}
}

// The environment of a test's own smsim process (serveForTest).
const (
	serveEnv       = "SMSIM_TEST_SERVE"       // the key prefix
	serveStartEnv  = "SMSIM_TEST_SERVE_START" // the clock's start, RFC 3339
	serveLeaseEnv  = "SMSIM_TEST_SERVE_LEASE" // the scheduler's lease
	serveListening = "listening on "          // the first line it writes
)

// serveForTest runs the test binary as an smsim process on the real Redis
// of SMSIM_TEST_REDIS_URL, its clock paused at a start, until it is killed;
// it writes the address it listens on as its first line.
func serveForTest() int {
	rdb, err := core.OpenStore(os.Getenv(testkit.EnvURL), testkit.StoreTimeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	start, err1 := time.Parse(time.RFC3339, os.Getenv(serveStartEnv))
	lease, err2 := time.ParseDuration(os.Getenv(serveLeaseEnv))
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, err1, err2)
		return 2
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := simulator.New(ctx, simulator.Config{Redis: rdb, KeyPrefix: os.Getenv(serveEnv), Log: log,
		ClockStart: core.ClockStart{At: start, Paused: true}, Scheduler: core.SchedulerOptions{Lease: lease}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := w.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s%s\n", serveListening, l.Addr())
	return map[bool]int{true: 0, false: 1}[http.Serve(l, server.New(w, server.Config{Log: log}).Routes()) == nil]
}

// process is a test's own smsim process.
type process struct {
	cmd *exec.Cmd
	url string
}

// startProcess starts the test binary as an smsim process on the test's
// real Redis and key prefix.
func startProcess(t *testing.T, r *testkit.Redis, lease time.Duration) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+r.Prefix, serveStartEnv+"="+t0.Format(time.RFC3339), serveLeaseEnv+"="+lease.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd}
	t.Cleanup(p.kill)
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), serveListening)
	if err != nil || !ok {
		t.Fatalf("the smsim process wrote %q (%v), want its address", line, err)
	}
	p.url = "http://" + addr
	return p
}

// kill ends the process at once, as kill -9 does.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// as answers an instance that speaks to the process, for the test helpers.
func (p *process) as(t *testing.T, rdb redis.UniversalClient) *instance {
	return &instance{t: t, url: p.url, rdb: rdb}
}

// A process killed (kill -9) in the middle of a 24-hour advance on a paused
// clock leaves the clock at its target and most of what fell due undone.
// A new process finishes the advance: every due event is carried out
// exactly once, and the client's retry with the same Idempotency-Key does
// not move the clock again.
func TestKilledAdvanceIsFinishedByTheNextProcess(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("needs a real Redis that outlives the smsim process the test kills (the embedded store dies with it): set " + testkit.EnvURL)
	}
	const orders = 300
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	ks := core.Keyspace{Prefix: r.Prefix, Namespace: core.DefaultNamespace}
	const lease = 2 * time.Second
	a := startProcess(t, r, lease)
	in := a.as(t, rdb)
	// syncs spread over the day, and every message delayed: ~1,500 events
	// fall due in the advance (300 syncs, 600 codes, their 600 deliveries,
	// besides the 600 notices' deliveries pending from the start)
	in.patchFaults(`{"sync_lag": {"min": "1m", "max": "23h"}, "sms_delay": {"min": "1s", "max": "10s"}}`)
	ids := make([]string, orders)
	phone := func(i, role int) string { return fmt.Sprintf("1380000%04d", 2*i+role) }
	for i := range ids {
		ids[i] = in.submit(miit.SubmitRequest{Type: "first_filing", Variant: "website",
			EntityLeader: &miit.Person{Name: "Li Lei", Phone: phone(i, 0), CertificateNumber: leaderCert},
			WebsiteAdmin: &miit.Person{Name: "Han Meimei", Phone: phone(i, 1), CertificateNumber: adminCert}}).ID
	}
	pending, err := rdb.ZCard(ctx, ks.SchedDue()).Result()
	if err != nil || pending != 3*orders {
		t.Fatalf("%d events pending (%v), want %d", pending, err, 3*orders)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the client whose answer never comes
		defer wg.Done()
		req, _ := http.NewRequest("POST", a.url+"/admin/v1/clock/advance", strings.NewReader(`{"by": "24h"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "day-1")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	synced := func() int {
		n, _ := rdb.HGet(ctx, ks.FilingsByStatus(), miit.StatusPendingValidation).Int()
		return n
	}
	testkit.WaitFor(t, "the advance under way", func() bool { return synced() >= 10 })
	a.kill()
	wg.Wait()
	if n := synced(); n >= orders {
		t.Fatalf("all %d orders synced before the kill: the test needs more of them", n)
	}
	if to, err := rdb.HGet(ctx, ks.Clock(), "advance_to").Result(); err != nil || to != strconv.FormatInt(t0.Add(24*time.Hour).UnixMilli(), 10) {
		t.Fatalf("the unfinished advance's target: %q (%v), want +24h", to, err)
	}
	t.Logf("killed with %d of %d orders synced", synced(), orders)

	b := startProcess(t, r, lease)
	in = b.as(t, rdb)
	for range 2 { // the client retries, twice
		code, body := in.advanceWithKey("24h", "day-1")
		if want := `{"now":"2026-05-02T00:00:00Z","scale":1,"paused":true}`; code != 200 || strings.TrimSpace(string(body)) != want {
			t.Fatalf("retried advance: %d %s, want 200 %s", code, body, want)
		}
	}
	if now := in.now(); !now.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("clock %s, want +24h", now)
	}
	for i, id := range ids {
		if s := in.miitView(id).Status; s != "pending_validation" {
			t.Errorf("order %s at MIIT: %s, want pending_validation", id, s)
		}
		for role := range 2 {
			var codes, notices int
			for _, m := range in.inbox(phone(i, role)) {
				switch m.Sender {
				case "12381":
					codes++
				case "95187":
					notices++
				}
			}
			if codes != 1 || notices != 1 {
				t.Errorf("phone %s: %d codes and %d notices, want one each", phone(i, role), codes, notices)
			}
		}
	}
	due, _ := rdb.ZCount(ctx, ks.SchedDue(), "-inf", strconv.FormatInt(t0.Add(24*time.Hour).UnixMilli(), 10)).Result()
	fly, _ := rdb.ZCard(ctx, ks.SchedInflight()).Result()
	dead, _ := rdb.ZCard(ctx, ks.SchedDead()).Result()
	left, _ := rdb.HExists(ctx, ks.Clock(), "advance_to").Result()
	if due != 0 || fly != 0 || dead != 0 || left {
		t.Errorf("after the advance: %d due, %d in flight, %d dead, advance unfinished %v; want none", due, fly, dead, left)
	}
}

// supersede hands the advance under way to another process at its first
// claim of jobs (claim.lua), as a take-over does when its process stalled
// past its lease.
type supersede struct {
	rdb   redis.UniversalClient
	clock string
	done  atomic.Bool
}

func (h *supersede) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *supersede) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if (cmd.Name() == "evalsha" || cmd.Name() == "fcall") && strings.Contains(fmt.Sprint(cmd.Args()...), `"due_by"`) && strings.Contains(fmt.Sprint(cmd.Args()...), `"owner"`) && !h.done.Swap(true) {
			if err := h.rdb.HSet(ctx, h.clock, "advance_owner", "another process", "advance_lease", "0").Err(); err != nil {
				return err
			}
		}
		return next(ctx, cmd)
	}
}
func (h *supersede) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// An advance that another process took over (its own stalled past its
// lease) answers what the advance answered once it is done, as a retry
// with its key does, not a 409 a retry would be given again.
func TestATakenOverAdvanceAnswersAsItWasDone(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"sms_delay":{"min":"1m","max":"59m"}}`)
	ids := []string{e.sendSMS("95187", "13800000091", "one"), e.sendSMS("95187", "13800000092", "two")}
	e.rdb.AddHook(&supersede{rdb: e.redis.Client(t), clock: e.keys().Clock()})
	want := `{"now":"2026-05-01T02:00:00Z","scale":1,"paused":true}`
	if code, b := e.advanceWithKey("2h", "k-1"); code != 200 || strings.TrimSpace(string(b)) != want {
		t.Fatalf("the advance taken over: %d %s, want 200 %s", code, b, want)
	}
	if code, b := e.advanceWithKey("2h", "k-1"); code != 200 || strings.TrimSpace(string(b)) != want {
		t.Fatalf("its retry: %d %s, want 200 %s", code, b, want)
	}
	for _, id := range ids {
		if m := e.gwMessage(id); m.Status != "delivered" {
			t.Fatalf("message %s after the advance: %s", id, m.Status)
		}
	}
	if now := e.now(); !now.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("clock %s, want +2h", now)
	}
}
