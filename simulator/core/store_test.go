package core_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
)

// A client of the store never sends a command twice, and bounds each
// wait by the timeout.
func TestStoreOptions(t *testing.T) {
	o := core.StoreOptions(&redis.Options{Addr: "127.0.0.1:1"}, 300*time.Millisecond)
	if o.MaxRetries != -1 || o.DialerRetries != 1 || !o.ContextTimeoutEnabled ||
		o.DialTimeout != 300*time.Millisecond || o.ReadTimeout != 300*time.Millisecond ||
		o.WriteTimeout != 300*time.Millisecond || o.PoolTimeout != 300*time.Millisecond {
		t.Fatalf("options %+v", o)
	}
	if d := core.StoreOptions(&redis.Options{}, 0).ReadTimeout; d != core.DefaultStoreTimeout {
		t.Fatalf("the default timeout: %s", d)
	}
	if n := o.PoolSize; n != core.DefaultPoolSize {
		t.Fatalf("the default pool: %d connections, want %d", n, core.DefaultPoolSize)
	}
	if n := core.StoreOptions(&redis.Options{PoolSize: 7}, 0).PoolSize; n != 7 {
		t.Fatalf("a pool of 7 asked for: %d", n)
	}
	url, err := redis.ParseURL("redis://127.0.0.1:6379/0?pool_size=9")
	if err != nil {
		t.Fatal(err)
	}
	if n := core.StoreOptions(url, 0).PoolSize; n != 9 {
		t.Fatalf("pool_size=9 in the URL: %d connections", n)
	}
	if n := core.StoreClusterOptions(&redis.ClusterOptions{}, 0).PoolSize; n != core.DefaultPoolSize {
		t.Fatalf("a cluster's default pool: %d connections a node, want %d", n, core.DefaultPoolSize)
	}
	// a dead master sends no MOVED: the slots are read again within seconds
	if d := core.StoreClusterOptions(&redis.ClusterOptions{}, 0).ClusterStateReloadInterval; d != core.ClusterReload || d > 5*time.Second {
		t.Fatalf("a cluster's slots read again every %s, want %s", d, core.ClusterReload)
	}
	c := redis.NewClient(o)
	defer c.Close()
	retrying := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer retrying.Close()
	if !core.NeverRetries(c) || core.NeverRetries(retrying) {
		t.Fatalf("NeverRetries: %v for the store's client, %v for a default one", core.NeverRetries(c), core.NeverRetries(retrying))
	}
}

// What says that the store cannot serve for now, and what does not.
func TestStoreUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{redis.ErrClosed, true},
		{proto("LOADING Redis is loading the dataset in memory"), true},
		{proto("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."), true},
		{proto("MASTERDOWN Link with MASTER is down"), true},
		{proto("ERR user_script:1: Script attempted to access nonexistent global variable 'x'"), false},
		{proto("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{redis.Nil, false},
		{nil, false},
	} {
		if got := core.StoreUnavailable(c.err); got != c.want {
			t.Errorf("%v: %v, want %v", c.err, got, c.want)
		}
	}
}

// proto is an error reply of Redis.
type proto string

func (e proto) Error() string { return string(e) }
func (proto) RedisError()     {}

// What a connection of the store's pool costs, its two ends counted (the
// embedded store's end, in the same process): each holds buffers of
// core.StoreBufferSize, not go-redis's 32 KiB each, so that a full pool of
// core.DefaultPoolSize holds a few MiB, not 16.
func TestStoreConnectionMemory(t *testing.T) {
	const n = 64
	pinned := func(o *redis.Options) uint64 {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		mem, err := redisstore.NewMemory(m)
		if err != nil {
			t.Fatal(err)
		}
		defer mem.Close()
		o.Addr, o.Dialer = "embedded", mem.Dial
		c := redis.NewClient(o)
		defer c.Close()
		ctx := context.Background()
		if err := c.Ping(ctx).Err(); err != nil { // the client's first buffers exist
			t.Fatal(err)
		}
		before := liveHeap()
		conns := make([]*redis.Conn, n)
		for i := range conns {
			conns[i] = c.Conn()
			if err := conns[i].Ping(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		after := liveHeap()
		for _, cn := range conns {
			cn.Close()
		}
		return (after - before) / n
	}
	per := pinned(core.StoreOptions(&redis.Options{}, 0))
	defaults := pinned(&redis.Options{PoolSize: n + 1})
	t.Logf("a connection of the store's pool: %d bytes (%d with go-redis's defaults)", per, defaults)
	const most = 28 << 10 // 8 KiB of it the buffers, most of the rest the embedded end
	if per > most {
		t.Fatalf("a connection of the store's pool costs %d bytes, want at most %d", per, most)
	}
	if n := core.StoreOptions(&redis.Options{ReadBufferSize: 1 << 16, WriteBufferSize: 1 << 15}, 0); n.ReadBufferSize != 1<<16 || n.WriteBufferSize != 1<<15 {
		t.Fatalf("buffers asked for: read %d, write %d", n.ReadBufferSize, n.WriteBufferSize)
	}
	if o := core.StoreClusterOptions(&redis.ClusterOptions{}, 0); o.ReadBufferSize != core.StoreBufferSize || o.WriteBufferSize != core.StoreBufferSize {
		t.Fatalf("a cluster's buffers: read %d, write %d", o.ReadBufferSize, o.WriteBufferSize)
	}
}

// liveHeap answers the bytes of the heap's live objects, after a
// collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
