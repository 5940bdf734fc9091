package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/core/testkit"
	"smsim/simulator/simtest"
)

// A submit, an advance and a code in namespace x leave namespace y and the
// default one as they were; every subcommand speaks for the namespace of
// --namespace, else of SMSIM_NAMESPACE.
func TestCLINamespace(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	x, y := sim.Namespace("x"), sim.Namespace("y")

	code, out, errOut := cliRun(t, sim, "submit", "--namespace", "x")
	if code != 0 {
		t.Fatalf("submit: exit %d: %s", code, errOut)
	}
	id := strings.Fields(out)[0]
	if code, out, _ := cliRun(t, sim, "advance", "--namespace", "x", "1h"); code != 0 || out != "2026-05-01T01:00:00Z  paused\n" {
		t.Fatalf("advance: exit %d, output %q", code, out)
	}
	code, out, errOut = cliRun(t, sim, "code", "--namespace", "x", leader.Phone)
	want, err := x.LatestCode(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || out != want.Code+"\n" {
		t.Fatalf("code: exit %d, output %q (stderr %q), want x's code %s", code, out, errOut, want.Code)
	}

	for name, c := range map[string]*client.Client{"y": y, "the default namespace": sim.Client} {
		if _, err := c.Filing(ctx, id); !client.IsStatus(err, 404) {
			t.Errorf("%s has the order %s of x: %v", name, id, err)
		}
		if st, err := c.Clock(ctx); err != nil || !st.Now.Equal(simtest.DefaultStart()) {
			t.Errorf("%s's clock %+v, %v; want it where it started", name, st, err)
		}
		if ms, err := c.Messages(ctx, leader.Phone, "inbox"); err != nil || len(ms) != 0 {
			t.Errorf("%s's inbox of %s: %+v, %v; want it empty", name, leader.Phone, ms, err)
		}
	}

	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		out  *regexp.Regexp
	}{
		{"SMSIM_NAMESPACE", []string{"clock"}, map[string]string{"SMSIM_NAMESPACE": "x"}, 0,
			regexp.MustCompile(`^2026-05-01T01:00:00Z  paused\n$`)},
		{"--namespace wins", []string{"clock", "--namespace", "y"}, map[string]string{"SMSIM_NAMESPACE": "x"}, 0,
			regexp.MustCompile(`^2026-05-01T00:00:00Z  paused\n$`)},
		{"--namespace empty: the default", []string{"clock", "--namespace", ""}, map[string]string{"SMSIM_NAMESPACE": "x"}, 0,
			regexp.MustCompile(`^2026-05-01T00:00:00Z  paused\n$`)},
		{"filing", []string{"filing", "--namespace", "x", id}, nil, 0,
			regexp.MustCompile(`^` + id + `  first_filing/website  submitted 2026-05-01T00:00:00Z\n  provider  pending_validation\n`)},
		{"filing of another namespace", []string{"filing", "--namespace", "y", id}, nil, 1, regexp.MustCompile(`^$`)},
		{"code in y", []string{"code", "--namespace", "y", "--wait", "50ms", leader.Phone}, nil, 1, regexp.MustCompile(`^$`)},
		{"validate in y", []string{"validate", "--namespace", "y", leader.Phone, "071234", want.Code}, nil, 3,
			regexp.MustCompile(`^not_found: `)},
		{"resend in x", []string{"resend", "--namespace", "x", admin.Phone, "01567X"}, nil, 0, regexp.MustCompile(`^resent: `)},
		{"validate in x", []string{"validate", leader.Phone, "071234", want.Code}, map[string]string{"SMSIM_NAMESPACE": "x"}, 0,
			regexp.MustCompile(`^partial: `)},
		{"clock in y", []string{"clock", "--namespace", "y", "--resume", "--scale", "60"}, nil, 0,
			regexp.MustCompile(`^2026-05-01T00:00:00(\.\d+)?Z  running at 60×\n$`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := map[string]string{"SMSIM_URL": sim.URL}
			for k, v := range c.env {
				e[k] = v
			}
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), c.args, env(e), &stdout, &stderr)
			if code != c.code || !c.out.MatchString(stdout.String()) {
				t.Fatalf("exit %d, output %q (stderr %q); want exit %d, %s", code, stdout.String(), stderr.String(), c.code, c.out)
			}
		})
	}
	if st, err := x.Clock(ctx); err != nil || !st.Paused || !st.Now.Equal(simtest.DefaultStart().Add(time.Hour)) {
		t.Errorf("x's clock %+v, %v: y's resume moved it", st, err)
	}
	if st, err := sim.Clock(ctx); err != nil || !st.Paused {
		t.Errorf("the default namespace's clock %+v, %v: y's resume moved it", st, err)
	}
}

func TestCLINamespaceNames(t *testing.T) {
	const rule = `is not a namespace: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit` + "\n"
	for _, c := range []struct {
		args []string
		env  map[string]string
		err  string
	}{
		{[]string{"clock", "--namespace", "a b"}, nil, `smsim clock: --namespace: "a b" ` + rule},
		{[]string{"submit", "--namespace", "-x"}, nil, `smsim submit: --namespace: "-x" ` + rule},
		{[]string{"tail", "--namespace", strings.Repeat("n", 65), leader.Phone}, nil, `smsim tail: --namespace: "` + strings.Repeat("n", 65) + `" ` + rule},
		{[]string{"advance", "1h"}, map[string]string{"SMSIM_NAMESPACE": "x/y"}, `smsim advance: SMSIM_NAMESPACE: "x/y" ` + rule},
		{[]string{"code", "--namespace", "a:b", leader.Phone}, map[string]string{"SMSIM_NAMESPACE": "x"}, `smsim code: --namespace: "a:b" ` + rule},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), c.args, env(c.env), &stdout, &stderr)
		if code != exitUsage || stdout.String() != "" || stderr.String() != c.err {
			t.Errorf("%v %v: exit %d, stdout %q, stderr %q; want exit 2, %q", c.args, c.env, code, stdout.String(), stderr.String(), c.err)
		}
	}
}

// tail follows the phone of its namespace alone.
func TestCLITailNamespace(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	x := sim.Namespace("x")
	if _, err := x.Send(ctx, "95555", leader.Phone, "x before the tail"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Send(ctx, "95555", leader.Phone, "default before the tail"); err != nil {
		t.Fatal(err)
	}
	tail := startTail(t, ctx, env(map[string]string{"SMSIM_NAMESPACE": "x"}), "--url", sim.URL, leader.Phone)
	waitForOutput(t, &tail.stdout, "  inbox    95555               x before the tail\n")
	testkit.WaitFor(t, "the tail's websocket", func() bool { return websockets(t, sim) == 1 })
	for _, s := range []struct {
		c    *client.Client
		body string
	}{{sim.Client, "default on the feed"}, {sim.Namespace("y"), "y on the feed"}, {x, "x on the feed"}} {
		if _, err := s.c.Send(ctx, "95555", leader.Phone, s.body); err != nil {
			t.Fatal(err)
		}
	}
	waitForOutput(t, &tail.stdout, "  inbox    95555               x on the feed\n")
	if code := tail.stop(t); code != 0 {
		t.Fatalf("exit %d; stderr %q", code, tail.stderr.String())
	}
	if got := tail.stdout.String(); strings.Count(got, "\n") != 2 || strings.Contains(got, "default") || strings.Contains(got, "y on") {
		t.Fatalf("tail in x printed:\n%s\nwant x's two messages alone", got)
	}
}
