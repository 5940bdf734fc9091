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

// smsim messages lists a phone's folders, its failed messages with their
// reason and trail, and those still on their way.
func TestCLIMessages(t *testing.T) {
	sim := simtest.RunT(t)
	ctx := t.Context()
	p := client.DefaultPhoneProfile()
	p.Service = client.ServiceSuspended
	if _, err := sim.SetProfile(ctx, leader.Phone, p); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.SubmitFirstFiling(ctx, leader, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cliRun(t, sim, "messages", "--folder", "failed", leader.Phone)
	want := regexp.MustCompile(`^2026-05-01T00:00:00.000Z  m_[0-9a-f]{16}  failed \(suspended\)  95187               \[ICP Filing\] Your ICP filing order f_[0-9a-f]{16} has been submitted successfully\.[^\n]*
    2026-05-01T00:00:00.000Z  sent         sent by 95187 to 13800000001
    2026-05-01T00:00:00.000Z  delay        [^\n]*
    2026-05-01T00:00:00.000Z  failed       [^\n]*suspended[^\n]*
2026-05-01T00:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z  m_[0-9a-f]{16}  failed \(suspended\)  12381  code [0-9]{6}  \[MIIT\] Your ICP filing verification code is [0-9]{6}\.[^\n]*
(    [^\n]*\n){3}$`)
	if code != 0 || !want.MatchString(out) {
		t.Fatalf("--folder failed: exit %d, stderr %q, output:\n%s", code, errOut, out)
	}
	code, out, _ = cliRun(t, sim, "messages", "--json", "--folder", "failed", leader.Phone)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var m client.Message
	if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &m) != nil || m.Reason != client.ReasonSuspended || m.Code == "" || len(m.Trail) != 3 {
		t.Fatalf("--json --folder failed: exit %d, output %q", code, out)
	}
	// the code: nothing came, and nothing is on its way
	code, out, errOut = cliRun(t, sim, "code", leader.Phone)
	if code != 1 || out != "" || errOut != "smsim code: no code from MIIT reached 13800000001, and on the paused clock nothing is on its way to it (smsim messages --folder failed 13800000001)\n" {
		t.Fatalf("code of a suspended phone: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	f := client.DefaultFaults()
	f.SMSDelay = client.Fixed(10 * time.Minute)
	if _, err := sim.PutFaults(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Send(ctx, "95555", admin.Phone, "slow"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cliRun(t, sim, "messages", "--folder", "travelling", admin.Phone)
	if code != 0 || !regexp.MustCompile(`^2026-05-01T01:00:00.000Z  m_[0-9a-f]{16}  queued  95555               slow
    2026-05-01T01:00:00.000Z  sent         sent by 95555 to 13800000002
    2026-05-01T01:00:00.000Z  delay        the network holds it 10m \(drawn from fixed 10m\)
$`).MatchString(out) {
		t.Fatalf("--folder travelling: exit %d, output:\n%s", code, out)
	}
	code, out, _ = cliRun(t, sim, "messages", admin.Phone)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "inbox    95187") || !strings.Contains(out, "inbox    12381  code ") {
		t.Fatalf("the inbox: exit %d, output:\n%s", code, out)
	}
	code, _, errOut = cliRun(t, sim, "messages", "--folder", "spam", admin.Phone)
	if code != 2 || errOut != "smsim messages: --folder: \"spam\" is not inbox, blocked, failed or travelling\n" {
		t.Fatalf("--folder spam: exit %d, stderr %q", code, errOut)
	}
}
