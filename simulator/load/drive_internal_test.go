package load

import (
	"math"
	"testing"
	"time"
)

// dueBy counts the flows of the schedule due by a time exactly as offset
// places them, ramp or none, and a rate so low that its second flow is
// past any Duration does not wrap around into the past.
func TestScheduleCounts(t *testing.T) {
	for _, c := range []struct {
		rate float64
		ramp time.Duration
	}{{100, 0}, {100, time.Second}, {3, 2500 * time.Millisecond}, {0.5, 0}, {1e6, 100 * time.Millisecond}} {
		r := &runner{cfg: Config{Rate: c.rate, Ramp: c.ramp}}
		for _, at := range []time.Duration{0, time.Millisecond, 10 * time.Millisecond, 999 * time.Millisecond, time.Second, 3 * time.Second} {
			want := 0
			for r.offset(want) <= at {
				want++
			}
			if got := r.dueBy(at); got != want {
				t.Errorf("rate %v, ramp %v: dueBy(%v) = %d, want %d", c.rate, c.ramp, at, got, want)
			}
		}
	}
	r := &runner{cfg: Config{Rate: 100, Duration: time.Second}}
	if got := r.scheduled(); got != 100 {
		t.Errorf("100/s for 1s: %d flows scheduled, want 100", got)
	}
	r.cfg.Flows = 30
	if got := r.scheduled(); got != 30 {
		t.Errorf("100/s for 1s, 30 flows: %d scheduled, want 30", got)
	}
	tiny := &runner{cfg: Config{Rate: 1e-12, Duration: 2 * time.Second}}
	if got := tiny.offset(1); got != math.MaxInt64 {
		t.Errorf("rate 1e-12: the second flow is due at %v, want the longest duration", got)
	}
	if got := tiny.scheduled(); got != 1 {
		t.Errorf("rate 1e-12 for 2s: %d flows scheduled, want 1", got)
	}
}
