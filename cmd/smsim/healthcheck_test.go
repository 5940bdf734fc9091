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
		{"a URL without its scheme", []string{"healthcheck", "--url", strings.TrimPrefix(srv.URL, "http://") + "/readyz"}, nil, true, 1},
		{"a timeout of nothing", []string{"healthcheck", "--url", srv.URL + "/readyz", "--timeout", "-1s"}, nil, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ready.Store(c.ready)
			var stderr bytes.Buffer
			if got := run(context.Background(), c.args, env(c.env), io.Discard, &stderr); got != c.want {
				t.Fatalf("exit %d, want %d; stderr %s", got, c.want, stderr.String())
			}
		})
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", "127.0.0.1:8080"}, `smsim healthcheck: --url: "127.0.0.1:8080" is not an http:// or https:// URL`},
		{[]string{"--timeout", "-1s"}, "smsim healthcheck: --timeout: must be more than 0, got -1s"},
	} {
		var stderr bytes.Buffer
		if got := run(context.Background(), append([]string{"healthcheck"}, c.args...), env(nil), io.Discard, &stderr); got != 1 || !strings.HasPrefix(stderr.String(), c.want+"\n") {
			t.Errorf("%v: exit %d, stderr %q; want 1, %q", c.args, got, stderr.String(), c.want)
		}
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
