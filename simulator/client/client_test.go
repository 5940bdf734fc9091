package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"smsim/simulator"
	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"
	"smsim/simulator/server/openapitest"
	"smsim/simulator/simtest"
)

// The people of the tests' orders, and the last six characters of their
// certificates.
var (
	leader = client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	admin  = client.Person{Name: "Han Meimei", Phone: "13800000002", CertificateNumber: "11010119920101567X"}
)

// codesSent submits a first filing and advances the clock past the sync
// lag: both people have their codes.
func codesSent(t *testing.T, sim *simtest.Sim) client.ProviderView {
	t.Helper()
	ctx := t.Context()
	order, err := sim.SubmitFirstFiling(ctx, leader, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	return order
}

func TestNewTakesAServerURL(t *testing.T) {
	for _, u := range []string{"127.0.0.1:8080", "ftp://host/", "http://", "::"} {
		if _, err := client.New(u); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
	c, err := client.New("http://127.0.0.1:8080/")
	if err != nil {
		t.Fatal(err)
	}
	if c.URL() != "http://127.0.0.1:8080" {
		t.Fatalf("URL() = %q", c.URL())
	}
}

func TestErrorsCarryTheProblemDetails(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	_, err := sim.Submit(ctx, client.SubmitRequest{Type: "renewal"})
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is no *client.Error", err, err)
	}
	if e.Status != 400 || e.Type != "urn:smsim:problem:invalid-input" || e.Title != "Bad Request" ||
		!strings.HasPrefix(e.Detail, `type: must be one of `) || !strings.HasSuffix(e.Detail, `got "renewal"`) {
		t.Fatalf("error %+v", e)
	}
	if e.Method != "POST" || e.Path != "/provider/v1/filings" || e.RequestID == "" {
		t.Fatalf("error %+v: want the request and its id", e)
	}
	if !strings.Contains(err.Error(), "POST /provider/v1/filings: 400 Bad Request: type: must be one of") {
		t.Fatalf("message %q", err)
	}

	_, err = sim.Filing(ctx, "f_0000000000000000")
	if !client.IsStatus(err, http.StatusNotFound) || !errors.As(err, &e) || e.Type != "urn:smsim:problem:not-found" {
		t.Fatalf("unknown filing: %v", err)
	}
	if client.IsStatus(err, http.StatusBadRequest) || client.IsStatus(errors.New("x"), 404) {
		t.Fatal("IsStatus answers true for another status or another error")
	}
}

func TestErrorOfAnAnswerThatIsNoProblem(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "r-1")
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer proxy.Close()
	c, err := client.New(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Clock(t.Context())
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 502 || e.Title != "Bad Gateway" || e.Type != "about:blank" ||
		e.Detail != "upstream down" || e.RequestID != "r-1" {
		t.Fatalf("error %#v", err)
	}
}

func TestHeadersGoWithEveryRequest(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("X-Test")+" "+r.Header.Get("X-Request-Id"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status": "ok"}`))
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithHeader("X-Test", "a"))
	if err != nil {
		t.Fatal(err)
	}
	d := c.With(client.WithHeader("X-Request-Id", "demo-1"))
	ctx := t.Context()
	if err := c.Healthz(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Healthz(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Readyz(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a ", "a demo-1", "a "}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("headers %q, want %q: With must not change the client it copies", got, want)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	if err := sim.Healthz(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sim.Readyz(ctx); err != nil {
		t.Fatal(err)
	}
}

// With its store gone, a server is alive but not ready. The store is a
// miniredis of this test's own, whatever Redis the other tests use: it is
// the one it can take away.
func TestReadinessWithoutAStore(t *testing.T) {
	ctx := t.Context()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(core.StoreOptions(&redis.Options{Addr: m.Addr()}, 0))
	defer rdb.Close()
	world, err := simulator.New(ctx, simulator.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(world, server.Config{}).Routes())
	defer hs.Close()
	defer world.Stop()
	c, err := client.New(hs.URL, client.WithHTTPClient(&http.Client{Transport: openapitest.Transport(t, nil)}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Readyz(ctx); err != nil {
		t.Fatal(err)
	}
	m.Close() // the store goes away: the server's probe finds it within a second
	testkit.WaitFor(t, "readyz a 503 without a store", func() bool {
		return client.IsStatus(c.Readyz(ctx), http.StatusServiceUnavailable)
	})
	if err := c.Healthz(ctx); err != nil {
		t.Fatalf("healthz without a store: %v", err)
	}
}

func TestTheServerGoneIsNoProblem(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, _ := client.New(srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err := c.Healthz(ctx)
	var e *client.Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("error %v: want a transport error, not a *client.Error", err)
	}
}

// WithToken sends the server's admin token: without it, an admin or
// phone-control call of a server started with one is a 401; with it, it
// works, websockets too; a bodiless POST says it is JSON, as the server
// wants.
func TestWithToken(t *testing.T) {
	sim := runT(t, simtest.WithServerConfig(func(c *server.Config) { c.AdminToken = "s3cret" }))
	ctx := t.Context()
	c, err := client.New(sim.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Clock(ctx); !client.IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("clock without the token: %v, want a 401", err)
	}
	if _, err := c.Reset(ctx); !client.IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("reset without the token: %v, want a 401", err)
	}
	c = c.With(client.WithToken("s3cret"))
	if _, err := c.Clock(ctx); err != nil {
		t.Fatalf("clock with the token: %v", err)
	}
	if _, err := c.Reset(ctx); err != nil {
		t.Fatalf("reset (a bodiless POST) with the token: %v", err)
	}
	feed, err := c.WatchEvents(ctx, "")
	if err != nil {
		t.Fatalf("events with the token: %v", err)
	}
	feed.Close()
}
