package simulator

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/redistest"
)

// The supervisor builds and runs the namespaces other processes use, and
// drops those no request touched within the idle period, in this process
// and in the registry's eyes alike; the default namespace stayw.
func TestSupervisorFollowsTheRegistry(t *testing.T) {
	r := redistest.Start(t)
	rdb := r.Client(t)
	ctx := context.Background()
	w, err := New(ctx, Config{Redis: rdb, KeyPrefix: r.Prefix, NamespaceIdle: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	now := time.Now()
	key := w.registryKey()
	rdb.ZAdd(ctx, key,
		redis.Z{Score: float64(now.UnixMilli()), Member: "elsewhere"},                  // used by another process a moment ago
		redis.Z{Score: float64(now.Add(-2 * time.Hour).UnixMilli()), Member: "asleep"}, // idle for two hours
		redis.Z{Score: float64(now.UnixMilli()), Member: "bad{name}"},                  // not a namespace: ignored
	)
	stale, err := w.Namespace(ctx, "stale") // used here, then idle
	if err != nil {
		t.Fatal(err)
	}
	if err := w.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.built(); !slices.Equal(got, []string{"default", "elsewhere", "stale"}) {
		t.Fatalf("built %v, want default, elsewhere and stale", got)
	}
	w.mu.Lock()
	running := w.spaces["elsewhere"].stop != nil
	w.mu.Unlock()
	if !running {
		t.Fatal("the namespace another process uses was built but not run")
	}

	old := now.Add(-2 * time.Hour).UnixMilli()
	rdb.ZAdd(ctx, key, redis.Z{Score: float64(old), Member: "stale"}, redis.Z{Score: float64(old), Member: "default"})
	stale.touched.Store(old)
	if err := w.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.built(); !slices.Equal(got, []string{"default", "elsewhere"}) {
		t.Fatalf("built %v after stale went idle, want default and elsewhere", got)
	}
	// a request wakes it again
	if _, err := w.Namespace(ctx, "stale"); err != nil {
		t.Fatal(err)
	}
	if got := w.built(); !slices.Equal(got, []string{"default", "elsewhere", "stale"}) {
		t.Fatalf("built %v after a request to stale, want it back", got)
	}
	if sc, _ := rdb.ZScore(ctx, key, "stale").Result(); int64(sc) < now.UnixMilli() {
		t.Fatalf("the registry holds stale's last use at %v, before the request that woke it", sc)
	}
}
