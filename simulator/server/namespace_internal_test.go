package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/redistest"
)

func (s *Server) built() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.spaces {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// The supervisor builds and runs the namespaces other processes use, and
// drops those no request touched within the idle period, in this process
// and in the registry's eyes alike; the default namespace stays.
func TestSupervisorFollowsTheRegistry(t *testing.T) {
	r := redistest.Start(t)
	rdb := r.Client(t)
	ctx := context.Background()
	s, err := New(ctx, Config{Redis: rdb, KeyPrefix: r.Prefix, NamespaceIdle: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()

	now := time.Now()
	key := s.registryKey()
	rdb.ZAdd(ctx, key,
		redis.Z{Score: float64(now.UnixMilli()), Member: "elsewhere"},                  // used by another process a moment ago
		redis.Z{Score: float64(now.Add(-2 * time.Hour).UnixMilli()), Member: "asleep"}, // idle for two hours
		redis.Z{Score: float64(now.UnixMilli()), Member: "bad{name}"},                  // not a namespace: ignored
	)
	stale, err := s.namespace(ctx, "stale") // used here, then idle
	if err != nil {
		t.Fatal(err)
	}
	if err := s.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.built(); !slices.Equal(got, []string{"default", "elsewhere", "stale"}) {
		t.Fatalf("built %v, want default, elsewhere and stale", got)
	}
	s.mu.Lock()
	running := s.spaces["elsewhere"].stop != nil
	s.mu.Unlock()
	if !running {
		t.Fatal("the namespace another process uses was built but not run")
	}

	old := now.Add(-2 * time.Hour).UnixMilli()
	rdb.ZAdd(ctx, key, redis.Z{Score: float64(old), Member: "stale"}, redis.Z{Score: float64(old), Member: "default"})
	stale.touched.Store(old)
	if err := s.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.built(); !slices.Equal(got, []string{"default", "elsewhere"}) {
		t.Fatalf("built %v after stale went idle, want default and elsewhere", got)
	}
	// a request wakes it again
	if _, err := s.namespace(ctx, "stale"); err != nil {
		t.Fatal(err)
	}
	if got := s.built(); !slices.Equal(got, []string{"default", "elsewhere", "stale"}) {
		t.Fatalf("built %v after a request to stale, want it back", got)
	}
	if sc, _ := rdb.ZScore(ctx, key, "stale").Result(); int64(sc) < now.UnixMilli() {
		t.Fatalf("the registry holds stale's last use at %v, before the request that woke it", sc)
	}
}
