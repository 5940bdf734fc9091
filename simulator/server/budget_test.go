package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// commandCounter counts the commands a Redis client sends, by name: every
// command of a pipeline counts, the calls a script makes inside Redis do
// not (as MONITOR shows them). A request's commands — their context
// carries its id — count apart from the background work's (the scheduler's
// loop, the supervisor), which may run at any moment; a new connection's
// handshake counts for neither. It hooks the client, so it counts alike on
// one server and on a Redis Cluster (SMSIM_TEST_REDIS_URL=redis+cluster://…),
// where it counts what all the masters are sent: what MONITOR on each would
// show, summed, but for the redirections a cluster client follows when the
// slots move (MOVED, ASK), which a stable cluster does not send.
type commandCounter struct {
	mu sync.Mutex
	n  map[string]int // requests'
	bg map[string]int // background work's
	tm map[string]int // background looks across namespaces, which come with time (acrossNamespaces)
	// trips counts round trips, requests' and background work's but for
	// the looks across namespaces: a pipeline is one, whatever it holds.
	trips int
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if c.add(ctx, cmd) {
			c.trip()
		}
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		counted := false
		for _, cmd := range cmds {
			counted = c.add(ctx, cmd) || counted
		}
		if counted {
			c.trip()
		}
		return next(ctx, cmds)
	}
}

func (c *commandCounter) trip() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trips++
}

// takeTrips answers the round trips so far, and starts again.
func (c *commandCounter) takeTrips() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.trips
	c.trips = 0
	return n
}

// add counts cmd, unless it is a new connection's handshake, and tells
// whether its round trip counts (trips).
func (c *commandCounter) add(ctx context.Context, cmd redis.Cmder) bool {
	name := strings.ToLower(cmd.Name())
	switch name {
	case "hello", "select", "client", "auth":
		return false // a new connection's handshake
	case "function":
		return false // a client's one look whether Redis has functions, and the loads of libraries: once a client and a script
	case "evalsha", "eval", "fcall":
		name = "script"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, work := &c.n, true
	switch {
	case core.RequestID(ctx) != "":
	case acrossNamespaces(cmd):
		m, work = &c.tm, false
	default:
		m = &c.bg
	}
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[name]++
	return work
}

// acrossNamespaces tells whether cmd is of no one namespace: its key (the
// first) names none — the namespaces in use, those with webhooks, which
// the process looks at every second — or it has none (the health check's
// PING). A namespace's keys name it in braces.
func acrossNamespaces(cmd redis.Cmder) bool {
	args := cmd.Args()
	at := 1
	if name := strings.ToLower(cmd.Name()); name == "evalsha" || name == "eval" || name == "fcall" {
		at = 3
	}
	if len(args) <= at {
		return true
	}
	key, ok := args[at].(string)
	return ok && !strings.Contains(key, "{")
}

// take answers the requests' count so far and starts again.
func (c *commandCounter) take() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total, parts := tally(c.n)
	c.n = nil
	return total, parts
}

// takeBackground answers the background work's count so far and starts
// again.
func (c *commandCounter) takeBackground() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, n := range c.tm {
		if c.bg == nil {
			c.bg = map[string]int{}
		}
		c.bg[name] += n
	}
	total, parts := tally(c.bg)
	c.bg, c.tm = nil, nil
	return total, parts
}

// takeBackgroundWork is takeBackground but for the looks across
// namespaces (acrossNamespaces), which come with time, not with work: a
// slow machine makes more of them in the time an advance takes.
func (c *commandCounter) takeBackgroundWork() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total, parts := tally(c.bg)
	c.bg, c.tm = nil, nil
	return total, parts
}

// tally answers the total of counts, the calls of a count but its
// eventsPublished, and them all as a line.
func tally(counts map[string]int) (int, string) {
	total := 0
	var parts []string
	for name, n := range counts {
		if name == eventsPublished {
			continue
		}
		total += n
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
	}
	sort.Strings(parts)
	return total, strings.Join(parts, ", ")
}

// The budget of a complete single-person flow with every lag zero — submit,
// the code on the phone through the long poll, validate — in commands the
// server sends to Redis (MONITOR's count: the calls a script makes inside
// Redis are free), background work included: at most 8 a flow, and at most
// 2 for the validation. Each step is held to what it costs today, so that
// the cost cannot creep back: the submission, its notice, the sync, the
// code and their deliveries are one script, which answers what the
// number's index lists; the code, in the inbox by the time the long poll
// asks, one read; the validation one script, given those orders. The store is bounded as the binary bounds it by default: the
// keys' lifetimes are set inside those scripts, at no cost in commands.
// The request journal is on, as by default: no request writes it, and its
// background writes — one script per namespace every 100 ms in which it
// had requests — count with the rest of the background work.
func TestFlowCommandBudget(t *testing.T) {
	e := newEnv(t, withLimits(core.Limits{Retention: 24 * time.Hour, InboxMax: 1000, NamespaceTTL: 7 * 24 * time.Hour}))
	var count commandCounter
	e.rdb.AddHook(&count)
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"result_sync_lag":{"min":"0s","max":"0s"},` +
		`"review":{"min":"1h","max":"1h"}}`)
	flow := func(i int) (submit, poll, validate int, detail string) {
		phone := fmt.Sprintf("1380%07d", i)
		count.take()
		v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
		submit, s := count.take()
		m := polledMessage(t, e.next(phone, "after=start&has_code=true&timeout=10s"))
		poll, p := count.take()
		if r := e.validate(m.Code, phone, leaderCert); r.Result != miit.ResultComplete {
			t.Fatalf("flow %d: validation %+v", i, r)
		}
		validate, vd := count.take()
		if st := e.miitView(v.ID).Status; st != miit.StatusUnderReview {
			t.Fatalf("flow %d: MIIT status %s", i, st)
		}
		count.take()
		return submit, poll, validate, fmt.Sprintf("submit: %s; poll: %s; validate: %s", s, p, vd)
	}
	flow(0) // warm: the first use of the namespace
	count.takeBackground()
	const n = 20
	total := 0
	var last string
	for i := 1; i <= n; i++ {
		s, p, v, d := flow(i)
		total += s + p + v
		last = d
		if s > 1 || p > 1 || v > 1 {
			t.Errorf("flow %d: %d commands to submit (want 1), %d to poll (want 1), %d to validate (want 1): %s", i, s, p, v, d)
		}
	}
	bg, bgd := count.takeBackground()
	t.Logf("%d flows: %.1f commands a flow (%s); background %d (%s)", n, float64(total+bg)/n, last, bg, bgd)
	if per := float64(total+bg) / n; per > 8 {
		t.Errorf("%.1f commands a flow, want at most 8 (the last: %s)", per, last)
	}
}

// The budget of an advance, in commands the server sends to Redis per
// event it carries out: each order's sync, planned with the numbers its
// job carries, texts both people and delivers their codes; the syncs go to
// Redis in runs of up to 32, a run one call of the sync's script in its
// run form, in one pipeline with the release of the jobs of the runs
// before (core.Scheduler.HandleSteps); the scheduler claims 64 jobs at a
// time, then twice as many after each batch carried out whole (up to 256).
// It was 4 commands an event (a read of the order, the script, and a
// release after each), then 1.24 with a script a sync. The clock's scripts
// and the loop's few looks come on top, hence 0.25; the process's looks
// across namespaces, every second, come with time and are not counted
// (takeBackgroundWork). The syncs fall across the day, each with the end
// of its validation window a day later, past the advance.
//
// In round trips, 200 syncs take 24–31 (0.12–0.155 an event) where one at
// a time took 1.24 an event.
func TestAdvanceCommandBudget(t *testing.T) {
	e := newEnv(t)
	var count commandCounter
	e.rdb.AddHook(&count)
	e.patchFaults(`{"sync_lag":{"min":"1m","max":"23h"}}`)
	const orders = 200
	ids := make([]string, orders)
	for i := range orders {
		ids[i] = e.submit(firstFilingWebsite(fmt.Sprintf("137%08d", 2*i), fmt.Sprintf("137%08d", 2*i+1))).ID
	}
	before := activity(families(t, e.reg)["smsim_scheduler_events_total"])
	count.take()
	count.takeBackground()
	count.takeTrips()
	e.advance("24h")
	events := activity(families(t, e.reg)["smsim_scheduler_events_total"]) - before
	fg, fgd := count.take()
	bg, bgd := count.takeBackgroundWork()
	trips := count.takeTrips()
	if events != orders {
		t.Fatalf("%v events carried out, want the %d syncs", events, orders)
	}
	per := float64(fg+bg) / events
	t.Logf("%.2f commands an event: %s; background %s; %.3f round trips an event", per, fgd, bgd, float64(trips)/events)
	if per > 0.25 {
		t.Errorf("%.2f commands an event, want at most 0.25: %s; background %s", per, fgd, bgd)
	}
	if float64(trips)/events > 0.2 {
		t.Errorf("%d round trips for %v events, want at most 0.2 an event", trips, events)
	}
	for _, id := range ids {
		if st := e.miitView(id).Status; st != miit.StatusPendingValidation {
			t.Fatalf("order %s is %s at MIIT after the advance, want %s", id, st, miit.StatusPendingValidation)
		}
	}
}

// A number validated in the process that submitted its order costs one
// command: the submission answered what the number's index lists, which
// the process keeps, and the validation's script checks it. So does a
// number validated again. When the index changed behind the process — an
// order of the number submitted through another — the script answers what
// it lists and runs again: two commands, and the answer is the new
// order's. A number the process never saw costs two as well: a read of its
// index, then the script.
func TestValidationAgainCommandBudget(t *testing.T) {
	e := newEnv(t)
	var count commandCounter
	e.rdb.AddHook(&count)
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"result_sync_lag":{"min":"0s","max":"0s"},` +
		`"review":{"min":"1h","max":"1h"}}`)
	const phone = "13900000077"
	e.validate("000000", "13900000078", "999999") // the store loads the script
	first := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	count.take()
	for i := range 4 {
		if r := e.validate("000000", phone, "999999"); r.Result != miit.ResultNotFound {
			t.Fatalf("a certificate of no one: %+v", r)
		}
		if n, d := count.take(); n != 1 {
			t.Errorf("validation %d of the number submitted here: %d commands, want 1 (%s)", i+1, n, d)
		}
	}
	// A second order of the number, through another process: the first
	// one's code no longer matches anything the number is asked for alone,
	// the new one's does.
	other := e.newInstance()
	e.call("POST", "/provider/v1/filings/"+first.ID+"/cancel", struct{}{}, http.StatusOK, nil)
	second := other.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	code := e.code(phone)
	count.take()
	if r := e.validate(code, phone, leaderCert); r.Result != miit.ResultComplete {
		t.Fatalf("the new order's code: %+v", r)
	}
	if n, d := count.take(); n != 2 {
		t.Errorf("a validation after the index changed: %d commands, want 2 (%s)", n, d)
	}
	if st := e.miitView(second.ID).Status; st != miit.StatusUnderReview {
		t.Errorf("the new order is %s, want %s", st, miit.StatusUnderReview)
	}
	const unseen = "13900000079"
	other.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(unseen)})
	count.take()
	if r := e.validate("000000", unseen, "999999"); r.Result != miit.ResultNotFound {
		t.Fatalf("a certificate of no one: %+v", r)
	}
	if n, d := count.take(); n != 2 {
		t.Errorf("a number this process never saw: %d commands, want 2 (%s)", n, d)
	}
}

// scriptCallCounter counts the calls the scripts make inside Redis (the
// redis.call of a script, which TestFlowCommandBudget does not count) on
// the keys of one test, by command: it reads MONITOR, which shows each
// such call as sent by the client "lua", of every master (on a Redis
// Cluster, every master's), and counts the lines that name the test's key
// prefix — every key of the test's namespaces starts with it, and so does
// the live channel an event is published on — so that other tests sharing
// the server count for nothing, unlike in INFO commandstats. The calls on
// the key skip count as SKIPPED.
type scriptCallCounter struct {
	t       *testing.T
	clients []*redis.Client // one a master, to send the markers
	mons    []*bufio.Reader
	prefix  string
	skip    string // a key whose calls count apart
	marks   int
}

func newScriptCallCounter(t *testing.T, rdb redis.UniversalClient, prefix, skip string) *scriptCallCounter {
	t.Helper()
	ctx := context.Background()
	c := &scriptCallCounter{t: t, prefix: prefix, skip: skip}
	switch r := rdb.(type) {
	case *redis.Client:
		c.clients = append(c.clients, r)
	case *redis.ClusterClient:
		var mu sync.Mutex
		if err := r.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			c.clients = append(c.clients, m)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("a client of type %T", rdb)
	}
	for _, m := range c.clients {
		o := m.Options()
		conn, err := net.DialTimeout(o.Network, o.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(conn)
		if o.Password != "" {
			user := o.Username
			if user == "" {
				user = "default"
			}
			fmt.Fprintf(conn, "AUTH %s %s\r\n", user, o.Password)
			if line, err := rd.ReadString('\n'); err != nil || line != "+OK\r\n" {
				t.Fatalf("AUTH: %q, %v", line, err)
			}
		}
		// Once MONITOR answers, every command the server runs is shown.
		fmt.Fprintf(conn, "MONITOR\r\n")
		if line, err := rd.ReadString('\n'); err != nil || line != "+OK\r\n" {
			t.Fatalf("MONITOR: %q, %v", line, err)
		}
		c.mons = append(c.mons, rd)
	}
	return c
}

// eventsPublished counts, among a scriptCallCounter's calls, the events
// the PUBLISHes told (a message may tell two): a count of events, not of
// calls, which tally leaves out.
const eventsPublished = "(events published)"

// take answers the calls the scripts made on the test's keys since the
// last take, by command: it sends each master a marker (ECHO) and reads
// its MONITOR up to it. The test fails if that takes more than a minute
// from the counter's start.
func (c *scriptCallCounter) take() map[string]int {
	c.t.Helper()
	c.marks++
	marker := fmt.Sprintf("%s-mark-%d", c.prefix, c.marks)
	calls := map[string]int{}
	for i, m := range c.clients {
		if err := m.Echo(context.Background(), marker).Err(); err != nil {
			c.t.Fatal(err)
		}
		for {
			line, err := c.mons[i].ReadString('\n')
			if err != nil {
				c.t.Fatalf("MONITOR: %v", err)
			}
			if strings.Contains(line, `"`+marker+`"`) {
				break
			}
			// 1796217065.920030 [0 lua] "HGET" "smsimtest-…:{ns}:…" "status"
			_, rest, ok := strings.Cut(line, " lua] ")
			if !ok || !strings.Contains(rest, c.prefix) {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimPrefix(rest, `"`), `"`)
			if strings.Contains(rest, `"`+c.skip+`"`) {
				name = "skipped"
			}
			calls[strings.ToUpper(name)]++
			if strings.EqualFold(name, "publish") {
				// the events the message tells (the prelude's emit holds one back
				// to go with the next): MONITOR shows their separator as \x1e
				calls[eventsPublished] += 1 + strings.Count(rest, `\x1e`)
			}
		}
	}
	return calls
}

// The budget of a complete single-person flow with every lag zero, as
// TestFlowCommandBudget runs it, in the calls its scripts make inside
// Redis (redis.call) on the flow's keys: at most 66 a flow (72 on a cluster), background work
// included but for the request journal's writes, which come every 100 ms
// whatever the number of flows (69 when it was set, 70 since a number is
// recorded with when it was written to and those past the retention are
// taken out — know_phone, whose TIME names no key and is not counted; 72
// since the submission reads what the number's index lists, for the
// validation, which read it in a command of its own before; 74 since a
// validation keeps its number's index as long as the order it writes; 66
// on one Redis since a script publishes no more events once one reached
// nobody, where 74 stays the budget of a cluster, whose nodes count only
// their own listeners; 68 and 76 since a code is listed among the live
// codes as it is made live, and taken out as it is freed, so that retiming
// the codes reads that list, not the database; 69 and 77 since a
// validation reads of each order the few fields that tell whether the
// person is in it, and the rest, whole, once they are: the flow's
// validation, which matches, reads its order twice; 66 and 72 since the
// scripts check the clock and the profile in one read of the clock's
// mirror, not two; 137 before the scripts
// were made to read and write less). They cost little on a real Redis, but on the embedded store
// (miniredis) each is a command formatted and parsed again, under the
// store's one lock. Each is held to what it needs: a script reads an order
// once, whole (miit.lua's order) or the fields it names and, if it needs
// more, the rest whole once (order_fields), and writes it in one HSET where
// it can; a
// message delivered where it is sent is written once and never travels; a
// phone's profile and fault script are read once a script.
func TestFlowScriptCallBudget(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("counts the scripts' calls with MONITOR: set " + testkit.EnvURL)
	}
	e := newEnv(t, withLimits(core.Limits{Retention: 24 * time.Hour, InboxMax: 1000, NamespaceTTL: 7 * 24 * time.Hour}))
	const n = 32 // the sweep of the list of orders (each 32nd submission, submit.lua) falls among them once
	holdCallBudget(t, e, scriptCallsOfFlows(t, e, n), n, "flow", 66, 72)
}

// holdCallBudget fails unless calls, the scripts' calls inside Redis for n
// of unit, are at most budget a unit, or clusterBudget on a cluster, whose
// nodes count only their own listeners: every event is published there
// (core.CountsEveryListener).
func holdCallBudget(t *testing.T, e *env, calls map[string]int, n int, unit string, budget, clusterBudget float64) {
	t.Helper()
	total, detail := tally(calls)
	per := float64(total) / float64(n)
	t.Logf("%d %s: %.1f calls of the scripts a %s (%s)", n, unit+"s", per, unit, detail)
	if _, cluster := e.rdb.(*redis.ClusterClient); cluster {
		budget = clusterBudget
	}
	if per > budget {
		t.Errorf("%.1f calls of the scripts a %s, want at most %v (%s)", per, unit, budget, detail)
	}
}

// The budget of an advance's syncs in the calls their scripts make inside
// Redis (redis.call), each sync texting two people and delivering their
// codes at once: a run of syncs is one call of the sync's script in its
// run form, which checks the run's mark, the clock and the fault profile
// once and writes the mark once, where a script a sync did each for every
// sync (39.3 calls a sync then, 34.5 with the run form, on one Redis;
// 40.4 on a cluster, which publishes every event; two more since each code
// made live is listed among the live codes, for retiming them without
// reading the database; one less since a sync reads of its order the
// fields it needs, in one HMGET rather than an HGETALL, and writes its
// version with the rest; 40 on a cluster since a run checks the clock and
// the profile in one read of the clock's mirror).
func TestAdvanceScriptCallBudget(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("counts the scripts' calls with MONITOR: set " + testkit.EnvURL)
	}
	e := newEnv(t)
	e.patchFaults(`{"sync_lag":{"min":"1m","max":"23h"}}`)
	const orders = 64 // two runs of 32
	for i := range orders {
		e.submit(firstFilingWebsite(fmt.Sprintf("137%08d", 2*i), fmt.Sprintf("137%08d", 2*i+1)))
	}
	count := newScriptCallCounter(t, e.rdb, e.redis.Prefix, core.Keyspace{Prefix: e.redis.Prefix, Namespace: core.DefaultNamespace}.Journal())
	e.advance("24h")
	calls := count.take()
	delete(calls, "SKIPPED")
	holdCallBudget(t, e, calls, orders, "sync", 36, 40)
	_, detail := tally(calls)
	if calls["SET"] > 2*orders+4 || calls["HMGET"] > orders+4 || calls["HGETALL"] > 0 {
		t.Errorf("%d SET (two codes a sync, and a run's mark), %d HMGET (an order's fields a sync, the clock's check), %d HGETALL: want at most %d, %d and none, the checks once a run (%s)",
			calls["SET"], calls["HMGET"], calls["HGETALL"], 2*orders+4, orders+4, detail)
	}
}

// With nothing that expires (no retention, no namespace TTL), a flow's
// scripts clear the lifetime (PERSIST) only of the keys that may have had
// one: the order, each number's index of orders (kept by the submission and
// again by the validation, which may come near the end of its lifetime);
// not of a key a script has just made or written whole (a message, a
// code), which has none.
func TestFlowPersistsOnlyWhatMayHaveALifetime(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("counts the scripts' calls with MONITOR: set " + testkit.EnvURL)
	}
	e := newEnv(t)
	const n = 8
	calls := scriptCallsOfFlows(t, e, n)
	_, detail := tally(calls)
	t.Logf("%d flows: %s", n, detail)
	if per := float64(calls["PERSIST"]) / n; per > 4 {
		t.Errorf("%.1f PERSIST a flow, want at most 4: the order (submitted, then under review) and the number's index (submitted, then validated) (%s)", per, detail)
	}
}

// scriptCallsOfFlows runs n complete single-person flows with every lag
// zero, after one to warm the namespace, and answers the calls their
// scripts made inside Redis, by command (newScriptCallCounter).
func scriptCallsOfFlows(t *testing.T, e *env, n int) map[string]int {
	t.Helper()
	return scriptCallsOfFlowsFrom(t, e, 0, n)
}

// scriptCallsOfFlowsFrom is scriptCallsOfFlows with the phones of flows
// from onwards, so that a test can count the flows of phones new again.
func scriptCallsOfFlowsFrom(t *testing.T, e *env, from, n int) map[string]int {
	t.Helper()
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"result_sync_lag":{"min":"0s","max":"0s"},` +
		`"review":{"min":"1h","max":"1h"}}`)
	flow := func(i int) {
		phone := fmt.Sprintf("1380%07d", i)
		v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
		m := polledMessage(t, e.next(phone, "after=start&has_code=true&timeout=10s"))
		if r := e.validate(m.Code, phone, leaderCert); r.Result != miit.ResultComplete {
			t.Fatalf("flow %d: validation %+v", i, r)
		}
		if st := e.miitView(v.ID).Status; st != miit.StatusUnderReview {
			t.Fatalf("flow %d: MIIT status %s", i, st)
		}
	}
	flow(from) // warm: the first use of the namespace
	journal := core.Keyspace{Prefix: e.redis.Prefix, Namespace: core.DefaultNamespace}.Journal()
	count := newScriptCallCounter(t, e.rdb, e.redis.Prefix, journal)
	for i := from + 1; i <= from+n; i++ {
		flow(i)
	}
	calls := count.take()
	delete(calls, "SKIPPED")
	return calls
}

// A script publishes an event on the namespace's live channel only while
// someone listens: on one Redis, whose PUBLISH counts every listener, a
// script stops publishing once an event reached nobody — a flow's scripts
// publish once each, where they append ten events to the log — and with a
// watcher of the log it publishes every event, which the watcher sees in
// the log's order (a message sent and delivered at once tells its two
// events in one PUBLISH). On a cluster, whose nodes count only their own
// listeners, every event is published.
func TestEventsNobodyHearsArePublishedOnceAScript(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("counts the scripts' calls with MONITOR: set " + testkit.EnvURL)
	}
	e := newEnv(t)
	_, cluster := e.rdb.(*redis.ClusterClient)
	const n = 8
	calls := scriptCallsOfFlows(t, e, n)
	if calls["XADD"] != 10*n {
		t.Fatalf("%d flows: %d XADD, want %d", n, calls["XADD"], 10*n)
	}
	if cluster {
		if calls[eventsPublished] != calls["XADD"] {
			t.Fatalf("%d flows on a cluster: %d events published, want every one (%d)", n, calls[eventsPublished], calls["XADD"])
		}
	} else if calls["PUBLISH"] != 2*n { // the submission's and the validation's script
		t.Fatalf("%d flows nobody watches: %d PUBLISH; want %d", n, calls["PUBLISH"], 2*n)
	}

	last := e.events("").Events
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/ws/events?after="+last[len(last)-1].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	calls = scriptCallsOfFlowsFrom(t, e, 100, 1)
	if calls[eventsPublished] != calls["XADD"] || calls["PUBLISH"] >= calls["XADD"] {
		t.Fatalf("a flow watched: %d XADD, %d events in %d PUBLISH; want every event published, a message's sms.sent with its delivery",
			calls["XADD"], calls[eventsPublished], calls["PUBLISH"])
	}
	var logged []string
	for _, r := range e.events(last[len(last)-1].ID).Events {
		logged = append(logged, r.ID+" "+r.Kind)
	}
	wantSocketSees(t, ws, logged)
}
