package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"

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
	//
	// Finish may run after the scripts of the jobs behind it in the run:
	// what it writes must be nothing they read. Jobs due at once, which it
	// carries out, are safe: the scripts behind them refuse, and go after
	// them. What a kind tidies after its script is not: miit's expiry,
	// which frees the codes of the order it ends, has no steps for that.
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
// The scripts of a run go to the store in one round trip, the jobs of one
// script as one call of its run form (run.lua: the script carries them out
// one after another, and what the prelude and the libraries make at each
// call is made once), and must do what they would one after another: a
// script of a run starts with the prelude's run_refusal, ends through its
// with_due_now, and reads its keys and arguments through the prelude's
// KEYS and args alone. A script whose job comes after one that did not come
// to its end, or after a job the run scheduled, refuses; the scheduler
// finishes those before it in order, and carries it out again after them.
func (s *Scheduler) HandleSteps(kind string, h StepHandler) {
	s.steps[kind] = h
}

// stepped tells whether the claimed job m goes in a run (runSteps).
func (s *Scheduler) stepped(m string) bool {
	return s.opts.Run > 1 && s.steps[kindOf(m)] != nil
}

// stepsResult is what runSteps did with the jobs at the head of its list.
type stepsResult struct {
	carried int      // jobs carried out
	held    []string // of those, the ones still in the in-flight set, to release
	used    int      // the jobs dealt with, from the first: carried out, failed or moved to the dead-letter set
	early   bool     // the rest must wait: the runs scheduled a job due before the first of them
	err     error    // a job failed (it stays claimed), or the store did
}

// readyStep is a job made ready, at its place in runSteps' list.
type readyStep struct {
	at   int
	job  Job
	step Step
}

// stepRun is the scripts of a run of jobs, sent in one pipeline with the
// release of jobs carried out before (released).
type stepRun struct {
	items    []readyStep
	released []string
	pipe     redis.Pipeliner
	calls    []runCall    // the calls of the scripts' run forms, in order
	cmds     []*redis.Cmd // each job's answer, taken from its call's (split)
	release  *redis.IntCmd
	answered chan struct{}

	mu     sync.Mutex
	done   bool     // the store answered (closing answered follows)
	then   *stepRun // the run chained after this one (chain)
	passed bool     // then went to the store: decided with done, so final once answered is closed
}

// exec sends the run r, and then, as soon as each run is answered, the
// run chained after it (chain), with no wait for the process to finish
// the one before: the store goes from one run to the next without
// waiting for the process. A run does not go after one whose calls were
// lost on the way (answeredAll).
func (r *stepRun) exec(ctx context.Context) {
	for r != nil {
		_, _ = r.pipe.Exec(ctx) // each call's error is its own
		r.split(ctx)
		r.mu.Lock()
		r.done = true
		r.passed = r.then != nil && answeredAll(r)
		next, passed := r.then, r.passed
		r.mu.Unlock()
		close(r.answered)
		if !passed {
			return
		}
		r = next
	}
}

// runCall is the call of a script's run form that carries out the jobs
// from to to (excluded) of a run.
type runCall struct {
	cmd      *redis.Cmd
	from, to int
}

// errNotCarriedOut is the answer of a job that the run form's call did
// not come to: the job before it did not come to its end.
var errNotCarriedOut = runRefusal("RUN after: the job before it in the run did not come to its end")

// runRefusal is a refusal of a run's job, as the store answers one.
type runRefusal string

func (e runRefusal) Error() string { return string(e) }
func (runRefusal) RedisError()     {}

// split gives each job of r its answer: its item of its call's answer
// (run.lua's), the call's error, or errNotCarriedOut.
func (r *stepRun) split(ctx context.Context) {
	for _, c := range r.calls {
		answers, err := c.cmd.Slice()
		for k := c.from; k < c.to; k++ {
			cmd := redis.NewCmd(ctx)
			switch {
			case err != nil:
				cmd.SetErr(err)
			case k-c.from >= len(answers):
				cmd.SetErr(errNotCarriedOut)
			default:
				switch a := answers[k-c.from].(type) {
				case nil:
					cmd.SetErr(redis.Nil)
				case error:
					cmd.SetErr(a)
				default:
					cmd.SetVal(a)
				}
			}
			r.cmds[k] = cmd
		}
	}
}

// chain has next sent as soon as r is answered: by exec, or at once from
// here when r was answered already.
func (r *stepRun) chain(ctx context.Context, next *stepRun) {
	r.mu.Lock()
	r.then = next
	if !r.done {
		r.mu.Unlock()
		return
	}
	r.passed = answeredAll(r)
	passed := r.passed
	r.mu.Unlock()
	if passed {
		go next.exec(ctx)
	}
}

// handedOn tells whether the run chained after r went to the store. It is
// decided in the same step as r is marked answered, so that it is final
// for whoever waited on answered.
func (r *stepRun) handedOn() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.passed
}

// runSteps carries out the claimed jobs at the head of jobs whose kinds
// have steps, in runs of up to SchedulerOptions.Run, and answers what it
// did (stepsResult); it leaves the rest untouched. The scripts of a run go
// to the store in one round trip, and while the store runs them the
// process finishes the run before and makes the next one ready. One run
// is in flight at a time: the next goes as soon as the store answers it,
// from the goroutine that read the answer (stepRun.exec), so that the
// store need not wait for the process to wake. The runs of one call are
// one chain (the prelude's run_refusal), so that the store does what
// carrying the jobs out one after another does.
func (s *Scheduler) runSteps(ctx context.Context, jobs []string) stepsResult {
	var res stepsResult
	w, _ := ctx.Value(laneWatchKey{}).(*laneWatch)
	items, next, why := s.readyRun(ctx, jobs, 0, w, true)
	if len(items) == 0 {
		res.used = next
		if why == nil {
			return res // not a job of a run
		}
		res.used++
		if !errors.Is(why, ErrAlone) { // it could not be made ready
			job, _ := ParseJob(jobs[next])
			res.err = s.settled(ctx, jobs[next], job, why)
		} else if res.err = s.runHandler(ctx, jobs[next]); res.err == nil {
			res.carried, res.held = 1, jobs[next:next+1]
		}
		return res
	}
	if len(items) == 1 && (next == len(jobs) || !s.stepped(jobs[next])) {
		return s.runAlone(ctx, jobs, items[0])
	}
	mark := s.ks.SchedRun(strconv.FormatUint(rand.Uint64(), 36))
	place := 0
	stopAt := -1 // where the jobs that did not run begin
	var release []string
	// build makes the pipeline of a run, with the release of the jobs
	// carried out so far; the run goes when the one before it is answered.
	build := func(items []readyStep) *stepRun {
		r := &stepRun{items: items, released: release, cmds: make([]*redis.Cmd, len(items)), answered: make(chan struct{})}
		r.pipe = s.rdb.Pipeline()
		if len(release) > 0 {
			r.release = r.pipe.ZRem(ctx, s.flyKey, toAny(release)...)
			release = nil
		}
		// the jobs of one script go in one call of its run form
		for from := 0; from < len(items); {
			form := items[from].step.Call.form
			to := from
			var keys []string
			var argv []any
			var head []byte // the shared head of the job before (sharedHead)
			for ; to < len(items) && items[to].step.Call.form == form; to++ {
				it := items[to]
				h := sharedHead(it.step.Call.args)
				same := to > from && h != nil && bytes.Equal(h, head)
				k, a := it.step.Call.inRun(mark, place+to+1, it.job.Due.UnixMilli(), s.opts.Lease.Milliseconds(), same)
				keys = append(keys, k...)
				argv = append(argv, a...)
				head = h
			}
			r.calls = append(r.calls, runCall{cmd: r.pipe.EvalSha(ctx, form.script().Hash(), keys, argv...), from: from, to: to})
			from = to
		}
		return r
	}
	cur := build(items)
	place += len(items)
	go cur.exec(ctx)
	sent := next
	for cur != nil {
		var after *stepRun
		if res.err == nil && stopAt < 0 && next < len(jobs) {
			var nxt []readyStep
			nxt, next, _ = s.readyRun(ctx, jobs, next, w, false) // what cannot go in it goes after the runs
			if len(nxt) > 0 {
				after = build(nxt)
				cur.chain(ctx, after)
			}
		}
		<-cur.answered
		if after != nil {
			if cur.handedOn() {
				place += len(after.items)
				sent = next
			} else {
				// not sent: the store lost calls of cur; what it would
				// have released is held still
				next = after.items[0].at
				release = append(after.released, release...)
				after = nil
			}
		}
		if cur.release != nil && cur.release.Err() != nil && res.err == nil {
			res.err = fmt.Errorf("release jobs: %w", cur.release.Err())
		}
		s.signalReleased()
		for k, it := range cur.items {
			if stopAt >= 0 {
				break // nothing ran after a refusal
			}
			why := cur.cmds[k].Err()
			switch {
			case redis.HasErrorPrefix(why, "RUN"):
				// Not run, nor any after it: the job before it did not
				// come to its end (finished since, or failed), or the
				// runs scheduled a job that goes first.
				stopAt, res.early = it.at, redis.HasErrorPrefix(why, "RUN early")
				continue
			case res.err != nil && why != nil && !isReply(why):
				stopAt = it.at // after a failure, what the store did not answer goes back
				continue
			case NotLoaded(why):
				// The store does not hold the script (it started afresh):
				// it is loaded again, and the job goes in the next runs.
				s.loaded.Delete(it.step.Call.script.Hash())
				stopAt = it.at
				continue
			}
			ferr := it.step.Finish(ctx, cur.cmds[k])
			if ferr == nil {
				res.carried++
				release = append(release, jobs[it.at])
			}
			if err := s.settled(ctx, jobs[it.at], it.job, ferr); err != nil && res.err == nil {
				res.err = err
			}
		}
		cur = after
	}
	res.held, res.used = release, sent
	if stopAt >= 0 {
		res.used = stopAt
	}
	return res
}

// runAlone carries out a job made ready that has no other to go with (a
// lane's, a request's): its script alone, no run's mark to keep.
func (s *Scheduler) runAlone(ctx context.Context, jobs []string, it readyStep) stepsResult {
	res := stepsResult{used: it.at + 1}
	err := it.step.Finish(ctx, it.step.Call.run(ctx, s.rdb))
	if err == nil {
		res.carried, res.held = 1, jobs[it.at:it.at+1]
	}
	res.err = s.settled(ctx, jobs[it.at], it.job, err)
	return res
}

// readyRun makes ready the jobs of jobs from from on, up to
// SchedulerOptions.Run of them, of kinds with steps. It stops before a job
// that cannot be read, or that a job the namespace's handlers scheduled
// goes before (w; the first too, unless head), and before a job that goes
// alone or cannot be made ready, answering why when that job is the first.
// It answers where it stopped.
func (s *Scheduler) readyRun(ctx context.Context, jobs []string, from int, w *laneWatch, head bool) ([]readyStep, int, error) {
	var items []readyStep
	i := from
	for ; i < len(jobs) && len(items) < s.opts.Run && s.stepped(jobs[i]); i++ {
		if (len(items) > 0 || !head) && w != nil && w.precedes(jobs[i]) {
			break // a job scheduled before it goes first (runSequence)
		}
		job, err := ParseJob(jobs[i])
		if err != nil {
			break // runGroup moves it to the dead-letter set
		}
		step, err := s.steps[job.Kind](ctx, job)
		if err == nil {
			err = s.loadOnce(ctx, step.Call)
		}
		if err != nil {
			if len(items) > 0 {
				break // the next runs start with it
			}
			return nil, i, err
		}
		s.observeLag(ctx, jobs[i:i+1])
		items = append(items, readyStep{at: i, job: job, step: step})
	}
	return items, i, nil
}

// loadOnce has the store hold the script of call the first time this
// scheduler sends it: a pipeline cannot fall back to EVAL as a call alone
// does. Should Redis lose it since (a restart), the call answers NOSCRIPT,
// and runSteps has it loaded again.
func (s *Scheduler) loadOnce(ctx context.Context, call Call) error {
	h := call.script.Hash()
	if s.isLoaded(h) {
		return nil
	}
	if err := call.load(ctx, s.rdb, s.opts.Run > 1); err != nil {
		return err
	}
	s.loaded.Store(h, true)
	return nil
}

// answeredAll tells whether the store answered every call of r, if only
// with an error of its own: none was lost on the way.
func answeredAll(r *stepRun) bool {
	for _, c := range r.cmds {
		if err := c.Err(); err != nil && !isReply(err) {
			return false
		}
	}
	return r.release == nil || r.release.Err() == nil || isReply(r.release.Err())
}

// isReply tells whether err is an error the store answered.
func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply)
}

// isLoaded tells whether this scheduler loaded the script of SHA-1 hash.
func (s *Scheduler) isLoaded(hash string) bool {
	_, ok := s.loaded.Load(hash)
	return ok
}
