package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"

	"github.com/redis/go-redis/v9"
)

// as answers the instance speaking for namespace ns on behalf of test t
// (a subtest of its own).
func (in *instance) as(t testing.TB, ns string) *instance {
	c := in.in(ns)
	c.t = t
	return c
}

// providerList reads the provider's listing of filings.
func (in *instance) providerList() []miit.ProviderView {
	in.t.Helper()
	var pl struct {
		Filings []miit.ProviderView
		Total   int
	}
	in.call("GET", "/provider/v1/filings", nil, 200, &pl)
	return pl.Filings
}

// syncLag reads the sync lag of the fault profile, as JSON.
func (in *instance) syncLag() string {
	in.t.Helper()
	var f struct {
		SyncLag json.RawMessage `json:"sync_lag"`
	}
	in.call("GET", "/admin/v1/faults", nil, 200, &f)
	return string(f.SyncLag)
}

// world is what one namespace's test did, to be checked against what the
// others see.
type world struct {
	ns, leaderName, syncLag string
	ids                     []string
	codes                   []string
}

// Two namespaces driven at once, through two processes, by the same phone
// numbers: neither sees the other's orders, messages, faults, clock or
// events, and the default namespace sees nothing of either.
func TestNamespacesNeverSeeEachOther(t *testing.T) {
	e := newEnv(t)
	other := e.newInstance()
	const phones = 4
	worlds := []*world{
		{ns: "team-a", leaderName: "Zhang San", syncLag: "30m"},
		{ns: "team-b", leaderName: "Li Si", syncLag: "45m"},
	}
	t.Run("drive", func(t *testing.T) {
		for i, w := range worlds {
			t.Run(w.ns, func(t *testing.T) {
				t.Parallel()
				ins := []*instance{e.as(t, w.ns), other.as(t, w.ns)}
				if i == 1 {
					ins[0], ins[1] = ins[1], ins[0]
				}
				a, b := ins[0], ins[1]
				a.fixedLags(w.syncLag, "1m")
				for p := range phones {
					req := miit.SubmitRequest{Type: "first_filing", Variant: "app",
						EntityLeader: &miit.Person{Name: w.leaderName, Phone: fmt.Sprintf("1390000020%d", p), CertificateNumber: "110101199003071234"}}
					var v miit.ProviderView
					ins[p%2].call("POST", "/provider/v1/filings", req, 201, &v)
					w.ids = append(w.ids, v.ID)
				}
				if st := b.advance("29m"); !st.Now.Equal(t0.Add(29 * time.Minute)) {
					t.Fatalf("%s: clock after advancing 29m reads %v", w.ns, st.Now)
				}
				for p := range phones {
					if got := a.codes(fmt.Sprintf("1390000020%d", p)); len(got) != 0 {
						t.Fatalf("%s: codes before the sync: %v", w.ns, got)
					}
				}
				lag, _ := time.ParseDuration(w.syncLag)
				b.advance((lag - 29*time.Minute).String())
				for p := range phones {
					phone := fmt.Sprintf("1390000020%d", p)
					inbox := a.inbox(phone)
					if len(inbox) != 2 || inbox[0].Sender != "95187" || inbox[1].Sender != "12381" || inbox[1].Code == "" {
						t.Fatalf("%s: inbox of %s after the sync: %+v, want the provider's notice and a code from 12381", w.ns, phone, inbox)
					}
					w.codes = append(w.codes, inbox[1].Code)
					wantValidation(t, ins[p%2].validate(inbox[1].Code, phone, leaderCert), "complete", false)
				}
				if now := a.now(); !now.Equal(t0.Add(lag)) {
					t.Fatalf("%s: clock reads %v, want %v", w.ns, now, t0.Add(lag))
				}
			})
		}
	})
	if t.Failed() {
		return
	}

	def := e.instance
	if now := def.now(); !now.Equal(t0) {
		t.Errorf("the default namespace's clock reads %v, want %v: it moved with the others", now, t0)
	}
	if got := def.providerList(); len(got) != 0 {
		t.Errorf("the default namespace lists %d filings, want none", len(got))
	}
	if got := def.syncLag(); got != `{"model":"uniform","min":"30m","max":"1h"}` {
		t.Errorf("the default namespace's sync lag is %s, want the start value", got)
	}
	for p := range phones {
		if got := def.inbox(fmt.Sprintf("1390000020%d", p)); len(got) != 0 {
			t.Errorf("the default namespace's phone holds %+v", got)
		}
	}
	for _, w := range worlds {
		in := other.as(t, w.ns)
		list := in.providerList()
		if len(list) != phones {
			t.Fatalf("%s lists %d filings, want %d", w.ns, len(list), phones)
		}
		for _, v := range list {
			if v.Personnel[0].Name != w.leaderName {
				t.Errorf("%s lists filing %s of %q, want only its own (%q)", w.ns, v.ID, v.Personnel[0].Name, w.leaderName)
			}
		}
		if got, want := in.syncLag(), `{"model":"uniform","min":"`+w.syncLag+`","max":"`+w.syncLag+`"}`; got != want {
			t.Errorf("%s's sync lag is %s, want its own %s", w.ns, got, want)
		}
		for p := range phones {
			inbox := in.inbox(fmt.Sprintf("1390000020%d", p))
			if len(inbox) != 2 || inbox[1].Code != w.codes[p] || !strings.Contains(inbox[0].Body, w.ids[p]) {
				t.Errorf("%s: inbox %+v, want only its own notice of %s and its own code %s", w.ns, inbox, w.ids[p], w.codes[p])
			}
		}
		evs := in.events("").Events
		if len(evs) == 0 {
			t.Fatalf("%s has no events", w.ns)
		}
		for _, r := range evs {
			if r.Namespace != w.ns {
				t.Errorf("%s's event log holds %s of namespace %q", w.ns, r.Kind, r.Namespace)
			}
		}
	}

	// a reset forgets one namespace, and only that one
	a, b := e.as(t, "team-a"), e.as(t, "team-b")
	a.call("POST", "/admin/v1/reset", nil, 200, nil)
	if got := a.providerList(); len(got) != 0 {
		t.Errorf("team-a lists %d filings after its reset", len(got))
	}
	if now := a.now(); !now.Equal(t0) {
		t.Errorf("team-a's clock reads %v after its reset, want %v", now, t0)
	}
	if got := b.providerList(); len(got) != phones {
		t.Errorf("team-b lists %d filings after team-a's reset, want %d", len(got), phones)
	}
	if now := b.now(); !now.Equal(t0.Add(45 * time.Minute)) {
		t.Errorf("team-b's clock reads %v after team-a's reset, want %v", now, t0.Add(45*time.Minute))
	}
	if got := b.syncLag(); got != `{"model":"uniform","min":"45m","max":"45m"}` {
		t.Errorf("team-b's sync lag after team-a's reset: %s", got)
	}
}

// A running clock in one namespace carries out its events by the
// background loop; a paused clock in another, with the same events due,
// moves nothing. The phone sockets of the two namespaces get only their own
// messages.
func TestNamespaceClocksRunApart(t *testing.T) {
	e := newEnv(t)
	fast, still := e.in("fast"), e.in("still")
	for _, in := range []*instance{fast, still} {
		in.fixedLags("30m", "1m")
	}
	wsStill := still.dial("13900000301")
	wsFast := fast.dial("13900000301")
	for _, in := range []*instance{fast, still} {
		in.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000301")})
	}
	// The code is looked for after the provider's notice: at 30m in 50ms it
	// may be delivered before the clock's change has answered.
	noticed := fast.inbox("13900000301")
	if len(noticed) != 1 {
		t.Fatalf("fast's inbox holds %+v, want the provider's notice", noticed)
	}
	fast.call("PUT", "/admin/v1/clock", map[string]any{"scale": 36000, "paused": false}, 200, nil) // 30m in 50ms

	m := polledMessage(t, fast.next("13900000301", "timeout=20s&has_code=true&after="+noticed[0].ID))
	if m.Sender != "12381" || len(m.Code) != 6 {
		t.Fatalf("fast: next message %+v, want a code from 12381", m)
	}
	notice, _ := readFrame(t, wsFast)
	if got, _ := readFrame(t, wsFast); notice.Sender != "95187" || got.ID != m.ID {
		t.Fatalf("fast's socket got %+v then %+v, want the provider's notice then %s", notice, got, m.ID)
	}
	if v := still.miitView(still.providerList()[0].ID); v.Status != "unknown" {
		t.Fatalf("still's order moved with fast's clock: %+v", v)
	}
	if got := still.codes("13900000301"); len(got) != 0 {
		t.Fatalf("still's inbox holds codes %v while its clock is paused", got)
	}
	if now := still.now(); !now.Equal(t0) {
		t.Fatalf("still's clock reads %v, want %v", now, t0)
	}
	// still's socket, which saw nothing of fast's code, gets still's own
	// notice, then still's own message
	var sent struct{ ID string }
	still.call("POST", "/gateway/v1/messages", map[string]string{"from": "95566", "to": "13900000301", "body": "still here"}, 202, &sent)
	notice, _ = readFrame(t, wsStill)
	if got, _ := readFrame(t, wsStill); notice.Sender != "95187" || got.ID != sent.ID || got.Body != "still here" {
		t.Fatalf("still's socket got %+v then %+v, want its own notice then its own message %s", notice, got, sent.ID)
	}
}

// A namespace used only through a process that stops is carried on by
// another process, which learns of it from the registry of namespaces in
// use — with no request to it.
func TestNamespaceCarriedOnByAnotherProcess(t *testing.T) {
	e := newEnv(t)
	a := e.newInstance().in("orphan")
	ctx := context.Background()
	a.fixedLags("30m", "1m")
	a.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13900000401")})
	a.call("PUT", "/admin/v1/clock", map[string]any{"scale": 1800, "paused": false}, 200, nil) // 30m in 1s
	a.stop()

	// The code's delivery goes on orphan's event log: follow it there.
	log := core.NewEventLog(e.rdb, core.Keyspace{Prefix: e.redis.Prefix, Namespace: "orphan"})
	last, err := log.Last(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		recs, err := log.Wait(ctx, last, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			last = rec.ID
			m, ok := gateway.MessageOf(rec)
			if !ok {
				continue
			}
			if m.Phone != "13900000401" {
				t.Fatalf("delivery %+v, want orphan's messages to 13900000401 only", m)
			}
			if m.Sender == "12381" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no process carried out the orphaned namespace's code")
		}
	}
}

// The namespace of a request: a header, or ?namespace= for websockets;
// bad names and a header contradicting the query are refused and change
// nothing; every answer names the namespace it speaks for.
func TestNamespaceNames(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		header, query string
		status        int
		detail        string
	}{
		{"", "", 200, ""},
		{"ci-run_42.a", "", 200, ""},
		{"", "from-query", 200, ""},
		{"same", "same", 200, ""},
		{"bad{tag}", "", 400, `X-Smsim-Namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got "bad{tag}"`},
		{"-leading", "", 400, `X-Smsim-Namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got "-leading"`},
		{strings.Repeat("n", 65), "", 400, `X-Smsim-Namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got "` + strings.Repeat("n", 65) + `"`},
		{"", "a b", 400, `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got "a b"`},
		{"one", "two", 400, `namespace: the X-Smsim-Namespace header says "one" and ?namespace= says "two": give one`},
		// given empty is no name, never the default
		{"\x00", "", 400, `X-Smsim-Namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got ""`},
		{"", "\x00", 400, `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got ""`},
		{"\x00", "one", 400, `X-Smsim-Namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got ""`},
		{"one", "\x00", 400, `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got ""`},
	} {
		path := "/admin/v1/clock"
		switch c.query {
		case "":
		case "\x00": // given, empty
			path += "?namespace="
		default:
			path += "?namespace=" + strings.ReplaceAll(c.query, " ", "%20")
		}
		hdr := http.Header{}
		switch c.header {
		case "":
		case "\x00": // given, empty
			hdr[server.NamespaceHeader] = []string{""}
		default:
			hdr.Set(server.NamespaceHeader, c.header)
		}
		resp, b := rawRequest(t, "PUT", e.url+path, "application/json", `{"paused":false}`, hdr)
		var p problem
		json.Unmarshal(b, &p)
		if resp.StatusCode != c.status || p.Detail != c.detail {
			t.Errorf("header %q query %q: %d %q, want %d %q", c.header, c.query, resp.StatusCode, p.Detail, c.status, c.detail)
		}
		want := map[bool]string{true: c.header + c.query, false: ""}[c.status == 200]
		if c.status == 200 && want == "" {
			want = "default"
		}
		if c.header == "same" {
			want = "same"
		}
		if got := resp.Header.Get(server.NamespaceHeader); got != want {
			t.Errorf("header %q query %q: answered for namespace %q, want %q", c.header, c.query, got, want)
		}
	}
	// A namespace named twice, even the same, is refused: a client whose
	// library adds its own would act in one it did not mean.
	for _, c := range []struct {
		query  string
		header []string
		detail string
	}{
		{"", []string{"one", "two"}, "X-Smsim-Namespace: given 2 times; give one"},
		{"", []string{"one", "one"}, "X-Smsim-Namespace: given 2 times; give one"},
		{"?namespace=one&namespace=two", nil, "namespace: given 2 times in the query; give one"},
	} {
		hdr := http.Header{server.NamespaceHeader: c.header}
		resp, b := rawRequest(t, "PUT", e.url+"/admin/v1/clock"+c.query, "application/json", `{"paused":false}`, hdr)
		var p problem
		json.Unmarshal(b, &p)
		if resp.StatusCode != 400 || p.Detail != c.detail {
			t.Errorf("header %q query %q: %d %q, want 400 %q", c.header, c.query, resp.StatusCode, p.Detail, c.detail)
		}
	}
	// the refused requests started nobody's clock
	for _, ns := range []string{"one", "two"} {
		var st core.ClockState
		e.in(ns).call("GET", "/admin/v1/clock", nil, 200, &st)
		if !st.Paused {
			t.Errorf("namespace %s's clock runs after a refused request: %+v", ns, st)
		}
	}
}

// The OpenAPI document declares the namespace, as a header and as a query
// parameter, on every operation that belongs to a namespace — and on no
// other — and answers a bad name with 400.
func TestOpenAPINamespaces(t *testing.T) {
	doc := oaJSON(t)
	global := map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /openapi.json": true,
		"GET /admin/v1/scenarios": true, "GET /admin/v1/namespaces": true, "GET /": true, "GET /dashboard/{file}": true,
	}
	for k, op := range oaOperations(t, doc) {
		declared := map[string]bool{}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			pm := oaDeref(t, doc, p)
			declared[pm["in"].(string)+" "+pm["name"].(string)] = true
		}
		has := declared["header X-Smsim-Namespace"] && declared["query namespace"]
		if global[k] {
			if declared["header X-Smsim-Namespace"] || declared["query namespace"] {
				t.Errorf("%s belongs to no namespace but declares one", k)
			}
			continue
		}
		if !has {
			t.Errorf("%s does not declare both X-Smsim-Namespace and ?namespace=", k)
		}
		if responses, _ := op["responses"].(map[string]any); responses["400"] == nil {
			t.Errorf("%s does not list 400 for a bad namespace", k)
		}
	}
}

// Every route the server has either belongs to a namespace, and refuses a
// bad name before anything else, or belongs to none and ignores it — as the
// OpenAPI document says.
func TestEveryRouteNamespacedAsDocumented(t *testing.T) {
	e := newEnv(t)
	doc := oaJSON(t)
	ops := oaOperations(t, doc)
	fill := strings.NewReplacer("{phone}", "13800000001", "{id}", "x1", "{file...}", "app.js")
	for _, pattern := range e.srv.Patterns() {
		method, path, _ := strings.Cut(pattern, " ")
		op := ops[method+" "+strings.NewReplacer("{file...}", "{file}", "{$}", "").Replace(path)]
		if op == nil {
			t.Errorf("%s is not in the OpenAPI document", pattern)
			continue
		}
		documented := false
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			if oaDeref(t, doc, p)["name"] == server.NamespaceHeader {
				documented = true
			}
		}
		resp, b := rawRequest(t, method, e.url+strings.TrimSuffix(fill.Replace(path), "{$}"), "application/json", `{}`,
			http.Header{server.NamespaceHeader: {"bad{name}"}})
		var p problem
		json.Unmarshal(b, &p)
		refused := resp.StatusCode == 400 && strings.HasPrefix(p.Detail, server.NamespaceHeader+": ")
		if refused != documented {
			t.Errorf("%s: answered %d %q to a bad namespace; the document declares the namespace: %v", pattern, resp.StatusCode, p.Detail, documented)
		}
	}
}

// Many first requests to a new namespace at once, through two processes:
// each is served, by one world — twenty advances of a minute move its clock
// twenty minutes, and no other.
func TestNamespaceBornUnderLoad(t *testing.T) {
	e := newEnv(t)
	other := e.newInstance()
	const n = 20
	alternately(n, e.in("burst"), other.in("burst"), func(i int, in *instance) { in.advance("1m") })
	if now := e.in("burst").now(); !now.Equal(t0.Add(n * time.Minute)) {
		t.Fatalf("burst's clock reads %v after %d advances of 1m, want %v", now, n, t0.Add(n*time.Minute))
	}
	if now := other.now(); !now.Equal(t0) {
		t.Fatalf("the default clock reads %v, want %v", now, t0)
	}
}

// The namespaces in use are listed by name, from every process, each with
// its last use; default always.
func TestListNamespaces(t *testing.T) {
	e := newEnv(t)
	other := e.newInstance()
	before := time.Now().Add(-time.Second)
	e.in("zeta").patchFaults(`{}`) // a write makes a namespace
	other.in("alpha").patchFaults(`{}`)
	e.in("ghost").now() // a read does not
	var got struct {
		Namespaces []struct {
			Name     string
			LastUsed time.Time `json:"last_used"`
		}
	}
	e.call("GET", "/admin/v1/namespaces", nil, 200, &got)
	var names []string
	for _, n := range got.Namespaces {
		names = append(names, n.Name)
		if n.LastUsed.Before(before) || n.LastUsed.After(time.Now()) {
			t.Errorf("%s last used at %v, want within this test", n.Name, n.LastUsed)
		}
	}
	if strings.Join(names, " ") != "alpha default zeta" {
		t.Fatalf("namespaces %v, want alpha default zeta", names)
	}
}

// A request that only reads a namespace nobody wrote to answers as if it
// were new and writes nothing: no key, no place in the registry.
func TestReadingMakesNoNamespace(t *testing.T) {
	e := newEnv(t)
	ghost := e.in("ghost")
	if now := ghost.now(); !now.Equal(t0) {
		t.Fatalf("the clock of a namespace nobody wrote to reads %v, want the start %v", now, t0)
	}
	for _, path := range []string{"/admin/v1/faults", "/provider/v1/filings", "/miit/v1/filings", "/phones/v1",
		"/phones/v1/13800000001/messages", "/phones/v1/13800000001/profile", "/admin/v1/events", "/admin/v1/webhooks"} {
		ghost.call("GET", path, nil, 200, nil)
	}
	ghost.call("GET", "/phones/v1/13800000001/messages/next?timeout=10ms", nil, 204, nil)
	ghost.call("GET", "/provider/v1/filings/f_0123456789abcdef", nil, 404, nil)
	ghost.call("GET", "/admin/v1/requests", nil, 200, nil) // writes what the journal holds, at once
	keys, err := testkit.Keys(context.Background(), e.rdb, core.Keyspace{Prefix: e.redis.Prefix, Namespace: "ghost"}.Pattern())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("reads wrote %v", keys)
	}
	if _, err := e.rdb.ZScore(context.Background(), core.NamespacesKey(e.redis.Prefix), "ghost").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("reads put ghost in the registry: %v", err)
	}
	// the first write makes it, clock at its start
	ghost.patchFaults(`{"drop_rate":0.5}`)
	if now := ghost.now(); !now.Equal(t0) {
		t.Fatalf("the clock of the new namespace reads %v, want the start %v", now, t0)
	}
	if n, _ := e.rdb.Exists(context.Background(), core.Keyspace{Prefix: e.redis.Prefix, Namespace: "ghost"}.Clock()).Result(); n != 1 {
		t.Fatal("the first write did not set the clock")
	}
}

// Beyond --max-namespaces, a write that would make one more namespace is a
// 429 naming the limit; the namespaces in use go on, and reads of any
// namespace still answer.
func TestMaxNamespaces(t *testing.T) {
	e := newEnv(t, func(e *env) {
		e.hooks = func(c *simulator.Config) { c.MaxNamespaces = 3 }
	})
	e.patchFaults(`{}`) // default in use
	e.in("a").patchFaults(`{}`)
	e.in("b").patchFaults(`{}`) // with default: three in use
	code, b := e.in("c").do("PATCH", "/admin/v1/faults", map[string]any{})
	if code != http.StatusTooManyRequests {
		t.Fatalf("a fourth namespace: %d %s, want 429", code, b)
	}
	var p struct{ Type, Detail string }
	json.Unmarshal(b, &p)
	if p.Type != "urn:smsim:problem:too-many-namespaces" || !strings.Contains(p.Detail, `namespace "c": 3 namespaces are in use, the most this server holds (--max-namespaces)`) {
		t.Fatalf("problem %+v", p)
	}
	e.in("a").patchFaults(`{"drop_rate":0.1}`) // those in use go on
	e.in("c").call("GET", "/admin/v1/faults", nil, 200, nil)
}

// The default namespace counts under --max-namespaces only while in use,
// as any other: not from the process's start, nor for reads, but from a
// write carried out to it until it has been idle for --namespace-idle. It
// is never refused, and is listed all the same.
func TestMaxNamespacesCountsDefaultOnlyInUse(t *testing.T) {
	e := newEnv(t, func(e *env) {
		e.hooks = func(c *simulator.Config) { c.MaxNamespaces = 2 }
	})
	full := func(n int) {
		t.Helper()
		code, b := e.in("c").do("PATCH", "/admin/v1/faults", map[string]any{})
		want := fmt.Sprintf(`namespace "c": %d namespaces are in use, the most this server holds (--max-namespaces); use one of them, or wait until one has been idle for 1h`, n)
		if p := problemOf(t, b); code != http.StatusTooManyRequests || p.Detail != want {
			t.Fatalf("a write to c: %d %s, want 429 %q", code, b, want)
		}
	}
	e.in("a").patchFaults(`{}`)
	e.in("b").patchFaults(`{}`) // default unused: a and b take the two places
	full(2)
	var list struct{ Namespaces []struct{ Name string } }
	e.call("GET", "/admin/v1/namespaces", nil, 200, &list)
	if got := fmt.Sprint(list.Namespaces); got != "[{a} {b} {default}]" {
		t.Fatalf("namespaces listed %s, want a, b and default", got)
	}
	e.call("GET", "/admin/v1/faults", nil, 200, nil) // a read of default uses nothing
	full(2)
	e.patchFaults(`{"drop_rate":0.1}`) // default is never refused, and counts once written
	full(3)
	// default idle, its last use two hours ago: it counts no more
	reg := core.NamespacesKey(e.redis.Prefix)
	e.rdb.ZAdd(context.Background(), reg, redis.Z{Score: float64(time.Now().Add(-2 * time.Hour).UnixMilli()), Member: core.DefaultNamespace})
	full(2)
}

// --max-namespaces counts a namespace that went idle as a new one: a write
// to it, once others took the places, is a 429 like any; and writes to
// new namespaces at once take no more places than there are, each
// admission counted with the others in one step. Every answer names the
// namespace, the refusals too.
func TestMaxNamespacesCountsTheIdleAndTheConcurrent(t *testing.T) {
	e := newEnv(t, func(e *env) {
		e.hooks = func(c *simulator.Config) { c.MaxNamespaces = 3 }
	})
	e.patchFaults(`{}`) // default in use
	e.in("a").patchFaults(`{}`)
	e.in("b").patchFaults(`{}`) // with default: three in use
	// a and b go idle (their last use an hour and more ago)
	ctx := context.Background()
	reg := core.NamespacesKey(e.redis.Prefix)
	old := float64(time.Now().Add(-2 * time.Hour).UnixMilli())
	for _, n := range []string{"a", "b"} {
		e.rdb.ZAdd(ctx, reg, redis.Z{Score: old, Member: n})
	}
	other := e.newInstance() // a process that has not used a or b itself
	other.in("c").patchFaults(`{}`)
	other.in("d").patchFaults(`{}`) // default, c and d in use
	code, b := other.in("a").do("PATCH", "/admin/v1/faults", map[string]any{})
	if code != http.StatusTooManyRequests || !strings.Contains(string(b), `namespace \"a\": 3 namespaces are in use`) {
		t.Fatalf("a write to the idle a beside three in use: %d %s, want 429", code, b)
	}

	f := newEnv(t, func(e *env) {
		e.hooks = func(c *simulator.Config) { c.MaxNamespaces = 3 }
	})
	f.patchFaults(`{}`) // default in use
	const n = 16
	codes := make([]int, n)
	named := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("PATCH", f.url+"/admin/v1/faults", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(server.NamespaceHeader, fmt.Sprintf("rush-%d", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i], named[i] = resp.StatusCode, resp.Header.Get(server.NamespaceHeader)
		})
	}
	wg.Wait()
	admitted := 0
	for i, c := range codes {
		if c == http.StatusOK {
			admitted++
		} else if c != http.StatusTooManyRequests {
			t.Errorf("rush-%d: %d, want 200 or 429", i, c)
		}
		if want := fmt.Sprintf("rush-%d", i); named[i] != want {
			t.Errorf("rush-%d's answer (%d) names the namespace %q", i, c, named[i])
		}
	}
	if admitted != 2 {
		t.Fatalf("%d of %d new namespaces written at once were admitted beside default, want 2 (codes %v)", admitted, n, codes)
	}
}

// A namespace new to the store is in use from its first write carried out:
// writes refused (a misspelt namespace's bad requests) leave none in use,
// nor take a place under --max-namespaces, and what they made expires.
func TestRefusedWritesMakeNoNamespaceInUse(t *testing.T) {
	e := newEnv(t, withLimits(testLimits), func(e *env) {
		e.hooks = func(c *simulator.Config) { c.MaxNamespaces = 2 }
	})
	e.patchFaults(`{}`) // default in use: one of the two places
	for _, req := range []struct{ method, path, body string }{
		{"PUT", "/admin/v1/clock", `{"scale": 0}`},
		{"PATCH", "/admin/v1/faults", `{"drop_rate": 2}`},
		{"POST", "/miit/v1/validations", `{"code": "12"}`},
	} {
		if code, b := e.in("typo").do(req.method, req.path, req.body); code != 400 {
			t.Fatalf("%s %s: %d %s, want 400", req.method, req.path, code, b)
		}
	}
	inUse := func() []string {
		var got struct{ Namespaces []struct{ Name string } }
		e.call("GET", "/admin/v1/namespaces", nil, 200, &got)
		var names []string
		for _, n := range got.Namespaces {
			names = append(names, n.Name)
		}
		return names
	}
	if names := inUse(); !slices.Equal(names, []string{"default"}) {
		t.Fatalf("namespaces in use after refused writes: %v, want [default]", names)
	}
	typo := core.Keyspace{Prefix: e.redis.Prefix, Namespace: "typo"}
	e.wantTTL("the clock of a namespace only refused writes made", typo.Clock(), testLimits.NamespaceTTL)

	e.in("suite-a").patchFaults(`{"drop_rate": 0.1}`) // the place the refused writes did not take
	if code, b := e.in("suite-b").do("PATCH", "/admin/v1/faults", map[string]any{}); code != http.StatusTooManyRequests {
		t.Fatalf("a third namespace: %d %s, want 429", code, b)
	}
	if code, b := e.in("typo").do("PATCH", "/admin/v1/faults", map[string]any{}); code != http.StatusTooManyRequests {
		t.Fatalf("the misspelt namespace's first write carried out, beyond the most: %d %s, want 429", code, b)
	}
	if names := inUse(); !slices.Equal(names, []string{"default", "suite-a"}) {
		t.Fatalf("namespaces in use: %v, want [default suite-a]", names)
	}
}
