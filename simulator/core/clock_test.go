package core_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

var start = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func newClock(t *testing.T, st core.ClockStart) (*core.Clock, *testkit.Clock) {
	t.Helper()
	srv := testkit.StartRedis(t)
	real := testkit.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	c := core.NewClock(srv.Client(t), ks, st, real.Now)
	if err := c.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, real
}

func TestClockRunsAtItsScale(t *testing.T) {
	ctx := context.Background()
	c, real := newClock(t, core.ClockStart{At: start, Scale: 60})
	real.Add(2 * time.Second)
	st, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(2 * time.Minute); !st.Now.Equal(want) || st.Scale != 60 || st.Paused {
		t.Fatalf("state = %+v, want now %s scale 60 running", st, want)
	}
}

func TestClockPauseJumpAndScale(t *testing.T) {
	ctx := context.Background()
	c, real := newClock(t, core.ClockStart{At: start})
	real.Add(10 * time.Second)
	paused := true
	st, err := c.Set(ctx, nil, &paused)
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(10 * time.Second); !st.Now.Equal(want) || !st.Paused {
		t.Fatalf("after pause: %+v, want now %s paused", st, want)
	}
	real.Add(time.Hour)
	if now, _ := c.Now(ctx); !now.Equal(start.Add(10 * time.Second)) {
		t.Fatalf("paused clock moved to %s", now)
	}
	st, err = c.Jump(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(24*time.Hour + 10*time.Second); !st.Now.Equal(want) {
		t.Fatalf("after jump: %s, want %s", st.Now, want)
	}
	scale, running := 3600.0, false
	if _, err := c.Set(ctx, &scale, &running); err != nil {
		t.Fatal(err)
	}
	real.Add(time.Second)
	if now, _ := c.Now(ctx); !now.Equal(start.Add(25*time.Hour + 10*time.Second)) {
		t.Fatalf("running at 3600: %s", now)
	}
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.State(ctx); !st.Now.Equal(start) || st.Scale != 1 || st.Paused {
		t.Fatalf("after reset: %+v", st)
	}
}

func TestClockRejectsBadScale(t *testing.T) {
	c, _ := newClock(t, core.ClockStart{At: start})
	for _, s := range []float64{0, -1, core.MaxScale + 1} {
		_, err := c.Set(context.Background(), &s, nil)
		e, ok := err.(*core.Error)
		if !ok || e.Code != 400 {
			t.Errorf("scale %v: err %v, want a 400", s, err)
		}
	}
}

// The largest scale is stored as a plain number, so that the clock's
// scripts read it back on either store: the clock moves on after it is set.
func TestClockAtTheLargestScale(t *testing.T) {
	ctx := context.Background()
	c, real := newClock(t, core.ClockStart{At: start, Scale: 1})
	scale := float64(core.MaxScale)
	if _, err := c.Set(ctx, &scale, nil); err != nil {
		t.Fatal(err)
	}
	real.Add(time.Millisecond)
	st, err := c.Jump(ctx, time.Minute)
	if err != nil {
		t.Fatalf("jump at scale %v: %v", scale, err)
	}
	if want := start.Add(1000*time.Second + time.Minute); !st.Now.Equal(want) || st.Scale != scale {
		t.Fatalf("state %+v, want now %s at scale %v", st, want, scale)
	}
}

// The clock stops at MaxTime: an advance that would pass it is refused and
// moves nothing; one that lands on it is allowed; a running clock reads
// MaxTime once it gets there.
func TestClockStopsAtMaxTime(t *testing.T) {
	ctx := context.Background()
	max := core.MaxTime()
	if want := time.Date(9900, 1, 1, 0, 0, 0, 0, time.UTC); !max.Equal(want) {
		t.Fatalf("MaxTime() = %s, want %s", max, want)
	}
	c, _ := newClock(t, core.ClockStart{At: max.Add(-time.Hour), Paused: true})
	_, err := c.Jump(ctx, time.Hour+time.Millisecond)
	e, ok := err.(*core.Error)
	const detail = "by: 1h0m0.001s would take the clock past 9900-01-01T00:00:00Z, the latest simulated time; it reads 9899-12-31T23:00:00Z: give at most 1h"
	if !ok || e.Code != 400 || e.Detail != detail {
		t.Fatalf("jump past MaxTime: %v, want a 400 %q", err, detail)
	}
	if now, _ := c.Now(ctx); !now.Equal(max.Add(-time.Hour)) {
		t.Fatalf("a refused jump moved the clock to %s", now)
	}
	st, err := c.Jump(ctx, time.Hour)
	if err != nil || !st.Now.Equal(max) {
		t.Fatalf("jump onto MaxTime: %+v, %v", st, err)
	}
	if _, err := c.Jump(ctx, time.Millisecond); err == nil {
		t.Fatal("a jump from MaxTime was allowed")
	}
	if st, err := c.Jump(ctx, 0); err != nil || !st.Now.Equal(max) {
		t.Fatalf("jump by 0 at MaxTime: %+v, %v", st, err)
	}

	running, real := newClock(t, core.ClockStart{At: max.Add(-time.Second), Scale: 1000})
	real.Add(time.Hour) // 1000 simulated hours
	if now, _ := running.Now(ctx); !now.Equal(max) {
		t.Fatalf("a clock run past MaxTime reads %s, want %s", now, max)
	}
	paused := true
	if st, err := running.Set(ctx, nil, &paused); err != nil || !st.Now.Equal(max) {
		t.Fatalf("pausing a clock run past MaxTime: %+v, %v; want it at %s", st, err, max)
	}
	// Paused there, it stands at MaxTime, not where running on would have
	// taken it: a jump by 0 is allowed, as is moving it again.
	if st, err := running.Jump(ctx, 0); err != nil || !st.Now.Equal(max) {
		t.Fatalf("jump by 0 after pausing a clock run past MaxTime: %+v, %v", st, err)
	}
	again, real := newClock(t, core.ClockStart{At: max.Add(-time.Second), Scale: 1000})
	real.Add(time.Hour)
	scale := 2.0
	if _, err := again.Set(ctx, &scale, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Set(ctx, nil, &paused); err != nil {
		t.Fatal(err)
	}
	if st, err := again.Jump(ctx, 0); err != nil || !st.Now.Equal(max) {
		t.Fatalf("jump by 0 after a scale change past MaxTime and a pause: %+v, %v", st, err)
	}
}

// A clock at its extremes of scale reckons no time that wraps around: at
// the fastest, hours of real time are centuries, and the clock stops at
// MaxTime; at the slowest, a job minutes ahead is centuries of real time
// away, and the scheduler's loop waits, never a wait in the past that
// would have it look again at once, for ever.
func TestClockAtItsExtremesReckonsNoTimeThatWraps(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	real := testkit.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	c := core.NewClock(rdb, ks, core.ClockStart{At: start, Paused: true}, real.Now)
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	state := core.NewState(c, core.NewFaultStore(rdb, ks), core.Limits{})
	fastest, running := float64(core.MaxScale), false
	if _, err := c.Set(ctx, &fastest, &running); err != nil {
		t.Fatal(err)
	}
	snap, err := state.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{time.Hour, 3 * time.Hour, 100 * time.Hour} {
		real.Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(d))
		want := time.UnixMilli(min(start.UnixMilli()+d.Milliseconds()*core.MaxScale, core.MaxTime().UnixMilli())).UTC()
		st, err := c.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if now := snap.Now().Now; !now.Equal(want) || !st.Now.Equal(want) {
			t.Errorf("%s of real time at scale %d: the snapshot reads %s, the clock %s; want %s", d, core.MaxScale, now, st.Now, want)
		}
	}

	real.Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := core.NewScheduler(rdb, ks, c, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), core.SchedulerOptions{})
	if _, err := s.Schedule(ctx, start.Add(44*time.Minute), "note", "a"); err != nil {
		t.Fatal(err)
	}
	slowest := 1e-7
	if _, err := c.Set(ctx, &slowest, &running); err != nil {
		t.Fatal(err)
	}
	centuries := real.Now().Add(200 * 365 * 24 * time.Hour)
	next, err := s.Tick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next.Before(centuries) {
		t.Errorf("a job 44m ahead at scale 1e-7: the loop looks again at %s, want after %s", next, centuries)
	}
	state.Forget() // the scale was set here, not through the state
	if snap, err = state.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if when, ok := snap.RealAt(start.Add(44 * time.Minute)); !ok || when.Before(centuries) {
		t.Errorf("RealAt 44m ahead at scale 1e-7: %s, %v; want after %s", when, ok, centuries)
	}
}
