package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"
	"smsim/simulator/server/openapitest"
)

// keys names the keys of the env's default namespace.
func (e *env) keys() core.Keyspace {
	return core.Keyspace{Prefix: e.redis.Prefix, Namespace: core.DefaultNamespace}
}

// t0 is the simulated time every test starts at, the clock paused.
var t0 = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// env is a whole smsim for one test: a Redis (miniredis, or the real
// server of SMSIM_TEST_REDIS_URL) and one or more server instances on it.
type env struct {
	t      testing.TB
	redis  *testkit.Redis
	seed   *int64
	log    *slog.Logger                    // nil: discard
	hooks  func(*simulator.Config)         // sets the webhook options of every instance
	limits core.Limits                     // of every instance; the zero value: nothing expires
	start  *core.ClockStart                // the clock's start of every instance; nil: t0, paused
	server server.Config                   // of every instance, its Log the env's
	listen func(net.Listener) net.Listener // wraps the listener of every instance; nil: none
	*instance
}

// instance is one smsim process: its server and its HTTP endpoint.
type instance struct {
	t     testing.TB
	srv   *server.Server
	world *simulator.World
	http  *httptest.Server
	url   string
	rdb   redis.UniversalClient
	reg   *prometheus.Registry
	ns    string // the X-Smsim-Namespace of its requests; "": none
	bare  bool   // its requests go out unchecked: a benchmark measures the server, not the conformance check
}

// in answers the instance speaking for namespace ns.
func (in *instance) in(ns string) *instance {
	c := *in
	c.ns = ns
	return &c
}

type envOption func(*env)

func withSeed(n int64) envOption { return func(e *env) { e.seed = &n } }

// withServer configures the HTTP server of every instance.
func withServer(c server.Config) envOption { return func(e *env) { e.server = c } }

// withClockStart starts the clock of every instance at s (and sets it back
// there on a reset).
func withClockStart(s core.ClockStart) envOption { return func(e *env) { e.start = &s } }

// withListener wraps the listener of every instance: a test's view of the
// server's connections.
func withListener(wrap func(net.Listener) net.Listener) envOption {
	return func(e *env) { e.listen = wrap }
}

// withLimits bounds the store as the binary's flags do.
func withLimits(l core.Limits) envOption { return func(e *env) { e.limits = l } }

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, redis: testkit.StartRedis(t)}
	for _, o := range opts {
		o(e)
	}
	e.instance = e.newInstance()
	return e
}

// newInstance starts another server process on the env's Redis.
func (e *env) newInstance() *instance {
	t := e.t
	t.Helper()
	rdb := e.redis.Client(t)
	reg := prometheus.NewRegistry()
	start := core.ClockStart{At: t0, Paused: true}
	if e.start != nil {
		start = *e.start
	}
	cfg := simulator.Config{
		Redis: rdb, KeyPrefix: e.redis.Prefix, Seed: e.seed, Registry: reg, Log: e.log, StoreTimeout: testkit.StoreTimeout,
		ClockStart: start, Limits: e.limits,
	}
	if e.hooks != nil {
		e.hooks(&cfg)
	}
	world, err := simulator.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	scfg := e.server
	scfg.Log = e.log
	srv := server.New(world, scfg)
	hs := httptest.NewUnstartedServer(srv.Routes())
	if e.listen != nil {
		hs.Listener = e.listen(hs.Listener)
	}
	hs.Start()
	in := &instance{t: t, srv: srv, world: world, http: hs, url: hs.URL, rdb: rdb, reg: reg}
	t.Cleanup(in.stop)
	return in
}

// stop ends the instance, as a process that shuts down.
func (in *instance) stop() {
	if in.http == nil {
		return
	}
	in.http.Close()
	in.world.Stop()
	in.http = nil
}

// do sends a request with a JSON body (a string is sent as it is) and
// answers the status and body. Every exchange is checked against the
// OpenAPI document (openapitest.Transport): the whole suite is a
// conformance test, not only the dedicated one.
func (in *instance) do(method, path string, body any) (int, []byte) {
	in.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			in.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, in.url+path, r)
	if err != nil {
		in.t.Fatal(err)
	}
	if body != nil || method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	if in.ns != "" {
		req.Header.Set(server.NamespaceHeader, in.ns)
	}
	hc := &http.Client{Transport: openapitest.Transport(in.t, nil)}
	if in.bare {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// call sends a request, checks the status and decodes the answer into out
// (when not nil).
func (in *instance) call(method, path string, body any, want int, out any) {
	in.t.Helper()
	code, b := in.do(method, path, body)
	if code != want {
		in.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			in.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

func (in *instance) advance(by string) core.ClockState {
	in.t.Helper()
	var st core.ClockState
	in.call("POST", "/admin/v1/clock/advance", map[string]string{"by": by}, 200, &st)
	return st
}

func (in *instance) now() time.Time {
	in.t.Helper()
	var st core.ClockState
	in.call("GET", "/admin/v1/clock", nil, 200, &st)
	return st.Now
}

// patchFaults merges a patch into the fault profile.
func (in *instance) patchFaults(patch string) {
	in.t.Helper()
	in.call("PATCH", "/admin/v1/faults", patch, 200, nil)
}

// fixedLags sets the sync lag to sync and the result sync lag to result,
// exactly.
func (in *instance) fixedLags(sync, result string) {
	in.t.Helper()
	in.patchFaults(fmt.Sprintf(`{"sync_lag":{"min":%q,"max":%q},"result_sync_lag":{"min":%q,"max":%q}}`, sync, sync, result, result))
}

type person = miit.Person

func leader(phone string) *person {
	return &person{Name: "Li Lei", Phone: phone, CertificateNumber: "110101199003071234"}
}

func admin(phone string) *person {
	return &person{Name: "Han Meimei", Phone: phone, CertificateNumber: "11010119920101567X"}
}

// The last six characters of leader's and admin's certificates.
const (
	leaderCert = "071234"
	adminCert  = "01567X"
)

func (in *instance) submit(req miit.SubmitRequest) miit.ProviderView {
	in.t.Helper()
	var v miit.ProviderView
	in.call("POST", "/provider/v1/filings", req, 201, &v)
	return v
}

func (in *instance) providerView(id string) miit.ProviderView {
	in.t.Helper()
	var v miit.ProviderView
	in.call("GET", "/provider/v1/filings/"+id, nil, 200, &v)
	return v
}

func (in *instance) miitView(id string) miit.MIITView {
	in.t.Helper()
	var v miit.MIITView
	in.call("GET", "/miit/v1/filings/"+id, nil, 200, &v)
	return v
}

// message is a phone's message as the API shows it.
type message struct {
	ID          string     `json:"id"`
	Phone       string     `json:"phone"`
	Sender      string     `json:"sender"`
	Body        string     `json:"body"`
	Code        string     `json:"code"`
	Folder      string     `json:"folder"`
	SentAt      time.Time  `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

func (in *instance) folder(phone, folder string) []message {
	in.t.Helper()
	var out struct{ Messages []message }
	in.call("GET", "/phones/v1/"+phone+"/messages?folder="+folder, nil, 200, &out)
	return out.Messages
}

func (in *instance) inbox(phone string) []message { return in.folder(phone, "inbox") }

// codes answers the codes in a phone's inbox, oldest first.
func (in *instance) codes(phone string) []string {
	in.t.Helper()
	var out []string
	for _, m := range in.inbox(phone) {
		if m.Code != "" {
			out = append(out, m.Code)
		}
	}
	return out
}

// code answers the newest code in a phone's inbox; the test fails when
// there is none.
func (in *instance) code(phone string) string {
	in.t.Helper()
	c := in.codes(phone)
	if len(c) == 0 {
		in.t.Fatalf("no code in the inbox of %s: %+v", phone, in.inbox(phone))
	}
	return c[len(c)-1]
}

func (in *instance) validate(code, phone, cert string) miit.ValidationResult {
	in.t.Helper()
	var r miit.ValidationResult
	in.call("POST", "/miit/v1/validations", miit.ValidateRequest{Code: code, Phone: phone, CertificateLast6: cert}, 200, &r)
	return r
}

func (in *instance) resend(phone, cert string) miit.ResendResult {
	in.t.Helper()
	var r miit.ResendResult
	in.call("POST", "/miit/v1/resends", miit.ResendRequest{Phone: phone, CertificateLast6: cert}, 200, &r)
	return r
}

// wrong answers a valid code that is not code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// firstFilingWebsite is an order both people must validate.
func firstFilingWebsite(leaderPhone, adminPhone string) miit.SubmitRequest {
	return miit.SubmitRequest{Type: "first_filing", Variant: "website",
		EntityLeader: leader(leaderPhone), WebsiteAdmin: admin(adminPhone)}
}

// wantValidation checks a validation answer: result word, exact message,
// rejected flag.
func wantValidation(t *testing.T, got miit.ValidationResult, result string, rejected bool) {
	t.Helper()
	msg := map[string]string{
		"complete": miit.TextComplete, "partial": miit.TextPartial,
		"failed": miit.TextFailed, "not_found": miit.TextValidateNotFound,
	}[result]
	if got.Result != result || got.Message != msg || got.Rejected != rejected {
		t.Fatalf("validation = %+v, want %s %q rejected=%v", got, result, msg, rejected)
	}
}

func wantResend(t *testing.T, got miit.ResendResult, result string) {
	t.Helper()
	msg := map[string]string{
		"resent": miit.TextResent, "no_pending": miit.TextNoPending,
		"not_found": miit.TextResendNotFound, "limit_reached": miit.TextLimitReached,
	}[result]
	if got.Result != result || got.Message != msg {
		t.Fatalf("resend = %+v, want %s %q", got, result, msg)
	}
}

// newBenchEnv is an env whose requests are not checked against the OpenAPI
// document (the tests check them): what a benchmark times is the server.
func newBenchEnv(b *testing.B) *env {
	e := newEnv(b)
	e.bare = true
	return e
}
