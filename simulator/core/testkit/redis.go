package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core/redisstore"
)

// EnvURL is the environment variable that selects a real Redis for the
// tests: one server, redis://127.0.0.1:6379/0, or a Redis Cluster,
// redis+cluster://127.0.0.1:7001?addr=127.0.0.1:7002 (redisstore.Open).
const EnvURL = "SMSIM_TEST_REDIS_URL"

// RealRedis tells whether the tests run against a real Redis server.
func RealRedis() bool { return os.Getenv(EnvURL) != "" }

// Redis is a Redis for one test: the real server of SMSIM_TEST_REDIS_URL,
// or an in-process miniredis of the test's own.
type Redis struct {
	URL    string // redis://… for clients of other processes or server instances
	Prefix string // the key prefix of this test: every key it writes starts with it
	Mini   *miniredis.Miniredis
	memory *redisstore.Memory // Mini, as smsim reaches its embedded store
}

// StartRedis gives the test a Redis: the real server of
// SMSIM_TEST_REDIS_URL, or a new miniredis stopped at the test's end. Each
// test gets a key prefix of its own, so that tests of several packages can
// share one real server at once; the keys under it are deleted at the end.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{Prefix: NewPrefix(t, "smsimtest")}
	if u := os.Getenv(EnvURL); u != "" {
		r.URL = u
		t.Cleanup(func() {
			c, err := dial(u, nil)
			if err != nil {
				t.Errorf("delete the keys of %s: %v", r.Prefix, err)
				return
			}
			defer c.Close()
			if err := DeleteKeys(context.Background(), c, r.Prefix+":*"); err != nil {
				t.Errorf("delete the keys of %s: %v", r.Prefix, err)
			}
		})
		return r
	}
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatalf("start miniredis: %v", err)
	}
	memory, err := redisstore.NewMemory(m)
	if err != nil {
		m.Close()
		t.Fatalf("start miniredis: %v", err)
	}
	t.Cleanup(memory.Close)
	r.Mini, r.memory = m, memory
	r.URL = "redis://" + m.Addr()
	return r
}

// Client opens a client of the Redis, closed at the test's end.
// On miniredis, it is reached in memory, as smsim reaches its embedded
// store (redisstore.Memory).
func (r *Redis) Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	var memory func(context.Context, string, string) (net.Conn, error)
	if r.memory != nil {
		memory = r.memory.Dial
	}
	c, err := dial(r.URL, memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping %s: %v", r.URL, err)
	}
	return c
}

// StoreTimeout bounds each call of a test's store (simulator.Config's
// StoreTimeout): generous, since a test is not a timing test and a busy
// machine may keep a shared Redis waiting for a while.
const StoreTimeout = 10 * time.Second

// dial opens a client of url — one server or a Redis Cluster — as smsim's
// store opens one (core.StoreOptions, which this package, below core,
// cannot call): it never sends a command twice, and a call's context
// bounds its waits, at most StoreTimeout. A dialer, when given, replaces
// the one server's (redisstore.Memory).
func dial(url string, dialer func(context.Context, string, string) (net.Conn, error)) (redis.UniversalClient, error) {
	c, err := redisstore.OpenWith(url, func(o *redis.Options) {
		if dialer != nil {
			o.Dialer = dialer
		}
		o.MaxRetries = -1
		o.ContextTimeoutEnabled = true
		o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = StoreTimeout, StoreTimeout, StoreTimeout
	}, func(o *redis.ClusterOptions) {
		o.MaxRetries, o.MaxRedirects = -1, -1
		o.ContextTimeoutEnabled = true
		o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = StoreTimeout, StoreTimeout, StoreTimeout
	})
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	return c, nil
}

// NewPrefix answers base with a random suffix: a key prefix no other test
// uses.
func NewPrefix(t testing.TB, base string) string {
	p, err := UniquePrefix(base)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// UniquePrefix answers base with a random suffix, for callers without a
// test at hand.
func UniquePrefix(base string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("draw a key prefix: %w", err)
	}
	return base + "-" + hex.EncodeToString(b[:]), nil
}

// DeleteKeys deletes every key of c that matches pattern (SCAN MATCH), on
// every master of a cluster, in batches of one round trip each.
func DeleteKeys(ctx context.Context, c redis.UniversalClient, pattern string) error {
	return redisstore.ForEachMaster(ctx, c, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			// A key a command each: on a cluster, the keys of one node
			// lie in many slots, which one DEL may not span.
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range batch {
					p.Del(ctx, k)
				}
				return nil
			})
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		return flush()
	})
}

// Keys answers every key of c that matches pattern (SCAN MATCH), on every
// master of a cluster, sorted: KEYS answers only those of the node it
// reaches.
func Keys(ctx context.Context, c redis.UniversalClient, pattern string) ([]string, error) {
	var mu sync.Mutex
	var keys []string
	err := redisstore.ForEachMaster(ctx, c, func(ctx context.Context, c *redis.Client) error {
		found, err := c.Keys(ctx, pattern).Result()
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return err
	})
	slices.Sort(keys)
	return keys, err
}

// KeyReads counts the reads of the keys by name a client sends — SCAN,
// and CLUSTER GETKEYSINSLOT, which reads a slot's keys on a cluster — and
// names every command it sent (CountKeyReads).
type KeyReads struct {
	mu    sync.Mutex
	reads int
	sent  map[string]int
}

// CountKeyReads answers a count of the reads of the keys rdb sends: on a
// cluster, those its masters are sent, through the clients the cluster's
// client keeps for them, as a reset or an upgrade sends them to the master
// of the namespace's slot (or to each).
func CountKeyReads(t testing.TB, rdb redis.UniversalClient) *KeyReads {
	t.Helper()
	c := &KeyReads{}
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		rdb.AddHook(c)
		return c
	}
	if err := cc.ForEachMaster(context.Background(), func(_ context.Context, m *redis.Client) error {
		m.AddHook(c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// Take answers the reads counted and every command sent since the last
// Take, and starts again.
func (c *KeyReads) Take() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, detail := c.reads, fmt.Sprint(c.sent)
	c.reads, c.sent = 0, nil
	return n, detail
}

func (c *KeyReads) add(cmd redis.Cmder) {
	name := strings.ToLower(cmd.Name())
	if args := cmd.Args(); name == "cluster" && len(args) > 1 {
		name += " " + strings.ToLower(fmt.Sprint(args[1]))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent == nil {
		c.sent = map[string]int{}
	}
	c.sent[name]++
	if name == "scan" || name == "cluster getkeysinslot" {
		c.reads++
	}
}

func (c *KeyReads) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *KeyReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd)
		return next(ctx, cmd)
	}
}
func (c *KeyReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.add(cmd)
		}
		return next(ctx, cmds)
	}
}
