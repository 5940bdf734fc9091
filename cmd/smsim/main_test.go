package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
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

// The embedded store is this process's alone: the world is told so, and
// does not look in the registry for namespaces other processes use; with
// --redis-url it does.
func TestEmbeddedStoreIsPrivate(t *testing.T) {
	for _, c := range []struct {
		args    []string
		private bool
	}{
		{nil, true},
		{[]string{"--redis-url", "redis://127.0.0.1:6379/0"}, false},
	} {
		cfg, err := parse(c.args, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := worldConfig(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sc.PrivateStore != c.private {
			t.Fatalf("%v: the world's PrivateStore is %v, want %v", c.args, sc.PrivateStore, c.private)
		}
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
		if sc.StoreTimeout != core.DefaultStoreTimeout {
			t.Errorf("%v %v: store timeout %s, want %s", c.args, c.env, sc.StoreTimeout, core.DefaultStoreTimeout)
		}
		if sc.Limits != c.want {
			t.Errorf("%v %v: limits %+v, want %+v", c.args, c.env, sc.Limits, c.want)
		}
	}
}

// --language, or SMSIM_LANGUAGE, is the language of the namespaces whose
// fault profile names none: English unless set. The journal keeps 1000
// requests a namespace unless --journal-max (or SMSIM_JOURNAL_MAX) says
// otherwise; 0 keeps none.
func TestWorldConfigFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		got  func(simulator.Config) any
		want any
	}{
		{nil, nil, language, "en"},
		{[]string{"--language", "zh"}, nil, language, "zh"},
		{nil, map[string]string{"SMSIM_LANGUAGE": "zh"}, language, "zh"},
		{[]string{"--language", "en"}, map[string]string{"SMSIM_LANGUAGE": "zh"}, language, "en"},
		{nil, nil, journalMax, 1000},
		{[]string{"--journal-max", "50"}, nil, journalMax, 50},
		{nil, map[string]string{"SMSIM_JOURNAL_MAX": "7"}, journalMax, 7},
		{[]string{"--journal-max", "0"}, nil, journalMax, -1},
	} {
		cfg, err := parse(c.args, env(c.env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := worldConfig(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.got(sc); got != c.want {
			t.Errorf("%v %v: %v, want %v", c.args, c.env, got, c.want)
		}
	}
}

func language(sc simulator.Config) any   { return sc.Language }
func journalMax(sc simulator.Config) any { return sc.JournalMax }

func TestBadSettingsExitWithUsageError(t *testing.T) {
	twoValues := filepath.Join(t.TempDir(), "two.json")
	if err := os.WriteFile(twoValues, []byte(`{"name":"quiet"} {}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--scale", "0"}, nil, "smsim: --scale: must be more than 0 and at most 1000000, got 0\n"},
		{nil, map[string]string{"SMSIM_SCALE": "0"}, "smsim: SMSIM_SCALE: must be more than 0 and at most 1000000, got 0\n"},
		{[]string{"--scale", "x"}, nil, "smsim: --scale: \"x\" is not a value it takes\nusage: smsim [flags] (smsim -h lists them and the subcommands)\n"},
		{nil, map[string]string{"SMSIM_SEED": "x"}, "smsim: SMSIM_SEED: \"x\" is not a whole number\n"},
		{[]string{"--seed", "x"}, nil, "smsim: --seed: \"x\" is not a whole number\n"},
		{[]string{"--clock-start", "yesterday"}, nil, "clock-start"},
		{[]string{"--clock-start", "9900-01-01T00:00:01Z"}, nil, "clock-start: must be at most 9900-01-01T00:00:00Z, the latest simulated time, got 9900-01-01T00:00:01Z"},
		{[]string{"--log-level", "loud"}, nil, "log-level"},
		{[]string{"--log-format", "xml"}, nil, "log-format"},
		{[]string{"--max-body", "10"}, nil, "max-body"},
		{[]string{"--namespace-idle", "5s"}, nil, "namespace-idle: must be at least 1m, got 5s"},
		{[]string{"--max-namespaces", "0"}, nil, "max-namespaces: must be at least 1, got 0"},
		{[]string{"--namespace-ttl", "30m"}, nil, "--namespace-ttl: must be 0 (for ever) or at least the --namespace-idle (1h0m0s), got 30m0s"},
		{[]string{"--namespace-idle", "3h"}, map[string]string{"SMSIM_NAMESPACE_TTL": "2h"}, "SMSIM_NAMESPACE_TTL: must be 0 (for ever) or at least the --namespace-idle (3h0m0s), got 2h0m0s"},
		{[]string{"--retention", "-1h"}, nil, "retention: must be 0 (as long as what is under way) or more, got -1h0m0s"},
		{[]string{"--inbox-max", "-1"}, nil, "inbox-max: must be 0 (all) or more, got -1"},
		{[]string{"--store-timeout", "1ms"}, nil, "--store-timeout: must be at least 10ms and at most 1m, got 1ms"},
		{nil, map[string]string{"SMSIM_STORE_TIMEOUT": "2m"}, "SMSIM_STORE_TIMEOUT: must be at least 10ms and at most 1m, got 2m0s"},
		{[]string{"--journal-max", "-1"}, nil, "--journal-max: must be 0 (no journal) or more, got -1"},
		{[]string{"--webhook-host", "http://hooks.example"}, nil, `--webhook-host: "http://hooks.example" is not a host name or address`},
		{[]string{"--webhook-host", "localhost"}, nil, `--webhook-host: "localhost": give the port of loopback webhooks may reach, such as 127.0.0.1:9000`},
		{[]string{"--webhook-host", "127.0.0.1:0"}, nil, `"127.0.0.1:0": the port must be 1 to 65535`},
		{[]string{"--allowed-host", "http://smsim.internal"}, nil, `--allowed-host: "http://smsim.internal" is not a host name or address (give it without a port)`},
		{[]string{"--max-conns", "-1"}, nil, "--max-conns: must be 0 (from the limit of open files) or more, got -1"},
		{[]string{"--gc-headroom", "-1"}, nil, "smsim: --gc-headroom: must be 0 (as GOGC says) or more MiB, got -1\n"},
		{[]string{"--addr", "0.0.0.0:0"}, nil, "--addr: 0.0.0.0:0 listens beyond loopback, where anyone who reaches it could reset and drive the simulator: give --admin-token (or SMSIM_ADMIN_TOKEN), or --insecure to run it open"},
		{[]string{"--addr", ":0"}, nil, "--addr: :0 listens beyond loopback"},
		{nil, map[string]string{"SMSIM_ADDR": "[::]:0"}, "SMSIM_ADDR: [::]:0 listens beyond loopback"},
		{nil, map[string]string{"SMSIM_SCALE": "fast"}, `smsim: SMSIM_SCALE: "fast" is not a value --scale takes: give a number`},
		{nil, map[string]string{"SMSIM_LOG_LEVEL": "loud"}, `smsim: SMSIM_LOG_LEVEL: "loud" is not debug, info, warn or error`},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"--miit-sender", "95187"}, nil, "miit-sender"},
		{[]string{"--provider-sender", "abc"}, nil, "provider-sender"},
		{[]string{"--language", "fr"}, nil, `smsim: --language: must be en or zh, got "fr"`},
		{nil, map[string]string{"SMSIM_LANGUAGE": "EN"}, `smsim: SMSIM_LANGUAGE: must be en or zh, got "EN"`},
		{[]string{"--key-prefix", "a{b"}, nil, `smsim: --key-prefix: must hold no { or }, got "a{b"`},
		{[]string{"--key-prefix", "sm*"}, nil, `smsim: --key-prefix: must hold none of *?[]\, got "sm*": a reset finds a namespace's keys by a pattern of the prefix, which would match other prefixes' keys`},
		{[]string{"--addr", "127.0.0.1:99999"}, nil, `smsim: --addr: "127.0.0.1:99999": the port must be 0 to 65535 or a service's name, got "99999"`},
		{nil, map[string]string{"SMSIM_ADDR": "127.0.0.1:-1"}, `smsim: SMSIM_ADDR: "127.0.0.1:-1": the port must be 0 to 65535`},
		{[]string{"--scenario", "no_such_day"}, nil, "scenario"},
		{[]string{"--scenario", twoValues}, nil, "smsim: --scenario: scenario " + twoValues + ": holds more than one JSON value\n"},
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

	base := servedAt(t, &logs)
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
	// A long poll in progress does not hold up the shutdown: it answers
	// 503, the simulator stopping. (The clock runs, so that the poll waits:
	// on a paused clock with nothing on its way it would answer at once.)
	if code, b := sendJSON(t, "PUT", base+"/admin/v1/clock", `{"paused":false}`); code != 200 {
		t.Fatalf("running the clock: %d %s", code, b)
	}
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
	testkit.WaitFor(t, "the long poll waiting", func() bool { return gauge(t, base, "smsim_long_polls") == 1 })
	select {
	case code := <-polled:
		t.Fatalf("the long poll answered %d before the shutdown, want it waiting", code)
	default:
	}
	cancel()
	select {
	case code := <-polled:
		if code != 503 {
			t.Errorf("the long poll ended with %d at shutdown, want 503", code)
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

// A request still in progress when --shutdown-timeout passes is cut, and
// the binary says so and exits 1: a supervisor sees that the stop was not
// clean.
func TestShutdownPastItsTimeoutExits1(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs testkit.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"--addr", "127.0.0.1:0", "--shutdown-timeout", "200ms"}, env(nil), io.Discard, &logs)
	}()
	base := servedAt(t, &logs)
	// a request whose body never comes: its handler waits, reading it (the
	// server asks for the body, 100 Continue, as the handler first reads)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /provider/v1/filings HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", strings.TrimPrefix(base, "http://"))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("the handler did not ask for the body: %q, %v", line, err)
	}
	fmt.Fprint(conn, "{")
	cancel()
	select {
	case code := <-exit:
		if code != 1 {
			t.Fatalf("exit %d after a shutdown that cut a request, want 1; log %s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not shut down")
	}
	if !strings.Contains(logs.String(), "shutdown did not finish within --shutdown-timeout") {
		t.Errorf("the log does not say the shutdown was cut: %s", logs.String())
	}
}

// An address another process holds is named as such, with what to do.
func TestAddressInUseSaysWhatToDo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var logs testkit.Buffer
	code := run(t.Context(), []string{"--addr", ln.Addr().String()}, env(nil), io.Discard, &logs)
	want := "--addr: another process listens on " + ln.Addr().String() + ": stop it, or give smsim another address (--addr 127.0.0.1:PORT)"
	if code != 1 || !strings.Contains(logs.String(), want) {
		t.Fatalf("exit %d, log %s; want 1 and %q", code, logs.String(), want)
	}
}

// On every interface the log's url is one to open, the loopback's; listen
// says where it listens.
func TestServingOnEveryInterfaceLogsALoopbackURL(t *testing.T) {
	_, logs := startRun(t, []string{"--addr", "0.0.0.0:0", "--insecure"}, env(nil))
	m := regexp.MustCompile(`url=(\S+) listen=(\S+) `).FindStringSubmatch(logs.String())
	if m == nil || !strings.HasPrefix(m[1], "http://127.0.0.1:") || strings.TrimPrefix(m[1], "http://127.0.0.1:") != m[2][strings.LastIndex(m[2], ":")+1:] {
		t.Fatalf("log %s: want url=http://127.0.0.1:PORT listen=…:PORT", logs.String())
	}
}

// Webhooks may reach neither smsim itself — listening on every interface,
// at any local address — nor its store, named or by address.
func TestOwnAddressesAreEveryLocalOne(t *testing.T) {
	ips, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6390"})
	defer rdb.Close()
	got := ownAddresses(&net.TCPAddr{IP: net.IPv6unspecified, Port: 18080}, rdb)
	want := []string{"[::]:18080", "localhost:6390", "127.0.0.1:6390"}
	for _, ia := range ips {
		if n, ok := ia.(*net.IPNet); ok {
			want = append(want, net.JoinHostPort(n.IP.String(), "18080"))
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("own addresses %v lack %s", got, w)
		}
	}

	// served on every interface, a webhook to any local address of its port
	// is refused, whatever --webhook-host opens
	hosts := []string{} // the machine's addresses beyond loopback
	for _, ia := range ips {
		if n, ok := ia.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			hosts = append(hosts, n.IP.String())
		}
	}
	if len(hosts) == 0 {
		return // a machine of loopback alone: nothing more to reach
	}
	base, _ := startRun(t, []string{"--addr", "0.0.0.0:0", "--insecure", "--webhook-host", strings.Join(hosts, ",")}, env(nil))
	port := base[strings.LastIndex(base, ":")+1:]
	for _, h := range hosts {
		code, b := sendJSON(t, "POST", base+"/admin/v1/webhooks", `{"url":"http://`+net.JoinHostPort(h, port)+`/gateway/v1/messages"}`)
		if code != 400 || !strings.Contains(string(b), "smsim's own address") {
			t.Errorf("a webhook to %s, smsim's own port: %d %s, want 400", net.JoinHostPort(h, port), code, b)
		}
	}
}

// sendJSON sends body to url as JSON, and answers the status and body.
func sendJSON(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// servedAt answers the URL the binary logs once it serves.
func servedAt(t *testing.T, logs *testkit.Buffer) string {
	t.Helper()
	url := regexp.MustCompile(`url=(http://[0-9.:]+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := url.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no url logged: %s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gauge reads the value of the metric name, one without labels, from the
// /metrics of the server at base.
func gauge(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return gaugeIn(t, b, name)
}

// gaugeIn reads the value of the metric name, one without labels, from
// the metrics b, as /metrics serves them.
func gaugeIn(t *testing.T, b []byte, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in the metrics:\n%s", name, b)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
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

// The binary given a Redis — the test's: a miniredis, a real server, or a
// Redis Cluster (SMSIM_TEST_REDIS_URL=redis+cluster://…) — connects to it,
// says which (a cluster with its masters), and keeps its state there under
// its key prefix.
func TestRunServesOnRedisURL(t *testing.T) {
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testkit.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"--addr", "127.0.0.1:0", "--paused", "--redis-url", r.URL, "--key-prefix", r.Prefix}, env(nil), io.Discard, &logs)
	}()
	base := servedAt(t, &logs)
	resp, err := http.Get(base + "/admin/v1/clock")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /admin/v1/clock: %d", resp.StatusCode)
	}
	keys, err := testkit.Keys(ctx, rdb, r.Prefix+":*")
	if err != nil {
		t.Fatal(err)
	}
	if clock := (core.Keyspace{Prefix: r.Prefix, Namespace: core.DefaultNamespace}).Clock(); !slices.Contains(keys, clock) {
		t.Errorf("keys %q: no %s", keys, clock)
	}
	want := []string{"connected to Redis", "store=redis\n"}
	if _, cluster := rdb.(*redis.ClusterClient); cluster {
		masters, err := redisstore.Masters(ctx, rdb)
		if err != nil {
			t.Fatal(err)
		}
		want = []string{fmt.Sprintf("connected to Redis Cluster\" addrs=%s masters=%s", strings.Join(redisstore.Addrs(rdb), ","), strings.Join(masters, ",")),
			"store=redis-cluster\n"}
	}
	for _, w := range want {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("the log does not say %q: %s", w, logs.String())
		}
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d after shutdown; log %s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not shut down")
	}
}

// As it starts on a Redis that has functions, smsim deletes the libraries
// of other builds that it has no note of having been loaded lately
// (core.PruneLibraries), in the background, and says so.
func TestRunPrunesOtherBuildsLibraries(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("the embedded store has no functions")
	}
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	stale := "smsim_stale" + strings.NewReplacer(":", "", "-", "").Replace(strings.ToLower(r.Prefix))
	code := "#!lua name=" + stale + "\nredis.register_function('" + stale + "', function() return 1 end)\n"
	if err := testkit.LoadLibrary(ctx, rdb, code); err != nil {
		t.Fatal(err)
	}
	_, logs := startRun(t, []string{"--addr", "127.0.0.1:0", "--paused", "--redis-url", r.URL, "--key-prefix", r.Prefix}, env(nil))
	testkit.WaitFor(t, "the stale library deleted", func() bool {
		return core.NotLoaded(rdb.FCall(ctx, stale, nil).Err())
	})
	testkit.WaitFor(t, "the log saying so", func() bool {
		return strings.Contains(logs.String(), "deleted the libraries of other builds of smsim from Redis")
	})
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
	mem, err := redisstore.NewMemory(m)
	if err != nil {
		t.Fatal(err)
	}
	stop := runDownTTLs(mem, 5*time.Millisecond, time.Hour)
	defer stop()
	testkit.WaitFor(t, "the key to expire", func() bool { return !m.Exists("finished") })
	if !m.Exists("kept") {
		t.Fatal("a key without a TTL expired")
	}
}

// The embedded store packs the keys of a namespace nobody named for the
// idle period; the next command that names one puts them back.
func TestEmbeddedStorePacksIdleNamespaces(t *testing.T) {
	m := miniredis.RunT(t)
	mem, err := redisstore.NewMemory(m)
	if err != nil {
		t.Fatal(err)
	}
	m.HSet("smsim:{idle}:clock", "sim", "1777593600000")
	stop := runDownTTLs(mem, 5*time.Millisecond, 20*time.Millisecond)
	testkit.WaitFor(t, "the namespace's keys to be packed", func() bool { units, _ := mem.Packed(); return units == 1 })
	stop() // so that it is not packed again before the HGET has run
	if m.Exists("smsim:{idle}:clock") {
		t.Fatal("the packed key is still in miniredis")
	}
	c := redis.NewClient(&redis.Options{Addr: "embedded", Dialer: mem.Dial})
	defer c.Close()
	if got, err := c.HGet(context.Background(), "smsim:{idle}:clock", "sim").Result(); err != nil || got != "1777593600000" {
		t.Errorf("HGET of a packed key: %q, %v", got, err)
	}
}
