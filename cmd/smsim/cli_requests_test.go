package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

// smsim requests prints the request journal: each request with its status,
// what was sent and answered, and the fault the profile applied; --route,
// --phone and the times choose; --json prints the journal's JSON lines.
func TestCLIRequests(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	f, err := sim.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.APIFaults = []client.APIFault{{Route: client.RouteValidate,
		Next: []client.APIStep{{Calls: 1, Status: 503, RetryAfter: time.Second}}}}
	if _, err := sim.PutFaults(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	code, err := sim.WaitForCode(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.ValidatePerson(ctx, leader, code); !client.IsStatus(err, 503) {
		t.Fatalf("the first validation: %v, want the injected 503", err)
	}
	if v, err := sim.ValidatePerson(ctx, leader, code); err != nil || v.Result != client.ResultComplete {
		t.Fatalf("the second validation: %+v, %v", v, err)
	}

	exit, out, errOut := cliRun(t, sim, "requests", "--route", client.RouteValidate)
	want := regexp.MustCompile(`^2026-05-01T01:00:00Z  POST /miit/v1/validations  503  [0-9.]+[µm]?s  fault: answered 503 \(call 1, step 1 of the script\)
    sent     \{"code":"` + code + `","phone":"13800000001","certificate_last6":"071234"\}
    answered \{"type":"urn:smsim:problem:injected-fault"[^\n]*\}
2026-05-01T01:00:00Z  POST /miit/v1/validations  200  [0-9.]+[µm]?s
    sent     \{"code":"` + code + `","phone":"13800000001","certificate_last6":"071234"\}
    answered \{"result":"complete"[^\n]*\}
$`)
	if exit != 0 || !want.MatchString(out) {
		t.Fatalf("requests --route: exit %d, stderr %q, output:\n%s", exit, errOut, out)
	}

	exit, out, _ = cliRun(t, sim, "requests", "--json", "--phone", leader.Phone, "--route", client.RouteValidate)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first client.Request
	if exit != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil ||
		first.Status != 503 || first.Fault == nil || first.Fault.Status != 503 {
		t.Fatalf("requests --json: exit %d, output %q", exit, out)
	}

	exit, out, _ = cliRun(t, sim, "requests", "--since", "2026-05-02T00:00:00Z")
	if exit != 0 || out != "" {
		t.Fatalf("requests --since after them all: exit %d, output %q", exit, out)
	}
	exit, out, errOut = cliRun(t, sim, "requests", "--until", "yesterday")
	if exit != 2 || out != "" || errOut != "smsim requests: --until: \"yesterday\" is not an RFC 3339 time such as 2026-05-01T12:00:00Z\n" {
		t.Fatalf("requests --until yesterday: exit %d, stdout %q, stderr %q", exit, out, errOut)
	}
	exit, out, errOut = cliRun(t, sim, "requests", "--phone", "1")
	if want := "smsim requests: 400 Bad Request: phone: \"1\" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86) (--phone)\n"; exit != 1 || out != "" || errOut != want {
		t.Fatalf("requests --phone 1: exit %d, stdout %q, stderr %q; want %q", exit, out, errOut, want)
	}
	exit, out, errOut = cliRun(t, sim, "messages", "123")
	if exit != 1 || out != "" || !strings.HasPrefix(errOut, "smsim messages: 400 Bad Request: phone: ") || !strings.HasSuffix(errOut, " (PHONE)\n") {
		t.Fatalf("messages 123: exit %d, stdout %q, stderr %q", exit, out, errOut)
	}
}
