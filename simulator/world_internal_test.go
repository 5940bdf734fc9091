package simulator

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/webhook"
)

// The supervisor builds and runs the namespaces other processes use, and
// drops those no request touched within the idle period, in this process
// and in the registry's eyes alike; the default namespace stays.
func TestSupervisorFollowsTheRegistry(t *testing.T) {
	r := testkit.StartRedis(t)
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
	stale.used.Store(old)
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

// A process that no other shares its store with (PrivateStore, as the
// embedded store is) supervises its own namespaces without reading the
// registry: a namespace the registry lists as in use is not built, and one
// of its own that went idle is dropped as before. A process that shares
// its store reads the registry and builds it.
func TestSupervisorOfAPrivateStoreReadsNoRegistry(t *testing.T) {
	for _, private := range []bool{true, false} {
		t.Run(fmt.Sprintf("private=%v", private), func(t *testing.T) {
			r := testkit.StartRedis(t)
			rdb := r.Client(t)
			reads := &registryReads{key: core.NamespacesKey(r.Prefix)}
			rdb.AddHook(reads)
			ctx := context.Background()
			w, err := New(ctx, Config{Redis: rdb, KeyPrefix: r.Prefix, NamespaceIdle: time.Hour, PrivateStore: private})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(time.Now().UnixMilli()), Member: "elsewhere"})
			mine, err := w.Namespace(ctx, "mine")
			if err != nil {
				t.Fatal(err)
			}
			if err := w.superviseOnce(ctx); err != nil {
				t.Fatal(err)
			}
			want := []string{"default", "elsewhere", "mine"}
			if private {
				want = []string{"default", "mine"}
			}
			if got := w.built(); !slices.Equal(got, want) {
				t.Fatalf("built %v, want %v", got, want)
			}
			old := time.Now().Add(-2 * time.Hour).UnixMilli()
			rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(old), Member: "mine"})
			mine.touched.Store(old)
			mine.used.Store(old)
			if err := w.superviseOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := w.built(); slices.Contains(got, "mine") {
				t.Fatalf("built %v after mine went idle, want it dropped", got)
			}
			if n := reads.n.Load(); private && n != 0 {
				t.Fatalf("the supervisor of a private store read the registry's range %d times, want none", n)
			} else if !private && n == 0 {
				t.Fatal("the supervisor of a shared store never read the registry's range")
			}
		})
	}
}

// registryReads counts the range reads of the registry (key) a client
// sends: ZRANGEBYSCORE, alone or in a pipeline.
type registryReads struct {
	key string
	n   atomic.Int64
}

func (h *registryReads) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *registryReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.see(cmd)
		return next(ctx, cmd)
	}
}

func (h *registryReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.see(cmd)
		}
		return next(ctx, cmds)
	}
}

func (h *registryReads) see(cmd redis.Cmder) {
	if a := cmd.Args(); cmd.Name() == "zrangebyscore" && len(a) > 1 && a[1] == h.key {
		h.n.Add(1)
	}
}

// The supervisor gives the memory of the namespaces it dropped back to the
// system, at most once a minute, and only when it dropped some.
func TestSupervisorGivesMemoryBack(t *testing.T) {
	r := testkit.StartRedis(t)
	ctx := context.Background()
	w, err := New(ctx, Config{Redis: r.Client(t), KeyPrefix: r.Prefix, NamespaceIdle: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	releases := 0 // guarded by w.relMu, which release is called under
	w.release = func() { releases++ }
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	aMinuteOn := func() {
		w.relMu.Lock()
		w.released = w.released.Add(-releaseEvery)
		w.relMu.Unlock()
	}
	idle := func(name string) {
		n, err := w.Namespace(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * time.Hour).UnixMilli()
		r.Client(t).ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(old), Member: name})
		n.touched.Store(old)
		n.used.Store(old)
	}
	supervise := func(want int, when string) {
		t.Helper()
		if err := w.superviseOnce(ctx); err != nil {
			t.Fatal(err)
		}
		w.relMu.Lock()
		got := releases
		w.relMu.Unlock()
		if got != want {
			t.Fatalf("%s: %d releases, want %d", when, got, want)
		}
	}
	if _, err := w.Namespace(ctx, "busy"); err != nil {
		t.Fatal(err)
	}
	supervise(0, "nothing dropped")
	idle("first")
	supervise(1, "a namespace dropped")
	idle("second")
	supervise(1, "another dropped within the minute")
	supervise(1, "nothing more dropped, within the minute")
	aMinuteOn()
	supervise(2, "a minute after the last, with the second dropped since")
	aMinuteOn()
	supervise(2, "a minute on, nothing dropped since")
	if got := w.built(); !slices.Equal(got, []string{"busy", "default"}) {
		t.Fatalf("built %v, want busy and default", got)
	}
}

// A namespace in use holds no goroutine of its own: the world's one loop
// serves the schedulers of all of them, a feed reads only while someone
// watches, and a webhook dispatcher runs only while the namespace has
// webhooks.
func TestNamespacesHoldNoGoroutines(t *testing.T) {
	r := testkit.StartRedis(t)
	ctx := context.Background()
	w, err := New(ctx, Config{Redis: r.Client(t), KeyPrefix: r.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	settle := func() int {
		// the loop looks at every scheduler added: wait until it has
		for deadline := time.Now().Add(10 * time.Second); ; {
			busy := w.loop.Busy()
			if busy == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d schedulers still waiting for their first look", busy)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return runtime.NumGoroutine()
	}
	base := settle()
	const n = 300
	for i := range n {
		if _, err := w.Namespace(ctx, fmt.Sprintf("team-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.loop.Len(); got != n+1 {
		t.Fatalf("the loop serves %d schedulers, want %d", got, n+1)
	}
	// A few goroutines come and go with the store's connections; none
	// belongs to a namespace.
	if grown := settle() - base; grown > 20 {
		t.Fatalf("%d namespaces added %d goroutines", n, grown)
	}

	ns, err := w.Namespace(ctx, "team-7")
	if err != nil {
		t.Fatal(err)
	}
	dispatching := func() bool {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		return ns.hooksStop != nil
	}
	if dispatching() {
		t.Fatal("a namespace without webhooks runs a dispatcher")
	}
	h, err := ns.RegisterWebhook(ctx, webhook.Hook{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if !dispatching() {
		t.Fatal("a namespace with a webhook runs no dispatcher")
	}
	if err := w.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !dispatching() {
		t.Fatal("the supervisor stopped the dispatcher of a namespace with a webhook")
	}
	if err := ns.DeleteWebhook(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	if dispatching() {
		t.Fatal("the dispatcher runs on after the last webhook went")
	}
}

// A world whose clock would start past the latest simulated time is not
// built; one that starts on it is.
func TestClockStartPastMaxTimeIsRefused(t *testing.T) {
	r := testkit.StartRedis(t)
	ctx := context.Background()
	_, err := New(ctx, Config{Redis: r.Client(t), KeyPrefix: r.Prefix, ClockStart: core.ClockStart{At: core.MaxTime().Add(time.Millisecond)}})
	const want = "clock start 9900-01-01T00:00:00.001Z: past the latest simulated time, 9900-01-01T00:00:00Z"
	if err == nil || err.Error() != want {
		t.Fatalf("New: %v, want %q", err, want)
	}
	w, err := New(ctx, Config{Redis: r.Client(t), KeyPrefix: r.Prefix, ClockStart: core.ClockStart{At: core.MaxTime(), Paused: true}})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := w.Namespace(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if now, err := ns.Clock().Now(ctx); err != nil || !now.Equal(core.MaxTime()) {
		t.Fatalf("clock reads %s, %v; want %s", now, err, core.MaxTime())
	}
}

// BenchmarkSupervise is the supervisor's look at the registry (once a
// second) with that many namespaces in use: its cost a namespace should not
// grow with their number (it did, as a search of the registry's list for
// each namespace: 35% of a core at rest with 10,000).
func BenchmarkSupervise(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := testkit.StartRedis(b)
			rdb := r.Client(b)
			ctx := context.Background()
			w, err := New(ctx, Config{Redis: rdb, KeyPrefix: r.Prefix, NamespaceIdle: time.Hour, MaxNamespaces: n + 10})
			if err != nil {
				b.Fatal(err)
			}
			now := float64(time.Now().UnixMilli())
			zs := make([]redis.Z, n)
			for i := range zs {
				zs[i] = redis.Z{Score: now, Member: fmt.Sprintf("ns-%d", i)}
			}
			if err := rdb.ZAdd(ctx, w.registryKey(), zs...).Err(); err != nil {
				b.Fatal(err)
			}
			if err := w.superviseOnce(ctx); err != nil { // builds them
				b.Fatal(err)
			}
			defer w.Stop()
			b.ResetTimer()
			for b.Loop() {
				if err := w.superviseOnce(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/namespace")
		})
	}
}

// A key prefix with a brace is refused: the brace would be the hash tag of
// every key, and every namespace one slot of a Redis Cluster.
func TestKeyPrefixWithABraceIsRefused(t *testing.T) {
	r := testkit.StartRedis(t)
	for _, prefix := range []string{"smsim{a}", "{smsim", "smsim}"} {
		_, err := New(context.Background(), Config{Redis: r.Client(t), KeyPrefix: prefix})
		want := fmt.Sprintf("key prefix %q: must hold no { or }: the namespace in braces is the hash tag that keeps "+
			"its keys in one slot of a Redis Cluster, and a brace before it would make every namespace one slot", prefix)
		if err == nil || err.Error() != want {
			t.Errorf("New with prefix %q: %v, want %q", prefix, err, want)
		}
	}
	// nor a glob character: a reset's pattern of the prefix would match
	// other prefixes' keys (sm* those of smsim)
	for _, prefix := range []string{"sm*", "s?msim", "s[m]sim", `s\msim`} {
		if _, err := New(context.Background(), Config{Redis: r.Client(t), KeyPrefix: prefix}); err == nil || !strings.Contains(err.Error(), "must hold none of *?[]\\") {
			t.Errorf("New with prefix %q: %v, want it refused", prefix, err)
		}
	}
}

// Every namespace's webhooks go through the world's one Network: one
// client, one pool of connections, however many namespaces.
func TestNamespacesShareOneWebhookNetwork(t *testing.T) {
	r := testkit.StartRedis(t)
	ctx := context.Background()
	w, err := New(ctx, Config{Redis: r.Client(t), KeyPrefix: r.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.Namespace(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Namespace(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	if a.hooks.Network() != w.hooks || b.hooks.Network() != w.hooks {
		t.Fatalf("the namespaces' networks %p and %p, want the world's %p", a.hooks.Network(), b.hooks.Network(), w.hooks)
	}
}

// A namespace asleep — in the store, out of this process's memory — wakes
// on a read as on a write: what fell due on its running clock meanwhile is
// carried out before the read answers, and the loop takes the namespace
// while more is to come.
func TestAReadWakesASleepingNamespace(t *testing.T) {
	ctx := context.Background()
	w, _ := testWorld(t, Config{}, true)
	ns, err := w.Namespace(ctx, "sleeper")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ns.PatchFaults(ctx, []byte(`{"sync_lag":{"min":"30m","max":"30m"}}`)); err != nil {
		t.Fatal(err)
	}
	v, err := ns.MIIT().Submit(ctx, miit.SubmitRequest{Type: "remove_provider"})
	if err != nil {
		t.Fatal(err)
	}
	// asleep, as the supervisor leaves an idle namespace (its last use
	// past the idle period, so that the supervisor does not take it up
	// again); meanwhile its clock runs past the sync (moved by hand:
	// nothing carries it out)
	idle := float64(time.Now().Add(-2 * DefaultNamespaceIdle).UnixMilli())
	if err := w.rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: idle, Member: "sleeper"}).Err(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	delete(w.spaces, "sleeper")
	w.mu.Unlock()
	w.loop.Remove(ns.sched)
	ns.halt()
	running := false
	if _, err := ns.clock.Set(ctx, nil, &running); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.clock.Jump(ctx, 31*time.Minute); err != nil {
		t.Fatal(err)
	}
	read, err := w.Peek(ctx, "sleeper")
	if err != nil {
		t.Fatal(err)
	}
	mv, err := read.MIIT().MIITView(ctx, v.ID)
	if err != nil || mv.Status != miit.StatusUnderReview {
		t.Fatalf("MIIT's view read after the sync fell due: %+v, %v; want under_review", mv, err)
	}
	w.mu.Lock()
	_, awake := w.spaces["sleeper"]
	w.mu.Unlock()
	if !awake {
		t.Fatal("the namespace, its review still to come on a running clock, is not in the loop's care")
	}
}

// A namespace held in memory (default, never dropped) but idle past its
// TTL, its keys expired, starts again as new on its next write: its clock
// is made again, as for a namespace the process had dropped.
func TestAWriteRemakesANamespaceWhoseKeysExpired(t *testing.T) {
	w, r := testWorld(t, Config{Limits: core.Limits{NamespaceTTL: time.Hour}}, false)
	if r.Mini == nil {
		t.Skip("expiry itself is tested on miniredis, whose TTLs run down by hand")
	}
	ctx := context.Background()
	write := func() *Namespace {
		n, settle, err := w.Write(ctx, core.DefaultNamespace)
		if err != nil {
			t.Fatal(err)
		}
		if settle != nil {
			if err := settle(ctx, true); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	n := write()
	// idle for two hours: its last use that long ago, here and in the registry
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	n.touched.Store(old)
	if err := w.rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(old), Member: core.DefaultNamespace}).Err(); err != nil {
		t.Fatal(err)
	}
	r.Mini.FastForward(2 * time.Hour) // past the TTL: its keys expire
	if n, _ := w.rdb.Exists(ctx, n.ks.Clock()).Result(); n != 0 {
		t.Fatal("the clock outlived the namespace TTL")
	}
	n = write()
	if got, err := w.rdb.Exists(ctx, n.ks.Clock()).Result(); err != nil || got != 1 {
		t.Fatalf("after a write to the namespace whose keys expired, its clock exists: %d, %v; want it made again", got, err)
	}
}

// A refused write's admission taken back leaves a namespace whose use a
// successful write recorded meanwhile, even within the same millisecond.
func TestAnAdmissionTakenBackLeavesAUseRecordedSince(t *testing.T) {
	ctx := context.Background()
	w, _ := testWorld(t, Config{}, false)
	for i := range 20 {
		n, err := w.existing(ctx, fmt.Sprintf("race-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		inUse, undo, err := w.admit(ctx, n)
		if err != nil || inUse {
			t.Fatalf("admitting %s: in use %v, %v", n.name, inUse, err)
		}
		if _, err := w.touch(ctx, n, true); err != nil { // a write carried out meanwhile
			t.Fatal(err)
		}
		if err := undo(ctx); err != nil { // the refused one gives its place back
			t.Fatal(err)
		}
		if _, err := w.rdb.ZScore(ctx, w.registryKey(), n.name).Result(); err != nil {
			t.Fatalf("%s left the registry, its use recorded: %v", n.name, err)
		}
	}
}

// testWorld is a World of cfg on the test's Redis (its Redis and KeyPrefix
// set here), started when run, and stopped at the test's end.
func testWorld(t *testing.T, cfg Config, run bool) (*World, *testkit.Redis) {
	t.Helper()
	r := testkit.StartRedis(t)
	cfg.Redis, cfg.KeyPrefix = r.Client(t), r.Prefix
	w, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if run {
		if err := w.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	return w, r
}

// The default namespace, out of the registry after its TTL without a
// request, is listed with the last use this process knows of it, never
// 1970.
func TestDefaultListedWithAKnownLastUse(t *testing.T) {
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	w, _ := testWorld(t, Config{}, false)
	if err := w.rdb.ZRem(ctx, w.registryKey(), core.DefaultNamespace).Err(); err != nil {
		t.Fatal(err)
	}
	uses, err := w.Namespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 1 || uses[0].Name != core.DefaultNamespace || uses[0].LastUsed.Before(before) {
		t.Fatalf("namespaces %+v, want default used since %s", uses, before)
	}
}

// A namespace the supervisor takes up from the registry — made by another
// process, which may be of a version before the live codes were listed —
// has its codes retimed all the same after a change of its clock's scale:
// a code whose key the store had before is listed, and lives until its
// deadline at the new scale.
func TestATakenUpNamespaceRetimesTheCodesOfAStoreWrittenBefore(t *testing.T) {
	ctx := context.Background()
	w, _ := testWorld(t, Config{}, false)
	ks := core.Keyspace{Prefix: w.cfg.KeyPrefix, Namespace: "before"}
	// the namespace as an earlier version left it: its clock running at
	// 1×, a job numbered, a live code of a day's window, and a use a
	// moment ago in the registry
	now := time.Now()
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := w.rdb.HSet(ctx, ks.Clock(), "sim", start.UnixMilli(), "real", now.UnixMilli(), "scale", "1", "paused", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.rdb.HSet(ctx, ks.Seq(), "job", "3", "filing", "1").Err(); err != nil {
		t.Fatal(err)
	}
	code := ks.Code("424242")
	if err := w.rdb.Set(ctx, code, fmt.Sprintf("%d|f_1", start.Add(24*time.Hour).UnixMilli()), 24*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(now.UnixMilli()), Member: "before"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := w.Namespace(ctx, "before")
	if err != nil {
		t.Fatal(err)
	}
	scale := 60.0
	if _, err := n.SetClock(ctx, &scale, nil); err != nil {
		t.Fatal(err)
	}
	// 24 simulated hours at 60×: 24 minutes
	if ttl, _ := w.rdb.PTTL(ctx, code).Result(); ttl > 24*time.Minute || ttl < 23*time.Minute {
		t.Errorf("the code of the store written before lives %s after the clock went to 60×, want about 24m", ttl)
	}
	if _, err := w.rdb.ZScore(ctx, ks.CodesByDeadline(), "424242").Result(); err != nil {
		t.Errorf("the code of the store written before is not listed live: %v", err)
	}
}
