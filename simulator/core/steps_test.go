package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// stepArgs are the arguments of stepScript.
type stepArgs struct {
	// Expect and Bounds, first as in the arguments of the store's scripts,
	// are noted after the job's name when given.
	Expect string       `json:"expect,omitempty"`
	Bounds *core.Bounds `json:"bounds,omitempty"`
	Name   string       `json:"name"`
	Now    int64        `json:"now"`
	// Then schedules the job "note <Then>" at ThenAt (ms).
	Then   string `json:"follow,omitempty"`
	ThenAt int64  `json:"follow_at,omitempty"`
	// RefuseOnce refuses the plan the first time (as a stale plan is).
	RefuseOnce bool `json:"refuse_once,omitempty"`
	Fail       bool `json:"fail,omitempty"`
	// FinishFails: the script runs, and what the process does after it
	// fails.
	FinishFails bool `json:"-"`
	// Texts go as its texts (core.TextsAppender): the script notes each
	// after its name.
	Texts []string `json:"-"`
}

func (a stepArgs) AppendTexts(b []byte, ends []int) ([]byte, []int) {
	for _, t := range a.Texts {
		b = append(b, t...)
		ends = append(ends, len(b))
	}
	return b, ends
}

// stepLua is a job's script that can go in a run: it notes its name on
// the list KEYS[3], and may schedule a job, refuse its plan or fail.
const stepLua = `
local refused = run_refusal()
if refused then return refused end
if args.refuse_once and redis.call('SET', KEYS[3] .. ':refused:' .. args.name, '1', 'NX') then
  return {err = 'STALE the clock or the fault profile changed since they were read'}
end
if args.fail then error('the job ' .. args.name .. ' fails') end
redis.call('RPUSH', KEYS[3], args.name)
if args.expect then redis.call('RPUSH', KEYS[3], args.name .. ':' .. args.expect .. ':' .. BOUNDS.retain) end
for k = 2, #TEXTS do redis.call('RPUSH', KEYS[3], args.name .. ':' .. TEXTS[k]) end
due_limit = args.now
if args.follow then schedule(KEYS[1], KEYS[2], args.follow_at, 'note', {args.follow}) end
return with_due_now({})
`

// stepWorld is a scheduler with jobs of kind "step" (stepScript, in runs
// or alone) and "note" (noted by Go, alone); what each does is noted in
// the list of the key order, in the order it happened.
type stepWorld struct {
	e      *schedEnv
	script *core.Script[stepArgs] // stepLua, of a text of this world's own
	s      *core.Scheduler
	rdb    redis.UniversalClient
	order  string
	plans  map[string]stepArgs // by name
	runs   *runCounter
	alone  []string // the step jobs carried out alone, in order
}

func newStepWorld(t *testing.T, run int) *stepWorld {
	e := newSchedEnv(t)
	rdb := e.srv.Client(t)
	runs := &runCounter{}
	rdb.AddHook(runs)
	c := core.NewClock(rdb, e.ks, core.ClockStart{At: start, Paused: true}, nil)
	s := core.NewScheduler(rdb, e.ks, c, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), core.SchedulerOptions{Run: run})
	w := &stepWorld{e: e, s: s, rdb: rdb, order: e.ks.Prefix + ":{" + e.ks.Namespace + "}:order", plans: map[string]stepArgs{}, runs: runs,
		script: core.NewScript[stepArgs](stepLua + "-- " + e.ks.Prefix + "\n")}
	stepScript := w.script
	testkit.DeleteLibrariesAtEnd(t, rdb, func() []string { return w.script.Libraries() }) // a text of its own
	keys := []string{e.ks.SchedDue(), e.ks.Seq(), w.order}
	plan := func(job core.Job) stepArgs {
		a := w.plans[job.Args[0]]
		a.Name, a.Now = job.Args[0], job.Due.UnixMilli()
		return a
	}
	finish := func(ctx context.Context, out []string) error { return s.RunNow(ctx, out...) }
	alone := func(ctx context.Context, job core.Job) error {
		w.alone = append(w.alone, job.Args[0])
		for {
			out, err := stepScript.Run(ctx, rdb, keys, plan(job)).StringSlice()
			if core.Stale(err) {
				continue
			}
			if err != nil {
				return err
			}
			return finish(ctx, out)
		}
	}
	s.Handle("step", alone)
	s.HandleSteps("step", func(ctx context.Context, job core.Job) (core.Step, error) {
		a := plan(job)
		call, err := stepScript.Call(keys, a)
		return core.Step{Call: call, Finish: func(ctx context.Context, res *redis.Cmd) error {
			out, err := res.StringSlice()
			if core.Stale(err) {
				return alone(ctx, job)
			}
			if err != nil {
				return err
			}
			if a.FinishFails {
				return fmt.Errorf("what follows the script of %s fails", a.Name)
			}
			return finish(ctx, out)
		}}, err
	})
	s.Handle("note", func(ctx context.Context, job core.Job) error {
		return rdb.RPush(ctx, w.order, job.Args[0]).Err()
	})
	return w
}

// schedule schedules the job kind name at start + at.
func (w *stepWorld) schedule(t *testing.T, at time.Duration, kind, name string) {
	t.Helper()
	if _, err := w.s.Schedule(context.Background(), start.Add(at), kind, name); err != nil {
		t.Fatal(err)
	}
}

// warm carries out a job of each kind, so that the store holds the
// script, and forgets it.
func (w *stepWorld) warm(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	w.schedule(t, 0, "step", "warm")
	if _, err := w.s.RunDue(ctx, start); err != nil {
		t.Fatal(err)
	}
	if err := w.rdb.Del(ctx, w.order).Err(); err != nil {
		t.Fatal(err)
	}
	w.runs.take()
}

// marks answers the runs' marks in the store, and how long each has to
// live.
func (w *stepWorld) marks(t *testing.T) map[string]time.Duration {
	t.Helper()
	ctx := context.Background()
	keys, err := testkit.Keys(ctx, w.rdb, w.e.ks.SchedRun("*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Duration{}
	for _, k := range keys {
		if out[k], err = w.rdb.PTTL(ctx, k).Result(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// scheduleSteps schedules n step jobs, s00, s01, …, a minute apart from
// start + 1m, and answers their names.
func (w *stepWorld) scheduleSteps(t *testing.T, n int) []string {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("s%02d", i)
		w.schedule(t, time.Duration(i+1)*time.Minute, "step", names[i])
	}
	return names
}

// members answers the jobs of the sorted set key, in its order.
func (w *stepWorld) members(t *testing.T, key string) []string {
	t.Helper()
	m, err := w.rdb.ZRange(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantLeft fails unless the step job one alone is claimed, and the due set
// holds n step jobs, from first to last.
func (w *stepWorld) wantLeft(t *testing.T, one string, n int, first, last string) {
	t.Helper()
	claimed := w.members(t, w.e.ks.SchedInflight())
	if len(claimed) != 1 || !strings.HasSuffix(claimed[0], "|step|"+one) {
		t.Fatalf("claimed %v, want %s alone, until its lease ends", claimed, one)
	}
	due := w.members(t, w.e.ks.SchedDue())
	if len(due) != n || !strings.HasSuffix(due[0], "|step|"+first) || !strings.HasSuffix(due[n-1], "|step|"+last) {
		t.Fatalf("due %v, want the %d from %s to %s back", due, n, first, last)
	}
}

// done answers what was carried out, in order.
func (w *stepWorld) done(t *testing.T) string {
	t.Helper()
	got, err := w.rdb.LRange(context.Background(), w.order, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, " ")
}

// runCounter counts the pipelines of EVALSHA a client sends, and the jobs'
// scripts in them (each argument of an EVALSHA, in the run form of a
// script, is a job's).
type runCounter struct {
	mu          sync.Mutex
	runs, calls int
	scripts     int // EVALSHA in the pipelines
	single      int // EVALSHA sent alone
}

// calledByHash tells whether cmd calls a script Redis holds: EVALSHA, or
// FCALL on a Redis that has functions, whose arguments come alike.
func calledByHash(cmd redis.Cmder) bool {
	_, ok := testkit.ScriptCall(cmd)
	return ok && cmd.Name() != "eval"
}

// jobsIn answers how many jobs' arguments the EVALSHA (or FCALL) cmd carries.
func jobsIn(cmd redis.Cmder) int {
	args := cmd.Args()
	keys, _ := args[2].(int)
	return len(args) - 3 - keys
}

func (c *runCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *runCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		if calledByHash(cmd) {
			c.single++
		}
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (c *runCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		n := 0
		for _, cmd := range cmds {
			if calledByHash(cmd) {
				n += jobsIn(cmd)
				c.scripts++
			}
		}
		if n > 0 {
			c.runs++
			c.calls += n
		}
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (c *runCounter) take() (runs, calls, single int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	runs, calls, single = c.runs, c.calls, c.single
	c.runs, c.calls, c.scripts, c.single = 0, 0, 0, 0
	return runs, calls, single
}

// takeScripts answers the EVALSHA of the pipelines so far, and starts
// again.
func (c *runCounter) takeScripts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.scripts
	c.scripts = 0
	return n
}

// An advance sends the scripts of jobs with steps in runs, one round trip
// and one call of the script's run form a run of 16, and carries them out
// in due order, as one at a time would.
func TestAdvanceSendsStepsInRuns(t *testing.T) {
	for _, run := range []int{16, 1} {
		t.Run(fmt.Sprintf("run=%d", run), func(t *testing.T) {
			w := newStepWorld(t, run)
			w.warm(t)
			var want []string
			for i := range 40 {
				name := fmt.Sprintf("s%02d", i)
				w.schedule(t, time.Duration(40-i)*time.Minute, "step", name) // scheduled out of order
				want = append([]string{name}, want...)
			}
			w.runs.take()
			if _, err := w.s.Advance(context.Background(), time.Hour); err != nil {
				t.Fatal(err)
			}
			if got := w.done(t); got != strings.Join(want, " ") {
				t.Fatalf("carried out %s, want %s", got, strings.Join(want, " "))
			}
			scripts := w.runs.takeScripts()
			runs, calls, single := w.runs.take()
			if scripts != runs {
				t.Fatalf("%d runs in %d calls of scripts, want one call a run", runs, scripts)
			}
			if run == 1 && (runs != 0 || single < 40) {
				t.Fatalf("%d runs, %d scripts alone; want none, and the 40 jobs' scripts alone", runs, single)
			}
			if run == 16 && (runs != 3 || calls != 40 || single > 10) {
				t.Fatalf("%d runs of %d scripts, %d scripts alone; want 3 runs of 40 (16, 16, 8), and only the scheduler's own alone", runs, calls, single)
			}
			if len(w.alone) != 0 && run > 1 {
				t.Fatalf("carried out alone: %v", w.alone)
			}
			marks := w.marks(t)
			if run == 1 && len(marks) != 0 || run == 16 && len(marks) != 1 {
				t.Fatalf("the runs left marks %v, want one for the advance's runs (none one at a time)", marks)
			}
			for key, ttl := range marks {
				if ttl <= 0 || ttl > 30*time.Second {
					t.Fatalf("%s lives %s, want at most the lease, 30s", key, ttl)
				}
			}
			if n, _ := w.s.Pending(context.Background()); n != 0 {
				t.Fatalf("%d jobs left", n)
			}
		})
	}
}

// Each job of a run has its own texts as its script's TEXTS, as it has
// alone: none, or several, of any bytes.
func TestARunGivesEachJobItsTexts(t *testing.T) {
	for _, run := range []int{16, 1} {
		t.Run(fmt.Sprintf("run=%d", run), func(t *testing.T) {
			w := newStepWorld(t, run)
			w.warm(t)
			warmed := len(w.alone)
			w.plans["a"] = stepArgs{Texts: []string{"x", "", "y\x00\n\"z\""}}
			w.plans["c"] = stepArgs{Texts: []string{"中文"}}
			for i, name := range []string{"a", "b", "c", "d"} {
				w.schedule(t, time.Duration(i+1)*time.Minute, "step", name)
			}
			w.runs.take()
			if _, err := w.s.Advance(context.Background(), time.Hour); err != nil {
				t.Fatal(err)
			}
			want := "a a:x a: a:y\x00\n\"z\" b c c:中文 d"
			if got := w.done(t); got != want {
				t.Fatalf("carried out %q, want %q", got, want)
			}
			runs, calls, _ := w.runs.take()
			if run == 16 && (runs != 1 || calls != 8) {
				t.Fatalf("%d runs carrying %d arguments, want one run of the 4 jobs' and their 4 texts", runs, calls)
			}
			if alone := len(w.alone) - warmed; run == 1 && (runs != 0 || alone != 4) {
				t.Fatalf("%d runs, %d jobs alone; want none, and the 4 jobs alone", runs, alone)
			}
		})
	}
}

// The jobs of a run that share their expect and bounds with the job before
// them go without them, and have them as that job has: a job's own are
// its own.
func TestARunGivesEachJobItsExpectAndBounds(t *testing.T) {
	w := newStepWorld(t, 16)
	w.warm(t)
	sent := &argsRecorder{}
	w.rdb.AddHook(sent)
	one, two := &core.Bounds{Retain: 5, Unheard: true}, &core.Bounds{Retain: 7}
	w.plans["a"] = stepArgs{Expect: "1|2|1|0|", Bounds: one}
	w.plans["b"] = stepArgs{Expect: "1|2|1|0|", Bounds: one}
	w.plans["c"] = stepArgs{Expect: "1|2|1|0|", Bounds: two}
	w.plans["d"] = stepArgs{Expect: "3|4|1|0|", Bounds: two}
	w.plans["e"] = stepArgs{Expect: "3|4|1|0|", Bounds: two}
	for i, name := range []string{"a", "b", "c", "d", "e", "f"} {
		w.schedule(t, time.Duration(i+1)*time.Minute, "step", name)
	}
	if _, err := w.s.Advance(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	want := "a a:1|2|1|0|:5 b b:1|2|1|0|:5 c c:1|2|1|0|:7 d d:3|4|1|0|:7 e e:3|4|1|0|:7 f"
	if got := w.done(t); got != want {
		t.Fatalf("carried out %q, want %q", got, want)
	}
	all := sent.take()
	var shared []string
	for _, a := range all {
		if strings.Contains(a, `"same":true`) && !strings.Contains(a, `"expect"`) && !strings.Contains(a, `"bounds"`) {
			shared = append(shared, strings.Split(strings.Split(a, `"name":"`)[1], `"`)[0])
		}
	}
	if strings.Join(shared, " ") != "b e" {
		t.Fatalf("the jobs that went without their expect and bounds: %v, want b and e", shared)
	}
}

// argsRecorder keeps the arguments of the jobs of the EVALSHA in the
// pipelines a client sends.
type argsRecorder struct {
	mu   sync.Mutex
	args []string
}

func (r *argsRecorder) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (r *argsRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (r *argsRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.mu.Lock()
		for _, cmd := range cmds {
			if !calledByHash(cmd) {
				continue
			}
			args := cmd.Args()
			keys, _ := args[2].(int)
			for _, a := range args[3+keys:] {
				if s, ok := a.(string); ok {
					r.args = append(r.args, s)
				}
			}
		}
		r.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (r *argsRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.args
	r.args = nil
	return out
}

// A run's script that refuses its plan is carried out again alone, and
// the scripts after it wait for it: they are refused, and sent again
// after it, in order.
func TestStepRefusedIsCarriedOutBeforeTheRest(t *testing.T) {
	w := newStepWorld(t, 16)
	w.warm(t)
	w.plans["c"] = stepArgs{RefuseOnce: true}
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		w.schedule(t, time.Duration(i+1)*time.Minute, "step", name)
	}
	w.runs.take()
	if _, err := w.s.Advance(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := w.done(t); got != "a b c d e" {
		t.Fatalf("carried out %s, want a b c d e", got)
	}
	if fmt.Sprint(w.alone) != "[c]" {
		t.Fatalf("carried out alone %v, want [c]", w.alone)
	}
	if runs, calls, _ := w.runs.take(); runs != 2 || calls != 7 {
		t.Fatalf("%d runs of %d scripts, want 2 of 7: a-e, then d and e again", runs, calls)
	}
}

// A job that a run's script schedules before the run's next job goes
// first, and so does one it schedules due at once; a job due at the same
// time as the next, scheduled later, goes after it.
func TestStepScheduledBeforeTheNextGoesFirst(t *testing.T) {
	w := newStepWorld(t, 16)
	w.warm(t)
	w.plans["b"] = stepArgs{Then: "b-then", ThenAt: start.Add(150 * time.Second).UnixMilli()}
	w.plans["c"] = stepArgs{Then: "c-now", ThenAt: start.Add(3 * time.Minute).UnixMilli()}
	w.plans["d"] = stepArgs{Then: "d-with-e", ThenAt: start.Add(5 * time.Minute).UnixMilli()}
	for i, name := range []string{"a", "b", "c", "d", "e", "f"} {
		w.schedule(t, time.Duration(i+1)*time.Minute, "step", name)
	}
	if _, err := w.s.Advance(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, want := w.done(t), "a b b-then c c-now d e d-with-e f"; got != want {
		t.Fatalf("carried out %s, want %s", got, want)
	}
	if len(w.alone) != 0 {
		t.Fatalf("carried out alone: %v", w.alone)
	}
}

// When a run's script fails, the jobs before it are carried out, it stays
// claimed, and those after it go back to wait: nothing is done out of
// order or lost.
func TestStepFailureLeavesTheRestToWait(t *testing.T) {
	ctx := context.Background()
	w := newStepWorld(t, 16)
	w.warm(t)
	w.plans["c"] = stepArgs{Fail: true}
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		w.schedule(t, time.Duration(i+1)*time.Minute, "step", name)
	}
	_, err := w.s.RunDue(ctx, start.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "the job c fails") {
		t.Fatalf("RunDue answered %v, want the failure of c", err)
	}
	if got := w.done(t); got != "a b" {
		t.Fatalf("carried out %s, want a b", got)
	}
	w.wantLeft(t, "c", 2, "d", "e")
}

// A job of a kind with steps that has no other to go with goes alone, as
// its script would: no run, no mark.
func TestStepAloneGoesWithoutARun(t *testing.T) {
	w := newStepWorld(t, 16)
	w.warm(t)
	w.schedule(t, time.Minute, "step", "a")
	w.schedule(t, 2*time.Minute, "note", "b")
	w.schedule(t, 3*time.Minute, "step", "c")
	if _, err := w.s.Advance(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := w.done(t); got != "a b c" {
		t.Fatalf("carried out %s, want a b c", got)
	}
	if runs, _, _ := w.runs.take(); runs != 0 {
		t.Fatalf("%d runs, want none", runs)
	}
	if marks := w.marks(t); len(marks) != 0 {
		t.Fatalf("marks %v, want none", marks)
	}
}

// When what follows a run's script fails, the script did run, and so did
// those after it, in that run and in the run sent meanwhile: they are
// finished and released, the job that failed stays claimed, and only the
// jobs not sent go back.
func TestStepFinishFailureFinishesWhatRan(t *testing.T) {
	ctx := context.Background()
	w := newStepWorld(t, 16)
	w.warm(t)
	names := w.scheduleSteps(t, 40)
	w.plans["s02"] = stepArgs{FinishFails: true}
	_, err := w.s.RunDue(ctx, start.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "what follows the script of s02 fails") {
		t.Fatalf("RunDue answered %v, want the failure of s02", err)
	}
	if got, want := w.done(t), strings.Join(names[:32], " "); got != want {
		t.Fatalf("carried out %s, want the two runs sent: %s", got, want)
	}
	w.wantLeft(t, "s02", 8, "s32", "s39")
}

// When the calls of a run are lost on the way (the connection broke), the
// run made ready after it is not sent: the job whose answer was lost stays
// claimed, the rest go back, and the jobs carried out before are released.
func TestStepCallsLostSendNoMoreRuns(t *testing.T) {
	ctx := context.Background()
	w := newStepWorld(t, 16)
	w.warm(t)
	names := w.scheduleSteps(t, 40)
	w.runs.take()
	w.rdb.AddHook(&runBreaker{nth: 2})
	_, err := w.s.RunDue(ctx, start.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("RunDue answered %v, want the lost connection", err)
	}
	if runs, _, _ := w.runs.take(); runs != 2 {
		t.Fatalf("%d runs went out, want 2: none after the run whose calls were lost", runs)
	}
	if got, want := w.done(t), strings.Join(names[:16], " "); got != want {
		t.Fatalf("carried out %s, want the first run: %s", got, want)
	}
	w.wantLeft(t, "s16", 23, "s17", "s39")
}

// runBreaker fails the nth pipeline of EVALSHA a client sends as a broken
// connection would: none of its calls reaches the store.
type runBreaker struct {
	mu  sync.Mutex
	n   int
	nth int
}

func (b *runBreaker) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (b *runBreaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (b *runBreaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		broken := false
		b.mu.Lock()
		for _, cmd := range cmds {
			if calledByHash(cmd) {
				b.n++
				broken = b.n == b.nth
				break
			}
		}
		b.mu.Unlock()
		if !broken {
			return next(ctx, cmds)
		}
		err := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
		for _, cmd := range cmds {
			cmd.SetErr(err)
		}
		return err
	}
}

// A store that lost a script the scheduler sent before (a restart, SCRIPT
// FLUSH) answers a run's calls NOSCRIPT: the scheduler loads it again and
// carries every job out, in order.
func TestStepScriptLostIsLoadedAgain(t *testing.T) {
	ctx := context.Background()
	w := newStepWorld(t, 16)
	w.warm(t)
	names := w.scheduleSteps(t, 20)
	// The store never held this text: as if it lost it since the warm-up.
	lost := core.NewScript[stepArgs](stepLua + "-- lost " + w.e.ks.Prefix + "\n")
	testkit.DeleteLibrariesAtEnd(t, w.rdb, lost.Libraries)
	made := w.script.Libraries() // the script it takes the place of, and its run form
	testkit.DeleteLibrariesAtEnd(t, w.rdb, func() []string { return made })
	*w.script = *lost
	core.MarkLoaded(w.s, core.ScriptHash(lost))
	if _, err := w.s.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, want := w.done(t), strings.Join(names, " "); got != want {
		t.Fatalf("carried out %s, want %s", got, want)
	}
	if runs, _, _ := w.runs.take(); runs < 2 {
		t.Fatalf("%d runs, want the first refused and the rest in runs again", runs)
	}
	if n, _ := w.s.Pending(ctx); n != 0 {
		t.Fatalf("%d jobs left", n)
	}
}
