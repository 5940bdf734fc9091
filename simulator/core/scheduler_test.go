package core_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

type schedEnv struct {
	srv   *testkit.Redis
	ks    core.Keyspace
	clock *core.Clock
}

func newSchedEnv(t *testing.T) *schedEnv {
	t.Helper()
	srv := testkit.StartRedis(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	c := core.NewClock(srv.Client(t), ks, core.ClockStart{At: start, Paused: true}, nil)
	if err := c.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &schedEnv{srv: srv, ks: ks, clock: c}
}

// scheduler returns a new scheduler on the env's Redis, as another process
// would have.
func (e *schedEnv) scheduler(t *testing.T) *core.Scheduler {
	rdb := e.srv.Client(t)
	c := core.NewClock(rdb, e.ks, core.ClockStart{At: start, Paused: true}, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return core.NewScheduler(rdb, e.ks, c, log, prometheus.NewRegistry(), core.SchedulerOptions{})
}

func TestAdvanceCarriesOutInDueOrder(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	s := e.scheduler(t)
	var got []string
	s.Handle("note", func(ctx context.Context, job core.Job) error {
		got = append(got, fmt.Sprintf("%s@%s", job.Args[0], job.Due.Sub(start)))
		if job.Args[0] == "b" { // a job that schedules another inside the window
			_, err := s.Schedule(ctx, job.Due.Add(5*time.Minute), "note", "b2")
			return err
		}
		return nil
	})
	for _, x := range []struct {
		at   time.Duration
		name string
	}{{60 * time.Minute, "c"}, {10 * time.Minute, "a"}, {30 * time.Minute, "b"}, {30 * time.Minute, "b'"}, {61 * time.Minute, "late"}} {
		if _, err := s.Schedule(ctx, start.Add(x.at), "note", x.name); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Advance(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a@10m0s", "b@30m0s", "b'@30m0s", "b2@35m0s", "c@1h0m0s"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("carried out %v, want %v", got, want)
	}
	if !st.Now.Equal(start.Add(time.Hour)) {
		t.Fatalf("clock %s, want %s", st.Now, start.Add(time.Hour))
	}
	if n, _ := s.Pending(ctx); n != 1 {
		t.Fatalf("pending %d, want 1 (the job at 61m)", n)
	}
}

func TestEachEventCarriedOutOnceByTwoProcesses(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	a, b := e.scheduler(t), e.scheduler(t)
	var mu sync.Mutex
	count := map[string]int{}
	h := func(ctx context.Context, job core.Job) error {
		mu.Lock()
		count[job.Args[0]]++
		mu.Unlock()
		return nil
	}
	a.Handle("n", h)
	b.Handle("n", h)
	const n = 300
	for i := 0; i < n; i++ {
		if _, err := a.Schedule(ctx, start.Add(time.Duration(i)*time.Second), "n", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	for _, s := range []*core.Scheduler{a, b} { // two processes, each with its loop
		loop := core.NewLoop(slog.New(slog.DiscardHandler), core.LoopOptions{})
		loop.Add(s)
		go func() { defer wg.Done(); loop.Run(runCtx) }()
	}
	var aerr, berr error
	var aw sync.WaitGroup
	aw.Add(2)
	go func() { defer aw.Done(); _, aerr = a.Advance(ctx, time.Hour) }()
	go func() { defer aw.Done(); berr = b.Drain(ctx, start.Add(time.Hour)) }()
	aw.Wait()
	stop()
	wg.Wait()
	if aerr != nil || berr != nil {
		t.Fatal(aerr, berr)
	}
	if len(count) != n {
		t.Fatalf("%d distinct jobs carried out, want %d", len(count), n)
	}
	for k, c := range count {
		if c != 1 {
			t.Errorf("job %s carried out %d times", k, c)
		}
	}
}

func TestClaimedEventOfDeadProcessIsCarriedOutAgain(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	rdb := e.srv.Client(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	real := testkit.NewClock(time.Now())
	c := core.NewClock(rdb, e.ks, core.ClockStart{}, real.Now)
	dying := core.NewScheduler(rdb, e.ks, c, log, prometheus.NewRegistry(), core.SchedulerOptions{Lease: time.Minute})
	dying.Handle("n", func(context.Context, core.Job) error { return fmt.Errorf("process died") })
	if _, err := dying.Schedule(ctx, start, "n", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := dying.RunDue(ctx, start); err == nil {
		t.Fatal("want the handler's error")
	}
	heir := core.NewScheduler(rdb, e.ks, c, log, prometheus.NewRegistry(), core.SchedulerOptions{})
	ran := 0
	heir.Handle("n", func(context.Context, core.Job) error { ran++; return nil })
	if n, _ := heir.Requeue(ctx); n != 0 {
		t.Fatalf("requeued %d before the lease ended", n)
	}
	real.Add(61 * time.Second)
	if n, _ := heir.Requeue(ctx); n != 1 {
		t.Fatalf("requeued %d after the lease ended, want 1", n)
	}
	if _, err := heir.RunDue(ctx, start); err != nil || ran != 1 {
		t.Fatalf("ran %d (err %v), want 1", ran, err)
	}
}

func TestBatchHandlerGetsRunsInOrder(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	s := e.scheduler(t)
	var calls [][]string
	var order []string
	s.HandleBatch("d", func(ctx context.Context, jobs []core.Job) error {
		var names []string
		for _, job := range jobs {
			names = append(names, job.Args[0])
			order = append(order, job.Args[0])
		}
		calls = append(calls, names)
		return nil
	})
	s.Handle("x", func(ctx context.Context, job core.Job) error {
		order = append(order, job.Args[0])
		return nil
	})
	for i, name := range []string{"d1", "d2", "d3", "x4", "d5", "d6"} {
		kind := name[:1]
		if _, err := s.Schedule(ctx, start.Add(time.Duration(i)*time.Minute), kind, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(order) != "[d1 d2 d3 x4 d5 d6]" {
		t.Fatalf("order %v", order)
	}
	if fmt.Sprint(calls) != "[[d1 d2 d3] [d5 d6]]" {
		t.Fatalf("batch calls %v, want the runs [d1 d2 d3] and [d5 d6]", calls)
	}
	if n, _ := s.Pending(ctx); n != 0 {
		t.Fatalf("%d jobs left", n)
	}
}

// lookCounter counts the HMGET commands of a client: the reads of the
// clock by which the loop looks at a scheduler.
type lookCounter struct {
	mu sync.Mutex
	n  int
}

func (c *lookCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *lookCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}
func (c *lookCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.count(cmds)
		return next(ctx, cmds)
	}
}
func (c *lookCounter) count(cmds []redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cmd := range cmds {
		if cmd.Name() == "hmget" {
			c.n++
		}
	}
}
func (c *lookCounter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// An advance on a running clock brings its jobs nearer in real time: the
// loop looks again at once, and carries out a job due a moment after the
// advance's target a moment later, not when it would have before.
func TestLoopLooksAfterAnAdvanceOnARunningClock(t *testing.T) {
	e := newSchedEnv(t)
	s := e.scheduler(t)
	fired := make(chan core.Job, 1)
	s.Handle("n", func(ctx context.Context, job core.Job) error { fired <- job; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running, scale := false, 1.0
	if _, err := e.clock.Set(ctx, &scale, &running); err != nil {
		t.Fatal(err)
	}
	now, err := e.clock.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Schedule(ctx, now.Add(time.Hour), "n", "o", "in an hour"); err != nil {
		t.Fatal(err)
	}
	loop := core.NewLoop(slog.New(slog.DiscardHandler), core.LoopOptions{Sweep: time.Hour})
	loop.Add(s)
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testkit.WaitFor(t, "the loop at rest until the job, an hour away", func() bool { return loop.Busy() == 0 })

	// the job is now 50 simulated (and real) milliseconds away
	if _, err := s.Advance(ctx, time.Hour-50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case job := <-fired:
		if job.Args[1] != "in an hour" {
			t.Fatalf("carried out %v", job)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job due 50 ms after the advance was not carried out within 10 s")
	}
}

// While the clock is paused the loop looks at a scheduler once, then only
// when kicked (or after a Sweep); on a running clock it looks when the
// earliest job falls due, at the clock's scale, and not before.
func TestLoopRestsUntilSomethingIsDue(t *testing.T) {
	e := newSchedEnv(t)
	rdb := e.srv.Client(t)
	var reads lookCounter
	rdb.AddHook(&reads)
	c := core.NewClock(rdb, e.ks, core.ClockStart{At: start, Paused: true}, nil)
	s := core.NewScheduler(rdb, e.ks, c, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), core.SchedulerOptions{})
	fired := make(chan core.Job, 1)
	s.Handle("n", func(ctx context.Context, job core.Job) error { fired <- job; return nil })
	loop := core.NewLoop(slog.New(slog.DiscardHandler), core.LoopOptions{Sweep: time.Hour})
	loop.Add(s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(ctx) }()
	defer func() { cancel(); <-done }()

	testkit.WaitFor(t, "the first look", func() bool { return reads.get() == 1 })
	// a job due at once on the paused clock: the loop keeps out of the
	// advance's way, however often it is kicked
	if _, err := s.Schedule(ctx, start, "n", "o", "0"); err != nil { // Schedule kicks
		t.Fatal(err)
	}
	testkit.WaitFor(t, "a look when kicked", func() bool { return reads.get() == 2 })
	s.Kick()
	testkit.WaitFor(t, "a look when kicked again", func() bool { return reads.get() == 3 })
	select {
	case job := <-fired:
		t.Fatalf("the loop carried out %v on a paused clock", job)
	default:
	}

	// another process resumes the clock at 3600×: the job due now is carried
	// out; one due in 36 simulated seconds is 10 real milliseconds away. Both
	// name one order, so they share a lane and run in due order even when a
	// slow machine claims them in one batch (jobs of different lanes may run
	// at once).
	running, scale := false, 3600.0
	other := core.NewClock(e.srv.Client(t), e.ks, core.ClockStart{At: start, Paused: true}, nil)
	st, err := other.Set(ctx, &scale, &running)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Schedule(ctx, st.Now.Add(36*time.Second), "n", "o", "later"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"0", "later"} {
		select {
		case job := <-fired:
			if job.Args[1] != want {
				t.Fatalf("carried out %v, want the job %s", job, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the job %s was not carried out", want)
		}
	}
	// nothing left: the loop rests until the Sweep
	testkit.WaitFor(t, "the loop at rest", func() bool { return loop.Busy() == 0 })
	looks := reads.get()
	if n, _ := s.Pending(ctx); n != 0 {
		t.Fatalf("%d jobs pending", n)
	}
	s.Kick()
	testkit.WaitFor(t, "one more look", func() bool { return reads.get() == looks+1 })
	if loop.Len() != 1 {
		t.Fatalf("the loop serves %d schedulers, want 1", loop.Len())
	}
	loop.Remove(s)
	if loop.Len() != 0 {
		t.Fatalf("the loop serves %d schedulers after Remove, want 0", loop.Len())
	}
	s.Kick() // harmless: nobody serves it
}

// The loop carries out the jobs of different lanes (first arguments: for
// MIIT, orders) side by side, and those of one lane in due order, a job
// that one of them schedules before the lane's next included.
func TestLoopCarriesOutLanesSideBySide(t *testing.T) {
	e := newSchedEnv(t)
	s := e.scheduler(t)
	var (
		mu  sync.Mutex
		got = map[string][]string{}
	)
	arrived := map[string]chan struct{}{"y": make(chan struct{}), "z": make(chan struct{})}
	s.Handle("n", func(ctx context.Context, job core.Job) error {
		lane, name := job.Args[0], job.Args[1]
		mu.Lock()
		got[lane] = append(got[lane], name)
		mu.Unlock()
		switch name {
		case "x1": // schedules a job of its lane due before the lane's next
			_, err := s.Schedule(ctx, job.Due.Add(time.Minute), "n", "x", "x1b")
			return err
		case "y1", "z1": // each waits for the other: only side by side do both end
			close(arrived[lane])
			other := map[string]string{"y": "z", "z": "y"}[lane]
			select {
			case <-arrived[other]:
				return nil
			case <-time.After(5 * time.Second):
				return fmt.Errorf("%s waited 5 s for %s: the lanes ran one after the other", name, other)
			}
		}
		return nil
	})
	ctx := context.Background()
	for _, j := range []struct {
		ago        time.Duration
		lane, name string
	}{{3 * time.Minute, "x", "x1"}, {3 * time.Minute, "y", "y1"}, {time.Minute, "x", "x2"}, {time.Minute, "z", "z1"}} {
		if _, err := s.Schedule(ctx, start.Add(-j.ago), "n", j.lane, j.name); err != nil {
			t.Fatal(err)
		}
	}
	loop := core.NewLoop(slog.New(slog.DiscardHandler), core.LoopOptions{Sweep: time.Hour})
	loop.Add(s)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(lctx) }()
	defer func() { cancel(); <-done }()
	paused, scale := false, 1.0
	if _, err := e.clock.Set(ctx, &scale, &paused); err != nil {
		t.Fatal(err)
	}
	s.Kick()
	testkit.WaitFor(t, "every job carried out", func() bool {
		n, err := s.Pending(ctx)
		return err == nil && n == 0
	})
	mu.Lock()
	defer mu.Unlock()
	want := map[string][]string{"x": {"x1", "x1b", "x2"}, "y": {"y1"}, "z": {"z1"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("carried out %v, want %v", got, want)
	}
}
