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

// lagEnv is a scheduler whose clock runs on a hand-moved wall clock.
type lagEnv struct {
	sched *core.Scheduler
	clock *core.Clock
	real  *testkit.Clock
	reg   *prometheus.Registry
}

func newLagEnv(t *testing.T, start core.ClockStart) *lagEnv {
	t.Helper()
	srv := testkit.StartRedis(t)
	e := &lagEnv{real: testkit.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), reg: prometheus.NewRegistry()}
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	rdb := srv.Client(t)
	e.clock = core.NewClock(rdb, ks, start, e.real.Now)
	if err := e.clock.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sched = core.NewScheduler(rdb, ks, e.clock, slog.New(slog.NewTextHandler(io.Discard, nil)), e.reg, core.SchedulerOptions{})
	return e
}

// lag answers the number and sum of the lags observed for trigger.
func (e *lagEnv) lag(t *testing.T, trigger string) (uint64, float64) {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "smsim_scheduler_lag_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == trigger {
				return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	return 0, 0
}

// The loop of a running clock measures an event's lag as (simulated now -
// due) / scale: at scale 60, an event due one simulated minute before now
// is one real second late.
func TestLoopLagIsSimulatedLatenessOverScale(t *testing.T) {
	e := newLagEnv(t, core.ClockStart{At: start, Scale: 60})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fired := make(chan struct{}, 1)
	e.sched.Handle("note", func(ctx context.Context, ev core.Job) error {
		fired <- struct{}{}
		return nil
	})
	if _, err := e.sched.Schedule(ctx, start.Add(time.Minute), "note"); err != nil {
		t.Fatal(err)
	}
	e.real.Add(2 * time.Second) // simulated now: start + 2m
	done := make(chan struct{})
	loop := core.NewLoop(slog.New(slog.DiscardHandler), core.LoopOptions{})
	loop.Add(e.sched)
	go func() { defer close(done); loop.Run(ctx) }()
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not carry out the due event")
	}
	cancel()
	<-done
	if n, sum := e.lag(t, core.TriggerLoop); n != 1 || sum != 1 {
		t.Fatalf("loop lag: %d observations summing to %vs, want 1 of 1s", n, sum)
	}
}

// An advance counts each event from the moment the clock jumped; a request
// from the moment it asked for its events at once.
func TestAdvanceAndRequestLag(t *testing.T) {
	ctx := context.Background()
	e := newLagEnv(t, core.ClockStart{At: start, Paused: true})
	e.sched.Handle("slow", func(ctx context.Context, ev core.Job) error {
		e.real.Add(1500 * time.Millisecond) // carrying it out takes 1.5 real seconds
		return nil
	})
	e.sched.Handle("note", func(ctx context.Context, ev core.Job) error { return nil })
	for _, x := range []struct {
		at   time.Duration
		kind string
	}{{time.Minute, "slow"}, {2 * time.Minute, "note"}} {
		if _, err := e.sched.Schedule(ctx, start.Add(x.at), x.kind); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.sched.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, sum := e.lag(t, core.TriggerAdvance); n != 2 || sum != 1.5 {
		t.Fatalf("advance lag: %d observations summing to %vs, want 2 summing to 1.5s (0 and 1.5)", n, sum)
	}

	now, err := e.clock.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.sched.Schedule(ctx, now, "slow")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.sched.Schedule(ctx, now, "note")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sched.RunNow(ctx, a.Member(), b.Member()); err != nil {
		t.Fatal(err)
	}
	if n, sum := e.lag(t, core.TriggerRequest); n != 2 || sum != 1.5 {
		t.Fatalf("request lag: %d observations summing to %vs, want 2 summing to 1.5s", n, sum)
	}
	if n, _ := e.lag(t, core.TriggerLoop); n != 0 {
		t.Fatalf("%d loop observations, want none", n)
	}
}
