package redisstore_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core/redisstore"
	"smsim/simulator/core/testkit"
)

// A URL names one server, or a cluster by its scheme or its addr
// parameters; go-redis's parameters carry over, and what is wrong is
// refused with the reason.
func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		url     string
		cluster bool
		addrs   []string
		check   func(t *testing.T, c redis.UniversalClient)
		err     string
	}{
		{url: "redis://127.0.0.1:6379/2", addrs: []string{"127.0.0.1:6379"}, check: func(t *testing.T, c redis.UniversalClient) {
			if db := c.(*redis.Client).Options().DB; db != 2 {
				t.Errorf("db %d, want 2", db)
			}
		}},
		{url: "redis://127.0.0.1:6379", addrs: []string{"127.0.0.1:6379"}},
		{url: "unix:///run/redis/redis.sock?db=1", addrs: []string{"/run/redis/redis.sock"}, check: func(t *testing.T, c redis.UniversalClient) {
			if o := c.(*redis.Client).Options(); o.Network != "unix" || o.DB != 1 {
				t.Errorf("network %q, db %d, want unix and 1", o.Network, o.DB)
			}
		}},
		{url: "redis+cluster://127.0.0.1:7001?addr=127.0.0.1:7002&addr=127.0.0.1:7003", cluster: true,
			addrs: []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"}},
		{url: "redis+cluster://127.0.0.1:7001", cluster: true, addrs: []string{"127.0.0.1:7001"}},
		{url: "redis+cluster://127.0.0.1:7001/0", cluster: true, addrs: []string{"127.0.0.1:7001"}},
		{url: "redis://127.0.0.1:7001?addr=127.0.0.1:7002", cluster: true, addrs: []string{"127.0.0.1:7001", "127.0.0.1:7002"}},
		{url: "rediss+cluster://user:secret@cache.example:7001?pool_size=7", cluster: true, addrs: []string{"cache.example:7001"},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := c.(*redis.ClusterClient).Options()
				if o.TLSConfig == nil || o.TLSConfig.ServerName != "cache.example" || o.Username != "user" || o.Password != "secret" || o.PoolSize != 7 {
					t.Errorf("options: TLS %v, user %q, password %q, pool %d", o.TLSConfig, o.Username, o.Password, o.PoolSize)
				}
			}},
		{url: "redis+cluster://127.0.0.1:7001/3", err: `redis: a Redis Cluster has only database 0, not "3"`},
		{url: "redis+cluster://127.0.0.1:7001?addr=nohost", err: "redis: unable to parse addr param: nohost"},
		{url: "redis+cluster://127.0.0.1:7001?speed=fast", err: "redis: unexpected option: speed"},
		{url: "http+cluster://127.0.0.1:7001", err: "redis: invalid URL scheme: http"},
		{url: "http://127.0.0.1:6379", err: "redis: invalid URL scheme: http"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			if got := redisstore.Cluster(tc.url); got != tc.cluster && tc.err == "" {
				t.Errorf("Cluster: %v, want %v", got, tc.cluster)
			}
			c, err := redisstore.Open(tc.url)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Open: %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, isCluster := c.(*redis.ClusterClient); isCluster != tc.cluster {
				t.Errorf("a client of %T, want a cluster's: %v", c, tc.cluster)
			}
			if got := redisstore.Addrs(c); !slices.Equal(got, tc.addrs) {
				t.Errorf("addrs %q, want %q", got, tc.addrs)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

// ForEachMaster reaches every master once: the server itself, or each
// master of a cluster (SMSIM_TEST_REDIS_URL), and a key written is on
// exactly one of them.
func TestForEachMaster(t *testing.T) {
	r := testkit.StartRedis(t)
	c := r.Client(t)
	ctx := context.Background()
	want := 1
	if cc, ok := c.(*redis.ClusterClient); ok {
		shards, err := cc.ClusterShards(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		want = 0
		for _, sh := range shards {
			for _, n := range sh.Nodes {
				if n.Role == "master" && len(sh.Slots) > 0 {
					want++
				}
			}
		}
	}
	key := r.Prefix + ":{ns}:k"
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reached []string
	holding := 0
	err := redisstore.ForEachMaster(ctx, c, func(ctx context.Context, m *redis.Client) error {
		found, err := m.Keys(ctx, key).Result() // what the node holds: EXISTS of another's slot is MOVED
		mu.Lock()
		defer mu.Unlock()
		reached = append(reached, m.Options().Addr)
		holding += len(found)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(reached)
	if masters, err := redisstore.Masters(ctx, c); err != nil || !slices.Equal(masters, reached) {
		t.Errorf("Masters: %q, %v; want %q", masters, err, reached)
	}
	if len(reached) != want || len(slices.Compact(slices.Clone(reached))) != want {
		t.Errorf("reached %q, want %d masters once each", reached, want)
	}
	if holding != 1 {
		t.Errorf("%d masters hold the key, want 1", holding)
	}
}

// A cluster's URL may name a node that is down, before those that are up:
// the client learns the cluster from any it reaches — a miniredis answers
// as a cluster of one node. A Redis server that is not in a cluster
// refuses a cluster's client.
func TestClusterURLWithANodeDown(t *testing.T) {
	r := testkit.StartRedis(t)
	ctx := context.Background()
	c := r.Client(t)
	addrs := redisstore.Addrs(c)
	u := "redis+cluster://127.0.0.1:1?dial_timeout=200ms&dialer_retries=1&max_retries=-1"
	for _, a := range addrs {
		u += "&addr=" + a
	}
	down, err := redisstore.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	key := r.Prefix + ":{ns}:seen"
	err = down.Set(ctx, key, "1", 0).Err()
	// the client asks a node it knows, chosen at random, for the cluster's
	// slots: it may take a few calls to find one that answers (each call
	// tries once: max_retries=-1)
	for i := 0; i < 50 && err != nil && strings.Contains(err.Error(), "127.0.0.1:1:"); i++ {
		err = down.Set(ctx, key, "1", 0).Err()
	}
	if _, cluster := c.(*redis.ClusterClient); !cluster && r.Mini == nil {
		if err == nil || !strings.Contains(err.Error(), "cluster support disabled") {
			t.Fatalf("a cluster's client on one server (%q): %v, want its cluster support disabled", addrs, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("through %s: %v", u, err)
	}
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "1" {
		t.Fatalf("%s holds %q, %v; want 1", key, v, err)
	}
}
