package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFlagsFallBackToEnvironment(t *testing.T) {
	c, err := parse([]string{"--seed", "9"}, env(map[string]string{
		"SMSIM_ADDR": "127.0.0.1:9999", "SMSIM_SEED": "1", "SMSIM_LOG_FORMAT": "json", "SMSIM_PAUSED": "true",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:9999" || c.seed != "9" || c.logFormat != "json" || !c.paused {
		t.Fatalf("config %+v: want addr and log format from the environment, the seed from the flag", c)
	}
}

// --webhook-host takes hosts one by one or separated by commas, from the
// command line or SMSIM_WEBHOOK_HOST, and they reach the server's config.
func TestWebhookHosts(t *testing.T) {
	c, err := parse([]string{"--webhook-host", "hooks.example, [::1]:9000", "--webhook-host", "10.0.0.7,localhost:8443"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := worldConfig(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sc.WebhookHosts, " "); got != "hooks.example [::1]:9000 10.0.0.7 localhost:8443" {
		t.Fatalf("webhook hosts %q", got)
	}
	c, err = parse(nil, env(map[string]string{"SMSIM_WEBHOOK_HOST": "ci.internal,build-7.ci.internal"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.webhookHosts, " "); got != "ci.internal build-7.ci.internal" {
		t.Fatalf("webhook hosts from the environment %q", got)
	}
}

// The limits of the store reach the server's config: the defaults, and
// what the flags or their variables say.
func TestLimitsFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want core.Limits
	}{
		{nil, nil, core.Limits{Retention: 24 * time.Hour, InboxMax: 1000, NamespaceTTL: 168 * time.Hour}},
		{[]string{"--retention", "0", "--inbox-max", "0", "--namespace-ttl", "0"}, nil, core.Limits{}},
		{nil, map[string]string{"SMSIM_RETENTION": "90m", "SMSIM_INBOX_MAX": "50", "SMSIM_NAMESPACE_TTL": "24h"},
			core.Limits{Retention: 90 * time.Minute, InboxMax: 50, NamespaceTTL: 24 * time.Hour}},
	} {
		cfg, err := parse(c.args, env(c.env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := worldConfig(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Limits != c.want {
			t.Errorf("%v %v: limits %+v, want %+v", c.args, c.env, sc.Limits, c.want)
		}
	}
}

func TestBadSettingsExitWithUsageError(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--scale", "0"}, nil, "scale"},
		{[]string{"--seed", "x"}, nil, "seed"},
		{[]string{"--clock-start", "yesterday"}, nil, "clock-start"},
		{[]string{"--clock-start", "9900-01-01T00:00:01Z"}, nil, "clock-start: must be at most 9900-01-01T00:00:00Z, the latest simulated time, got 9900-01-01T00:00:01Z"},
		{[]string{"--log-level", "loud"}, nil, "log-level"},
		{[]string{"--log-format", "xml"}, nil, "log-format"},
		{[]string{"--max-body", "10"}, nil, "max-body"},
		{[]string{"--namespace-idle", "5s"}, nil, "namespace-idle: must be at least 1m, got 5s"},
		{[]string{"--max-namespaces", "0"}, nil, "max-namespaces: must be at least 1, got 0"},
		{[]string{"--namespace-ttl", "30m"}, nil, "namespace-ttl: must be 0 (for ever) or at least the namespace-idle (1h0m0s), got 30m0s"},
		{[]string{"--namespace-idle", "3h"}, map[string]string{"SMSIM_NAMESPACE_TTL": "2h"}, "namespace-ttl: must be 0 (for ever) or at least the namespace-idle"},
		{[]string{"--retention", "-1h"}, nil, "retention: must be 0 (for ever) or more, got -1h0m0s"},
		{[]string{"--inbox-max", "-1"}, nil, "inbox-max: must be 0 (all) or more, got -1"},
		{[]string{"--webhook-host", "http://hooks.example"}, nil, `invalid value "http://hooks.example" for flag -webhook-host: "http://hooks.example" is not a host name or address`},
		{[]string{"--webhook-host", "localhost"}, nil, `invalid value "localhost" for flag -webhook-host: "localhost": give the port of loopback webhooks may reach, such as 127.0.0.1:9000`},
		{[]string{"--webhook-host", "127.0.0.1:0"}, nil, `"127.0.0.1:0": the port must be 1 to 65535`},
		{[]string{"--allowed-host", "http://smsim.internal"}, nil, `invalid value "http://smsim.internal" for flag -allowed-host: "http://smsim.internal" is not a host name or address (give it without a port)`},
		{[]string{"--max-conns", "-1"}, nil, "max-conns: must be 0 (from the limit of open files) or more, got -1"},
		{[]string{"--addr", "0.0.0.0:0"}, nil, "addr: 0.0.0.0:0 listens beyond loopback, where anyone who reaches it could reset and drive the simulator: give --admin-token (or SMSIM_ADMIN_TOKEN), or --insecure to run it open"},
		{[]string{"--addr", ":0"}, nil, "addr: :0 listens beyond loopback"},
		{nil, map[string]string{"SMSIM_ADDR": "[::]:0"}, "addr: [::]:0 listens beyond loopback"},
		{nil, map[string]string{"SMSIM_SCALE": "fast"}, "SMSIM_SCALE"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"--miit-sender", "95187"}, nil, "miit-sender"},
		{[]string{"--provider-sender", "abc"}, nil, "provider-sender"},
		{[]string{"--scenario", "no_such_day"}, nil, "scenario"},
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), c.args, env(c.env), io.Discard, &stderr)
		if code != 2 {
			t.Errorf("%v %v: exit %d, want 2", c.args, c.env, code)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v %v: stderr %q does not name %q", c.args, c.env, stderr.String(), c.want)
		}
	}
}

// testkit.Buffer is a buffer safe for one writer and one reader.
// The binary with no Redis given starts an embedded one, serves, and shuts
// down cleanly when its context ends (SIGINT or SIGTERM in main).
func TestRunServesOnEmbeddedStoreAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs testkit.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"--addr", "127.0.0.1:0", "--paused", "--scenario", "spam_heavy_day"}, env(nil), io.Discard, &logs)
	}()

	url := regexp.MustCompile(`url=(http://[0-9.:]+)`)
	deadline := time.Now().Add(10 * time.Second)
	var base string
	for base == "" {
		if m := url.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no url logged: %s", logs.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/admin/v1/clock", "/openapi.json", "/"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	resp, err := http.Get(base + "/admin/v1/faults")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"spam_block_rate":0.3`) {
		t.Errorf("the --scenario spam_heavy_day did not set the faults: %s", b)
	}
	if !strings.Contains(logs.String(), "store=embedded") {
		t.Errorf("log does not say the store is embedded: %s", logs.String())
	}
	// A long poll in progress does not hold up the shutdown.
	polled := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/phones/v1/13800000001/messages/next?timeout=5m")
		if err != nil {
			polled <- -1
			return
		}
		resp.Body.Close()
		polled <- resp.StatusCode
	}()
	time.Sleep(300 * time.Millisecond) // real time for the request to reach the server
	cancel()
	select {
	case code := <-polled:
		if code != 204 {
			t.Errorf("the long poll ended with %d at shutdown, want 204", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll held up the shutdown")
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d after shutdown; log %s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not shut down")
	}
}

// startRun runs the binary with args until the test ends, and answers its
// URL and its log.
func startRun(t *testing.T, args []string, getenv func(string) string) (string, *testkit.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testkit.Buffer{}
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, args, getenv, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exit:
		case <-time.After(15 * time.Second):
			t.Error("did not shut down")
		}
	})
	url := regexp.MustCompile(`url=http://\S*:([0-9]+) `)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := url.FindStringSubmatch(logs.String()); m != nil {
			return "http://127.0.0.1:" + m[1], logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no url logged: %s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Beyond loopback, smsim runs with --insecure and a warning, or with a
// token its admin routes want.
func TestRunBeyondLoopback(t *testing.T) {
	get := func(base, path, token string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	base, logs := startRun(t, []string{"--addr", "0.0.0.0:0", "--insecure"}, env(nil))
	if !strings.Contains(logs.String(), `level=WARN msg="listening beyond loopback without an admin token (--insecure): anyone who reaches the port may reset and drive the simulator" addr=0.0.0.0:0`) {
		t.Errorf("no warning logged: %s", logs.String())
	}
	if code := get(base, "/admin/v1/clock", ""); code != 200 {
		t.Errorf("--insecure: GET /admin/v1/clock %d, want 200", code)
	}
	base, _ = startRun(t, []string{"--addr", "0.0.0.0:0"}, env(map[string]string{"SMSIM_ADMIN_TOKEN": "s3cret"}))
	if code := get(base, "/admin/v1/clock", ""); code != 401 {
		t.Errorf("with a token: GET /admin/v1/clock without it %d, want 401", code)
	}
	if code := get(base, "/admin/v1/clock", "s3cret"); code != 200 {
		t.Errorf("with a token: GET /admin/v1/clock with it %d, want 200", code)
	}
}

// The embedded store's TTLs run down with real time, as a real Redis's do,
// so that its memory is bounded too; a key without one stays.
func TestEmbeddedStoreRunsDownTTLs(t *testing.T) {
	m := miniredis.RunT(t)
	m.Set("finished", "x")
	m.SetTTL("finished", 50*time.Millisecond)
	m.Set("kept", "x")
	stop := runDownTTLs(m, 5*time.Millisecond)
	defer stop()
	testkit.WaitFor(t, "the key to expire", func() bool { return !m.Exists("finished") })
	if !m.Exists("kept") {
		t.Fatal("a key without a TTL expired")
	}
}
