package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestHealthcheckExitsZeroOnlyWhenReady(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	for _, c := range []struct {
		name  string
		args  []string
		env   map[string]string
		ready bool
		want  int
	}{
		{"ready", []string{"healthcheck", "--url", srv.URL + "/readyz"}, nil, true, 0},
		{"not ready", []string{"healthcheck", "--url", srv.URL + "/readyz"}, nil, false, 1},
		{"another path", []string{"healthcheck", "--url", srv.URL + "/other"}, nil, true, 1},
		{"no server", []string{"healthcheck", "--url", gone.URL + "/readyz"}, nil, true, 1},
		{"default URL from SMSIM_ADDR", []string{"healthcheck"}, map[string]string{"SMSIM_ADDR": "0.0.0.0:" + port}, true, 0},
		{"bad flag", []string{"healthcheck", "--no-such-flag"}, nil, true, 1},
		{"extra argument", []string{"healthcheck", "now"}, nil, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ready.Store(c.ready)
			var stderr bytes.Buffer
			if got := run(context.Background(), c.args, env(c.env), io.Discard, &stderr); got != c.want {
				t.Fatalf("exit %d, want %d; stderr %s", got, c.want, stderr.String())
			}
		})
	}
}

func TestHealthURLReachesTheListenAddress(t *testing.T) {
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:8080/readyz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		":9000":          "http://127.0.0.1:9000/readyz",
		"[::]:8081":      "http://127.0.0.1:8081/readyz",
		"10.1.2.3:80":    "http://10.1.2.3:80/readyz",
		"localhost:8080": "http://localhost:8080/readyz",
	} {
		if got := healthURL(addr); got != want {
			t.Errorf("healthURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
