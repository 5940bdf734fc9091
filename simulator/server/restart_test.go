package server_test

import (
	"testing"
)

// A server stops mid-flow — the order synced, its codes held by a delay —
// and a new one starts on the same Redis: advancing the clock there
// delivers every code exactly once.
func TestRestartDeliversEveryCodeOnce(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"sync_lag":{"min":"30m","max":"30m"},"sms_delay":{"min":"2h","max":"2h"}}`)
	v := e.submit(firstFilingWebsite("13800000101", "13800000102"))
	e.advance("2h10m") // the notices (sent at 0, delayed 2h) arrive; the codes (sent at 30m, due at 2h30m) do not
	if mv := e.miitView(v.ID); mv.Status != "pending_validation" {
		t.Fatalf("MIIT status %s, want pending_validation", mv.Status)
	}
	for _, p := range []string{"13800000101", "13800000102"} {
		if got := e.inbox(p); len(got) != 1 || got[0].Sender != "95187" {
			t.Fatalf("%s before the restart: %+v, want only the notice", p, got)
		}
	}
	e.stop()

	next := e.newInstance()
	if now := next.now(); !now.Equal(t0.Add(130 * 60e9)) {
		t.Fatalf("the new process reads the clock as %s", now)
	}
	next.advance("1h")
	for _, p := range []string{"13800000101", "13800000102"} {
		msgs := next.inbox(p)
		if len(msgs) != 2 || msgs[1].Sender != "12381" || msgs[1].Code == "" {
			t.Fatalf("%s after the restart: %+v, want the notice and one code", p, msgs)
		}
	}
	wantValidation(t, next.validate(next.code("13800000101"), "13800000101", leaderCert), "partial", false)
	wantValidation(t, next.validate(next.code("13800000102"), "13800000102", adminCert), "complete", false)
	next.advance("24h")
	for _, p := range []string{"13800000101", "13800000102"} {
		if n := len(next.inbox(p)); n != 2 {
			t.Fatalf("%s has %d messages after another day, want still 2", p, n)
		}
	}
}
