package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"
	"smsim/simulator/simtest"
)

// cliRun runs the binary's run with args against sim and answers the exit
// status, standard output and standard error.
func cliRun(t *testing.T, sim *simtest.Sim, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, env(map[string]string{"SMSIM_URL": sim.URL}), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var (
	leader = client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	admin  = client.Person{Name: "Han Meimei", Phone: "13800000002", CertificateNumber: "11010119920101567X"}
)

func TestCLISubmit(t *testing.T) {
	sim := simtest.RunT(t)
	code, out, errOut := cliRun(t, sim, "submit")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := regexp.MustCompile(`^f_[0-9a-f]{16}  first_filing/website  status submitted  submitted 2026-05-01T00:00:00Z
  entity_leader  Li Lei      13800000001  not validated
  website_admin  Han Meimei  13800000002  not validated
$`)
	if !want.MatchString(out) {
		t.Fatalf("output:\n%s", out)
	}
	id := strings.Fields(out)[0]
	if v, err := sim.Filing(t.Context(), id); err != nil || v.Status != client.FilingSubmitted {
		t.Fatalf("the order %s: %+v, %v", id, v, err)
	}

	code, out, errOut = cliRun(t, sim, "submit", "--type", "modify", "--variant", "service", "--admin-phone", "+8613900000009", "--admin-name", "Wang Fang", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v client.ProviderView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	if v.Type != "modify" || v.Variant != "service" || len(v.Personnel) != 1 ||
		v.Personnel[0] != (client.ProviderPerson{Role: client.WebsiteAdmin, Name: "Wang Fang", Phone: "13900000009"}) {
		t.Fatalf("order %+v: want the website administrator alone, with the flags' name and number", v)
	}

	code, out, _ = cliRun(t, sim, "submit", "--type", "add_provider")
	if code != 0 || !strings.Contains(out, " add_provider  status submitted ") || strings.Count(out, "not validated") != 2 {
		t.Fatalf("add_provider, which takes no variant: exit %d, output %q", code, out)
	}
	code, out, errOut = cliRun(t, sim, "submit", "--type", "modify")
	if code != 1 || out != "" || errOut != "smsim submit: 400 Bad Request: variant: missing; type modify takes one of entity, entity_and_service, service (--variant)\n" {
		t.Fatalf("modify without a variant: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = cliRun(t, sim, "submit", "--leader-cert", "12")
	if code != 1 || !strings.Contains(errOut, "entity_leader.certificate_number: must be 6 to 32 letters and digits") || !strings.HasSuffix(errOut, " (--leader-cert)\n") {
		t.Fatalf("a bad certificate: exit %d, stderr %q", code, errOut)
	}
}

func TestCLIValidateResendAndCode(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	if _, err := sim.SubmitFirstFiling(ctx, leader, admin); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cliRun(t, sim, "code", "--wait", "100ms", leader.Phone)
	if code != 1 || out != "" || !strings.Contains(errOut, "no code from MIIT reached 13800000001 in 100ms; on a paused clock, advance it") {
		t.Fatalf("code before the sync: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, _ := cliRun(t, sim, "advance", "1h"); code != 0 || out != "2026-05-01T01:00:00Z  paused\n" {
		t.Fatalf("advance: exit %d, output %q", code, out)
	}
	want, err := sim.WaitForCode(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = cliRun(t, sim, "code", leader.Phone)
	if code != 0 || out != want+"\n" {
		t.Fatalf("code: exit %d, output %q, want %s", code, out, want)
	}

	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"validate", leader.Phone, "071234", wrongCode(want)}, 3, "failed: " + client.TextFailed + "\n"},
		{[]string{"validate", leader.Phone, "071234", want}, 0, "partial: " + client.TextPartial + "\n"},
		{[]string{"validate", leader.Phone, "071234", want}, 3, "not_found: " + client.TextValidateNotFound + "\n"},
		{[]string{"resend", admin.Phone, "01567x"}, 0, "resent: " + client.TextResent + "\n"},
		{[]string{"resend", "13900000009", "01567X"}, 3, "not_found: " + client.TextResendNotFound + "\n"},
		{[]string{"resend", "--json", leader.Phone, "071234"}, 3, `{
  "result": "no_pending",
  "message": "` + client.TextNoPending + `"
}
`},
	} {
		code, out, errOut := cliRun(t, sim, c.args...)
		if code != c.code || out != c.out {
			t.Errorf("%v: exit %d, output %q (stderr %q); want exit %d, %q", c.args, code, out, errOut, c.code, c.out)
		}
	}
	code, out, errOut = cliRun(t, sim, "validate", leader.Phone, "071234", "12345")
	if code != 1 || out != "" || errOut != "smsim validate: 400 Bad Request: code: must be exactly six digits, got \"12345\" (CODE)\n" {
		t.Fatalf("a five-digit code: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// wrongCode answers a well-formed code that is not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestCLIFiling(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	v, err := sim.SubmitFirstFiling(ctx, leader, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	code, _ := sim.WaitForCode(ctx, admin.Phone)
	if _, err := sim.ValidatePerson(ctx, admin, code); err != nil {
		t.Fatal(err)
	}
	m, _ := sim.MIITFiling(ctx, v.ID)
	exit, out, errOut := cliRun(t, sim, "filing", v.ID)
	want := fmt.Sprintf(`%s  first_filing/website  submitted 2026-05-01T00:00:00Z
  provider  pending_validation
  MIIT      pending_validation  codes sent %s  deadline %s
  ROLE           NAME        PHONE        PROVIDER       MIIT
  entity_leader  Li Lei      13800000001  not validated  not validated, 0 failed, 0 resent
  website_admin  Han Meimei  13800000002  not validated  validated, 0 failed, 0 resent
`, v.ID, stamp(*m.CodesSentAt), stamp(*m.Deadline))
	if exit != 0 || out != want {
		t.Fatalf("exit %d (stderr %q), output:\n%s\nwant:\n%s", exit, errOut, out, want)
	}
	exit, out, _ = cliRun(t, sim, "filing", "--json", v.ID)
	var both struct{ Provider, MIIT map[string]any }
	if exit != 0 || json.Unmarshal([]byte(out), &both) != nil || both.Provider["id"] != v.ID || both.MIIT["status"] != "pending_validation" {
		t.Fatalf("--json: exit %d, output %s", exit, out)
	}
	exit, _, errOut = cliRun(t, sim, "filing", "f_0000000000000000")
	if exit != 1 || !strings.HasPrefix(errOut, "smsim filing: 404 Not Found: ") {
		t.Fatalf("unknown order: exit %d, stderr %q", exit, errOut)
	}
}

func TestCLIClock(t *testing.T) {
	sim := simtest.RunT(t)
	for _, c := range []struct {
		args []string
		code int
		out  *regexp.Regexp
	}{
		{[]string{"clock"}, 0, regexp.MustCompile(`^2026-05-01T00:00:00Z  paused\n$`)},
		{[]string{"advance", "90m"}, 0, regexp.MustCompile(`^2026-05-01T01:30:00Z  paused\n$`)},
		{[]string{"clock", "--resume", "--scale", "60"}, 0, regexp.MustCompile(`^2026-05-01T01:30:00(\.\d+)?Z  running at 60×\n$`)},
		{[]string{"clock", "--pause"}, 0, regexp.MustCompile(`^2026-05-01T01:3\d:\d\d(\.\d+)?Z  paused\n$`)},
		{[]string{"advance", "--json", "1h"}, 0, regexp.MustCompile(`^\{\n  "now": "2026-05-01T02:3\d:\d\d(\.\d+)?Z",\n  "scale": 60,\n  "paused": true\n\}\n$`)},
		{[]string{"clock", "--pause", "--resume"}, 2, regexp.MustCompile(`^$`)},
		{[]string{"advance", "soon"}, 2, regexp.MustCompile(`^$`)},
		{[]string{"advance", "-5m"}, 2, regexp.MustCompile(`^$`)},
		{[]string{"advance"}, 2, regexp.MustCompile(`^$`)},
	} {
		code, out, errOut := cliRun(t, sim, c.args...)
		if code != c.code || !c.out.MatchString(out) {
			t.Errorf("%v: exit %d, output %q (stderr %q); want exit %d, %s", c.args, code, out, errOut, c.code, c.out)
		}
	}
}

func TestCLIArgumentsAndServer(t *testing.T) {
	sim := simtest.RunT(t)
	gone := httptest.NewServer(nil)
	gone.Close()
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		err  string
	}{
		{"too few", []string{"validate", "13800000001"}, nil, 2, "smsim validate: CERT6, CODE: missing\nusage: smsim validate [flags] PHONE CERT6 CODE\n"},
		{"none", []string{"tail"}, nil, 2, "smsim tail: PHONE: missing\nusage: smsim tail [flags] PHONE\n"},
		{"too many", []string{"tail", "13800000001", "13800000002"}, nil, 2, "smsim tail: unexpected argument \"13800000002\"\nusage: smsim tail [flags] PHONE\n"},
		{"unknown flag", []string{"clock", "--fast"}, nil, 2, "smsim clock: --fast: no such flag\nusage: smsim clock [flags] | advance … (smsim clock -h for the flags)\n"},
		{"a flag's bad value", []string{"tail", "--n", "many", "13800000001"}, nil, 2, "smsim tail: --n: \"many\" is not a value it takes\n"},
		{"a flag without its value", []string{"code", "13800000001", "--wait"}, nil, 2, "smsim code: --wait: needs a value\n"},
		{"flags after the arguments", []string{"clock", "--url", gone.URL, "--json"}, nil, 1, "nothing answers at " + gone.URL},
		{"SMSIM_URL", []string{"clock"}, map[string]string{"SMSIM_URL": gone.URL}, 1, "nothing answers at " + gone.URL},
		{"--url wins", []string{"clock", "--url", sim.URL}, map[string]string{"SMSIM_URL": gone.URL}, 0, ""},
		{"bad URL", []string{"clock", "--url", "127.0.0.1:8080"}, nil, 2, `smsim clock: --url: "127.0.0.1:8080" is not an http:// or https:// URL`},
		{"bad SMSIM_URL", []string{"clock"}, map[string]string{"SMSIM_URL": "localhost:8080"}, 2, `smsim clock: SMSIM_URL: "localhost:8080" is not an http:// or https:// URL`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), c.args, env(c.env), &stdout, &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.err) {
				t.Fatalf("exit %d, stderr %q; want exit %d, %q", code, stderr.String(), c.code, c.err)
			}
		})
	}
}

func TestCLITail(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	if _, err := sim.Send(ctx, "95555", leader.Phone, "before the tail"); err != nil {
		t.Fatal(err)
	}
	tail := startTail(t, ctx, env(nil), "--url", sim.URL, leader.Phone)
	waitForOutput(t, &tail.stdout, "2026-05-01T00:00:00.000Z  inbox    95555               before the tail\n")
	if _, err := sim.Send(ctx, "12381", leader.Phone, "[MIIT] Your code is 123456."); err != nil {
		t.Fatal(err)
	}
	waitForOutput(t, &tail.stdout, "2026-05-01T00:00:00.000Z  inbox    12381  code 123456  [MIIT] Your code is 123456.\n")
	if code := tail.stop(t); code != 0 {
		t.Fatalf("exit %d after the interrupt; stderr %q", code, tail.stderr.String())
	}
	if n := strings.Count(tail.stdout.String(), "\n"); n != 2 {
		t.Fatalf("%d lines, want each message once:\n%s", n, tail.stdout.String())
	}
}

func TestCLITailHighlightsCodesAndFollowsBothFolders(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	tail := startTail(t, ctx, env(nil), "--color", "always", "--url", sim.URL, admin.Phone)
	// the feed starts before the history is read: once the history (none
	// here) is printed, nothing is missed; wait for the connection
	testkit.WaitFor(t, "the tail's websocket", func() bool { return websockets(t, sim) == 1 })
	p, _ := sim.Profile(ctx, admin.Phone)
	p.SpamFilter = true
	if _, err := sim.SetProfile(ctx, admin.Phone, p); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Send(ctx, "12381", admin.Phone, "code 654321 here"); err != nil {
		t.Fatal(err)
	}
	waitForOutput(t, &tail.stdout, "  blocked  12381  \x1b[1;33mcode 654321\x1b[0m  code \x1b[1;33m654321\x1b[0m here\n")
	if code := tail.stop(t); code != 0 {
		t.Fatalf("exit %d; stderr %q", code, tail.stderr.String())
	}

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"tail", "--url", sim.URL, "12345"}, env(nil), &out, &errOut); code != 1 ||
		!strings.HasPrefix(errOut.String(), "smsim tail: 400 Bad Request: phone: \"12345\" is not a mainland mobile number") {
		t.Fatalf("a bad number: exit %d, stderr %q", code, errOut.String())
	}
	if code := run(ctx, []string{"tail", "--color", "rainbow", admin.Phone}, env(nil), &out, &errOut); code != 2 {
		t.Fatalf("--color rainbow: exit %d", code)
	}
}

// websockets reads how many websockets the simulator has open.
func websockets(t *testing.T, sim *simtest.Sim) int {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	sim.Server.Routes().ServeHTTP(rec, req)
	return int(gaugeIn(t, rec.Body.Bytes(), "smsim_websocket_connections"))
}

func waitForOutput(t *testing.T, b *testkit.Buffer, want string) {
	t.Helper()
	testkit.WaitFor(t, "output "+strconv.Quote(want), func() bool { return strings.Contains(b.String(), want) })
}

func TestCLITailJSON(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	for _, body := range []string{"one", "two 123456"} {
		if _, err := sim.Send(ctx, "95555", leader.Phone, body); err != nil {
			t.Fatal(err)
		}
	}
	tail := startTail(t, ctx, env(nil), "-n", "1", "--json", "--url", sim.URL, leader.Phone)
	waitForOutput(t, &tail.stdout, "\n")
	if code := tail.stop(t); code != 0 {
		t.Fatalf("exit %d; stderr %q", code, tail.stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(tail.stdout.String()), &m); err != nil {
		t.Fatalf("output %q: %v", tail.stdout.String(), err)
	}
	if m["body"] != "two 123456" || m["code"] != "123456" || m["folder"] != "inbox" || m["sender"] != "95555" ||
		m["delivered_at"] != "2026-05-01T00:00:00Z" || m["phone"] != leader.Phone {
		t.Fatalf("the last message as JSON: %v", m)
	}
}

// tailRun is `smsim tail` running in the background.
type tailRun struct {
	stdout, stderr testkit.Buffer
	cancel         context.CancelFunc
	done           chan int
}

// startTail runs `smsim tail args…` in the background, with the
// environment getenv, until stop.
func startTail(t *testing.T, ctx context.Context, getenv func(string) string, args ...string) *tailRun {
	ctx, cancel := context.WithCancel(ctx)
	r := &tailRun{cancel: cancel, done: make(chan int, 1)}
	t.Cleanup(cancel)
	go func() { r.done <- run(ctx, append([]string{"tail"}, args...), getenv, &r.stdout, &r.stderr) }()
	return r
}

// stop interrupts the tail and answers its exit status; the test fails
// when it does not end within five seconds.
func (r *tailRun) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		return code
	case <-time.After(5 * time.Second):
		t.Fatal("tail did not end with its context")
	}
	panic("unreachable")
}

// The subcommands send the server's admin token from --token, else
// SMSIM_ADMIN_TOKEN; without it, a server that wants one answers 401.
func TestCLIToken(t *testing.T) {
	sim := simtest.RunT(t, simtest.WithServerConfig(func(c *server.Config) { c.AdminToken = "s3cret" }))
	code, _, errOut := cliRun(t, sim, "advance", "1h")
	if want := "smsim advance: 401 Unauthorized: Authorization: this route wants the admin token (--admin-token) as Authorization: Bearer <token> (give it with --token or SMSIM_ADMIN_TOKEN)\n"; code != 1 || errOut != want {
		t.Fatalf("without the token: exit %d, stderr %q; want 1, %q", code, errOut, want)
	}
	code, _, errOut = cliRun(t, sim, "advance", "--token", "guess", "1h")
	if want := "smsim advance: 401 Unauthorized: Authorization: not the admin token (--admin-token); send Authorization: Bearer <token> (--token is not it)\n"; code != 1 || errOut != want {
		t.Fatalf("a wrong --token: exit %d, stderr %q; want 1, %q", code, errOut, want)
	}
	var out bytes.Buffer
	code = run(t.Context(), []string{"clock"}, env(map[string]string{"SMSIM_URL": sim.URL, "SMSIM_ADMIN_TOKEN": "guess"}), &out, &out)
	if want := "smsim clock: 401 Unauthorized: Authorization: not the admin token (--admin-token); send Authorization: Bearer <token> (SMSIM_ADMIN_TOKEN is not it)\n"; code != 1 || out.String() != want {
		t.Fatalf("a wrong SMSIM_ADMIN_TOKEN: exit %d, %q; want 1, %q", code, out.String(), want)
	}
	if code, out, errOut := cliRun(t, sim, "advance", "--token", "s3cret", "1h"); code != 0 || out != "2026-05-01T01:00:00Z  paused\n" {
		t.Fatalf("--token: exit %d, %q (stderr %q)", code, out, errOut)
	}
	var stdout, stderr bytes.Buffer
	code = run(t.Context(), []string{"clock"}, env(map[string]string{"SMSIM_URL": sim.URL, "SMSIM_ADMIN_TOKEN": "s3cret"}), &stdout, &stderr)
	if code != 0 || stdout.String() != "2026-05-01T01:00:00Z  paused\n" {
		t.Fatalf("SMSIM_ADMIN_TOKEN: exit %d, %q (stderr %q)", code, stdout.String(), stderr.String())
	}
	// The help does not print the token it took from the environment.
	for _, sub := range []string{"clock", "load"} {
		stdout.Reset()
		code = run(t.Context(), []string{sub, "--help"}, env(map[string]string{"SMSIM_ADMIN_TOKEN": "s3cret"}), &stdout, &stderr)
		if code != 0 || !strings.Contains(stdout.String(), "-token string") || strings.Contains(stdout.String(), "s3cret") {
			t.Errorf("%s --help: exit %d, %q", sub, code, stdout.String())
		}
	}
}

// --timeout ends a command whose server does not answer, saying so; tail
// and load, which run until stopped or for their --duration, take none.
func TestCLITimeout(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	for _, args := range [][]string{{"clock"}, {"submit"}, {"advance", "1h"}, {"clock", "advance", "1h"}} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append(args, "--url", hung.URL, "--timeout", "100ms"), env(nil), &stdout, &stderr)
		if want := fmt.Sprintf("no answer from %s within --timeout 100ms\n", hung.URL); code != 1 || stdout.Len() != 0 || !strings.HasSuffix(stderr.String(), want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", args, code, stdout.String(), stderr.String(), want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"clock", "--timeout", "-1s"}, "smsim clock: --timeout: must be 0 (wait) or more, got -1s\n"},
		{[]string{"tail", "--timeout", "1s", "13800000001"}, "smsim tail: --timeout: no such flag\n"},
		{[]string{"load", "--timeout", "1s"}, "smsim load: --timeout: no such flag\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), c.args, env(nil), &stdout, &stderr); code != 2 || !strings.HasPrefix(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
