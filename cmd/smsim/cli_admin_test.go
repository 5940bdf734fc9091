package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

// Every subcommand, the server and the health check print their help on
// standard output with -h and --help, and exit 0.
func TestHelpGoesToStandardOutput(t *testing.T) {
	names := []string{"healthcheck"}
	for _, n := range strings.Split(cliUsage, "\n") {
		if f := strings.Fields(n); len(f) > 1 && f[0] == "smsim" {
			names = append(names, f[1])
		}
	}
	if len(names) < 16 {
		t.Fatalf("the usage names only %v", names)
	}
	for _, args := range append([][]string{{"-h"}, {"--help"}, {"help"}, {"clock", "advance", "-h"}}, func() [][]string {
		var out [][]string
		for _, n := range names {
			out = append(out, []string{n, "-h"}, []string{n, "--help"})
		}
		return out
	}()...) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, env(nil), &stdout, &stderr)
		name := strings.Join(append([]string{"smsim"}, args[:len(args)-1]...), " ")
		if code != 0 || stderr.Len() != 0 || !strings.HasPrefix(stdout.String(), "usage: "+name+" ") || !strings.Contains(stdout.String(), "\n  -") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the usage of %s and its flags on stdout", args, code, stdout.String(), stderr.String(), name)
		}
	}
	// A flag that changes only what it is given for shows no default.
	for _, c := range []struct{ sub, flag string }{{"clock", "scale"}, {"profile", "reachable"}} {
		var stdout, stderr bytes.Buffer
		run(context.Background(), []string{c.sub, "-h"}, env(nil), &stdout, &stderr)
		_, usage, _ := strings.Cut(stdout.String(), "\n  -"+c.flag)
		usage, _, _ = strings.Cut(usage, "\n  -")
		if usage == "" || strings.Contains(usage, "(default") {
			t.Errorf("smsim %s -h: --%s %q, want it with no default", c.sub, c.flag, usage)
		}
	}
}

func TestCLIAdvanceToNextAndSchedule(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	start := simtest.DefaultStart()
	if _, err := sim.PatchFaults(ctx, map[string]any{"sync_lag": map[string]string{"min": "45m", "max": "45m"}}); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cliRun(t, sim, "schedule"); code != 0 || out != "nothing scheduled (now 2026-05-01T00:00:00Z)\n" {
		t.Fatalf("schedule of nothing: exit %d, output %q, stderr %q", code, out, errOut)
	}
	v, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeFirstFiling, Variant: "app", EntityLeader: &leader})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cliRun(t, sim, "schedule")
	want := "DUE                   IN   KIND       ORDER               PHONE  MESSAGE\n" +
		"2026-05-01T00:45:00Z  45m  miit.sync  " + v.ID + "  -      -\n"
	if code != 0 || out != want {
		t.Fatalf("schedule: exit %d, stderr %q, output\n%s\nwant\n%s", code, errOut, out, want)
	}
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"advance", "--next", "--kind", "miit.sync", "--order", v.ID}, "2026-05-01T00:45:00Z  paused\n"},
		{[]string{"clock", "advance", "--to", "2026-05-01T01:00:00Z"}, "2026-05-01T01:00:00Z  paused\n"},
		{[]string{"advance", "--to", "2026-05-02T00:44:59.999+08:00"}, "2026-05-01T16:44:59.999Z  paused\n"},
		{[]string{"clock", "advance", "--json", "30s"}, "{\n  \"now\": \"2026-05-01T16:45:29.999Z\",\n  \"scale\": 1,\n  \"paused\": true\n}\n"},
	} {
		if code, out, errOut := cliRun(t, sim, c.args...); code != 0 || out != c.out {
			t.Errorf("%v: exit %d, output %q (stderr %q); want %q", c.args, code, out, errOut, c.out)
		}
	}
	code, out, _ = cliRun(t, sim, "schedule", "--kind", "miit.expire", "--json")
	var s client.Schedule
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || len(s.Scheduled) != 1 || s.Scheduled[0].Order != v.ID ||
		!s.Scheduled[0].Due.Equal(start.Add(45*time.Minute+24*time.Hour)) {
		t.Fatalf("schedule --json: exit %d, %q", code, out)
	}
	if code, out, _ := cliRun(t, sim, "schedule", "--phone", leader.Phone); code != 0 || !strings.HasPrefix(out, "nothing scheduled") {
		t.Fatalf("schedule --phone: exit %d, %q", code, out)
	}

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"advance", "-1h"}, 2, "smsim advance: DURATION: -1h is negative: the clock only moves forward; give a duration such as 1h, or --to a later time\n"},
		{[]string{"advance"}, 2, "smsim advance: give a DURATION (such as 45m), --to TIME or --next\nusage: smsim advance " + advanceUsage + "\n"},
		{[]string{"advance", "soon"}, 2, "smsim advance: DURATION: \"soon\" is not a duration such as 45m, 1h or 24h\n"},
		{[]string{"advance", "1h", "2h"}, 2, "smsim advance: DURATION: give one, got 2 arguments (1h 2h)\n"},
		{[]string{"advance", "1h", "--to", "2027-01-01T00:00:00Z"}, 2, "smsim advance: --to: give a DURATION or --to, not both\n"},
		{[]string{"advance", "--next", "1h"}, 2, "smsim advance: --next: give it alone, not with a DURATION or --to\n"},
		{[]string{"advance", "--kind", "miit.sync", "1h"}, 2, "smsim advance: --kind: chooses the job of --next; give --next too\n"},
		{[]string{"advance", "--to", "tomorrow"}, 2, "smsim advance: --to: \"tomorrow\" is not an RFC 3339 time such as 2026-05-02T00:51:02.104Z\n"},
		{[]string{"advance", "--to", "2026-05-01T00:00:00Z"}, 1, "smsim advance: 400 Bad Request: to: 2026-05-01T00:00:00Z is before the clock's now, 2026-05-01T16:45:29.999Z: the clock only moves forward (--to)\n"},
		{[]string{"advance", "--next", "--kind", "miit.code"}, 1, "smsim advance: 409 Conflict: next: nothing of kind miit.code is scheduled\n"},
		{[]string{"advance", "--next", "--kind", "code"}, 1, "smsim advance: 400 Bad Request: kind: \"code\" is not a kind of scheduled job"},
		{[]string{"schedule", "-n", "0"}, 2, "smsim schedule: -n: must be a whole number from 1 to 1000, got 0\n"},
		{[]string{"schedule", "--phone", "555"}, 1, "smsim schedule: 400 Bad Request: phone: \"555\" is not a mainland mobile number"},
		{[]string{"clock", "--scale", "0"}, 2, "smsim clock: --scale: must be more than 0 and at most 1000000 simulated seconds per real second, got 0\n"},
		{[]string{"clock", "--pause", "--resume"}, 2, "smsim clock: --resume: give --pause or --resume, not both\n"},
	} {
		code, out, errOut := cliRun(t, sim, c.args...)
		if code != c.code || out != "" || !strings.HasPrefix(errOut, c.err) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, %q", c.args, code, out, errOut, c.code, c.err)
		}
	}
	if code, out, _ := cliRun(t, sim, "clock", "--scale", "60", "--resume"); code != 0 || !strings.HasSuffix(out, "  running at 60×\n") {
		t.Fatalf("clock --scale 60 --resume: exit %d, %q", code, out)
	}
}

func TestCLIResetCancelProfileFaultsScenario(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	v, err := sim.SubmitFirstFiling(ctx, leader, admin)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cliRun(t, sim, "cancel", v.ID)
	if code != 0 || !strings.HasPrefix(out, v.ID+"  first_filing/website  status canceled  submitted 2026-05-01T00:00:00Z\n") {
		t.Fatalf("cancel: exit %d, output %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := cliRun(t, sim, "cancel", "f_0000000000000000"); code != 1 || errOut != "smsim cancel: 404 Not Found: no filing order \"f_0000000000000000\"\n" {
		t.Fatalf("cancel of no order: exit %d, stderr %q", code, errOut)
	}

	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"profile", leader.Phone}, "13800000001  service active  reachable on  spam filter off\n"},
		{[]string{"profile", "--service", "suspended", "--spam-filter", leader.Phone}, "13800000001  service suspended  reachable on  spam filter on\n"},
		{[]string{"profile", leader.Phone, "--reachable=false", "--inbox-limit", "3"}, "13800000001  service suspended  reachable off  spam filter on  inbox limit 3\n"},
		{[]string{"profile", "--reset", "--spam-filter", "+8613800000001"}, "+8613800000001  service active  reachable on  spam filter on\n"},
	} {
		if code, out, errOut := cliRun(t, sim, c.args...); code != 0 || out != c.out {
			t.Errorf("%v: exit %d, output %q (stderr %q); want %q", c.args, code, out, errOut, c.out)
		}
	}
	if p, err := sim.Profile(ctx, leader.Phone); err != nil || !p.SpamFilter || p.Service != client.ServiceActive || !p.Reachable {
		t.Fatalf("the profile the CLI set: %+v, %v", p, err)
	}

	code, out, errOut = cliRun(t, sim, "faults", `{"drop_rate": 0.25}`)
	var f client.Faults
	if err := json.Unmarshal([]byte(out), &f); code != 0 || err != nil || f.DropRate != 0.25 {
		t.Fatalf("faults PATCH: exit %d, output %q, stderr %q", code, out, errOut)
	}
	if code, out, _ := cliRun(t, sim, "faults"); code != 0 || !strings.Contains(out, `"drop_rate": 0.25`) {
		t.Fatalf("faults: exit %d, %q", code, out)
	} else if code, asJSON, _ := cliRun(t, sim, "faults", "--json"); code != 0 || asJSON != out {
		t.Fatalf("faults --json: exit %d, %q; want %q", code, asJSON, out)
	}
	if code, out, _ := cliRun(t, sim, "faults", "--replace", `{"spam_block_rate": 0.5}`); code != 0 || !strings.Contains(out, `"drop_rate": 0,`) || !strings.Contains(out, `"spam_block_rate": 0.5`) {
		t.Fatalf("faults --replace: exit %d, %q", code, out)
	}
	// --replace sends the profile as given: what an object omits takes its
	// start value, and a field the server does not know changes nothing.
	code, out, errOut = cliRun(t, sim, "faults", "--replace", `{"review": {"min": "1h", "max": "2h"}, "sync_lag": {"min": "1m"}}`)
	if err := json.Unmarshal([]byte(out), &f); code != 0 || err != nil || f.Review.ApproveRatio != 1 || f.Review.Time != client.Uniform(time.Hour, 2*time.Hour) ||
		f.SyncLag != client.Uniform(time.Minute, time.Hour) {
		t.Fatalf("faults --replace of parts: exit %d, %+v (%q, stderr %q)", code, f, out, errOut)
	}
	code, out, errOut = cliRun(t, sim, "faults", "--replace", `{"drop_rat": 0.5}`)
	if want := "smsim faults: 400 Bad Request: drop_rat: "; code != 1 || out != "" || !strings.HasPrefix(errOut, want) {
		t.Fatalf("faults --replace with a misspelt field: exit %d, stdout %q, stderr %q; want 1, %q", code, out, errOut, want)
	}
	if now, err := sim.Faults(ctx); err != nil || now.Review.Time != client.Uniform(time.Hour, 2*time.Hour) || now.SyncLag != client.Uniform(time.Minute, time.Hour) {
		t.Fatalf("the profile after a refused --replace: %+v, %v", now, err)
	}

	code, out, _ = cliRun(t, sim, "scenario")
	if code != 0 || !strings.HasPrefix(out, "bad_carrier_day  ") || strings.Count(out, "\n") != 5 {
		t.Fatalf("scenario: exit %d, %q", code, out)
	}
	if code, out, errOut := cliRun(t, sim, "scenario", "calm_day"); code != 0 || !strings.HasPrefix(out, "applied calm_day: ") {
		t.Fatalf("scenario calm_day: exit %d, %q, stderr %q", code, out, errOut)
	}
	file := filepath.Join(t.TempDir(), "mine.json")
	if err := os.WriteFile(file, []byte(`{"name": "mine", "faults": {"drop_rate": 0.5}, "phones": {"13800000009": {"reachable": false}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cliRun(t, sim, "scenario", file); code != 0 || out != "applied mine: 1 phone profiles, 0 outages, 0 throttles\n" {
		t.Fatalf("scenario FILE: exit %d, %q, stderr %q", code, out, errOut)
	}
	if f, err := sim.Faults(ctx); err != nil || f.DropRate != 0.5 {
		t.Fatalf("after the scenario file: %+v, %v", f, err)
	}

	code, out, _ = cliRun(t, sim, "reset")
	if code != 0 || out != "reset: 2026-05-01T00:00:00Z  paused\n" {
		t.Fatalf("reset: exit %d, %q", code, out)
	}
	if f, err := sim.Faults(ctx); err != nil || f.DropRate != 0 {
		t.Fatalf("after the reset: %+v, %v", f, err)
	}

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"profile", "--service", "gone", leader.Phone}, 2, "smsim profile: --service: \"gone\" is not active or suspended\n"},
		{[]string{"profile", "--inbox-limit", "-1", leader.Phone}, 2, "smsim profile: --inbox-limit: must be 0 (no limit) or more, got -1\n"},
		{[]string{"profile", "--reachable=no", leader.Phone}, 2, "smsim profile: --reachable: \"no\" is not a value it takes\n"},
		{[]string{"profile", "12345"}, 1, "smsim profile: 400 Bad Request: phone: "},
		{[]string{"faults", "drop_rate=1"}, 2, "smsim faults: PATCH: \"drop_rate=1\" is not a JSON object such as '{\"drop_rate\": 0.1}'\n"},
		{[]string{"faults", "--replace"}, 2, "smsim faults: --replace: give the profile to replace the current one with, such as '{}'\n"},
		{[]string{"faults", `{"drop_rate": 2}`}, 1, "smsim faults: 400 Bad Request: drop_rate: "},
		{[]string{"scenario", "no_such_day"}, 1, "smsim scenario: 400 Bad Request: name: no shipped scenario \"no_such_day\""},
		{[]string{"scenario", "./no/such.json"}, 2, "smsim scenario: FILE: open ./no/such.json: no such file or directory\n"},
		{[]string{"scenario", "a", "b"}, 2, "smsim scenario: NAME: give one scenario, got 2 arguments\n"},
		{[]string{"reset", "now"}, 2, "smsim reset: unexpected argument \"now\"\nusage: smsim reset [flags]\n"},
		{[]string{"cancel"}, 2, "smsim cancel: ID: missing\nusage: smsim cancel [flags] ID\n"},
	} {
		code, out, errOut := cliRun(t, sim, c.args...)
		if code != c.code || out != "" || !strings.HasPrefix(errOut, c.err) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, %q", c.args, code, out, errOut, c.code, c.err)
		}
	}
}

// The health check's -h is its own usage, not the flag package's.
func TestHealthcheckHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"healthcheck", "-h"}, env(nil), &stdout, &stderr); code != 0 || stderr.Len() != 0 ||
		!strings.HasPrefix(stdout.String(), healthUsage+"\nflags:\n  -timeout duration\n") || strings.Contains(stdout.String(), "Usage of") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"healthcheck", "--timeout", "soon"}, env(nil), &stdout, &stderr); code != 1 || stdout.Len() != 0 ||
		stderr.String() != "smsim healthcheck: --timeout: \"soon\" is not a value it takes\n"+healthUsage {
		t.Fatalf("a bad flag: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// An unreachable --redis-url is one line of the log, naming the flag and
// the address; go-redis's own lines are at debug level.
func TestUnreachableRedisIsOneLine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--redis-url", "redis://127.0.0.1:1/0", "--addr", "127.0.0.1:0"}, env(nil), &stdout, &stderr)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], `level=ERROR msg="cannot open the store" err="--redis-url: no Redis answers at 127.0.0.1:1: connect: connection refused"`) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	stderr.Reset()
	run(context.Background(), []string{"--redis-url", "redis://127.0.0.1:1/0", "--addr", "127.0.0.1:0", "--log-level", "debug"}, env(nil), io.Discard, &stderr)
	if !strings.Contains(stderr.String(), "level=DEBUG msg=\"") || !strings.Contains(stderr.String(), "component=redis") {
		t.Fatalf("at debug level, go-redis's lines are not in the log:\n%s", stderr.String())
	}
}

// A scenario file, of `smsim scenario FILE` and of `smsim load --scenario
// FILE`, is read as the server reads a scenario: data after its object,
// or a key that names a field but for its case, is a usage error naming
// the file and what is wrong, and nothing is applied.
func TestScenarioFileReadStrictly(t *testing.T) {
	sim := simtest.RunT(t)
	dir := t.TempDir()
	for i, c := range []struct{ body, problem string }{
		{`{"name": "mine", "faults": {"drop_rate": 0.5}} {"name": "other"}`, "holds more than one JSON value"},
		{`{"name": "mine", "faults": {"drop_rate": 0.5}} trailing`, "holds more than one JSON value"},
		{`{"Name": "mine", "faults": {"drop_rate": 0.5}}`, "Name: unknown field; the field is name"},
		{`{"name": "mine", "FAULTS": {"drop_rate": 0.5}}`, "FAULTS: unknown field; the field is faults"},
		{`{"name": "mine", "outages": [{"carrier": "china_unicom", "After": "10m", "for": "30m", "mode": "refuse"}]}`,
			"outages[0].After: unknown field; the field is after"},
		{`{"name": "mine", "fault": {"drop_rate": 0.5}}`, "fault: unknown field"},
	} {
		file := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		if err := os.WriteFile(file, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := cliRun(t, sim, "scenario", file)
		if want := "smsim scenario: FILE: " + file + " is not a scenario: " + c.problem + "\n"; code != 2 || out != "" || errOut != want {
			t.Errorf("scenario %s: exit %d, stdout %q, stderr %q; want 2, %q", c.body, code, out, errOut, want)
		}
		// refused before anything runs; a run taken would end at the timeout
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		code, out, errOut = loadRun(t, ctx, append([]string{"--target", sim.URL, "--quiet", "--scenario", file}, prompt...)...)
		cancel()
		if want := "smsim load: --scenario: " + file + ": " + c.problem + "\n"; code != 2 || out != "" || errOut != want {
			t.Errorf("load --scenario %s: exit %d, stdout %q, stderr %q; want 2, %q", c.body, code, out, errOut, want)
		}
	}
	if f, err := sim.Faults(t.Context()); err != nil || f.DropRate != 0 {
		t.Errorf("after the refused files: %+v, %v; want the drop rate untouched", f, err)
	}
}
