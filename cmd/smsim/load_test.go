package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/load"
	"smsim/simulator/people"
	"smsim/simulator/simtest"
)

// loadRun runs `smsim load` with args and answers the exit status,
// standard output and standard error. SMSIM_URL and SMSIM_NAMESPACE are
// set, to show that load does not take them.
func loadRun(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, append([]string{"load"}, args...),
		env(map[string]string{"SMSIM_URL": "http://127.0.0.1:1", "SMSIM_NAMESPACE": "not-this-one"}), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// prompt is a small run every flow of which is approved.
var prompt = []string{"--flows", "4", "--concurrency", "2", "--types", "first_filing/website", "--mix", "prompt=1", "--scale", "3600"}

func TestLoadJSON(t *testing.T) {
	sim := simtest.RunT(t)
	code, out, errOut := loadRun(t, t.Context(), append([]string{"--target", sim.URL, "--json", "--quiet"}, prompt...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep load.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not a report: %v\n%s", err, out)
	}
	if rep.Schema != load.ReportSchema || rep.Run.Target != sim.URL || rep.Run.InProcess || rep.Run.Loop != load.LoopClosed ||
		rep.Run.Concurrency != 2 || rep.Run.Flows != 4 || rep.Run.Scale != 3600 || rep.Run.Listen != load.ListenWS {
		t.Fatalf("run %+v, want the flags' settings against %s", rep.Run, sim.URL)
	}
	if rep.Outcomes != (load.Outcomes{Approved: 4}) || rep.Flows.Started != 4 || !rep.SLOMet || len(rep.SLO) != 0 {
		t.Fatalf("outcomes %+v, flows %+v, slo %+v: want 4 approved", rep.Outcomes, rep.Flows, rep.SLO)
	}
	if !strings.HasPrefix(rep.Run.Namespace, "load-") {
		t.Fatalf("namespace %q, want a new load-… one, not SMSIM_NAMESPACE", rep.Run.Namespace)
	}
	if want := "smsim load: namespace " + rep.Run.Namespace + " at " + sim.URL + "; the dashboard shows it at " + sim.URL + "/?namespace=" + rep.Run.Namespace + "\n"; errOut != want {
		t.Fatalf("stderr %q, want only %q with --quiet", errOut, want)
	}
	for _, name := range load.Latencies {
		if _, ok := rep.Latency[name]; !ok {
			t.Errorf("latency %s missing", name)
		}
	}
}

// Without --target, load starts an smsim of its own, on an embedded store,
// in --namespace when given; its live progress goes to standard error and
// its tables to standard output.
func TestLoadInProcess(t *testing.T) {
	code, out, errOut := loadRun(t, t.Context(), append([]string{"--namespace", "ci-load"}, prompt...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "smsim load: ") || !strings.Contains(out, " (in-process), namespace ci-load\n") ||
		!strings.Contains(out, "\napproved    4      100.0%\n") || !strings.Contains(out, "\nerrors: none\n") {
		t.Fatalf("stdout:\n%s", out)
	}
	if !strings.HasPrefix(errOut, "smsim load: namespace ci-load at http://127.0.0.1:") {
		t.Fatalf("stderr %q", errOut)
	}
}

// The smsim a load run starts keeps what a flow finished for its
// retention, as smsim's --retention does: after the run each order,
// approved, lives at most that long (a minute by default), where at 0 it
// lives for ever; the orders of the flows of a long run do not pile up in
// the process.
func TestLoadInProcessRetention(t *testing.T) {
	for _, c := range []struct {
		retention time.Duration
		ok        func(ttl time.Duration) bool
		want      string
	}{
		{defaultLoadRetention, func(ttl time.Duration) bool { return ttl > 0 && ttl <= time.Minute }, "a lifetime of at most a minute"},
		{0, func(ttl time.Duration) bool { return ttl == -1 }, "no lifetime (-1)"},
	} {
		url, rdb, stop, err := startInProcess(t.Context(), inProcessLimits(c.retention))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := load.Run(t.Context(), load.Config{Target: url, InProcess: true, Namespace: "retention", Flows: 3, Concurrency: 1,
			Types: []people.Kind{{Type: "first_filing", Variant: "website", Weight: 1}}, Mix: map[people.Personality]int{people.Prompt: 1}, Scale: 3600})
		if err != nil {
			stop()
			t.Fatal(err)
		}
		if rep.Outcomes != (load.Outcomes{Approved: 3}) {
			t.Errorf("retention %s: outcomes %+v, want 3 approved", c.retention, rep.Outcomes)
		}
		orders, err := rdb.Keys(t.Context(), "*:{retention}:filing:*").Result()
		if err != nil || len(orders) != 3 {
			t.Errorf("retention %s: orders %v (%v), want 3", c.retention, orders, err)
		}
		for _, k := range orders {
			if ttl := rdb.PTTL(t.Context(), k).Val(); !c.ok(ttl) {
				t.Errorf("retention %s: %s has a lifetime of %s, want %s", c.retention, k, ttl, c.want)
			}
		}
		stop()
	}
}

// Against the smsim in its own process, an open loop runs at most the
// flows the process's open files allow, about one for eight descriptors:
// a flow due past them starts late rather than failing for a descriptor.
func TestInProcessMaxInFlight(t *testing.T) {
	for _, c := range []struct {
		openFiles uint64
		want      int
	}{
		{20000, 2436}, {1024, 64}, {256, 16}, {1 << 20, load.DefaultMaxInFlight}, {^uint64(0), load.DefaultMaxInFlight},
	} {
		if got := inProcessMaxInFlight(c.openFiles); got != c.want {
			t.Errorf("%d open files: %d flows in flight, want %d", c.openFiles, got, c.want)
		}
	}
	// the run's report says the bound it ran with: this process's, unless
	// --max-in-flight says otherwise; the test lowers its limit to 4,096
	// open files, below the bound's cap, so that the bound is its own
	var saved, lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	lim = saved
	lim.Cur = min(saved.Cur, 4096)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved) })
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, inProcessMaxInFlight(lim.Cur)},
		{[]string{"--max-in-flight", "7"}, 7},
	} {
		args := append([]string{"--rate", "20/s", "--flows", "2", "--types", "first_filing/website", "--mix", "prompt=1", "--scale", "3600", "--json", "--quiet"}, c.args...)
		code, out, errOut := loadRun(t, t.Context(), args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		var rep load.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("stdout is not a report: %v\n%s", err, out)
		}
		if !rep.Run.InProcess || rep.Run.MaxInFlight != c.want || rep.Outcomes != (load.Outcomes{Approved: 2}) {
			t.Errorf("%v: run %+v, outcomes %+v; want in-process, at most %d in flight, 2 approved", c.args, rep.Run, rep.Outcomes, c.want)
		}
	}
}

// --slo fails the run with exit 3 when an objective is breached, naming
// each breached one; a run that meets them all exits 0.
func TestLoadSLO(t *testing.T) {
	sim := simtest.RunT(t)
	code, out, errOut := loadRun(t, t.Context(), append([]string{"--target", sim.URL, "--quiet",
		"--slo", "approved>=100%, canceled>0, errors<0.1%, rejected>=1"}, prompt...)...)
	if code != 3 {
		t.Fatalf("exit %d, want 3: %s", code, errOut)
	}
	if !strings.HasSuffix(errOut, "smsim load: objectives breached: canceled>0 (0 flows), rejected>=1 (0 flows)\n") {
		t.Fatalf("stderr %q: want the two breached objectives named", errOut)
	}
	if !strings.Contains(out, "  approved>=100%  met       100%\n  canceled>0      BREACHED  0 flows\n") {
		t.Fatalf("stdout:\n%s", out)
	}

	code, out, errOut = loadRun(t, t.Context(), append([]string{"--target", sim.URL, "--quiet", "--json",
		"--slo", "approved>=100%,errors<0.1%,flows>=4"}, prompt...)...)
	if code != 0 {
		t.Fatalf("exit %d, want 0: %s", code, errOut)
	}
	var rep load.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.SLOMet || len(rep.SLO) != 3 {
		t.Fatalf("report %+v, %v: want three objectives met", rep.SLO, err)
	}

	// --slo repeated: the objectives of every one, in the order given.
	code, out, errOut = loadRun(t, t.Context(), append([]string{"--target", sim.URL, "--quiet", "--json",
		"--slo", "canceled>0", "--slo", "approved>=100%, rejected>=1"}, prompt...)...)
	if code != 3 || !strings.HasSuffix(errOut, "smsim load: objectives breached: canceled>0 (0 flows), rejected>=1 (0 flows)\n") {
		t.Fatalf("two --slo: exit %d, stderr %q; want 3 and the breached objective of each named", code, errOut)
	}
	rep = load.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var objs []string
	for _, v := range rep.SLO {
		objs = append(objs, v.Objective)
	}
	if want := []string{"canceled>0", "approved>=100%", "rejected>=1"}; !slices.Equal(objs, want) {
		t.Fatalf("two --slo: objectives %v, want %v", objs, want)
	}
}

// A scenario file replaces the load profile: here, a review that returns
// every order.
func TestLoadScenarioFile(t *testing.T) {
	sim := simtest.RunT(t)
	file := filepath.Join(t.TempDir(), "returns.json")
	os.WriteFile(file, []byte(`{"faults": {"sync_lag": {"model": "fixed", "value": "0s"}, "result_sync_lag": {"model": "fixed", "value": "0s"},
		"review": {"model": "fixed", "value": "1s", "approve_ratio": 0}}}`), 0o600)
	code, out, errOut := loadRun(t, t.Context(), append([]string{"--target", sim.URL, "--quiet", "--json", "--scenario", file}, prompt...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep load.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Outcomes != (load.Outcomes{Returned: 4}) || rep.Run.Scenario != file {
		t.Fatalf("report %+v under %q, %v: want 4 returned under the file's scenario", rep.Outcomes, rep.Run.Scenario, err)
	}
}

// SIGINT (the end of run's context) stops the run at once: the report of
// what ran is printed, and the exit is 130.
func TestLoadInterrupted(t *testing.T) {
	sim := simtest.RunT(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := loadRun(t, ctx, "--target", sim.URL, "--namespace", "interrupted", "--quiet",
			"--flows", "50", "--concurrency", "2", "--mix", "never=1", "--scale", "1")
		done <- result{code, out, errOut}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if l, err := sim.Namespace("interrupted").Filings(t.Context(), client.ListOptions{Limit: 1}); err == nil && l.Total >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no two orders within 10 s")
		}
	}
	cancel()
	r := <-done
	if r.code != 130 {
		t.Fatalf("exit %d, want 130: %s", r.code, r.errOut)
	}
	if !strings.Contains(r.out, ", namespace interrupted (interrupted)\n") || !strings.Contains(r.out, "\nunfinished  2      100.0%\n") {
		t.Fatalf("stdout:\n%s", r.out)
	}
	if !strings.HasSuffix(r.errOut, "smsim load: interrupted: the flows in flight were abandoned and count as unfinished\n") {
		t.Fatalf("stderr %q", r.errOut)
	}
}

// A flag that cannot be is a usage error (exit 2) naming the flag, before
// anything runs.
func TestLoadBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "fast"}, `smsim load: --rate: "fast" is not a rate of flows such as 500/s`},
		{[]string{"--rate", "5/s", "--concurrency", "4"}, "--concurrency: a closed loop's; an open loop (--rate) has none"},
		{[]string{"--ramp", "5s"}, "--ramp: ramps an open loop's rate up; give --rate too"},
		{[]string{"--max-in-flight", "5"}, "smsim load: --max-in-flight: bounds an open loop's flows in flight; give --rate too (a closed loop runs --concurrency at once)\n"},
		{[]string{"--max-in-flight", "5", "--concurrency", "2"}, "smsim load: --max-in-flight: bounds an open loop's flows in flight; give --rate too (a closed loop runs --concurrency at once)\n"},
		{[]string{"--rate", "5/s", "--ramp", "2m", "--duration", "1m"}, "smsim load: --ramp: 2m0s is longer than --duration 1m0s: the run would stop starting flows before the rate reached --rate\n"},
		{[]string{"--concurrency", "0"}, "--concurrency: must be more than 0"},
		{[]string{"--flows", "0"}, "--flows: must be more than 0"},
		{[]string{"--duration", "-1s"}, "--duration: must be more than 0"},
		{[]string{"--duration", "soon"}, `smsim load: --duration: "soon" is not a value it takes`},
		{[]string{"--scale", "0"}, "smsim load: --scale: must be at least 1 (real time) and at most 1000000 simulated seconds per real second, got 0\n"},
		{[]string{"--gc-headroom", "-1"}, "smsim load: --gc-headroom: must be 0 (as GOGC says) or more MiB, got -1\n"},
		{[]string{"--scale", "1e-9"}, "smsim load: --scale: must be at least 1 (real time) and at most 1000000 simulated seconds per real second, got 1e-09\n"},
		{[]string{"--scale", "0.5"}, "smsim load: --scale: must be at least 1 (real time) and at most 1000000 simulated seconds per real second, got 0.5\n"},
		{[]string{"--scale", "2000000"}, "smsim load: --scale: must be at least 1 (real time) and at most 1000000 simulated seconds per real second, got 2e+06\n"},
		{[]string{"--listen", "pigeon"}, `--listen: "pigeon" is not ws or poll`},
		{[]string{"--mix", "lazy=1"}, `smsim load: --mix: "lazy" is not a personality`},
		{[]string{"--types", "first_filing/blog"}, `smsim load: --types: "first_filing/blog" is not a kind of order`},
		{[]string{"--types", "first_filing/"}, `smsim load: --types: "first_filing/" is not a kind of order`},
		{[]string{"--mix", "prompt=1, slow=-1"}, `smsim load: --mix: "slow=-1": the weight must be a whole number, 0 or more`},
		{[]string{"--mix", "prompt=9223372036854775807,slow=1"}, `smsim load: --mix: "prompt=9223372036854775807": the weight must be at most 1000000` + "\n"},
		{[]string{"--mix", "prompt=1,slow=9223372036854775807,typo=9223372036854775807,never=3", "--flows", "20", "--seed", "1"}, `smsim load: --mix: "slow=9223372036854775807": the weight must be at most 1000000` + "\n"},
		{[]string{"--mix", "prompt=0,never=0"}, "smsim load: --mix: no personality weighs more than 0\n"},
		{[]string{"--types", "add_provider=1000001"}, `smsim load: --types: "add_provider=1000001": the weight must be at most 1000000` + "\n"},
		{[]string{"--mix", "prompt=1", "--mix", "never=1"}, "smsim load: --mix: given twice: give every personality's weight in one --mix\n"},
		{[]string{"--types", "add_provider", "--types", "add_provider"}, "smsim load: --types: given twice: give every kind's weight in one --types\n"},
		{[]string{"--slo", "code_p99<fast"}, `smsim load: --slo: "code_p99<fast": "fast" is not a duration such as 50ms`},
		{[]string{"--slo", "code_p99=<50ms"}, `smsim load: --slo: "code_p99=<50ms": "=<" is not a comparison: <, <=, > or >=` + "\n"},
		{[]string{"--slo", "code_p99<50ms,,errors<1%"}, `smsim load: --slo: "code_p99<50ms,,errors<1%": objective 2 of 3 is empty; separate objectives with one comma` + "\n"},
		{[]string{"--slo", "code_p99<50ms,"}, `smsim load: --slo: "code_p99<50ms,": objective 2 of 2 is empty; separate objectives with one comma` + "\n"},
		{[]string{"--namespace", "no spaces"}, `--namespace: "no spaces" is not a namespace`},
		{[]string{"--target", "ftp://example.com"}, `--target: "ftp://example.com" is not an http:// or https:// URL`},
		{[]string{"--url", "http://127.0.0.1:1", "--target", "http://127.0.0.1:1"}, "--url and --target name the same thing"},
		{[]string{"--seed", "x"}, `--seed: "x" is not a whole number`},
		{[]string{"--scenario", "./no/such/file.json"}, "--scenario: open ./no/such/file.json: no such file or directory"},
		{[]string{"--max-in-flight", "0"}, "--max-in-flight: must be more than 0"},
		{[]string{"--drain", "0"}, "--drain: must be more than 0"},
		{[]string{"--listen="}, "--listen: must be ws or poll"},
		{[]string{"--rate", "1e-12"}, `--rate: "1e-12" is less than one flow an hour`},
		{[]string{"--rate", "0"}, `smsim load: --rate: must be more than 0, got "0"` + "\n"},
		{[]string{"--rate", "4e12/h"}, `smsim load: --rate: "4e12/h" is more than 1000000000 flows a second, the most an open loop takes` + "\n"},
		{[]string{"--slo", "errors>=NaN"}, `--slo: "errors>=NaN": "NaN" is not a number of flows`},
		{[]string{"--slo", "code_p99<50ms", "--slo", "code_p99<50ms"}, "smsim load: --slo: \"code_p99<50ms\" is given twice\n"},
		{[]string{"--slo", "code_p99<50ms,code_p99<40ms"}, "smsim load: --slo: \"code_p99<50ms\" and \"code_p99<40ms\" both bound code_p99 from above: give one\n"},
		{[]string{"--slo", "errors<1%", "--slo", "flows>1,errors>2%"}, "smsim load: --slo: \"errors<1%\" and \"errors>2%\": no value of errors meets both\n"},
		{[]string{"--retention", "-1m"}, "--retention: must be 0 (keep all) or more, got -1m0s"},
		{[]string{"--retention", "2m", "--target", "http://127.0.0.1:1"}, "--retention: the smsim started in this process's; the server of --target keeps what its own --retention says"},
		{[]string{"--no-such-flag"}, "smsim load: --no-such-flag: no such flag"},
		{[]string{"extra"}, "usage: smsim load [--target URL]"},
	} {
		code, out, errOut := loadRun(t, t.Context(), c.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errOut, c.want)
		}
	}
	// An unknown shipped scenario is known only to the server: still a
	// usage error, once the server said so.
	sim := simtest.RunT(t)
	code, _, errOut := loadRun(t, t.Context(), "--target", sim.URL, "--scenario", "no_such_day", "--flows", "1")
	if code != 2 || !strings.Contains(errOut, `smsim load: --scenario: name: no shipped scenario "no_such_day"`) {
		t.Errorf("an unknown scenario: exit %d, stderr %q", code, errOut)
	}
	// Nothing answers: the run cannot start.
	code, _, errOut = loadRun(t, t.Context(), "--target", "http://127.0.0.1:2", "--flows", "1")
	if code != 1 || !strings.HasSuffix(errOut, "smsim load: nothing answers at http://127.0.0.1:2: is smsim running there? (without --target, load starts one of its own)\n") {
		t.Errorf("no server: exit %d, stderr %q", code, errOut)
	}
	// A server that is no smsim: the call that failed, and a word on it.
	notSmsim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>Not Implemented</html>", http.StatusNotImplemented)
	}))
	defer notSmsim.Close()
	code, _, errOut = loadRun(t, t.Context(), "--target", notSmsim.URL, "--flows", "1", "--quiet")
	if code != 1 || !strings.Contains(errOut, ": PUT /admin/v1/faults: 501 Not Implemented: <html>Not Implemented</html>\n") ||
		!strings.HasSuffix(errOut, "smsim load: "+notSmsim.URL+" does not answer as smsim does (no X-Request-Id): is it an smsim?\n") ||
		strings.Contains(errOut, "the dashboard shows it") {
		t.Errorf("a server that is no smsim: exit %d, stderr %q", code, errOut)
	}
	// Interrupted while the namespace is set up: no report, exit 130.
	hang := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer silent.Close()
	defer close(hang)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	code, out, errOut := loadRun(t, ctx, "--target", silent.URL, "--flows", "1", "--quiet")
	if code != exitInterrupted || out != "" || errOut != "smsim load: interrupted while setting up the namespace: no flow ran\n" {
		t.Errorf("interrupted in the set-up: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := loadRun(t, t.Context(), "--help"); code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: smsim load [--target URL]") || !strings.Contains(out, "-slo value") {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// The most a run's scale may be is what the server takes: load, which
// stands on the SDK alone, keeps its own copy of the bound.
func TestLoadScaleBoundIsTheServers(t *testing.T) {
	if load.MaxScale != core.MaxScale {
		t.Fatalf("load.MaxScale %d, core.MaxScale %d: want the same", load.MaxScale, core.MaxScale)
	}
}

// A call setting up the namespace that did not answer in time is named,
// with its bound, on both lines (load's TestSetupCallsBoundedEach holds
// the calls themselves).
func TestLoadSetupTimeoutNamesTheCall(t *testing.T) {
	var stderr bytes.Buffer
	c := &cli{name: "smsim load", stderr: &stderr}
	err := fmt.Errorf("load: running the clock of namespace ns at 86400×: %w", &load.TimeoutError{Call: "PUT /admin/v1/clock", Within: load.CallTimeout})
	code := c.setupErr(t.Context(), err, "http://127.0.0.1:18701")
	want := "smsim load: running the clock of namespace ns at 86400×: PUT /admin/v1/clock: no answer within 30s\n" +
		"smsim load: http://127.0.0.1:18701 did not answer PUT /admin/v1/clock within 30s\n"
	if code != exitFailed || stderr.String() != want {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), want)
	}
}

// The flags table of README-load.md lists every flag of `smsim load` and
// no other, and load's help tells no default it does not take from the
// environment.
func TestLoadFlagsDocListsEveryFlag(t *testing.T) {
	code, usage, _ := loadRun(t, t.Context(), "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	var flags []string
	for line := range strings.Lines(usage) {
		if m := usageFlag.FindStringSubmatch(line); m != nil && m[1] != "h" && m[1] != "help" {
			flags = append(flags, m[1])
		}
	}
	b, err := os.ReadFile("README-load.md")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range loadFlagRow.FindAllStringSubmatch(string(b), -1) {
		listed = append(listed, m[1])
	}
	slices.Sort(flags)
	slices.Sort(listed)
	if !slices.Equal(listed, flags) {
		t.Errorf("README-load.md lists %v, smsim load has %v", listed, flags)
	}
	for _, v := range []string{"SMSIM_URL", "SMSIM_NAMESPACE", "127.0.0.1:8080", "(default 10000)"} {
		if strings.Contains(usage, v) {
			t.Errorf("load's help names %s, which load does not take:\n%s", v, usage)
		}
	}
}

var loadFlagRow = regexp.MustCompile("(?m)^\\| `--([a-z-]+)[^`]*` \\|")
