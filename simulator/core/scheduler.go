package core

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Job is something that happens at a simulated time: a sync, a delivery,
// the end of a validation window. It is stored in Redis as one member of a
// sorted set scored by its due time, so that it survives the process that
// scheduled it. Its stored form, "seq|due|kind|arg|arg…" (seq zero-padded
// to twelve digits, due in ms), is written in Go by NewJob and read by
// ParseJob, in Lua by the prelude's job_encode and job_decode.
type Job struct {
	Seq  string    // unique, increasing: orders jobs due at the same time
	Due  time.Time // the simulated time it happens at
	Kind string
	Args []string

	member string
}

const (
	jobSep       = "|"
	jobSeqDigits = 12
)

// NewJob is the job numbered seq, due at due, of kind with args. No field
// may hold '|'.
func NewJob(seq int64, due time.Time, kind string, args ...string) (Job, error) {
	j := Job{Seq: fmt.Sprintf("%0*d", jobSeqDigits, seq), Due: time.UnixMilli(due.UnixMilli()).UTC(), Kind: kind, Args: args}
	if err := checkJobFields(kind, args); err != nil {
		return Job{}, err
	}
	j.member = strings.Join(append([]string{j.Seq, strconv.FormatInt(j.Due.UnixMilli(), 10), kind}, args...), jobSep)
	return j, nil
}

func checkJobFields(kind string, args []string) error {
	for _, f := range append([]string{kind}, args...) {
		if strings.Contains(f, jobSep) {
			return fmt.Errorf("job %s: %q holds %q", kind, f, jobSep)
		}
	}
	return nil
}

// Member is the job's stored form.
func (j Job) Member() string { return j.member }

// Arity checks that the job has exactly n arguments: a handler calls it
// before it reads them. The error describes the job with any code masked.
func (j Job) Arity(n int) error {
	if len(j.Args) != n {
		return fmt.Errorf("malformed job %s: %d arguments, want %d", j, len(j.Args), n)
	}
	return nil
}

// ParseJob reads a job from its stored form.
func ParseJob(member string) (Job, error) {
	f := strings.Split(member, jobSep)
	if len(f) < 3 {
		return Job{}, fmt.Errorf("malformed job %q", member)
	}
	due, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Job{}, fmt.Errorf("malformed job %q: due: %w", member, err)
	}
	return Job{Seq: f[0], Due: time.UnixMilli(due).UTC(), Kind: f[2], Args: f[3:], member: member}, nil
}

// A Handler carries out a job. It must be idempotent: a job whose
// process died while carrying it out is carried out again by another.
type Handler func(ctx context.Context, job Job) error

// The scheduler's scripts, each beside this file. Each takes the due set as
// KEYS[1], then the in-flight set and the sequence hash as it needs them.
var (
	//go:embed schedule.lua
	scheduleLua    string
	scheduleScript = NewScript[scheduleArgs](scheduleLua)

	//go:embed claim.lua
	claimLua    string
	claimScript = NewScript[claimArgs](claimLua)

	//go:embed claim_jobs.lua
	claimJobsLua    string
	claimJobsScript = NewScript[claimJobsArgs](claimJobsLua)

	//go:embed requeue.lua
	requeueLua    string
	requeueScript = NewScript[requeueArgs](requeueLua)

	//go:embed release.lua
	releaseLua    string
	releaseScript = NewScript[releaseArgs](releaseLua)

	//go:embed pending.lua
	pendingLua    string
	pendingScript = NewScript[pendingArgs](pendingLua)
)

type scheduleArgs struct {
	Due     int64    `json:"due"` // simulated ms
	Kind    string   `json:"kind"`
	JobArgs []string `json:"job_args"`
}

type claimArgs struct {
	DueBy      int64 `json:"due_by"`      // simulated ms
	LeaseUntil int64 `json:"lease_until"` // real ms
	Limit      int   `json:"limit"`
}

type claimJobsArgs struct {
	LeaseUntil int64    `json:"lease_until"` // real ms
	Jobs       []string `json:"jobs"`        // stored forms
}

type requeueArgs struct {
	Now int64 `json:"now"` // real ms
}

type releaseArgs struct {
	Jobs []string `json:"jobs"` // stored forms
}

type pendingArgs struct {
	DueBy int64 `json:"due_by"` // simulated ms
}

// claimBatch is how many due jobs RunDue claims at once.
const claimBatch = 64

// SchedulerOptions tunes a Scheduler; the zero value is the default.
type SchedulerOptions struct {
	Lease time.Duration // how long a claimed job is kept from others (real time); default 30s
}

// Scheduler keeps the jobs that happen later in simulated time, in a
// Redis sorted set, and carries them out when the clock reaches them. Each
// job is claimed atomically, so that with several processes on one Redis
// each is carried out once; a claimed job whose process died goes back to
// the set when its lease ends.
type Scheduler struct {
	rdb      redis.UniversalClient
	clock    *Clock
	log      *slog.Logger
	dueKey   string
	flyKey   string
	seqKey   string
	opts     SchedulerOptions
	real     func() time.Time
	handlers map[string]Handler
	batch    map[string]BatchHandler
	fired    *prometheus.CounterVec
	metrics  *schedulerMetrics

	mu    sync.Mutex      // guards wake and state
	wake  func(time.Time) // set by the loop that serves the scheduler
	state *State          // the namespace's clock as the process holds it (UseState)
}

// NewScheduler returns the scheduler of keyspace ks, driven by clock. Its
// metrics are registered on reg, or shared with the schedulers of other
// namespaces registered there before (Register).
func NewScheduler(rdb redis.UniversalClient, ks Keyspace, clock *Clock, log *slog.Logger, reg prometheus.Registerer, opts SchedulerOptions) *Scheduler {
	if opts.Lease == 0 {
		opts.Lease = 30 * time.Second
	}
	s := &Scheduler{
		rdb: rdb, clock: clock, log: log.With("component", "scheduler"),
		dueKey: ks.SchedDue(), flyKey: ks.SchedInflight(), seqKey: ks.Seq(),
		opts: opts, real: clock.real, handlers: map[string]Handler{}, batch: map[string]BatchHandler{},
		fired: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_scheduler_events_total",
			Help: "Scheduled jobs carried out, by kind and outcome (ok, error, unknown_kind).",
		}, []string{"kind", "outcome"})),
		metrics: newSchedulerMetrics(reg),
	}
	return s
}

// Handle sets the handler of jobs of kind. Call it before Run.
func (s *Scheduler) Handle(kind string, h Handler) {
	s.handlers[kind] = h
	s.zeroKind(kind)
}

// A BatchHandler carries out several jobs of one kind at once, in
// order. Like a Handler, it must be idempotent.
type BatchHandler func(ctx context.Context, jobs []Job) error

// HandleBatch sets the handler of jobs of kind that the scheduler hands
// over in runs (deliveries): the jobs of kind due one after the other,
// released together. What the handler schedules is carried out in due
// order with the rest, as for any handler.
func (s *Scheduler) HandleBatch(kind string, h BatchHandler) {
	s.batch[kind] = h
	s.zeroKind(kind)
}

// nextDuePrefix marks the item of a script's reply that tells the earliest
// due time of the jobs it scheduled (the prelude's with_due_now).
const nextDuePrefix = "next_due:"

// nextDue takes out of a script's reply the item that tells when the
// earliest job it scheduled falls due, and has the loop look then; it
// answers the rest.
func (s *Scheduler) nextDue(ctx context.Context, members []string) []string {
	for i, m := range members {
		ms, ok := strings.CutPrefix(m, nextDuePrefix)
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
			s.KickFor(ctx, time.UnixMilli(n).UTC())
		}
		return append(members[:i:i], members[i+1:]...)
	}
	return members
}

// JobsIn counts the jobs due at once among the items of a script's reply
// (the prelude's with_due_now), leaving out when the next one falls due.
func JobsIn(items []string) int {
	n := 0
	for _, m := range items {
		if !strings.HasPrefix(m, nextDuePrefix) {
			n++
		}
	}
	return n
}

// Schedule adds a job of kind with args, due at due.
func (s *Scheduler) Schedule(ctx context.Context, due time.Time, kind string, args ...string) (Job, error) {
	if err := checkJobFields(kind, args); err != nil {
		return Job{}, fmt.Errorf("schedule: %w", err)
	}
	m, err := scheduleScript.Run(ctx, s.rdb, []string{s.dueKey, s.seqKey},
		scheduleArgs{Due: due.UnixMilli(), Kind: kind, JobArgs: append([]string{}, args...)}).Text()
	if err != nil {
		return Job{}, fmt.Errorf("schedule %s: %w", kind, err)
	}
	s.KickFor(ctx, due)
	return ParseJob(m)
}

// Kick wakes the loop that serves the scheduler (Loop.Add) to look for due
// jobs at once.
func (s *Scheduler) Kick() { s.KickAt(time.Time{}) }

// UseState gives the scheduler the namespace's clock as its process holds
// it, to tell when a job falls due in real time (KickFor).
func (s *Scheduler) UseState(st *State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = st
}

// KickFor has the loop that serves the scheduler look when a job due at the
// simulated time due falls due: at once without the namespace's state, never
// on a paused clock (an advance carries out what falls due itself).
func (s *Scheduler) KickFor(ctx context.Context, due time.Time) {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	if st == nil {
		s.Kick()
		return
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		s.Kick()
		return
	}
	if at, ok := snap.RealAt(due); ok {
		s.KickAt(at)
	}
}

// KickAt has the loop that serves the scheduler look for due jobs at the
// real time at, or sooner if it was to anyway: a caller that scheduled a
// job due later, and knows when that is in real time (core.Snapshot's
// RealAt), costs the store nothing until then.
func (s *Scheduler) KickAt(at time.Time) {
	s.mu.Lock()
	wake := s.wake
	s.mu.Unlock()
	if wake != nil {
		wake(at)
	}
}

// Pending counts the jobs not yet carried out.
func (s *Scheduler) Pending(ctx context.Context) (int64, error) {
	p := s.rdb.Pipeline()
	a := p.ZCard(ctx, s.dueKey)
	b := p.ZCard(ctx, s.flyKey)
	if _, err := p.Exec(ctx); err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return a.Val() + b.Val(), nil
}

// RunNow carries out the named jobs (stored forms) at once and returns
// when each is done: those nobody claimed yet it carries out itself; for
// those another worker claimed, it waits. Callers use it for jobs they
// just scheduled as due now, so that a zero delay means no wait for the
// background loop and the caller sees their effect.
func (s *Scheduler) RunNow(ctx context.Context, members ...string) error {
	ctx = s.fromRequest(ctx)
	members = s.nextDue(ctx, members)
	for len(members) > 0 {
		claimed, err := claimJobsScript.Run(ctx, s.rdb, []string{s.dueKey, s.flyKey},
			claimJobsArgs{LeaseUntil: s.leaseUntil(), Jobs: members}).StringSlice()
		if err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		if err := s.carryOut(ctx, claimed); err != nil {
			return err
		}
		if len(claimed) == len(members) {
			return nil
		}
		// Some were claimed by another worker: wait until they leave the
		// in-flight set (or come back to the due set, to be claimed here).
		p := s.rdb.Pipeline()
		scores := make([]*redis.FloatCmd, len(members))
		for i, m := range members {
			scores[i] = p.ZScore(ctx, s.flyKey, m)
		}
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("read jobs in flight: %w", err)
		}
		var busy []string
		for i, c := range scores {
			if c.Err() == nil {
				busy = append(busy, members[i])
			}
		}
		if len(busy) == 0 {
			return nil
		}
		members = busy
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// RunDue carries out, in due order, every job due by until, including
// those that carrying out the earlier ones schedules. It answers how many it
// carried out.
//
// It claims jobs in batches. Whenever anything is scheduled while a batch
// is under way (the job sequence number moved), it puts the rest of the
// batch back and claims again, so that a new job due before the rest is
// carried out first.
func (s *Scheduler) RunDue(ctx context.Context, until time.Time) (int, error) {
	n := 0
	for {
		out, err := claimScript.Run(ctx, s.rdb, []string{s.dueKey, s.flyKey, s.seqKey},
			claimArgs{DueBy: until.UnixMilli(), LeaseUntil: s.leaseUntil(), Limit: claimBatch}).StringSlice()
		if err != nil {
			return n, fmt.Errorf("claim jobs: %w", err)
		}
		seq, batch := out[0], out[1:]
		if len(batch) == 0 {
			return n, nil
		}
		for i := 0; i < len(batch); {
			kind := kindOf(batch[i])
			j := i + 1
			if s.batch[kind] != nil { // a run of jobs of this kind goes in one call
				for j < len(batch) && kindOf(batch[j]) == kind {
					j++
				}
			}
			group := batch[i:j]
			s.observeLag(ctx, group)
			if err := s.runGroup(ctx, kind, group); err != nil {
				return n, err
			}
			n += len(group)
			i = j
			now, err := s.release(ctx, group)
			if err != nil {
				return n, err
			}
			if now != seq && i < len(batch) {
				if err := releaseScript.Run(ctx, s.rdb, []string{s.dueKey, s.flyKey}, releaseArgs{Jobs: batch[i:]}).Err(); err != nil {
					return n, fmt.Errorf("release jobs: %w", err)
				}
				break
			}
		}
	}
}

// kindOf is the kind of a stored job ("" when it is malformed).
func kindOf(member string) string {
	job, _ := ParseJob(member)
	return job.Kind
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, x := range ss {
		out[i] = x
	}
	return out
}

func (s *Scheduler) leaseUntil() int64 { return s.real().Add(s.opts.Lease).UnixMilli() }

// carryOut runs the handlers of claimed jobs and releases them.
func (s *Scheduler) carryOut(ctx context.Context, claimed []string) error {
	for _, m := range claimed {
		s.observeLag(ctx, []string{m})
		if err := s.runHandler(ctx, m); err != nil {
			return err
		}
		if _, err := s.release(ctx, []string{m}); err != nil {
			return err
		}
	}
	return nil
}

// runGroup carries out claimed jobs of one kind: a run of them in one
// call to a batch handler, or one job.
func (s *Scheduler) runGroup(ctx context.Context, kind string, group []string) error {
	h := s.batch[kind]
	if h == nil {
		return s.runHandler(ctx, group[0])
	}
	jobs := make([]Job, 0, len(group))
	for _, m := range group {
		job, err := ParseJob(m)
		if err != nil {
			s.logMalformed(ctx, m, err)
			continue
		}
		jobs = append(jobs, job)
	}
	if err := h(ctx, jobs); err != nil {
		s.fired.WithLabelValues(kind, "error").Add(float64(len(jobs)))
		return fmt.Errorf("jobs %s (%d): %w", kind, len(jobs), err)
	}
	s.fired.WithLabelValues(kind, "ok").Add(float64(len(jobs)))
	return nil
}

// runHandler carries out a claimed job. A job whose handler fails
// stays claimed: it is carried out again when its lease ends.
func (s *Scheduler) runHandler(ctx context.Context, m string) error {
	job, err := ParseJob(m)
	switch {
	case err != nil:
		s.logMalformed(ctx, m, err)
	case s.batch[job.Kind] != nil:
		return s.runGroup(ctx, job.Kind, []string{m})
	case s.handlers[job.Kind] == nil:
		s.fired.WithLabelValues(job.Kind, "unknown_kind").Inc()
		s.log.ErrorContext(ctx, "dropping job of unknown kind", "job", job.String())
		s.log.DebugContext(ctx, "job of unknown kind", "job", m)
	default:
		if err := s.handlers[job.Kind](ctx, job); err != nil {
			s.fired.WithLabelValues(job.Kind, "error").Inc()
			s.log.DebugContext(ctx, "job failed", "job", m, "err", err)
			return fmt.Errorf("job %s: %w", job, err)
		}
		s.fired.WithLabelValues(job.Kind, "ok").Inc()
	}
	return nil
}

// release removes carried-out jobs from the in-flight set and answers
// the job sequence number read at that moment.
func (s *Scheduler) release(ctx context.Context, done []string) (string, error) {
	p := s.rdb.Pipeline()
	if len(done) > 0 {
		p.ZRem(ctx, s.flyKey, toAny(done)...)
	}
	seq := p.HGet(ctx, s.seqKey, "job")
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("release jobs: %w", err)
	}
	if seq.Val() == "" {
		return "0", nil
	}
	return seq.Val(), nil
}

// Requeue puts back the claimed jobs whose lease has ended.
func (s *Scheduler) Requeue(ctx context.Context) (int, error) {
	n, err := requeueScript.Run(ctx, s.rdb, []string{s.dueKey, s.flyKey}, requeueArgs{Now: s.real().UnixMilli()}).Int()
	if err != nil {
		return 0, fmt.Errorf("requeue jobs: %w", err)
	}
	return n, nil
}

// Advance moves the clock forward by d and, before it returns, carries out
// everything due by the new time, in due order: what this process claims,
// and what other processes claimed and are still carrying out.
func (s *Scheduler) Advance(ctx context.Context, d time.Duration) (ClockState, error) {
	st, err := s.clock.Jump(ctx, d)
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state != nil {
		state.Forget() // the clock moved: what the jobs compute with is read again
	}
	if err != nil {
		return ClockState{}, err
	}
	if err := s.Drain(s.fromAdvance(ctx), st.Now); err != nil {
		return ClockState{}, err
	}
	return s.clock.State(ctx)
}

// Drain carries out everything due by until and waits for the jobs due by
// until that other processes are carrying out.
func (s *Scheduler) Drain(ctx context.Context, until time.Time) error {
	for {
		if _, err := s.Requeue(ctx); err != nil {
			return err
		}
		if _, err := s.RunDue(ctx, until); err != nil {
			return err
		}
		state, err := pendingScript.Run(ctx, s.rdb, []string{s.dueKey, s.flyKey}, pendingArgs{DueBy: until.UnixMilli()}).Int()
		if err != nil {
			return fmt.Errorf("read pending jobs: %w", err)
		}
		switch state {
		case 0:
			return nil
		case 1: // only in flight elsewhere: wait for them
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
}

// Tick carries out what is due on a running clock: first the claimed jobs
// whose lease ended (their process died), then the jobs due by the
// simulated now. It answers when, in real time, the scheduler next has
// something to do — the moment its earliest job falls due at the clock's
// scale — or the zero time when it has nothing due or the clock is paused:
// a paused clock moves only by an advance, which carries out what falls due
// itself, in due order, so the loop keeps out of its way and a seeded run
// on a paused clock is the same every time. It costs one round trip when
// nothing is due.
func (s *Scheduler) Tick(ctx context.Context) (time.Time, error) {
	p := s.rdb.Pipeline()
	expired := p.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.flyKey, Start: "-inf", Stop: strconv.FormatInt(s.real().UnixMilli(), 10),
		ByScore: true, Count: 1})
	st := s.clock.StateCmd(ctx, p)
	next := p.ZRangeWithScores(ctx, s.dueKey, 0, 0)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return time.Time{}, fmt.Errorf("read clock and next job: %w", err)
	}
	if len(expired.Val()) > 0 {
		if _, err := s.Requeue(ctx); err != nil {
			return time.Time{}, err
		}
		return s.real(), nil // look again at once, with the jobs put back
	}
	if len(next.Val()) == 0 {
		return time.Time{}, nil // nothing to do, whatever the clock
	}
	now, err := s.clock.StateOf(st)
	if err != nil {
		return time.Time{}, err
	}
	if now.Paused {
		return time.Time{}, nil
	}
	due := time.UnixMilli(int64(next.Val()[0].Score)).UTC()
	if due.After(now.Now) {
		return s.real().Add(time.Duration(float64(due.Sub(now.Now)) / now.Scale)), nil
	}
	if _, err := s.RunDue(s.fromLoop(ctx, now), now.Now); err != nil {
		return time.Time{}, err
	}
	return s.real(), nil // look again at once: what it scheduled may be due
}
