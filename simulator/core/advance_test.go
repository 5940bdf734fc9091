package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// claimCounter counts the calls of one script a client sends (by
// default RunDue's claims of a batch).
type claimCounter struct {
	mu     sync.Mutex
	n      int
	hash   string
	limits []int // of RunDue's claims: how many jobs each asked for
}

func (c *claimCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *claimCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		hash := c.hash
		if hash == "" {
			hash = core.ClaimScriptHash
		}
		if h, ok := testkit.ScriptCall(cmd); ok && cmd.Name() != "eval" && h == hash {
			a := cmd.Args()
			var args struct {
				Limit int `json:"limit"`
			}
			switch s := a[len(a)-1].(type) {
			case string:
				_ = json.Unmarshal([]byte(s), &args)
			case []byte: // Script.Run's
				_ = json.Unmarshal(s, &args)
			}
			c.mu.Lock()
			c.n++
			c.limits = append(c.limits, args.Limit)
			c.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}
func (c *claimCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// newClaimCounted answers a scheduler whose client counts its claims.
func newClaimCounted(t *testing.T) (*core.Scheduler, *claimCounter) {
	e := newSchedEnv(t)
	rdb := e.srv.Client(t)
	claims := &claimCounter{}
	rdb.AddHook(claims)
	return core.NewScheduler(rdb, e.ks, e.clock, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), core.SchedulerOptions{}), claims
}

// A handler that schedules a job due after the batch's next one does not
// make RunDue claim again; one due before it does, and is carried out
// first.
func TestRunDueClaimsAgainOnlyForAJobDueBeforeTheBatchsNext(t *testing.T) {
	ctx := context.Background()
	s, claims := newClaimCounted(t)
	var order []string
	s.Handle("n", func(ctx context.Context, job core.Job) error {
		order = append(order, job.Args[0])
		switch job.Args[0] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9": // each schedules one due after the batch
			_, err := s.Schedule(ctx, job.Due.Add(24*time.Hour), "n", "later"+job.Args[0])
			return err
		case "3x":
			return nil
		}
		return nil
	})
	s.Handle("m", func(ctx context.Context, job core.Job) error {
		order = append(order, job.Args[0])
		if job.Args[0] == "m4" { // one due before the batch's next job
			_, err := s.Schedule(ctx, job.Due.Add(30*time.Second), "n", "early")
			return err
		}
		return nil
	})
	for i := 0; i < 10; i++ {
		if _, err := s.Schedule(ctx, start.Add(time.Duration(i)*time.Minute), "n", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := claims.n
	if n, err := s.RunDue(ctx, start.Add(30*time.Minute)); err != nil || n != 10 {
		t.Fatalf("RunDue: %d, %v", n, err)
	}
	// one claim for the batch, one that finds nothing more due
	if got := claims.n - before; got != 2 {
		t.Errorf("%d claims for a batch whose handlers scheduled jobs due after it, want 2", got)
	}
	order = nil
	for i := 0; i < 10; i++ {
		if _, err := s.Schedule(ctx, start.Add(2*time.Hour+time.Duration(i)*time.Minute), "m", fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	before = claims.n
	if _, err := s.RunDue(ctx, start.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := "[m0 m1 m2 m3 m4 early m5 m6 m7 m8 m9]"
	if fmt.Sprint(order) != want {
		t.Errorf("order %v, want %s", order, want)
	}
	// the batch, again for the early job, then nothing left
	if got := claims.n - before; got != 3 {
		t.Errorf("%d claims, want 3", got)
	}
}

// Carrying jobs out one at a time, RunDue claims twice as many each time
// it carried a batch out whole, up to 256, and 64 again after a batch
// whose rest went back for a job that fell due before it.
func TestRunDueClaimsMoreWhileItsBatchesGoWhole(t *testing.T) {
	ctx := context.Background()
	s, claims := newClaimCounted(t)
	var order []string
	s.Handle("n", func(ctx context.Context, job core.Job) error {
		order = append(order, job.Args[0])
		if job.Args[0] == "400" { // due before 401, claimed with it
			_, err := s.Schedule(ctx, job.Due.Add(30*time.Second), "n", "early")
			return err
		}
		return nil
	})
	var want []string
	for i := range 700 {
		if _, err := s.Schedule(ctx, start.Add(time.Duration(i)*time.Minute), "n", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprint(i))
		if i == 400 {
			want = append(want, "early")
		}
	}
	if n, err := s.RunDue(ctx, start.Add(700*time.Minute)); err != nil || n != 701 {
		t.Fatalf("RunDue: %d, %v; want 701 carried out", n, err)
	}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("carried out out of due order: %v", order)
	}
	// 0–63, 64–191, 192–447 (its rest, from 401, back for early), early and
	// 401–463, 464–591, 592–699, then nothing
	if got, want := fmt.Sprint(claims.limits), "[64 128 256 64 128 256 256]"; got != want {
		t.Errorf("claims of %s jobs, want %s", got, want)
	}
}

// An advance whose process dies before it finished is finished by another
// process once its lease ended: on a read of the clock (or by its loop),
// every job due by the target carried out once; a retry with the
// advance's Idempotency-Key then moves nothing and answers as the advance
// would have.
func TestUnfinishedAdvanceIsFinishedByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	real := testkit.NewClock(time.Now())
	process := func(fail string) (*core.Scheduler, map[string]int) {
		rdb := e.srv.Client(t)
		c := core.NewClock(rdb, e.ks, core.ClockStart{At: start, Paused: true}, real.Now)
		s := core.NewScheduler(rdb, e.ks, c, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), core.SchedulerOptions{Lease: time.Minute})
		ran := map[string]int{}
		s.Handle("n", func(ctx context.Context, job core.Job) error {
			if job.Args[0] == fail {
				return errors.New("the process dies")
			}
			ran[job.Args[0]]++
			return nil
		})
		return s, ran
	}
	dying, ranBefore := process("5")
	for i := 1; i <= 9; i++ {
		if _, err := dying.Schedule(ctx, start.Add(time.Duration(i)*time.Hour), "n", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dying.Schedule(ctx, start.Add(25*time.Hour), "n", "after"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dying.AdvanceOnce(ctx, 24*time.Hour, "k1"); err == nil {
		t.Fatal("the advance finished, want the handler's failure")
	}
	if fmt.Sprint(ranBefore) != "map[1:1 2:1 3:1 4:1]" {
		t.Fatalf("carried out before the failure: %v", ranBefore)
	}
	// A process that fails gives its lease up (advance_lease 0); one killed
	// leaves it running, as here.
	lease := real.Now().Add(time.Minute).UnixMilli()
	if err := e.srv.Client(t).HSet(ctx, e.ks.Clock(), "advance_lease", lease).Err(); err != nil {
		t.Fatal(err)
	}
	heir, ran := process("")
	var finished []core.ClockState // what the heir's namespace is told (OnTakeOver)
	heir.OnTakeOver(func(_ context.Context, st core.ClockState) { finished = append(finished, st) })
	// the clock reads the target, the rest undone, until the lease ends
	st, err := heir.Clock(ctx)
	if err != nil || !st.Now.Equal(start.Add(24*time.Hour)) || len(ran) != 0 {
		t.Fatalf("the clock while the advance's lease runs: %v (%v), carried out %v", st, err, ran)
	}
	real.Add(61 * time.Second)
	st, err = heir.Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Now.Equal(start.Add(24*time.Hour)) || !st.Paused {
		t.Fatalf("clock %+v, want paused at +24h", st)
	}
	if fmt.Sprint(ran) != "map[5:1 6:1 7:1 8:1 9:1]" {
		t.Errorf("the heir carried out %v, want 5 to 9 once each", ran)
	}
	if len(finished) != 1 || finished[0] != st {
		t.Errorf("the heir told its namespace of %+v, want once the clock %+v", finished, st)
	}
	if n, _ := heir.Pending(ctx); n != 1 {
		t.Errorf("%d jobs pending, want 1 (the one after the target)", n)
	}
	// the client retries its advance: nothing moves, the answer is the same
	again, replayed, err := heir.AdvanceOnce(ctx, 24*time.Hour, "k1")
	if err != nil || again != st || !replayed {
		t.Errorf("retried advance: %+v (%v), want %+v", again, err, st)
	}
	if now, _ := heir.Clock(ctx); !now.Now.Equal(start.Add(24 * time.Hour)) {
		t.Errorf("clock after the retry %s, want +24h", now.Now)
	}
	// another key moves the clock again
	next, replayed, err := heir.AdvanceOnce(ctx, time.Hour, "k2")
	if err != nil || replayed || !next.Now.Equal(start.Add(25*time.Hour)) || ran["after"] != 1 {
		t.Errorf("advance k2: %+v (%v), carried out %v", next, err, ran)
	}
}

// A failed advance can be retried at once: its process gave up its lease.
func TestFailedAdvanceIsRetriedAtOnce(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	s := e.scheduler(t)
	fail := true
	ran := 0
	s.Handle("n", func(ctx context.Context, job core.Job) error {
		if fail {
			return errors.New("the store hiccuped")
		}
		ran++
		return nil
	})
	if _, err := s.Schedule(ctx, start.Add(time.Hour), "n", "x"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AdvanceOnce(ctx, 2*time.Hour, "k"); err == nil {
		t.Fatal("want the handler's failure")
	}
	fail = false
	// the job stays claimed until its lease ends (30s); the retry finishes
	// the advance, which carries it out then
	rdb := e.srv.Client(t)
	if err := rdb.ZAdd(ctx, e.ks.SchedInflight(), redis.Z{Score: 0, Member: mustMember(t, rdb, e.ks)}).Err(); err != nil {
		t.Fatal(err)
	}
	st, _, err := s.AdvanceOnce(ctx, 2*time.Hour, "k")
	if err != nil || !st.Now.Equal(start.Add(2*time.Hour)) || ran != 1 {
		t.Fatalf("retry: %+v (%v), ran %d; want the clock at +2h, the job once", st, err, ran)
	}
}

// mustMember is the one job in flight.
func mustMember(t *testing.T, rdb redis.UniversalClient, ks core.Keyspace) string {
	t.Helper()
	m, err := rdb.ZRange(context.Background(), ks.SchedInflight(), 0, -1).Result()
	if err != nil || len(m) != 1 {
		t.Fatalf("in flight: %v (%v), want one job", m, err)
	}
	return m[0]
}

func (c *claimCounter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Drain waits for a job another worker of the process carries out without
// polling the store every few milliseconds: it looks again when the job is
// released, and meanwhile at growing intervals (at most 100 ms).
func TestDrainWaitsForAReleaseNotAPoll(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	rdb := e.srv.Client(t)
	looks := claimCounter{hash: core.PendingScriptHash}
	rdb.AddHook(&looks)
	s := core.NewScheduler(rdb, e.ks, e.clock, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), core.SchedulerOptions{})
	started, release := make(chan struct{}), make(chan struct{})
	s.Handle("slow", func(ctx context.Context, job core.Job) error {
		close(started)
		<-release
		return nil
	})
	if _, err := s.Schedule(ctx, start, "slow", "x"); err != nil {
		t.Fatal(err)
	}
	worker := make(chan error, 1)
	go func() { _, err := s.RunDue(ctx, start); worker <- err }()
	<-started
	drained := make(chan error, 1)
	go func() { drained <- s.Drain(ctx, start) }()
	time.Sleep(300 * time.Millisecond) // the other worker holds the job a while
	select {
	case err := <-drained:
		t.Fatalf("Drain returned while the job was in flight: %v", err)
	default:
	}
	close(release)
	if err := <-worker; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return once the job was released")
	}
	// 2, 4, 8 … 100 ms: about ten looks in 300 ms, where a 2 ms poll makes 150
	if n := looks.get(); n > 15 {
		t.Errorf("Drain looked %d times in 300 ms, want at most 15", n)
	}
}

// resetNamespace does what a reset through another process does to the
// store: every key of the namespace deleted, the clock set to its start.
func resetNamespace(t *testing.T, e *schedEnv) error {
	ctx := context.Background()
	rdb := e.srv.Client(t)
	keys, err := rdb.Keys(ctx, e.ks.Pattern()).Result()
	if err == nil && len(keys) > 0 {
		err = rdb.Del(ctx, keys...).Err()
	}
	if err == nil {
		err = core.NewClock(rdb, e.ks, core.ClockStart{At: start, Paused: true}, nil).Reset(ctx)
	}
	return err
}

// resetMidway schedules 200 jobs a minute apart on s, whose handler, at
// the first, has another process (other) reset the namespace and schedule
// one job after the reset. It answers what the handler carried out, for
// once the scheduler is done.
func resetMidway(t *testing.T, e *schedEnv, s, other *core.Scheduler) (carried func() []string) {
	var (
		mu  sync.Mutex // the loop carries jobs out in lanes, at once
		got []string
	)
	s.Handle("note", func(ctx context.Context, job core.Job) error {
		mu.Lock()
		got = append(got, job.Args[0])
		mu.Unlock()
		if job.Args[0] == "0" {
			if err := resetNamespace(t, e); err != nil {
				return err
			}
			if _, err := other.Schedule(ctx, start.Add(time.Minute), "note", "after the reset"); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range 200 {
		if _, err := s.Schedule(context.Background(), start.Add(time.Duration(i+1)*time.Minute), "note", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// wantNoneAfterTheReset fails the test when the scheduler carried out
// (carried) the job scheduled after the reset, or more than its first
// batch, or when that job is not pending still.
func wantNoneAfterTheReset(t *testing.T, carried []string, other *core.Scheduler) {
	t.Helper()
	if slices.Contains(carried, "after the reset") {
		t.Fatalf("a job scheduled after the reset was carried out (%d jobs: %v)", len(carried), carried)
	}
	if len(carried) > 256 {
		t.Fatalf("%d jobs carried out, more than a first batch", len(carried))
	}
	if n, _ := other.Pending(context.Background()); n != 1 {
		t.Fatalf("%d jobs pending, want 1: the one scheduled after the reset", n)
	}
}

// An advance whose namespace another process resets meanwhile ends: it
// claims none of the jobs scheduled after the reset, which the reset's
// clock has not reached, and answers ErrSuperseded. (The jobs it claimed
// before the reset find their keys gone.)
func TestAnAdvanceEndedByAResetClaimsNoMore(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	s, other := e.scheduler(t), e.scheduler(t)
	carried := resetMidway(t, e, s, other)
	if _, err := s.Advance(ctx, 24*time.Hour); !errors.Is(err, core.ErrSuperseded) {
		t.Fatalf("the advance answered %v, want ErrSuperseded", err)
	}
	wantNoneAfterTheReset(t, carried(), other)
	if st, err := other.Clock(ctx); err != nil || !st.Now.Equal(start) {
		t.Fatalf("the clock after the reset %+v (%v), want %s", st, err, start)
	}
}

// The loop that carries out what fell due on a running clock stops
// claiming when the clock is set anew meanwhile (here a reset through
// another process, back to the start and paused): it claims nothing the
// clock has not reached, and looks again.
func TestTheLoopClaimsNoMoreOnceTheClockIsSetAnew(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	s, other := e.scheduler(t), e.scheduler(t)
	carried := resetMidway(t, e, s, other)
	// the clock ran ahead: everything is due
	if err := e.srv.Client(t).HSet(ctx, e.ks.Clock(), "sim", start.Add(24*time.Hour).UnixMilli(), "paused", "0", "scale", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	wantNoneAfterTheReset(t, carried(), other)
}

// A retry of an advance is answered as it was, not only for the latest
// advance's key: the clock keeps the answers of its latest KeptAdvances
// keyed advances, for a retry whose first request's process died before
// the API recorded its answer. A reset forgets them.
func TestAnEarlierAdvanceKeyIsStillReplayed(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	s := e.scheduler(t)
	first, _, err := s.AdvanceOnce(ctx, time.Hour, "k0")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= core.KeptAdvances; i++ {
		if _, _, err := s.AdvanceOnce(ctx, time.Minute, fmt.Sprintf("k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	now := start.Add(time.Hour + core.KeptAdvances*time.Minute)
	again, replayed, err := s.AdvanceOnce(ctx, time.Hour, "k1")
	if err != nil || !replayed || !again.Now.Equal(start.Add(time.Hour+time.Minute)) {
		t.Fatalf("a retry of k1 after %d later advances: %+v, replayed %v (%v), want its own answer", core.KeptAdvances-1, again, replayed, err)
	}
	if st, ok, err := s.Replayed(ctx, "k2"); err != nil || !ok || !st.Now.Equal(start.Add(time.Hour+2*time.Minute)) {
		t.Fatalf("Replayed(k2): %+v, %v (%v)", st, ok, err)
	}
	if st, _ := s.Clock(ctx); !st.Now.Equal(now) {
		t.Fatalf("the clock after the retries %s, want %s", st.Now, now)
	}
	// k0 is the oldest of KeptAdvances+1: forgotten, a new advance
	if st, replayed, err := s.AdvanceOnce(ctx, time.Hour, "k0"); err != nil || replayed || st == first || !st.Now.Equal(now.Add(time.Hour)) {
		t.Fatalf("k0, past the kept answers: %+v, replayed %v (%v), want a new advance to %s", st, replayed, err, now.Add(time.Hour))
	}
	if err := resetNamespace(t, e); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Replayed(ctx, "k3"); err != nil || ok {
		t.Fatalf("Replayed(k3) after a reset: %v (%v), want none", ok, err)
	}
}

// A clock that ran past MaxTime, then was paused or given another scale,
// stands at MaxTime: it is stored there, not where running on would have
// taken it, so that an advance by 0 carries out what is due, and one by
// more is refused as past MaxTime from MaxTime.
func TestAClockRunPastMaxTimeStaysThereWhenMoved(t *testing.T) {
	ctx := context.Background()
	max := core.MaxTime()
	for _, move := range []string{"paused", "scale, then paused"} {
		t.Run(move, func(t *testing.T) {
			srv := testkit.StartRedis(t)
			ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
			real := testkit.NewClock(time.Now())
			c := core.NewClock(srv.Client(t), ks, core.ClockStart{At: max.Add(-time.Hour), Scale: core.MaxScale}, real.Now)
			if err := c.Init(ctx); err != nil {
				t.Fatal(err)
			}
			s := core.NewScheduler(srv.Client(t), ks, c, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), core.SchedulerOptions{})
			real.Add(time.Second) // a million simulated seconds: past MaxTime
			if move == "scale, then paused" {
				scale := 2.0
				if _, err := c.Set(ctx, &scale, nil); err != nil {
					t.Fatal(err)
				}
			}
			paused := true
			if _, err := c.Set(ctx, nil, &paused); err != nil {
				t.Fatal(err)
			}
			if st, err := s.Advance(ctx, 0); err != nil || !st.Now.Equal(max) {
				t.Fatalf("an advance by 0: %+v, %v; want the clock at %s", st, err, max)
			}
			_, err := s.Advance(ctx, time.Millisecond)
			const detail = "by: 1ms would take the clock past 9900-01-01T00:00:00Z, the latest simulated time; it reads 9900-01-01T00:00:00Z: give at most 0s"
			if e, ok := err.(*core.Error); !ok || e.Code != 400 || e.Detail != detail {
				t.Fatalf("an advance by 1ms: %v, want a 400 %q", err, detail)
			}
		})
	}
}
