package load

import (
	"testing"
	"time"

	"smsim/simulator/people"
)

// A progress line tells the flows so far and a tick's rate, those in
// flight, the outcomes so far, and the p50/p99 of each latency over the
// tick; the next line starts a new tick.
func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	r := &runner{rec: newRecorder(), startAt: t0}
	f := &flow{kind: people.Kind{Type: "first_filing", Variant: "website"}, personality: people.Prompt}
	for range 3 {
		r.rec.start()
	}
	r.rec.end(f, OutApproved, "", "")
	r.rec.end(f, OutCanceled, "", "")
	r.rec.latency(LatCode, 1500*time.Microsecond)
	r.rec.latency(LatCode, 20*time.Millisecond)
	r.rec.latency(LatSubmit, 800*time.Microsecond)

	got := r.progressLine(t0.Add(2500*time.Millisecond), 500*time.Millisecond)
	want := "    2s  flows 3 (4/s)  in flight 1  approved 1 returned 0 rejected 0 canceled 1 error 0" +
		"  p50/p99 ms: code 1.50/20.0 flow - submit 0.800/0.800 validate - resend - view - watch -"
	if got != want {
		t.Fatalf("line\n%q\nwant\n%q", got, want)
	}
	got = r.progressLine(t0.Add(3500*time.Millisecond), time.Second)
	want = "    3s  flows 3 (0/s)  in flight 1  approved 1 returned 0 rejected 0 canceled 1 error 0" +
		"  p50/p99 ms: code - flow - submit - validate - resend - view - watch -"
	if got != want {
		t.Fatalf("next line\n%q\nwant\n%q", got, want)
	}
	if l := latencyOf(r.rec.whole[LatCode]); l.Count != 2 || l.P50 != 1.5 {
		t.Fatalf("the whole run's code delivery %+v, want both readings kept", l)
	}
}
