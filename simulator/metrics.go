package simulator

import (
	"context"
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// newStoreMetrics registers the count of failed store commands.
func newStoreMetrics(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsim_redis_errors_total",
		Help: "Redis commands of this instance that failed (unreachable store, timeout, error reply), by command; " +
			"a job of a run of scripts sent as one call (fcall, or evalsha where Redis has no functions) counts as a command of its own. " +
			"A missing key (redis.Nil), a script or a library of functions not yet loaded (NOSCRIPT, Function not found; loaded and run again), a script that " +
			"refused a stale plan (STALE) or its place in a run of scripts (RUN; both carried out again), a claim of jobs " +
			"refused to an advance that ended or to a loop whose clock was set anew (SUPERSEDED, CLOCK), a command " +
			"whose caller gave up or ran out of its own time (a long poll's timeout) and a feature the client " +
			"asks for as it connects and goes without (CLIENT SETINFO before Redis 7.2; FUNCTION on a store without functions) are not failures.",
	}, []string{"command"})
	reg.MustRegister(c)
	return c
}

// newChangesMetric registers the count of the words of changes heard.
func newChangesMetric(reg prometheus.Registerer) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "smsim_changes_heard_total",
		Help: "Words of another process on the same Redis that it set a namespace's clock or fault profile, or reset it " +
			"(and of a Pub/Sub connection that came back, when words may have been lost): on each, this instance reads " +
			"the namespace's clock and fault profile afresh before it serves it again.",
	})
	reg.MustRegister(c)
	return c
}

// redisHook counts failed commands on smsim_redis_errors_total, and
// records in health that the store is unavailable when a command finds it
// so.
type redisHook struct {
	errors *prometheus.CounterVec
	health *health
}

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.count(ctx, cmd, err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			h.count(ctx, cmd, cmd.Err())
		}
		return err
	}
}

// count counts a failed command, unless its failure is no fault of the
// store: a missing key, a script or a library to load, a script's refusal of a stale
// plan (its caller plans again) or of its place in a run (the scheduler
// sends it again), a claim refused to an advance that ended or to a loop
// whose clock was set anew (SUPERSEDED, CLOCK), a caller that gave up or whose own time
// ran out (a long poll's timeout), a feature go-redis asks the server for
// as it connects and goes without when refused (CLIENT SETINFO before
// Redis 7.2, CLIENT MAINT_NOTIFICATIONS), and a store that has no functions
// (FUNCTION, which core asks once a client, before Redis 7.0 and on the
// embedded store).
//
// A script's run form (a run of the scheduler's jobs in one call) answers
// each job's failure as an item of its answer: each counts as the failure
// of a script of its own would.
func (h redisHook) count(ctx context.Context, cmd redis.Cmder, err error) {
	if err == nil {
		if c, ok := cmd.(*redis.Cmd); ok && (strings.HasPrefix(cmd.Name(), "eval") || cmd.Name() == "fcall") {
			answers, _ := c.Val().([]any)
			for _, a := range answers {
				if err, ok := a.(error); ok {
					h.count(ctx, cmd, err)
				}
			}
		}
		return
	}
	if errors.Is(err, redis.Nil) || core.NotLoaded(err) || redis.HasErrorPrefix(err, "STALE") ||
		redis.HasErrorPrefix(err, "RUN") || redis.HasErrorPrefix(err, "SUPERSEDED") || redis.HasErrorPrefix(err, "CLOCK") || ctx.Err() != nil {
		return
	}
	if cmd.Name() == "client" && redis.HasErrorPrefix(err, "unknown subcommand") ||
		cmd.Name() == "function" && redis.HasErrorPrefix(err, "unknown command") {
		return
	}
	h.errors.WithLabelValues(strings.ToLower(cmd.Name())).Inc()
	if core.StoreUnavailable(err) {
		h.health.set(err)
	}
}

// poolCollector serves the state of the store client's connection pool,
// read at each scrape: when requests answer 503 because the store did not
// answer in time, it tells a pool too small for the load (commands waiting
// for a connection, giving up) from a Redis too slow.
type poolCollector struct{ rdb redis.UniversalClient }

var (
	poolConns = prometheus.NewDesc("smsim_redis_pool_connections",
		"Connections of this instance to Redis, by state: idle, or in_use by a command: its pool's, and those of its script calls' batches. Pub/Sub's connection is not among them.",
		[]string{"state"}, nil)
	poolWaits = prometheus.NewDesc("smsim_redis_pool_waits_total",
		"Commands of this instance that waited for a connection of its pool, every one being in use, and got one.", nil, nil)
	poolWaited = prometheus.NewDesc("smsim_redis_pool_wait_seconds_total",
		"Real seconds the commands of smsim_redis_pool_waits_total waited, all together.", nil, nil)
	poolTimeouts = prometheus.NewDesc("smsim_redis_pool_timeouts_total",
		"Commands of this instance that gave up waiting for a connection of its pool (--store-timeout): each failed, and its request answered 503.", nil, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolConns
	ch <- poolWaits
	ch <- poolWaited
	ch <- poolTimeouts
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.rdb.PoolStats()
	idle, inUse := int64(s.IdleConns), max(int64(s.TotalConns)-int64(s.IdleConns), 0)
	if p := s.PipelineStats; p != nil { // the connections of the script calls' batches (core.ScriptBatches)
		idle += int64(p.IdleConns)
		inUse += max(int64(p.TotalConns)-int64(p.IdleConns), 0)
	}
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(inUse), "in_use")
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(poolWaited, prometheus.CounterValue, float64(s.WaitDurationNs)/1e9)
	ch <- prometheus.MustNewConstMetric(poolTimeouts, prometheus.CounterValue, float64(s.Timeouts))
}
