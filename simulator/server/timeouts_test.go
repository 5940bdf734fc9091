package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smsim/simulator/server"
)

// The HTTP server's deadlines: a request whose body dribbles in is cut off
// at ReadTimeout, a kept-alive connection idle for IdleTimeout is closed,
// and a handler that outlives ReadTimeout once its request is read — a
// long poll, a body read in time — is not cut off by it; nor is a long
// poll's answer by WriteTimeout.
func TestHTTPServerDeadlines(t *testing.T) {
	e := newEnv(t)
	hs := server.HTTPServer(e.srv.Routes(), slog.New(slog.DiscardHandler))
	hs.ReadTimeout, hs.IdleTimeout, hs.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	ts := httptest.NewUnstartedServer(hs.Handler)
	ts.Config = hs
	ts.Start()
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")

	// a slow body: cut off, never answered
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /admin/v1/clock/advance HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"by\"", addr)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	b, _ := io.ReadAll(c)
	if d := time.Since(start); d > 3*time.Second || strings.Contains(string(b), "200 OK") {
		t.Fatalf("a slow body: %q after %s, want the connection cut off at the read timeout", b, d)
	}

	// an idle kept-alive connection: closed
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	start = time.Now()
	b, _ = io.ReadAll(c2)
	if d := time.Since(start); d > 3*time.Second || !strings.HasPrefix(string(b), "HTTP/1.1 200 OK") {
		t.Fatalf("an idle connection: %q after %s, want an answer, then the connection closed at the idle timeout", b, d)
	}

	// a long poll of a second, three read (and write) timeouts long, on a
	// running clock (on a paused one with nothing on its way it answers at
	// once): answered 204 when its own timeout passes, not cut off before
	e.call("PUT", "/admin/v1/clock", map[string]any{"paused": false}, http.StatusOK, nil)
	start = time.Now()
	resp, err := http.Get(ts.URL + "/phones/v1/13800000001/messages/next?timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); resp.StatusCode != http.StatusNoContent || d < 900*time.Millisecond {
		t.Fatalf("a long poll past the read timeout: %d after %s, want 204 after its timeout of 1s", resp.StatusCode, d)
	}
}
