package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/gorilla/websocket"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/server"
)

// These tests take a real Redis away from a running smsim — stopped,
// paused, restarted and loading its dataset, busy with a script, stalled
// behind a proxy — each on a redis-server of its own, which they start.

// outageTimeout is the store timeout of the smsim under test: a stalled
// Redis answers 503 by then.
const outageTimeout = 500 * time.Millisecond

// outageBound bounds the answer of every request while Redis is away.
const outageBound = 3 * time.Second

// redisServer is a redis-server of one test's own, in the foreground, on
// a free loopback port, with its data in a directory of the test's.
type redisServer struct {
	t    *testing.T
	path string
	addr string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedisServer starts a redis-server with AOF on (appendonly yes)
// and the extra arguments, stopped at the test's end. Without
// redis-server on PATH, the test is skipped (in CI, where .ci/run
// installs it, it fails).
func startRedisServer(t *testing.T, extra ...string) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		why := "redis-server is not on PATH: the tests of Redis outages start one of their own (Debian: apt-get install -y redis-server)"
		if os.Getenv("CI") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &redisServer{t: t, path: path, addr: "127.0.0.1:" + strconv.Itoa(port), args: append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
		"--dir", t.TempDir(), "--loglevel", "warning", "--enable-debug-command", "yes",
	}, extra...)}
	r.start(true)
	t.Cleanup(r.kill)
	return r
}

// start starts the server, and waits until it accepts connections, and
// with ready until it answers a PING.
func (r *redisServer) start(ready bool) {
	r.t.Helper()
	r.cmd = exec.Command(r.path, r.args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(r.cmd, r.done)
	c := r.client()
	defer c.Close()
	waitUntil(r.t, 10*time.Second, "redis-server starts", func() bool {
		err := c.Ping(context.Background()).Err()
		return err == nil || (!ready && redis.HasErrorPrefix(err, "LOADING"))
	})
}

// client is a client of the server for the test itself.
func (r *redisServer) client() *redis.Client {
	return redis.NewClient(core.StoreOptions(&redis.Options{Addr: r.addr}, 5*time.Second))
}

// shutdown stops the server as an operator would: its AOF is written
// out.
func (r *redisServer) shutdown() {
	r.t.Helper()
	c := r.client()
	defer c.Close()
	c.Shutdown(context.Background()) // its answer is the connection closing
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.t.Fatal("redis-server did not stop")
	}
}

func (r *redisServer) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
}

func (r *redisServer) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGCONT)
	r.cmd.Process.Kill()
	<-r.done
}

// waitUntil waits, in real time, until cond holds, and fails the test
// after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outageSim runs an smsim on the Redis at addr, with a store timeout of
// outageTimeout, until the test ends; it answers its URL and its store's
// client, whose options opt may change.
func outageSim(t *testing.T, addr string, opt ...func(*redis.Options)) (string, *redis.Client) {
	t.Helper()
	o := &redis.Options{Addr: addr}
	for _, f := range opt {
		f(o)
	}
	rdb := redis.NewClient(core.StoreOptions(o, outageTimeout))
	world, err := simulator.New(context.Background(), simulator.Config{Redis: rdb, StoreTimeout: outageTimeout,
		Registry: prometheus.NewRegistry(), ClockStart: core.ClockStart{At: t0, Paused: true, Scale: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(world, server.Config{}).Routes())
	t.Cleanup(func() {
		hs.Close()
		world.Stop()
		rdb.Close()
	})
	return hs.URL, rdb
}

// outageRequest is one request of each kind: a read, a write, a script.
type outageRequest struct{ method, path, body string }

var outageRequests = []outageRequest{
	{"GET", "/admin/v1/clock", ""},
	{"GET", "/phones/v1/13800000001/messages", ""},
	{"POST", "/provider/v1/filings", `{"type":"first_filing","variant":"app","entity_leader":{"name":"Li Lei","phone":"13800000001","certificate_number":"110101199003071234"}}`},
	{"POST", "/miit/v1/validations", `{"code":"123456","phone":"13800000001","certificate_last6":"071234"}`},
	{"GET", "/phones/v1/13800000009/messages/next?timeout=20s", ""},
}

// request sends one request and answers its status, headers, body and how
// long it took.
func request(t *testing.T, base string, r outageRequest) (*http.Response, []byte, time.Duration) {
	t.Helper()
	return requestWithKey(t, base, r, "")
}

// requestWithKey is request with an Idempotency-Key, unless key is empty.
func requestWithKey(t *testing.T, base string, r outageRequest, key string) (*http.Response, []byte, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set(server.IdempotencyKeyHeader, key)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b, time.Since(start)
}

// wantUnavailable checks that every kind of request answers a 503
// problem with Retry-After, within outageBound, naming why as detail
// says.
func wantUnavailable(t *testing.T, base, why string) {
	t.Helper()
	for _, r := range outageRequests {
		resp, b, took := request(t, base, r)
		checkUnavailable(t, r.method+" "+r.path, resp, b, took, why)
	}
}

// checkUnavailable checks that the answer to what, resp with body b, is a
// 503 store-unavailable problem with Retry-After, come within outageBound,
// naming why as detail says.
func checkUnavailable(t *testing.T, what string, resp *http.Response, b []byte, took time.Duration, why string) {
	t.Helper()
	var p server.Problem
	json.Unmarshal(b, &p)
	want := "the Redis store cannot serve the request for now (" + why + "); try again"
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" ||
		resp.Header.Get("Retry-After") != "1" || p.Type != "urn:smsim:problem:store-unavailable" || p.Detail != want {
		t.Errorf("%s: %d (Retry-After %q) %s; want a 503 store-unavailable problem with Retry-After 1, detail %q",
			what, resp.StatusCode, resp.Header.Get("Retry-After"), b, want)
	}
	if took > outageBound {
		t.Errorf("%s: answered in %s, want within %s", what, took, outageBound)
	}
}

// wantSocketsUnavailable checks that a websocket's handshake, of a phone's
// and of the event log's, answers a 503 store-unavailable problem with
// Retry-After, within outageBound, naming why as detail says: the listen
// of a new socket waits for the store no longer than any call.
func wantSocketsUnavailable(t *testing.T, base, why string) {
	t.Helper()
	for _, path := range []string{"/phones/v1/13800000007/ws", "/ws/events"} {
		start := time.Now()
		conn, resp, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http", "ws", 1)+path, nil)
		took := time.Since(start)
		if err == nil {
			conn.Close()
			t.Errorf("%s: a websocket opened while Redis is away", path)
			continue
		}
		if resp == nil {
			t.Errorf("%s: %v, no answer", path, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		checkUnavailable(t, path, resp, b, took, why)
	}
}

// wantReady waits until /readyz answers status, each answer within a
// bound: it asks the store nothing.
func wantReady(t *testing.T, base string, status int) {
	t.Helper()
	waitUntil(t, 30*time.Second, fmt.Sprintf("/readyz answers %d", status), func() bool {
		resp, b, took := request(t, base, outageRequest{"GET", "/readyz", ""})
		if took > 500*time.Millisecond {
			t.Errorf("/readyz answered in %s", took)
		}
		if resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("/readyz: 503 without Retry-After: %s", b)
		}
		return resp.StatusCode == status
	})
}

// wantServed checks that smsim serves again: a submission is a 201, and
// a phone's websocket opens (its listen does not wait on the live
// subscriber's way back longer than a call waits for the store).
func wantServed(t *testing.T, base string) {
	t.Helper()
	if resp, b, _ := request(t, base, outageRequests[2]); resp.StatusCode != 201 {
		t.Fatalf("a submission once Redis is back: %d %s", resp.StatusCode, b)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http", "ws", 1)+"/phones/v1/13800000008/ws", nil)
	if err != nil {
		var b []byte
		if resp != nil {
			b, _ = io.ReadAll(resp.Body)
		}
		t.Fatalf("a phone's websocket once Redis is back: %v %s", err, b)
	}
	conn.Close()
}

// Redis stopped: connections are refused. Every request is a 503 at
// once, /readyz turns 503, and once Redis is started again smsim serves,
// with nothing restarted.
func TestRedisStopped(t *testing.T) {
	rs := startRedisServer(t)
	base, _ := outageSim(t, rs.addr)
	wantServed(t, base)
	rs.shutdown()
	wantReady(t, base, 503)
	wantUnavailable(t, base, "it cannot be reached")
	wantSocketsUnavailable(t, base, "it did not answer in time")
	rs.start(true)
	wantReady(t, base, 200)
	wantServed(t, base)
}

// A websocket opened as soon as Redis is back, after an outage long
// enough for the live subscriber's tries to space out: its listen, which
// waits for the store no longer than a call does, finds the subscriber
// back on the store within that time.
func TestSocketAsRedisComesBack(t *testing.T) {
	rs := startRedisServer(t)
	base, _ := outageSim(t, rs.addr)
	wantServed(t, base)
	rs.shutdown()
	wantReady(t, base, 503)
	// the subscriber tries again after 100 ms, then twice as long each time
	time.Sleep(4 * time.Second)
	rs.start(true)
	waitUntil(t, 10*time.Second, "a submission is served", func() bool {
		resp, _, _ := request(t, base, outageRequests[2])
		return resp.StatusCode == 201
	})
	wantServed(t, base)
}

// Redis paused (SIGSTOP): it accepts connections and answers nothing.
// Every request is a 503 within the store timeout, never a hang.
func TestRedisPaused(t *testing.T) {
	rs := startRedisServer(t)
	base, _ := outageSim(t, rs.addr)
	wantServed(t, base)
	rs.signal(syscall.SIGSTOP)
	wantReady(t, base, 503)
	wantUnavailable(t, base, "it did not answer in time")
	wantSocketsUnavailable(t, base, "it did not answer in time")
	rs.signal(syscall.SIGCONT)
	wantReady(t, base, 200)
	wantServed(t, base)
}

// Redis restarted with AOF, loading a dataset slowly enough to be seen
// (key-load-delay): it answers LOADING, and smsim a 503 saying so.
func TestRedisLoading(t *testing.T) {
	// 200 µs a key: 30,000 keys load in about 6 s, answering LOADING meanwhile
	// (Redis serves its clients every 1 KiB loaded instead of every 2 MiB).
	rs := startRedisServer(t, "--key-load-delay", "200", "--loading-process-events-interval-bytes", "1024")
	c := rs.client()
	defer c.Close()
	ctx := context.Background()
	if err := c.Do(ctx, "DEBUG", "POPULATE", 30000, "filler").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.BgRewriteAOF(ctx).Err(); err != nil { // DEBUG POPULATE writes nothing to the AOF
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the AOF rewritten", func() bool {
		info, err := c.Info(ctx, "persistence").Result()
		return err == nil && strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0")
	})
	base, _ := outageSim(t, rs.addr)
	wantServed(t, base)
	rs.shutdown()
	rs.start(false)
	c = rs.client()
	defer c.Close()
	if err := c.Get(ctx, "any").Err(); !redis.HasErrorPrefix(err, "LOADING") {
		t.Fatalf("redis-server restarted: %v, want LOADING", err)
	}
	wantReady(t, base, 503)
	wantUnavailable(t, base, "it is loading its dataset")
	if err := c.Get(ctx, "any").Err(); !redis.HasErrorPrefix(err, "LOADING") {
		t.Fatalf("the dataset loaded before the test was done: %v", err)
	}
	wantReady(t, base, 200)
	wantServed(t, base)
}

// Redis busy with a long script (past busy-reply-threshold): it answers
// BUSY, and smsim a 503 saying so; once the script is killed, smsim
// serves.
func TestRedisBusy(t *testing.T) {
	rs := startRedisServer(t, "--busy-reply-threshold", "100")
	base, _ := outageSim(t, rs.addr)
	wantServed(t, base)
	c := rs.client()
	defer c.Close()
	ctx := context.Background()
	looper := redis.NewClient(&redis.Options{Addr: rs.addr, ReadTimeout: -1, MaxRetries: -1})
	defer looper.Close()
	busy := make(chan error, 1)
	go func() { busy <- looper.Eval(ctx, "while true do end", nil).Err() }()
	waitUntil(t, 10*time.Second, "redis-server busy", func() bool {
		return redis.HasErrorPrefix(c.Ping(ctx).Err(), "BUSY")
	})
	wantReady(t, base, 503)
	wantUnavailable(t, base, "it is busy running a script")
	if err := c.Do(ctx, "SCRIPT", "KILL").Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-busy; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the busy script: %v", err)
	}
	wantReady(t, base, 200)
	wantServed(t, base)
}

// stallProxy stands between smsim and Redis. Stalled, it holds what smsim
// sends; released, it forwards all of it — what a connection smsim has
// closed since sent too — as a stalled Redis reads its sockets once it
// runs again.
type stallProxy struct {
	addr     string
	upstream string
	ln       net.Listener
	gate     sync.RWMutex // held while stalled
	stalled  bool
	mu       sync.Mutex // guards conns, holdOn and held
	conns    []net.Conn
	holdOn   []byte        // what a write holds, once sent, until held is closed (holdWrites)
	held     chan struct{} // closed by releaseWrites
	wg       sync.WaitGroup
}

// holdWrites holds, from now on, what smsim sends that holds marker —
// and what follows on its connection — until releaseWrites: the other
// calls go on, so that one call is sent and answered late while the calls
// before it were answered.
func (p *stallProxy) holdWrites(marker string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdOn, p.held = []byte(marker), make(chan struct{})
}

func (p *stallProxy) releaseWrites() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.held)
	p.holdOn = nil
}

// hold waits while chunk holds the marker of holdWrites.
func (p *stallProxy) hold(chunk []byte) {
	p.mu.Lock()
	marker, held := p.holdOn, p.held
	p.mu.Unlock()
	if marker != nil && bytes.Contains(chunk, marker) {
		<-held
	}
}

func newStallProxy(t *testing.T, upstream string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{addr: ln.Addr().String(), upstream: upstream, ln: ln}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			p.forward(u, c)
		}()
		go func() {
			defer p.wg.Done()
			io.Copy(c, u)
			c.Close()
		}()
	}
}

// forward copies what smsim sends to Redis, holding it while stalled.
func (p *stallProxy) forward(u, c net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			p.hold(buf[:n])
			p.gate.RLock()
			_, werr := u.Write(buf[:n])
			p.gate.RUnlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			u.(*net.TCPConn).CloseWrite() // Redis reads what came, then the end
			return
		}
	}
}

func (p *stallProxy) stall() {
	p.gate.Lock()
	p.stalled = true
}

func (p *stallProxy) release() {
	p.stalled = false
	p.gate.Unlock()
}

func (p *stallProxy) close() {
	if p.stalled {
		p.release()
	}
	p.mu.Lock()
	if p.holdOn != nil {
		close(p.held)
		p.holdOn = nil
	}
	p.mu.Unlock()
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Submissions while Redis stalls: each times out (a 503 with Retry-After,
// within the bound), and its script, held in the stall, runs once when
// Redis runs again — never twice, as it did when the client library sent
// it again on another connection after the timeout. So each person has
// one order, one filing.submitted event, one notice.
func TestStallRunsEachSubmissionOnce(t *testing.T) {
	rs := startRedisServer(t)
	px := newStallProxy(t, rs.addr)
	const n = 12
	submission := func(i int) outageRequest {
		return outageRequest{"POST", "/provider/v1/filings", fmt.Sprintf(`{"type":"first_filing","variant":"app",`+
			`"entity_leader":{"name":"Li Lei","phone":"1380000%04d","certificate_number":"110101199003071234"}}`, i)}
	}
	// Connections ready in the pool, handshake done, for each submission
	// and for a retry to take: a connection made while Redis stalls would
	// fail on its handshake, before its request sends anything. Blocking
	// commands at once hold one connection each.
	base, rdb := outageSim(t, px.addr, func(o *redis.Options) { o.PoolSize = 3 * n })
	var wg sync.WaitGroup
	for range 3 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rdb.Do(context.Background(), "BLPOP", "smsim-test:nothing", "0.2")
		}()
	}
	wg.Wait()
	// Warm: the scripts loaded, the namespace's use recorded (for the next
	// 10 s: no submission below records it, which would be its first call).
	statuses := make([]int, n+1)
	for i := range n + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := outageRequest{"GET", "/admin/v1/clock", ""}
			if i == n {
				r = submission(n)
			}
			resp, _, _ := request(t, base, r)
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	if statuses[n] != 201 {
		t.Fatalf("the warm submission: %d", statuses[n])
	}

	px.stall()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, b, took := request(t, base, submission(i))
			switch {
			case resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "1":
			default:
				t.Errorf("submission %d while Redis stalls: %d (Retry-After %q) %s", i, resp.StatusCode, resp.Header.Get("Retry-After"), b)
			}
			if took > outageBound {
				t.Errorf("submission %d answered in %s, want within %s", i, took, outageBound)
			}
		}()
	}
	wg.Wait()
	px.release()

	var list struct{ Total int }
	orders := func() int {
		resp, b, _ := request(t, base, outageRequest{"GET", "/provider/v1/filings", ""})
		if resp.StatusCode != 200 {
			return -1
		}
		json.Unmarshal(b, &list)
		return list.Total
	}
	waitUntil(t, 10*time.Second, "the held submissions stored", func() bool { return orders() >= n+1 })
	var log struct{ Events []core.Record }
	resp, b, _ := request(t, base, outageRequest{"GET", "/admin/v1/events?after=0", ""})
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d %s", resp.StatusCode, b)
	}
	json.Unmarshal(b, &log)
	submitted := 0
	for _, r := range log.Events {
		if r.Kind == core.KindFilingSubmitted {
			submitted++
		}
	}
	if got := orders(); got != n+1 || submitted != n+1 {
		t.Fatalf("%d orders, %d filing.submitted events; want %d each", got, submitted, n+1)
	}
	for i := range n + 1 {
		var inbox struct{ Messages []message }
		resp, b, _ := request(t, base, outageRequest{"GET", fmt.Sprintf("/phones/v1/1380000%04d/messages", i), ""})
		json.Unmarshal(b, &inbox)
		if resp.StatusCode != 200 || len(inbox.Messages) != 1 {
			t.Errorf("person %d: %d messages (%d), want the one notice", i, len(inbox.Messages), resp.StatusCode)
		}
	}
}

// A submission with an Idempotency-Key whose script reaches Redis only
// after the store timeout: the request answers 503, Redis carries the
// script out after all, and a retry with the key is a 409 that says so —
// it is not carried out a second time. A submission that never reached
// Redis (stopped: nothing listens) is carried out by its retry.
func TestLateWriteWithAKeyIsCarriedOutOnce(t *testing.T) {
	rs := startRedisServer(t)
	px := newStallProxy(t, rs.addr)
	base, _ := outageSim(t, px.addr)
	submission := func(phone string) outageRequest {
		return outageRequest{"POST", "/provider/v1/filings", `{"type":"first_filing","variant":"app",` +
			`"entity_leader":{"name":"Li Lei","phone":"` + phone + `","certificate_number":"110101199003071234"}}`}
	}
	orders := func() int {
		var list struct{ Total int }
		resp, b, _ := request(t, base, outageRequest{"GET", "/provider/v1/filings", ""})
		if resp.StatusCode != 200 || json.Unmarshal(b, &list) != nil {
			t.Fatalf("the list of orders: %d %s", resp.StatusCode, b)
		}
		return list.Total
	}
	// Warm: the scripts loaded, the key's claim among them.
	if resp, b, _ := requestWithKey(t, base, submission("13800000001"), "warm"); resp.StatusCode != 201 {
		t.Fatalf("the warm submission: %d %s", resp.StatusCode, b)
	}

	px.holdWrites("13800000002") // the submission's script, not the claim of its key
	resp, b, took := requestWithKey(t, base, submission("13800000002"), "late")
	if resp.StatusCode != 503 || took > outageBound {
		t.Fatalf("the submission held on its way to Redis: %d in %s, want a 503 within %s: %s", resp.StatusCode, took, outageBound, b)
	}
	px.releaseWrites()
	waitUntil(t, 10*time.Second, "the late submission stored", func() bool { return orders() == 2 })

	for range 2 {
		resp, b, _ = requestWithKey(t, base, submission("13800000002"), "late")
		var p server.Problem
		json.Unmarshal(b, &p)
		want := `Idempotency-Key: the request with the key "late" failed (a 503) after the store had been sent a change that ` +
			`it did not confirm in time, and may have carried it out after all; see whether it did (read the order, the ` +
			`phone's messages, …) before sending it again with a new key`
		if resp.StatusCode != 409 || p.Type != "urn:smsim:problem:conflict" || p.Detail != want || resp.Header.Get("Retry-After") != "" {
			t.Fatalf("a retry with the key: %d (Retry-After %q) %s; want a 409 conflict, no Retry-After, detail %q",
				resp.StatusCode, resp.Header.Get("Retry-After"), b, want)
		}
	}
	if n := orders(); n != 2 {
		t.Fatalf("%d orders after the retries, want 2: a retry carried the submission out again", n)
	}

	rs.shutdown()
	wantReady(t, base, 503) // by then the pool's connections are known closed: a call dials, and is refused
	if resp, b, _ := requestWithKey(t, base, submission("13800000003"), "refused"); resp.StatusCode != 503 {
		t.Fatalf("a submission while nothing listens: %d %s", resp.StatusCode, b)
	}
	rs.start(true)
	wantReady(t, base, 200)
	if resp, b, _ := requestWithKey(t, base, submission("13800000003"), "refused"); resp.StatusCode != 201 {
		t.Fatalf("the retry of a submission that never reached Redis: %d %s, want 201", resp.StatusCode, b)
	}
	if n := orders(); n != 3 {
		t.Fatalf("%d orders, want 3", n)
	}
}
