package simulator

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// failLua notes its job on the list KEYS[1], or fails for the job c.
const failLua = `
local refused = run_refusal()
if refused then return refused end
if args.name == 'c' then error('the job c fails') end
redis.call('RPUSH', KEYS[1], args.name)
return with_due_now({})
`

type failArgs struct {
	Name string `json:"name"`
}

// A job's script that fails is a failed command of the store
// (smsim_redis_errors_total, evalsha or fcall) in a run of scripts as it is alone;
// the refusals of the scripts after it in the run (RUN) are not.
func TestFailedScriptOfARunIsCountedAsAlone(t *testing.T) {
	for _, run := range []int{1, 16} {
		t.Run(fmt.Sprintf("run=%d", run), func(t *testing.T) {
			ctx := context.Background()
			srv := testkit.StartRedis(t)
			rdb := srv.Client(t)
			reg := prometheus.NewRegistry()
			rdb.AddHook(redisHook{newStoreMetrics(reg), &health{}})
			ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
			start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
			clock := core.NewClock(rdb, ks, core.ClockStart{At: start, Paused: true}, nil)
			if err := clock.Init(ctx); err != nil {
				t.Fatal(err)
			}
			s := core.NewScheduler(rdb, ks, clock, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), core.SchedulerOptions{Run: run})
			script := core.NewScript[failArgs](failLua + "-- " + srv.Prefix + "\n")
			testkit.DeleteLibrariesAtEnd(t, rdb, script.Libraries)
			keys := []string{ks.Key("order")}
			s.Handle("step", func(ctx context.Context, job core.Job) error {
				return script.Run(ctx, rdb, keys, failArgs{Name: job.Args[0]}).Err()
			})
			s.HandleSteps("step", func(ctx context.Context, job core.Job) (core.Step, error) {
				call, err := script.Call(keys, failArgs{Name: job.Args[0]})
				return core.Step{Call: call, Finish: func(ctx context.Context, res *redis.Cmd) error { return res.Err() }}, err
			})
			// the store holds the script, as after a first job
			if err := script.Run(ctx, rdb, keys, failArgs{Name: "warm"}).Err(); err != nil {
				t.Fatal(err)
			}
			for i, name := range []string{"a", "b", "c", "d", "e"} {
				if _, err := s.Schedule(ctx, start.Add(time.Duration(i+1)*time.Minute), "step", name); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.RunDue(ctx, start.Add(time.Hour)); err == nil {
				t.Fatal("RunDue answered no error, want the failure of c")
			}
			// a run goes by EVALSHA, a job alone by FCALL where the store has functions
			evalsha := testkit.Metric(t, reg, "smsim_redis_errors_total", map[string]string{"command": "evalsha"})
			fcall := testkit.Metric(t, reg, "smsim_redis_errors_total", map[string]string{"command": "fcall"})
			if evalsha+fcall != 1 {
				t.Fatalf("smsim_redis_errors_total is %v for evalsha, %v for fcall; want 1 in all: the script of c failed", evalsha, fcall)
			}
		})
	}
}
