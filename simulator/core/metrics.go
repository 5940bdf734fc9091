package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Triggers of the scheduler: what carries a job out, the trigger label
// of smsim_scheduler_lag_seconds.
const (
	// TriggerLoop: the background loop, as the clock reaches the job.
	TriggerLoop = "loop"
	// TriggerAdvance: an advance of the clock (POST /admin/v1/clock/advance).
	TriggerAdvance = "advance"
	// TriggerRequest: the request that scheduled the job due at once.
	TriggerRequest = "request"
)

// schedulerMetrics are the scheduler's metrics besides its count of jobs.
type schedulerMetrics struct {
	lag *prometheus.HistogramVec
}

func newSchedulerMetrics(reg prometheus.Registerer) *schedulerMetrics {
	m := &schedulerMetrics{
		lag: Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "smsim_scheduler_lag_seconds",
			Help: "Real seconds from the moment a scheduled job falls due to the moment it is carried out, by trigger: " +
				"loop (the background loop of a running clock: (simulated now - due) / scale), " +
				"advance (from the moment an advance moved the clock past the job), " +
				"request (from the moment the request scheduled the job due at once).",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"trigger"})),
	}
	for _, t := range []string{TriggerLoop, TriggerAdvance, TriggerRequest} {
		m.lag.WithLabelValues(t) // served from the start, empty
	}
	return m
}

// zeroKind serves the count of jobs of kind carried out, ok and failed,
// from the start, at 0.
func (s *Scheduler) zeroKind(kind string) {
	s.fired.WithLabelValues(kind, "ok")
	s.fired.WithLabelValues(kind, "error")
}

// lagRef is what the lag of the jobs of one run of the scheduler is
// measured from: a real time, and, for the loop of a running clock, the
// simulated time and scale read then.
type lagRef struct {
	trigger string
	real    time.Time
	sim     time.Time // zero: every job fell due at real
	scale   float64
}

type lagRefKey struct{}

func withLagRef(ctx context.Context, ref lagRef) context.Context {
	return context.WithValue(ctx, lagRefKey{}, ref)
}

// fromLoop marks ctx as the loop's, which has just read the clock as st. An
// job due at d fell due (st.Now - d) / scale real seconds before that
// read. On a paused clock simulated time stands still: the jobs the loop
// finds due count from the moment it found them.
func (s *Scheduler) fromLoop(ctx context.Context, st ClockState) context.Context {
	ref := lagRef{trigger: TriggerLoop, real: s.real()}
	if !st.Paused && st.Scale > 0 {
		ref.sim, ref.scale = st.Now, st.Scale
	}
	return withLagRef(ctx, ref)
}

// fromAdvance marks ctx as an advance's, which has just moved the clock:
// every job it passes falls due at that moment.
func (s *Scheduler) fromAdvance(ctx context.Context) context.Context {
	return withLagRef(ctx, lagRef{trigger: TriggerAdvance, real: s.real()})
}

// fromRequest marks ctx, unless the loop or an advance already did, as a
// request's that carries out at once the jobs it just scheduled.
func (s *Scheduler) fromRequest(ctx context.Context) context.Context {
	if _, ok := ctx.Value(lagRefKey{}).(lagRef); ok {
		return ctx
	}
	return withLagRef(ctx, lagRef{trigger: TriggerRequest, real: s.real()})
}

// observeLag records the lag of jobs (stored forms) about to be carried
// out.
func (s *Scheduler) observeLag(ctx context.Context, members []string) {
	ref, ok := ctx.Value(lagRefKey{}).(lagRef)
	if !ok {
		return // a caller of RunDue or Drain outside the loop, an advance or a request
	}
	since := s.real().Sub(ref.real).Seconds()
	h := s.metrics.lag.WithLabelValues(ref.trigger)
	for _, m := range members {
		job, err := ParseJob(m)
		if err != nil {
			continue
		}
		lag := since
		if !ref.sim.IsZero() {
			if d := ref.sim.Sub(job.Due); d > 0 {
				lag += d.Seconds() / ref.scale
			}
		}
		h.Observe(max(lag, 0))
	}
}

// Register registers c on reg and answers it; when reg already holds a
// collector with the same description — the one the same component of
// another namespace registered — it answers that one, so that the
// components of every namespace count into one set of metrics.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if errors.As(err, &dup) {
			if existing, ok := dup.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("smsim: register metrics: %v", err))
	}
	return c
}
