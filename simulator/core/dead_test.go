package core_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// A handler that fails leaves its own job claimed, for its lease, and puts
// the rest of the claimed batch back at once: another process carries them
// out without waiting out the lease.
func TestFailureReleasesTheRestOfTheBatch(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	s := e.scheduler(t)
	var ran []string
	s.Handle("n", func(ctx context.Context, job core.Job) error {
		ran = append(ran, job.Args[0])
		if job.Args[0] == "2" {
			return errors.New("the store hiccuped")
		}
		return nil
	})
	for i := 1; i <= 5; i++ {
		if _, err := s.Schedule(ctx, start.Add(time.Duration(i)*time.Minute), "n", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.RunDue(ctx, start.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "the store hiccuped") {
		t.Fatalf("RunDue: %v, want the handler's error", err)
	}
	rdb := e.srv.Client(t)
	due, _ := rdb.ZRange(ctx, e.ks.SchedDue(), 0, -1).Result()
	fly, _ := rdb.ZRange(ctx, e.ks.SchedInflight(), 0, -1).Result()
	if got := argsOf(t, due); got != "[3 4 5]" {
		t.Errorf("due after the failure: %s, want [3 4 5] put back at once", got)
	}
	if got := argsOf(t, fly); got != "[2]" {
		t.Errorf("in flight after the failure: %s, want [2], claimed until its lease ends", got)
	}
	// another process carries out the rest at once
	other := e.scheduler(t)
	var rest []string
	other.Handle("n", func(ctx context.Context, job core.Job) error { rest = append(rest, job.Args[0]); return nil })
	if n, err := other.RunDue(ctx, start.Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("the other process carried out %d (%v), want 3", n, err)
	}
	if fmt.Sprint(ran) != "[1 2]" || fmt.Sprint(rest) != "[3 4 5]" {
		t.Errorf("carried out %v then %v, want [1 2] then [3 4 5]", ran, rest)
	}
}

func argsOf(t *testing.T, members []string) string {
	t.Helper()
	var out []string
	for _, m := range members {
		j, err := core.ParseJob(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(j.Args, ","))
	}
	return fmt.Sprint(out)
}

// A job that fails for good — a Permanent error of its handler, a wrong
// number of arguments, a stored form that cannot be read, a kind nobody
// handles, one of a batch — goes to the dead-letter set, counted, and
// the advance goes on with the others: none is tried again.
func TestPermanentFailuresGoToTheDeadLetterSet(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	rdb := e.srv.Client(t)
	reg := prometheus.NewRegistry()
	s := core.NewScheduler(rdb, e.ks, e.clock, slog.New(slog.DiscardHandler), reg, core.SchedulerOptions{})
	calls := map[string]int{}
	s.Handle("n", func(ctx context.Context, job core.Job) error {
		if err := job.Arity(1); err != nil {
			return err
		}
		calls[job.Args[0]]++
		if job.Args[0] == "bad" {
			return fmt.Errorf("order %s: %w", job.Args[0], core.Permanent(errors.New("no such order type")))
		}
		return nil
	})
	var batches [][]string
	s.HandleBatch("d", func(ctx context.Context, jobs []core.Job) error {
		var names []string
		for _, j := range jobs {
			if err := j.Arity(1); err != nil {
				return err
			}
			names = append(names, j.Args[0])
		}
		batches = append(batches, names)
		return nil
	})
	sched := func(min int, kind string, args ...string) {
		t.Helper()
		if _, err := s.Schedule(ctx, start.Add(time.Duration(min)*time.Minute), kind, args...); err != nil {
			t.Fatal(err)
		}
	}
	sched(1, "n", "ok1")
	sched(2, "n", "bad")
	sched(3, "n", "two", "args")
	sched(4, "mystery", "x")
	sched(5, "d", "d1")
	sched(6, "d", "d2", "extra")
	sched(7, "d", "d3")
	sched(9, "n", "ok2")
	if err := rdb.ZAdd(ctx, e.ks.SchedDue(), redis.Z{Score: float64(start.Add(8 * time.Minute).UnixMilli()), Member: "x|soon|n"}).Err(); err != nil {
		t.Fatal(err)
	}
	st, err := s.Advance(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Now.Equal(start.Add(time.Hour)) {
		t.Fatalf("clock %s", st.Now)
	}
	if fmt.Sprint(calls) != "map[bad:1 ok1:1 ok2:1]" {
		t.Errorf("handler calls %v, want each once", calls)
	}
	if fmt.Sprint(batches) != "[[d1] [d3]]" {
		t.Errorf("batches %v, want d1 and d3 alone once the run failed for good", batches)
	}
	if n, _ := s.Pending(ctx); n != 0 {
		t.Errorf("%d jobs pending, want 0", n)
	}
	dead, total, err := s.DeadJobs(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range dead {
		due := "-"
		if d.Due != nil {
			due = d.Due.Sub(start).String()
		}
		got = append(got, fmt.Sprintf("%s %s %v: %s", d.Kind, due, d.Args, d.Error))
		if d.FailedAt.IsZero() {
			t.Errorf("%s: no failed_at", d.Job)
		}
	}
	want := []string{ // newest first
		` - []: malformed job "x|soon|n": due: strconv.ParseInt: parsing "soon": invalid syntax`,
		`d 6m0s [d2 extra]: malformed job d #6 due 2026-03-01T08:06:00Z [d2 extra]: 2 arguments, want 1`,
		`mystery 4m0s [x]: job mystery #4 due 2026-03-01T08:04:00Z [x]: no handler for jobs of kind "mystery"`,
		`n 3m0s [two args]: malformed job n #3 due 2026-03-01T08:03:00Z [two args]: 2 arguments, want 1`,
		`n 2m0s [bad]: order bad: no such order type`,
	}
	if total != 5 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dead jobs (%d):\n%s\nwant (5):\n%s", total, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if dead[0].Job != "x|soon|n" {
		t.Errorf("the malformed job's stored form: %q", dead[0].Job)
	}
	for kind, want := range map[string]float64{"n": 2, "d": 1, "mystery": 1, "": 1} {
		if got := testkit.Metric(t, reg, "smsim_scheduler_dead_jobs_total", map[string]string{"kind": kind}); got != want {
			t.Errorf("smsim_scheduler_dead_jobs_total{kind=%q} = %v, want %v", kind, got, want)
		}
	}
	// a second advance tries none of them again
	if _, err := s.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(calls) != "map[bad:1 ok1:1 ok2:1]" {
		t.Errorf("handler calls after a second advance %v", calls)
	}
	if two, _, _ := s.DeadJobs(ctx, 2); len(two) != 2 || two[0].Job != "x|soon|n" {
		t.Errorf("DeadJobs(2): %v", two)
	}
}
