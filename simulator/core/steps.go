package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// A Step is a job made ready to be carried out with others: its script's
// call, and what to do with the call's answer.
type Step struct {
	Call Call
	// Finish does what the job's Handler does after its script, with the
	// script's answer. When the script refused the plan it was given (the
	// clock, the fault profile or a phone changed since), Finish carries
	// the job out again itself, as the Handler would have.
	Finish func(ctx context.Context, res *redis.Cmd) error
}

// A StepHandler makes a job ready to be carried out (a Step) without
// writing anything: the scheduler sends the scripts of a run of such jobs
// in one round trip, then finishes each in order. It answers ErrAlone for
// a job that the kind's Handler must carry out by itself, or a Permanent
// error for one that can never be.
type StepHandler func(ctx context.Context, job Job) (Step, error)

// ErrAlone is what a StepHandler answers for a job that its kind's Handler
// carries out by itself.
var ErrAlone = errors.New("core: a job carried out alone")

// HandleSteps lets the scheduler carry out the jobs of kind in runs (h),
// as well as one at a time (the kind's Handler, which it needs too). Call
// it before Run.
//
// The scripts of a run go to the store in one round trip, and must do what
// they would one after another: a script of a run starts with the
// prelude's run_refusal and ends through its with_due_now. A script whose
// job comes after one that did not come to its end, or after a job the run
// scheduled, refuses; the scheduler finishes those before it in order, and
// carries it out again after them.
func (s *Scheduler) HandleSteps(kind string, h StepHandler) {
	s.steps[kind] = h
}

// stepped tells whether the claimed job m goes in a run (runSteps).
func (s *Scheduler) stepped(m string) bool {
	return s.opts.Run > 1 && s.steps[kindOf(m)] != nil
}

// runSteps carries out a run of the claimed jobs at the head of jobs: up to
// SchedulerOptions.Run of them, of kinds with steps, their scripts in one
// round trip, each finished in order. It answers the jobs it carried out,
// to be released, and how many of jobs it dealt with (carried out, failed
// or moved to the dead-letter set), from the first. The rest it did not
// touch: early tells that they must wait, because the run scheduled a job
// due before the first of them; err, that a job failed (it stays claimed).
func (s *Scheduler) runSteps(ctx context.Context, jobs []string) (done []string, used int, early bool, err error) {
	type ready struct {
		at   int // in jobs
		job  Job
		step Step
	}
	var run []ready
	w, _ := ctx.Value(laneWatchKey{}).(*laneWatch)
	for used < len(jobs) && len(run) < s.opts.Run && s.stepped(jobs[used]) {
		if len(run) > 0 && w != nil && w.precedes(jobs[used]) {
			break // a job scheduled before it goes first (runSequence)
		}
		job, perr := ParseJob(jobs[used])
		if perr != nil {
			break // runGroup moves it to the dead-letter set
		}
		s.observeLag(ctx, jobs[used:used+1])
		step, perr := s.steps[job.Kind](ctx, job)
		switch {
		case perr == nil:
			run = append(run, ready{at: used, job: job, step: step})
			used++
			continue
		case IsPermanent(perr):
			if err := s.bury(ctx, jobs[used], deadFailed, perr); err != nil {
				return done, used, false, err
			}
			used++
			continue
		case len(run) > 0: // the next run starts with it
		case errors.Is(perr, ErrAlone):
			if err := s.runHandler(ctx, jobs[used]); err != nil {
				return nil, used + 1, false, err
			}
			return jobs[used : used+1], used + 1, false, nil
		default:
			s.fired.WithLabelValues(job.Kind, "error").Inc()
			return nil, used + 1, false, fmt.Errorf("job %s: %w", job, perr)
		}
		break
	}
	if len(run) == 0 {
		return nil, used, false, nil
	}
	for _, r := range run {
		// A pipeline cannot fall back to EVAL as a call alone does: a
		// script is loaded the first time this scheduler sends it. Should
		// Redis lose it since (a restart), the call answers NOSCRIPT, and
		// it is loaded again.
		if h := r.step.Call.script.Hash(); !s.isLoaded(h) {
			if err := r.step.Call.load(ctx, s.rdb); err != nil {
				return nil, run[0].at, false, err
			}
			s.loaded.Store(h, true)
		}
	}
	mark := s.ks.SchedRun(strconv.FormatUint(rand.Uint64(), 36))
	p := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(run))
	for k, r := range run {
		cmds[k] = r.step.Call.queue(ctx, p, mark, k+1, r.job.Due.UnixMilli(), s.opts.Lease.Milliseconds())
	}
	_, _ = p.Exec(ctx) // each call's error is its own: Finish reads it
	for k, r := range run {
		why := cmds[k].Err()
		if redis.HasErrorPrefix(why, "RUN") {
			// Not run, nor any after it: the job before it did not
			// come to its end (finished since, or failed), or the run
			// scheduled a job that goes first.
			return done, r.at, redis.HasErrorPrefix(why, "RUN early"), err
		}
		if reply := (redis.Error)(nil); err != nil && why != nil && !errors.As(why, &reply) {
			return done, r.at, false, err // after a failure, what the store did not answer goes back
		}
		if redis.HasErrorPrefix(why, "NOSCRIPT") {
			// The store does not hold the script (it started afresh): it
			// is loaded again, and the job goes with the rest in the
			// next run.
			s.loaded.Delete(r.step.Call.script.Hash())
			return done, r.at, false, err
		}
		ferr := r.step.Finish(ctx, cmds[k])
		switch {
		case ferr == nil:
			s.fired.WithLabelValues(r.job.Kind, "ok").Inc()
			done = append(done, jobs[r.at])
		case IsPermanent(ferr):
			if berr := s.bury(ctx, jobs[r.at], deadFailed, ferr); berr != nil && err == nil {
				err = berr
			}
		default:
			s.fired.WithLabelValues(r.job.Kind, "error").Inc()
			s.log.DebugContext(ctx, "job failed", "job", jobs[r.at], "err", ferr)
			if err == nil {
				err = fmt.Errorf("job %s: %w", r.job, ferr)
			}
		}
	}
	return done, used, false, err
}

// isLoaded tells whether this scheduler loaded the script of SHA-1 hash.
func (s *Scheduler) isLoaded(hash string) bool {
	_, ok := s.loaded.Load(hash)
	return ok
}
