package gateway

import (
	"sync/atomic"
	"testing"
	"time"
)

// The long polls of a gateway share one ticker of rechecks, running while
// one waits: it wakes them all at a tick of a paused clock, none at a tick
// of a running one, and stops with the last poll to leave.
func TestLongPollsShareTheirRechecks(t *testing.T) {
	tick := make(chan time.Time) // unbuffered: a second tick is taken once the first was looked at
	var made, stopped atomic.Int32
	r := &rechecks{ticks: func() (<-chan time.Time, func()) {
		made.Add(1)
		return tick, func() { stopped.Add(1) }
	}}
	var paused atomic.Bool
	look := func() bool { return paused.Load() }
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	polls := make([]<-chan struct{}, 3)
	for i := range polls {
		polls[i] = r.join(look)
	}
	if n := made.Load(); n != 1 {
		t.Fatalf("%d tickers for 3 polls, want 1", n)
	}
	tick <- time.Time{}
	tick <- time.Time{} // the first one looked at
	for i, c := range polls {
		if closed(c) {
			t.Fatalf("poll %d woken on a running clock", i)
		}
	}
	paused.Store(true)
	tick <- time.Time{}
	tick <- time.Time{}
	for i, c := range polls {
		if !closed(c) {
			t.Fatalf("poll %d not woken at a tick of a paused clock", i)
		}
	}
	// The last tick of the paused clock may still be waking the polls: a
	// tick taken on the running clock says it is done, and what next
	// answers from then on is the recheck a woken poll waits for.
	paused.Store(false)
	tick <- time.Time{}
	again := r.next()
	tick <- time.Time{}
	tick <- time.Time{}
	if closed(again) {
		t.Fatal("a woken poll woken again on a running clock")
	}
	for range polls {
		r.leave()
	}
	deadline := time.Now().Add(10 * time.Second)
	for stopped.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := stopped.Load(); n != 1 {
		t.Fatalf("the ticker stopped %d times once the last poll left, want 1", n)
	}
	r.join(look)
	if n := made.Load(); n != 2 {
		t.Fatalf("%d tickers made once a poll waited again, want 2", n)
	}
	r.leave()
}
