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
	"sync/atomic"
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
// before it reads them. The error, Permanent, describes the job with any
// code masked.
func (j Job) Arity(n int) error {
	if len(j.Args) != n {
		return Permanent(fmt.Errorf("malformed job %s: %d arguments, want %d", j, len(j.Args), n))
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
// KEYS[1], then the in-flight set, the clock's hash or the dead-letter set
// as it needs them.
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

	//go:embed dead.lua
	deadLua    string
	deadScript = NewScript[deadArgs](deadLua)
)

type scheduleArgs struct {
	Due     int64    `json:"due"` // simulated ms
	Kind    string   `json:"kind"`
	JobArgs []string `json:"job_args"`
}

type claimArgs struct {
	DueBy      int64        `json:"due_by"`      // simulated ms
	LeaseUntil int64        `json:"lease_until"` // real ms
	Limit      int          `json:"limit"`
	Owner      string       `json:"owner,omitempty"`  // the advance that claims, whose lease it renews
	Anchor     *clockAnchor `json:"anchor,omitempty"` // the loop's: the clock it read
}

// clockAnchor is the anchor of the clock a scheduler's loop read, as stored.
type clockAnchor struct {
	Sim  string `json:"sim"`
	Real string `json:"real"`
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
	DueBy      int64  `json:"due_by"`                // simulated ms
	Owner      string `json:"owner,omitempty"`       // the advance that waits, whose lease it renews
	LeaseUntil int64  `json:"lease_until,omitempty"` // real ms
}

type deadArgs struct {
	Jobs   []string `json:"jobs"`   // stored forms
	Errors []string `json:"errors"` // what each failed with
	At     int64    `json:"at"`     // real ms
	Keep   int      `json:"keep"`
}

// claimBatch is how many due jobs RunDue claims at once. Carrying them out
// one at a time (an advance), it claims up to claimInOrder while it
// carries its batches out whole, twice as many each time: each claim, and
// the first run of each batch, leave the store waiting for the process.
// After a batch whose rest went back (a job fell due before it), it claims
// claimBatch again, so that the next put-back is cheap.
const (
	claimBatch   = 64
	claimInOrder = 256
)

// deadKeep is how many jobs the dead-letter set keeps, the newest.
const deadKeep = 1000

// SchedulerOptions tunes a Scheduler; the zero value is the default.
type SchedulerOptions struct {
	// Lease is how long a claimed job is kept from others, and an advance
	// from being taken over, since its process last showed it was alive
	// (real time); default 30s.
	Lease time.Duration
	// Lanes bounds how many jobs of the namespace the loop carries out at
	// once: jobs of different lanes (for MIIT, of different orders) go
	// side by side, those of a lane one after the other, in due order
	// (RunDue). An advance, and a request that carries out what it
	// scheduled, go one job at a time. Default 8; 1: one at a time.
	Lanes int
	// Run bounds how many jobs of kinds with steps (HandleSteps) go to the
	// store in one round trip, their scripts in one pipeline, when jobs
	// are carried out one after another (an advance). Default 32; 1: each
	// job alone.
	Run int
}

// Scheduler keeps the jobs that happen later in simulated time, in a
// Redis sorted set, and carries them out when the clock reaches them. Each
// job is claimed atomically, so that with several processes on one Redis
// each is carried out once; a claimed job whose process died goes back to
// the set when its lease ends. A job that fails for good (a Permanent
// error, a malformed job, one of a kind nobody handles) goes to a
// dead-letter set instead (DeadJobs).
type Scheduler struct {
	rdb      redis.UniversalClient
	clock    *Clock
	log      *slog.Logger
	dueKey   string
	flyKey   string
	seqKey   string
	deadKey  string
	opts     SchedulerOptions
	real     func() time.Time
	ks       Keyspace
	handlers map[string]Handler
	batch    map[string]BatchHandler
	steps    map[string]StepHandler
	loaded   sync.Map // the scripts of steps this scheduler loaded: SHA-1 → true (runSteps)
	fired    *prometheus.CounterVec
	dead     *prometheus.CounterVec
	metrics  *schedulerMetrics

	gate      *sync.RWMutex                            // held (read) around each look of the loop: SetGate
	takenOver func(ctx context.Context, st ClockState) // OnTakeOver
	carried   atomic.Int64                             // real Unix ms at which RunDue last carried a job out (LastCarried)
	onCarried func(ctx context.Context)                // OnCarried

	mu       sync.Mutex      // guards wake, state and released
	wake     func(time.Time) // set by the loop that serves the scheduler
	state    *State          // the namespace's clock as the process holds it (UseState)
	released chan struct{}   // closed, and made anew, when jobs leave the in-flight set here
}

// NewScheduler returns the scheduler of keyspace ks, driven by clock. Its
// metrics are registered on reg, or shared with the schedulers of other
// namespaces registered there before (Register).
func NewScheduler(rdb redis.UniversalClient, ks Keyspace, clock *Clock, log *slog.Logger, reg prometheus.Registerer, opts SchedulerOptions) *Scheduler {
	if opts.Lease == 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Lanes <= 0 {
		opts.Lanes = 8
	}
	if opts.Run <= 0 {
		opts.Run = 32
	}
	s := &Scheduler{
		rdb: rdb, clock: clock, log: log.With("component", "scheduler"),
		dueKey: ks.SchedDue(), flyKey: ks.SchedInflight(), seqKey: ks.Seq(), deadKey: ks.SchedDead(),
		opts: opts, real: clock.real, ks: ks, handlers: map[string]Handler{}, batch: map[string]BatchHandler{}, steps: map[string]StepHandler{},
		fired: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_scheduler_events_total",
			Help: "Scheduled jobs carried out, by kind and outcome (ok, error, dead, unknown_kind).",
		}, []string{"kind", "outcome"})),
		dead: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_scheduler_dead_jobs_total",
			Help: "Scheduled jobs moved to the dead-letter set, never to be retried (a malformed job, one of an unknown kind, a permanent error of its handler), by kind.",
		}, []string{"kind"})),
		metrics:  newSchedulerMetrics(reg),
		released: make(chan struct{}),
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
// order with the rest, as for any handler. When a run fails with a
// Permanent error, its jobs are carried out again one by one, to find the
// one to put in the dead-letter set.
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

// SetGate has the loop that serves the scheduler hold g (RLock) around
// each of its looks (Tick): whoever takes g whole waits for the look under
// way, and the loop for it, as a namespace's reset does. Set it before the
// loop serves the scheduler.
func (s *Scheduler) SetGate(g *sync.RWMutex) { s.gate = g }

// look is Tick within the gate (SetGate), as the loop ticks.
func (s *Scheduler) look(ctx context.Context) (time.Time, error) {
	if s.gate != nil {
		s.gate.RLock()
		defer s.gate.RUnlock()
	}
	return s.Tick(ctx)
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
	if w, ok := ctx.Value(laneWatchKey{}).(*laneWatch); ok {
		w.saw(due)
	}
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
	var wait backoff
	for len(members) > 0 {
		released := s.releasedChan()
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
		if err := wait.wait(ctx, released); err != nil {
			return err
		}
	}
	return nil
}

// RunDue carries out, in due order, every job due by until, including
// those that carrying out the earlier ones schedules. It answers how many it
// carried out.
//
// It claims jobs in batches, and carries a batch out to its end unless a
// job falls due before the batch's next one meanwhile (one that a handler
// scheduled, or that another process put back): then it puts the rest of
// the batch back and claims again, so that the new job is carried out
// first. When a handler fails, the rest of the batch goes back at once,
// for this or another process to carry out; the job that failed stays
// claimed until its lease ends, unless it failed for good (dead-letter).
//
// Called by the loop (Tick), it carries a batch out in lanes instead, up
// to SchedulerOptions.Lanes at once (runLanes).
func (s *Scheduler) RunDue(ctx context.Context, until time.Time) (n int, err error) {
	defer func() {
		if n > 0 {
			s.carried.Store(time.Now().UnixMilli())
			if s.onCarried != nil {
				s.onCarried(ctx)
			}
		}
	}()
	owner, _ := ctx.Value(advanceOwnerKey{}).(string)
	anchor, _ := ctx.Value(loopAnchorKey{}).(*clockAnchor)
	width, limit := 1, claimBatch
	if ref, ok := ctx.Value(lagRefKey{}).(lagRef); ok && ref.trigger == TriggerLoop {
		width = s.opts.Lanes
	}
	for {
		batch, err := claimScript.Run(ctx, s.rdb, []string{s.dueKey, s.flyKey, s.clock.key},
			claimArgs{DueBy: until.UnixMilli(), LeaseUntil: s.leaseUntil(), Limit: limit, Owner: owner, Anchor: anchor}).StringSlice()
		if err != nil {
			return n, claimRefusal(err)
		}
		if len(batch) == 0 {
			return n, nil
		}
		var done int
		if width > 1 {
			done, err = s.runLanes(ctx, batch, width)
		} else {
			done, err = s.runInOrder(ctx, batch)
		}
		n += done
		if err != nil {
			return n, err
		}
		if width == 1 {
			if done == len(batch) {
				limit = min(2*limit, claimInOrder)
			} else {
				limit = claimBatch
			}
		}
	}
}

// LastCarried answers when (real time, Unix ms) RunDue last carried out a
// job here, 0 for never: the last time this scheduler wrote to the
// namespace, whatever request caused it or none (the loop).
func (s *Scheduler) LastCarried() int64 { return s.carried.Load() }

// OnCarried has RunDue call f once it carried out jobs, whatever request
// caused it or none (the loop): the namespace records a use, so that what
// the jobs wrote does not outlive it. Call it before Run.
func (s *Scheduler) OnCarried(f func(ctx context.Context)) { s.onCarried = f }

// ErrSuperseded is the refusal of an advance that is no longer the
// namespace's: a reset ended it, or another process took it over after
// its lease ran out (it had stopped renewing it, stalled for that long).
var ErrSuperseded = Conflict("the advance was ended by a reset of the namespace, or finished by another process after this one stalled past its lease; read the clock (an advance with an Idempotency-Key is answered as the other process finished it)")

// errClockSetAnew is the refusal of the loop's claim when the clock was
// set anew since the loop read it: it looks again.
var errClockSetAnew = errors.New("the clock was set anew since it was read")

// loopAnchorKey marks the context of the loop's carrying out with the
// anchor of the clock it read (*Expect: Sim and Real).
type loopAnchorKey struct{}

// claimRefusal is the error of a claim (claim.lua) or a look at what is
// pending (pending.lua).
func claimRefusal(err error) error {
	switch {
	case redis.HasErrorPrefix(err, "SUPERSEDED"):
		return ErrSuperseded
	case redis.HasErrorPrefix(err, "CLOCK"):
		return errClockSetAnew
	}
	return fmt.Errorf("claim jobs: %w", err)
}

// releaseEvery is how many carried-out jobs runInOrder holds, at most,
// before it releases them in one round trip.
const releaseEvery = 16

// runInOrder carries out a claimed batch in due order, and answers how
// many jobs it carried out. It puts the rest back when a job falls due
// before the batch's next one meanwhile, or when a handler fails.
//
// It releases the jobs it carried out releaseEvery at a time, and looks at
// the due set as it does, instead of after each: a job that a handler
// scheduled is heard of as KickFor is told (laneWatch), and when one falls
// due before the batch's next, what was carried out is released at once
// and the due set decides. A job another process puts back or schedules
// meanwhile is seen at the next release. Carried out but not yet released,
// a job would be carried out again after its lease should the process die:
// handlers are idempotent.
func (s *Scheduler) runInOrder(ctx context.Context, batch []string) (int, error) {
	w := &laneWatch{}
	ctx = context.WithValue(ctx, laneWatchKey{}, w)
	var held []string
	n, err := s.runSequence(ctx, batch, func(group []string, next string) (bool, error) {
		held = append(held, group...)
		if next != "" && len(held) < releaseEvery && !w.precedes(next) {
			return false, nil
		}
		first, err := s.release(ctx, held)
		held = nil
		return err == nil && next != "" && first != nil && before(*first, next), err
	})
	if len(held) > 0 { // a handler failed after them
		if _, rerr := s.release(context.WithoutCancel(ctx), held); rerr != nil {
			s.log.WarnContext(ctx, "releasing jobs carried out", "jobs", len(held), "err", rerr)
		}
	}
	return n, err
}

// runSequence carries out jobs in order, a group at a time (groupEnd), and
// answers how many it carried out. After each group, settle releases it
// and tells whether the job next (none: "") must wait for one that fell
// due before it meanwhile: the rest then goes back, to be claimed again
// after that one. When a handler or settle fails, the rest goes back at
// once.
func (s *Scheduler) runSequence(ctx context.Context, jobs []string, settle func(group []string, next string) (wait bool, err error)) (int, error) {
	n := 0
	for i := 0; i < len(jobs); {
		if s.stepped(jobs[i]) {
			if r := s.runSteps(ctx, jobs[i:]); r.used > 0 || r.err != nil || r.early {
				n += r.carried
				i += r.used
				next := ""
				if i < len(jobs) {
					next = jobs[i]
				}
				switch wait, err := settleSteps(ctx, r, next, settle); {
				case err != nil:
					return n, s.putBack(ctx, err, jobs[i:])
				case wait:
					return n, s.putBack(ctx, nil, jobs[i:])
				}
				continue
			}
			// not for a run after all: as any other job
		}
		j := s.groupEnd(jobs, i)
		group := jobs[i:j]
		s.observeLag(ctx, group)
		if rest, err := s.runGroup(ctx, kindOf(group[0]), group); err != nil {
			return n, s.putBack(ctx, err, append(rest, jobs[j:]...))
		}
		n += len(group)
		i = j
		next := ""
		if i < len(jobs) {
			next = jobs[i]
		}
		switch wait, err := settle(group, next); {
		case err != nil:
			return n, s.putBack(ctx, err, jobs[i:])
		case wait:
			return n, s.putBack(ctx, nil, jobs[i:])
		}
	}
	return n, nil
}

// settleSteps settles what runSteps did (r), before the job next: it
// releases the jobs still held, and tells whether next must wait for a job
// the runs scheduled, or fell due before it meanwhile (settle).
func settleSteps(ctx context.Context, r stepsResult, next string, settle func(group []string, next string) (bool, error)) (wait bool, err error) {
	wait, err = r.early, r.err
	switch {
	case len(r.held) > 0:
		w, serr := settle(r.held, next)
		wait = wait || w
		if err == nil {
			err = serr
		}
	case r.carried > 0 && next != "" && kindOf(next) != "":
		// the runs' jobs were released as they went: only what their
		// handlers scheduled remains to be looked at
		w, ok := ctx.Value(laneWatchKey{}).(*laneWatch)
		wait = wait || ok && w.precedes(next)
	}
	return wait, err
}

// groupEnd answers where the group of claimed jobs that starts at i ends: a
// run of jobs of a kind with a batch handler goes in one call, any other
// job alone.
func (s *Scheduler) groupEnd(batch []string, i int) int {
	kind := kindOf(batch[i])
	j := i + 1
	if s.batch[kind] != nil {
		for j < len(batch) && kindOf(batch[j]) == kind {
			j++
		}
	}
	return j
}

// runLanes carries out a claimed batch in lanes, up to width of them at
// once, and answers how many jobs it carried out. A lane is the jobs of one
// first argument (for MIIT, one order) among the kinds handled one job at a
// time, and all the jobs of a kind with a batch handler (deliveries): lanes
// touch different things, so only the order within a lane matters. A lane
// runs in due order, and puts its rest back when a job it scheduled falls
// due before its next one (runLane). When a lane fails, the lanes not
// started yet go back at once; those under way finish.
func (s *Scheduler) runLanes(ctx context.Context, batch []string, width int) (int, error) {
	lanes := map[string][]string{}
	var keys []string
	for _, m := range batch {
		k := s.laneOf(m)
		if _, ok := lanes[k]; !ok {
			keys = append(keys, k)
		}
		lanes[k] = append(lanes[k], m)
	}
	if len(keys) == 1 {
		return s.runInOrder(ctx, batch)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		n      int
		failed error
	)
	slots := make(chan struct{}, width)
	for _, k := range keys {
		slots <- struct{}{}
		mu.Lock()
		stop := failed != nil
		mu.Unlock()
		if stop {
			<-slots
			if err := s.putBack(ctx, nil, lanes[k]); err != nil {
				s.log.WarnContext(ctx, "putting jobs back", "jobs", len(lanes[k]), "err", err)
			}
			continue
		}
		wg.Add(1)
		go func(jobs []string) {
			defer wg.Done()
			defer func() { <-slots }()
			done, err := s.runLane(ctx, jobs)
			mu.Lock()
			defer mu.Unlock()
			n += done
			if err != nil && failed == nil {
				failed = err
			}
		}(lanes[k])
	}
	wg.Wait()
	return n, failed
}

// laneOf answers the lane of a claimed job (runLanes).
func (s *Scheduler) laneOf(member string) string {
	job, err := ParseJob(member)
	if err != nil || s.batch[job.Kind] != nil || len(job.Args) == 0 {
		return "kind\x00" + job.Kind
	}
	return "arg\x00" + job.Args[0]
}

// runLane carries out the jobs of a lane in due order, each released as it
// is done, and answers how many it carried out. When a job it carried out
// scheduled one due before the lane's next, it puts the rest back, to be
// claimed again after the new one; when a handler fails, it puts the rest
// back at once.
func (s *Scheduler) runLane(ctx context.Context, jobs []string) (int, error) {
	w := &laneWatch{}
	ctx = context.WithValue(ctx, laneWatchKey{}, w)
	return s.runSequence(ctx, jobs, func(group []string, next string) (bool, error) {
		if err := s.done(ctx, group); err != nil {
			return false, err
		}
		return next != "" && w.precedes(next), nil
	})
}

// laneWatch keeps the earliest due time (simulated ms) of the jobs a
// lane's handlers scheduled, as KickFor hears of them.
type laneWatch struct {
	mu    sync.Mutex
	first int64 // 0: none yet
}

type laneWatchKey struct{}

func (w *laneWatch) saw(due time.Time) {
	ms := due.UnixMilli()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.first == 0 || ms < w.first {
		w.first = ms
	}
}

// precedes tells whether a job the lane scheduled falls due before the
// claimed job next. One due at the same time comes after it: it was
// scheduled later, and a later sequence number sorts after.
func (w *laneWatch) precedes(next string) bool {
	job, err := ParseJob(next)
	if err != nil {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first != 0 && w.first < job.Due.UnixMilli()
}

// before tells whether the job first, the earliest of the due set, comes
// before the claimed job next in due order: by due time, then, as the
// sorted set orders them, by stored form (whose sequence number leads).
func before(first redis.Z, next string) bool {
	m, _ := first.Member.(string)
	job, err := ParseJob(next)
	if err != nil {
		return true // claim again: the order is the set's
	}
	due := float64(job.Due.UnixMilli())
	return first.Score < due || (first.Score == due && m < next)
}

// putBack puts claimed jobs back in the due set, for this or another
// process to carry out, and answers cause — or the failure to put them
// back, when there is no cause.
func (s *Scheduler) putBack(ctx context.Context, cause error, jobs []string) error {
	if len(jobs) == 0 {
		return cause
	}
	// What was claimed goes back even when the request that claimed it is
	// given up.
	err := releaseScript.Run(context.WithoutCancel(ctx), s.rdb, []string{s.dueKey, s.flyKey}, releaseArgs{Jobs: jobs}).Err()
	s.signalReleased()
	if err != nil {
		err = fmt.Errorf("release jobs: %w", err)
		if cause == nil {
			return err
		}
		s.log.WarnContext(ctx, "putting jobs back", "jobs", len(jobs), "err", err)
	}
	return cause
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

// carryOut runs the handlers of claimed jobs and releases them; when one
// fails, the rest go back at once.
func (s *Scheduler) carryOut(ctx context.Context, claimed []string) error {
	for i, m := range claimed {
		s.observeLag(ctx, []string{m})
		if err := s.runHandler(ctx, m); err != nil {
			return s.putBack(ctx, err, claimed[i+1:])
		}
		if err := s.done(ctx, []string{m}); err != nil {
			return s.putBack(ctx, err, claimed[i+1:])
		}
	}
	return nil
}

// runGroup carries out claimed jobs of one kind: a run of them in one
// call to a batch handler, or one job. A job that fails for good goes to
// the dead-letter set and the others go on. It answers the error of a job
// that failed otherwise — it stays claimed — with the jobs of the group
// not tried yet, for the caller to put back.
func (s *Scheduler) runGroup(ctx context.Context, kind string, group []string) (rest []string, err error) {
	h := s.batch[kind]
	if h == nil {
		return nil, s.runHandler(ctx, group[0])
	}
	jobs := make([]Job, 0, len(group))
	for _, m := range group {
		job, err := ParseJob(m)
		if err != nil {
			if err := s.bury(ctx, m, deadMalformed, err); err != nil {
				return nil, err
			}
			continue
		}
		jobs = append(jobs, job)
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	err = h(ctx, jobs)
	switch {
	case err == nil:
		s.fired.WithLabelValues(kind, "ok").Add(float64(len(jobs)))
		return nil, nil
	case !IsPermanent(err):
		s.fired.WithLabelValues(kind, "error").Add(float64(len(jobs)))
		return nil, fmt.Errorf("jobs %s (%d): %w", kind, len(jobs), err)
	case len(jobs) == 1:
		return nil, s.bury(ctx, jobs[0].member, deadFailed, err)
	}
	// One of the run failed for good: each alone, to find which.
	for i, job := range jobs {
		err := h(ctx, []Job{job})
		switch {
		case err == nil:
			s.fired.WithLabelValues(kind, "ok").Inc()
		case IsPermanent(err):
			if err := s.bury(ctx, job.member, deadFailed, err); err != nil {
				return membersOf(jobs[i+1:]), err
			}
		default:
			s.fired.WithLabelValues(kind, "error").Inc()
			return membersOf(jobs[i+1:]), fmt.Errorf("job %s: %w", job, err)
		}
	}
	return nil, nil
}

func membersOf(jobs []Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.member
	}
	return out
}

// runHandler carries out a claimed job. A job whose handler fails stays
// claimed: it is carried out again when its lease ends. One that fails for
// good — malformed, of a kind nobody handles, or whose handler answers a
// Permanent error — goes to the dead-letter set instead.
func (s *Scheduler) runHandler(ctx context.Context, m string) error {
	job, err := ParseJob(m)
	switch {
	case err != nil:
		return s.bury(ctx, m, deadMalformed, err)
	case s.batch[job.Kind] != nil:
		_, err := s.runGroup(ctx, job.Kind, []string{m})
		return err
	case s.handlers[job.Kind] == nil:
		s.fired.WithLabelValues(job.Kind, "unknown_kind").Inc()
		return s.bury(ctx, m, deadUnknown, fmt.Errorf("job %s: no handler for jobs of kind %q", job, job.Kind))
	}
	return s.settled(ctx, m, job, s.handlers[job.Kind](ctx, job))
}

// settled counts how the claimed job m (job, read) ended, its handler
// having answered err: carried out, failed for good (it goes to the
// dead-letter set), or failed (it stays claimed, and the error is
// answered).
func (s *Scheduler) settled(ctx context.Context, m string, job Job, err error) error {
	switch {
	case err == nil:
		s.fired.WithLabelValues(job.Kind, "ok").Inc()
		return nil
	case IsPermanent(err):
		return s.bury(ctx, m, deadFailed, err)
	}
	s.fired.WithLabelValues(job.Kind, "error").Inc()
	s.log.DebugContext(ctx, "job failed", "job", m, "err", err)
	return fmt.Errorf("job %s: %w", job, err)
}

// Why a job goes to the dead-letter set: the first words of what bury
// logs.
const (
	deadMalformed = "malformed job"
	deadUnknown   = "job of unknown kind"
	deadFailed    = "job failed for good"
)

// bury moves a claimed job that failed for good (why, cause) to the
// dead-letter set, and logs and counts it: above debug level only its
// kind and its masked form (Job.String), as a malformed job's stored form
// may show a code. It answers an error only when the store cannot be
// written: the job then stays claimed.
func (s *Scheduler) bury(ctx context.Context, m, why string, cause error) error {
	ctx = context.WithoutCancel(ctx) // what failed is recorded even when the request is given up
	err := deadScript.Run(ctx, s.rdb, []string{s.flyKey, s.deadKey, s.seqKey},
		deadArgs{Jobs: []string{m}, Errors: []string{cause.Error()}, At: s.real().UnixMilli(), Keep: deadKeep}).Err()
	if err != nil {
		return fmt.Errorf("move job to the dead-letter set: %w", err)
	}
	s.signalReleased()
	job, _ := ParseJob(m)
	s.dead.WithLabelValues(job.Kind).Inc()
	switch why {
	case deadMalformed:
		s.log.ErrorContext(ctx, why+" moved to the dead-letter set")
	case deadUnknown:
		s.log.ErrorContext(ctx, why+" moved to the dead-letter set", "kind", job.Kind, "job", job.String())
	default:
		s.fired.WithLabelValues(job.Kind, "dead").Inc()
		s.log.ErrorContext(ctx, why+": moved to the dead-letter set", "kind", job.Kind, "job", job.String(), "err", cause)
	}
	s.log.DebugContext(ctx, why, "job", m, "err", cause)
	return nil
}

// done removes carried-out jobs from the in-flight set.
func (s *Scheduler) done(ctx context.Context, jobs []string) error {
	err := s.rdb.ZRem(ctx, s.flyKey, toAny(jobs)...).Err()
	s.signalReleased()
	if err != nil {
		return fmt.Errorf("release jobs: %w", err)
	}
	return nil
}

// release removes carried-out jobs from the in-flight set and answers the
// earliest job of the due set at that moment (nil when there is none), in
// the same round trip.
func (s *Scheduler) release(ctx context.Context, jobs []string) (*redis.Z, error) {
	p := s.rdb.Pipeline()
	p.ZRem(ctx, s.flyKey, toAny(jobs)...)
	first := p.ZRangeWithScores(ctx, s.dueKey, 0, 0)
	_, err := p.Exec(ctx)
	s.signalReleased()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("release jobs: %w", err)
	}
	if z := first.Val(); len(z) > 0 {
		return &z[0], nil
	}
	return nil, nil
}

// releasedChan answers a channel closed when this process next releases a
// job (carried out, put back, or moved to the dead-letter set). Take it
// before reading what is in flight, so as not to miss a release in between.
func (s *Scheduler) releasedChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}

func (s *Scheduler) signalReleased() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.released)
	s.released = make(chan struct{})
}

// backoff is the wait for jobs another worker holds: until this process
// releases one (in-process jobs wake it at once), or, for those of other
// processes, a time that doubles from minWait to maxWait with each wait.
type backoff struct{ d time.Duration }

const (
	minWait = 2 * time.Millisecond
	maxWait = 100 * time.Millisecond
)

func (b *backoff) wait(ctx context.Context, released <-chan struct{}) error {
	b.d = min(max(2*b.d, minWait), maxWait)
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-released:
		b.d = 0 // something moved: look again, and soon after
	case <-t.C:
	}
	return nil
}

// Requeue puts back the claimed jobs whose lease has ended.
func (s *Scheduler) Requeue(ctx context.Context) (int, error) {
	n, err := requeueScript.Run(ctx, s.rdb, []string{s.dueKey, s.flyKey}, requeueArgs{Now: s.real().UnixMilli()}).Int()
	if err != nil {
		return 0, fmt.Errorf("requeue jobs: %w", err)
	}
	return n, nil
}

// Drain carries out everything due by until and waits for the jobs due by
// until that other processes are carrying out: woken when this process
// releases one, and looking again after a wait that grows to maxWait for
// those of others.
func (s *Scheduler) Drain(ctx context.Context, until time.Time) error {
	owner, _ := ctx.Value(advanceOwnerKey{}).(string)
	var wait backoff
	for {
		released := s.releasedChan()
		if _, err := s.Requeue(ctx); err != nil {
			return err
		}
		if _, err := s.RunDue(ctx, until); err != nil {
			return err
		}
		args := pendingArgs{DueBy: until.UnixMilli()}
		if owner != "" {
			args.Owner, args.LeaseUntil = owner, s.leaseUntil()
		}
		state, err := pendingScript.Run(ctx, s.rdb, []string{s.dueKey, s.flyKey, s.clock.key}, args).Int()
		if redis.HasErrorPrefix(err, "SUPERSEDED") {
			return ErrSuperseded
		}
		if err != nil {
			return fmt.Errorf("read pending jobs: %w", err)
		}
		switch state {
		case 0:
			return nil
		case 1: // only in flight elsewhere: wait for them
			if err := wait.wait(ctx, released); err != nil {
				return err
			}
		}
	}
}

// lookAround reads, in one round trip, what Tick and HasWork look at: the
// claimed jobs whose lease ended, the clock (with an advance under way),
// and the earliest job due.
func (s *Scheduler) lookAround(ctx context.Context) (expired *redis.StringSliceCmd, st *redis.SliceCmd, next *redis.ZSliceCmd, err error) {
	p := s.rdb.Pipeline()
	expired = p.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.flyKey, Start: "-inf", Stop: strconv.FormatInt(s.real().UnixMilli(), 10),
		ByScore: true, Count: 1})
	st = p.HMGet(ctx, s.clock.key, append(clockFields, advanceFields...)...)
	next = p.ZRangeWithScores(ctx, s.dueKey, 0, 0)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, nil, fmt.Errorf("read clock and next job: %w", err)
	}
	return expired, st, next, nil
}

// HasWork tells, changing nothing, whether Tick has something to do now
// or will by itself: claimed jobs whose lease ended, an advance to finish,
// or a job on a running clock. One round trip.
func (s *Scheduler) HasWork(ctx context.Context) (bool, error) {
	expired, st, next, err := s.lookAround(ctx)
	if err != nil {
		return false, err
	}
	if len(expired.Val()) > 0 {
		return true, nil
	}
	v := st.Val()
	if _, ok := s.advanceOf(v); ok {
		return true, nil
	}
	if len(next.Val()) == 0 {
		return false, nil
	}
	now, err := s.clock.stateOf(v[:len(clockFields)])
	if err != nil {
		return false, err
	}
	return !now.Paused, nil
}

// Tick carries out what is due on a running clock: first the claimed jobs
// whose lease ended (their process died), then the jobs due by the
// simulated now. It answers when, in real time, the scheduler next has
// something to do — the moment its earliest job falls due at the clock's
// scale — or the zero time when it has nothing due or the clock is paused:
// a paused clock moves only by an advance, which carries out what falls due
// itself, in due order, so the loop keeps out of its way and a seeded run
// on a paused clock is the same every time. An advance whose process died
// before it finished is finished here, once its lease ended (Advance). It
// costs one round trip when nothing is due.
func (s *Scheduler) Tick(ctx context.Context) (time.Time, error) {
	expired, st, next, err := s.lookAround(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if len(expired.Val()) > 0 {
		if _, err := s.Requeue(ctx); err != nil {
			return time.Time{}, err
		}
		return s.real(), nil // look again at once, with the jobs put back
	}
	v := st.Val()
	if a, ok := s.advanceOf(v); ok {
		if a.lease.After(s.real()) {
			return a.lease, nil // under way: look again when its lease ends
		}
		if _, err := s.takeOver(ctx); err != nil {
			return time.Time{}, err
		}
		return s.real(), nil
	}
	if len(next.Val()) == 0 {
		return time.Time{}, nil // nothing to do, whatever the clock
	}
	now, err := s.clock.stateOf(v[:len(clockFields)])
	if err != nil {
		return time.Time{}, err
	}
	if now.Paused {
		return time.Time{}, nil
	}
	due := time.UnixMilli(int64(next.Val()[0].Score)).UTC()
	if due.After(now.Now) {
		return s.real().Add(realWait(due.Sub(now.Now), now.Scale)), nil
	}
	loop := s.fromLoop(ctx, now)
	if sim, ok := v[0].(string); ok {
		real, _ := v[1].(string)
		loop = context.WithValue(loop, loopAnchorKey{}, &clockAnchor{Sim: sim, Real: real})
	}
	if _, err := s.RunDue(loop, now.Now); err != nil && !errors.Is(err, errClockSetAnew) {
		return time.Time{}, err
	}
	return s.real(), nil // look again at once: what it scheduled may be due
}
