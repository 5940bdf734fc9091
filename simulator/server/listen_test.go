package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"smsim/simulator/server"
)

// Beyond --max-conns, a connection is answered 503 with a problem and
// closed, never left waiting; once a connection closes, its place is free.
func TestLimitListenerAnswers503BeyondTheCap(t *testing.T) {
	release := make(chan struct{})
	addr, reg := serveLimited(t, 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), release, nil)

	// two connections hold the two places
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /hold HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		held = append(held, c)
	}
	waitFor(t, func() bool { return metricValue(t, reg, "smsim_http_connections") == 2 })

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("a third connection: %v, want a 503", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(string(b), `"type":"urn:smsim:problem:too-many-connections"`) ||
		!strings.Contains(string(b), `"detail":"too many connections: the server holds --max-conns open at once; try again"`) {
		t.Fatalf("a third connection: %d %v %s, want a 503 problem with Retry-After: 1", resp.StatusCode, resp.Header, b)
	}
	if got := metricValue(t, reg, "smsim_http_connections_refused_total"); got != 1 {
		t.Fatalf("smsim_http_connections_refused_total %v, want 1", got)
	}

	// one held connection ends: its place is free again
	close(release)
	for _, c := range held {
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	held[0].Close()
	waitFor(t, func() bool { return metricValue(t, reg, "smsim_http_connections") == 1 })
	resp, err = hc.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("once a place is free: %d, want 200", resp.StatusCode)
	}
}

// Beyond --max-conns a probe, GET /healthz or /readyz, is answered all the
// same, by the server's routes: a process at its limit is alive and ready,
// and an orchestrator must not restart it for being busy. Any other
// request is the 503.
func TestLimitListenerAnswersProbesBeyondTheCap(t *testing.T) {
	e := newEnv(t)
	routes := e.srv.Routes()
	release := make(chan struct{})
	defer close(release)
	addr, reg := serveLimited(t, 1, routes, release, routes)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /hold HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	waitFor(t, func() bool { return metricValue(t, reg, "smsim_http_connections") == 1 })

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for path, want := range map[string]string{"/healthz": `{"status":"ok"}`, "/readyz": `{"status":"ready"}`} {
		resp, err := hc.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s beyond the cap: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != want || resp.Header.Get("X-Request-Id") == "" {
			t.Fatalf("GET %s beyond the cap: %d %v %s, want 200 %s", path, resp.StatusCode, resp.Header, b, want)
		}
	}
	if resp, err := hc.Head("http://" + addr + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD /healthz beyond the cap: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := hc.Get("http://" + addr + "/admin/v1/clock")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("GET /admin/v1/clock beyond the cap: %d, want 503", resp.StatusCode)
	}
	if got := metricValue(t, reg, "smsim_http_connections_refused_total"); got != 4 {
		t.Fatalf("smsim_http_connections_refused_total %v, want 4: the probes are beyond the cap too", got)
	}
}

// A probe handler that panics beyond --max-conns leaves the probe's
// connection closed unanswered, as net/http does within the cap, and the
// process serving.
func TestAProbeThatPanicsBeyondTheCapIsClosed(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	panics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	addr, _ := serveLimited(t, 1, http.NotFoundHandler(), release, panics)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /hold HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	waitFor(t, func() bool {
		resp, err := hc.Get("http://" + addr + "/other") // the 503 tells the cap is reached
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	})
	if resp, err := hc.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a probe whose handler panicked: %d, want the connection closed unanswered", resp.StatusCode)
	}
	if resp, err := hc.Get("http://" + addr + "/other"); err != nil || resp.StatusCode != 503 {
		t.Fatalf("after the panic: %v %v, want the 503 of a server still serving", resp, err)
	} else {
		resp.Body.Close()
	}
}

// serveLimited serves h on a loopback port through a LimitListener of
// max connections and probes, until the test ends; GET /hold waits until
// release is closed. It answers the address and the listener's registry.
func serveLimited(t *testing.T, max int, h http.Handler, release <-chan struct{}, probes http.Handler) (string, *prometheus.Registry) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-release
			return
		}
		h.ServeHTTP(w, r)
	})}
	served := make(chan error, 1)
	limited := server.LimitListener(ln, max, reg, probes) // its metrics registered before they are read
	go func() { served <- hs.Serve(limited) }()
	t.Cleanup(func() {
		hs.Close()
		<-served
	})
	return ln.Addr().String(), reg
}

// metricValue answers the value of reg's gauge or counter called name.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// waitFor waits, in real time, until cond holds: what it waits for is a
// connection's end, which no simulated clock drives.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	waitWithin(t, 5*time.Second, "the condition", cond)
}

// waitWithin waits until cond holds, and fails, naming what it waited for,
// when it does not within d.
func waitWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The server smsim serves with bounds a request's line and header at
// 64 KiB: one longer is a 431, not a megabyte held per connection.
func TestHTTPServerBoundsTheHeader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := server.HTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), slog.New(slog.DiscardHandler))
	go hs.Serve(ln)
	defer hs.Shutdown(context.Background()) // waits out the connection the 431 closes
	for _, c := range []struct {
		n    int
		want int
	}{{60 << 10, 200}, {100 << 10, http.StatusRequestHeaderFieldsTooLarge}} {
		resp, err := http.Get("http://" + ln.Addr().String() + "/?x=" + strings.Repeat("x", c.n))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("a request line of %d bytes: %d, want %d", c.n, resp.StatusCode, c.want)
		}
	}
}

// A body that does not arrive within the server's read deadline is a 408
// that says so, naming no address of the connection; one that ends before
// its Content-Length, a 400 that says that.
func TestSlowOrShortBodies(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := server.HTTPServer(e.srv.Routes(), slog.New(slog.DiscardHandler))
	hs.ReadTimeout = 300 * time.Millisecond // the test's; 30 s served
	go hs.Serve(ln)
	defer hs.Shutdown(context.Background())
	const short = "body: ended before the length it announced (Content-Length)"
	for _, c := range []struct {
		name, request string
		sent          string // of the 100 bytes the request announces
		closeSend     bool
		status        int
		detail        string
	}{
		{"stalled", "POST /miit/v1/validations", `{"code":`, false, http.StatusRequestTimeout, "body: did not arrive within 30s, the time for a whole request: send it at once"},
		{"stalled", "PUT /admin/v1/faults", `{"code":`, false, http.StatusRequestTimeout, "body: did not arrive within 30s"},
		{"short", "PUT /admin/v1/faults", `{"code":`, true, http.StatusBadRequest, short},
		{"short", "POST /miit/v1/validations", `{"code":`, true, http.StatusBadRequest, short},
		{"none of it", "PUT /admin/v1/faults", "", true, http.StatusBadRequest, short},
		{"none of it", "POST /miit/v1/validations", "", true, http.StatusBadRequest, short},
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n%s", c.request, c.sent)
		if c.closeSend {
			conn.(*net.TCPConn).CloseWrite()
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.detail) || strings.Contains(string(b), "127.0.0.1") {
			t.Errorf("%s %s body: %d %s, want %d %q and no address", c.request, c.name, resp.StatusCode, b, c.status, c.detail)
		}
	}
}
