package simulator

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
	"smsim/simulator/core/testkit"
)

// The pool's metrics tell a pool too small for the load from a slow
// Redis: with a pool of one connection, held by a command that blocks, the
// next command waits for it and gets it once it is free, or gives up when
// the store timeout passes first (that one failed: its request answered
// 503).
func TestStorePoolMetrics(t *testing.T) {
	r := testkit.StartRedis(t)
	const timeout = 200 * time.Millisecond
	rdb, err := redisstore.OpenWith(r.URL,
		func(o *redis.Options) { core.StoreOptions(o, timeout); o.PoolSize = 1 },
		func(o *redis.ClusterOptions) { core.StoreClusterOptions(o, timeout); o.PoolSize = 1 })
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	other := r.Client(t) // frees the blocked command
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	if _, err := New(ctx, Config{Redis: rdb, KeyPrefix: r.Prefix, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	key := r.Prefix + ":{pool}:wake"
	// The pool's series are read from a registry of their own: a scrape of
	// the world's reads the store too (smsim_orders), which would wait for
	// the pool's one connection along with the commands measured.
	pool := prometheus.NewRegistry()
	pool.MustRegister(poolCollector{rdb})
	value := func(name string, labels ...string) float64 {
		t.Helper()
		if len(labels) > 0 {
			return testkit.Metric(t, pool, name, map[string]string{"state": labels[0]})
		}
		return testkit.Metric(t, pool, name, nil)
	}
	// hold starts a command that keeps the pool's one connection until
	// wake frees it.
	hold := func() (wake func()) {
		done := make(chan error, 1)
		go func() { done <- rdb.BLPop(ctx, 0, key).Err() }()
		testkit.WaitFor(t, "the blocking command takes the connection", func() bool {
			return value("smsim_redis_pool_connections", "in_use") == 1
		})
		return func() {
			if err := other.LPush(ctx, key, "x").Err(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("the blocking command: %v", err)
			}
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "smsim_redis_pool_") {
			series[mf.GetName()] = len(mf.GetMetric())
		}
	}
	if want := map[string]int{"smsim_redis_pool_connections": 2, "smsim_redis_pool_waits_total": 1,
		"smsim_redis_pool_wait_seconds_total": 1, "smsim_redis_pool_timeouts_total": 1}; !maps.Equal(series, want) {
		t.Fatalf("series of the pool %v, want %v", series, want)
	}
	if got := value("smsim_redis_pool_connections", "idle"); got < 1 {
		t.Fatalf("idle connections %v, want the one the world used (one a node of a cluster)", got)
	}

	// node is the client of the server that holds key: a cluster's pool
	// stats leave out the commands waiting, its nodes' tell them.
	node, _ := rdb.(*redis.Client)
	if c, ok := rdb.(*redis.ClusterClient); ok {
		if node, err = c.MasterForKey(ctx, key); err != nil {
			t.Fatal(err)
		}
	}

	// the store timeout passes first: the command gives up
	wake := hold()
	if err := rdb.Get(ctx, key).Err(); !errors.Is(err, redis.ErrPoolTimeout) {
		t.Fatalf("a command with the pool's connection held: %v, want %v", err, redis.ErrPoolTimeout)
	}
	wake()
	if got := value("smsim_redis_pool_timeouts_total"); got != 1 {
		t.Fatalf("pool timeouts %v, want 1", got)
	}
	if got := value("smsim_redis_pool_waits_total"); got != 0 {
		t.Fatalf("pool waits %v, want 0: the one that gave up is no wait that got a connection", got)
	}

	// the connection comes free first: the command waits for it and runs
	wake = hold()
	got := make(chan error, 1)
	go func() { got <- rdb.Get(ctx, key).Err() }()
	testkit.WaitFor(t, "the command waits for the connection", func() bool { return node.PoolStats().PendingRequests >= 1 })
	wake()
	if err := <-got; err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("a command that waited for the connection: %v", err)
	}
	if got := value("smsim_redis_pool_waits_total"); got != 1 {
		t.Fatalf("pool waits %v, want 1", got)
	}
	if got := value("smsim_redis_pool_wait_seconds_total"); got <= 0 || got >= timeout.Seconds() {
		t.Fatalf("pool wait %vs, want more than 0 and less than the timeout", got)
	}
	if got := value("smsim_redis_pool_timeouts_total"); got != 1 {
		t.Fatalf("pool timeouts %v, want still 1", got)
	}
}

// The pool's connections count the one the script calls' batches hold
// (core.ScriptBatches) beside the pool's own.
func TestStorePoolMetricsCountTheBatchesConnection(t *testing.T) {
	o := core.StoreOptions(&redis.Options{Addr: miniredis.RunT(t).Addr()}, time.Second)
	o.AutoPipelineOptions = core.ScriptBatches()
	rdb := redis.NewClient(o)
	defer rdb.Close()
	ctx := context.Background()
	pool := prometheus.NewRegistry()
	pool.MustRegister(poolCollector{rdb})
	conns := func() float64 {
		t.Helper()
		return testkit.Metric(t, pool, "smsim_redis_pool_connections", map[string]string{"state": "idle"}) +
			testkit.Metric(t, pool, "smsim_redis_pool_connections", map[string]string{"state": "in_use"})
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if got := conns(); got != 1 {
		t.Fatalf("connections after a command: %v, want the pool's one", got)
	}
	ap, err := rdb.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	if err := ap.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	batches := rdb.PoolStats().PipelineStats
	if batches == nil || batches.TotalConns == 0 {
		t.Fatalf("the batches hold no connection of their own: %+v", batches)
	}
	if got, want := conns(), 1+float64(batches.TotalConns); got != want {
		t.Errorf("connections after a batch: %v, want %v: the pool's one and the batches'", got, want)
	}
}
