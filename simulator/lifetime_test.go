package simulator

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/webhook"
)

// nsTTL is the namespace TTL of these tests.
const nsTTL = 2 * time.Hour

func newTTLWorld(t *testing.T, r *testkit.Redis, rdb redis.UniversalClient) *World {
	t.Helper()
	w, err := New(context.Background(), Config{Redis: rdb, KeyPrefix: r.Prefix,
		ClockStart: core.ClockStart{At: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Paused: true},
		Limits:     core.Limits{Retention: time.Hour, NamespaceTTL: nsTTL}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// ttlWorld answers a world of its own store with the TTLs of these tests,
// not started, and a client of its store.
func ttlWorld(t *testing.T) (*World, redis.UniversalClient) {
	t.Helper()
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	return newTTLWorld(t, r, rdb), rdb
}

// use writes to namespace name as requests do: an order, a fault profile,
// a webhook.
func use(t *testing.T, w *World, name string) *Namespace {
	t.Helper()
	ctx := context.Background()
	n, err := w.Namespace(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.PatchFaults(ctx, []byte(`{"sync_lag": {"model": "fixed", "value": "0s"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.MIIT().Submit(ctx, miit.SubmitRequest{Type: "first_filing", Variant: "app",
		EntityLeader: &miit.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.RegisterWebhook(ctx, webhook.Hook{URL: "http://127.0.0.1:9/hook"}); err != nil {
		t.Fatal(err)
	}
	return n
}

// Every key of a namespace lives at most the namespace TTL: a request's
// use writes the lifetime of the long-lived ones, and the process writes
// it once more when it stops, for what it wrote since.
func TestEveryKeyOfANamespaceExpires(t *testing.T) {
	w, rdb := ttlWorld(t)
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	n := use(t, w, "team")
	if ttl := rdb.PTTL(ctx, n.ks.Clock()).Val(); ttl > nsTTL+lifetimeMargin || ttl < nsTTL {
		t.Errorf("the clock of a namespace in use lives %s, want %s", ttl, nsTTL+lifetimeMargin)
	}
	w.Stop()
	wantEveryKeyExpires(t, rdb, n, 10)
	if ttl := rdb.PTTL(ctx, n.ks.Webhook(w.mustHook(t, n))).Val(); ttl < nsTTL-10*time.Second {
		t.Errorf("the webhook lives %s, want %s", ttl, nsTTL)
	}
}

// wantEveryKeyExpires checks that namespace n holds at least `least` keys, and
// that every one of them lives at most the namespace TTL (and the margin of
// the long-lived ones).
func wantEveryKeyExpires(t *testing.T, rdb redis.UniversalClient, n *Namespace, least int) {
	t.Helper()
	ctx := context.Background()
	keys, err := testkit.Keys(ctx, rdb, n.ks.Pattern())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < least {
		t.Fatalf("the namespace holds %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > nsTTL+lifetimeMargin {
			t.Errorf("%s lives %s, want at most %s", k, ttl, nsTTL+lifetimeMargin)
		}
	}
}

// mustHook answers the id of n's one webhook.
func (w *World) mustHook(t *testing.T, n *Namespace) string {
	t.Helper()
	ids, err := w.rdb.ZRange(context.Background(), n.ks.Webhooks(), 0, -1).Result()
	if err != nil || len(ids) != 1 {
		t.Fatalf("webhooks %v, %v; want one", ids, err)
	}
	return ids[0]
}

// A namespace idle past its TTL is gone (miniredis, its TTLs run down by
// hand): a request to it finds it as new, its clock at the start value;
// the registry forgets it once no request used it within the TTL.
func TestExpiredNamespaceStartsAgain(t *testing.T) {
	if testkit.RealRedis() {
		t.Skip("expiry itself is tested on miniredis, whose TTLs run down by hand; a real Redis is only checked to set them")
	}
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	w := newTTLWorld(t, r, rdb)
	n := use(t, w, "team")
	if _, err := n.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := w.keepUntilLastUse(ctx, []*Namespace{n}); err != nil {
		t.Fatal(err)
	}
	r.Mini.FastForward(nsTTL + lifetimeMargin + time.Second)
	if keys, _ := testkit.Keys(ctx, rdb, n.ks.Pattern()); len(keys) != 0 {
		t.Fatalf("keys left past the namespace TTL: %v", keys)
	}

	n.touched.Store(0) // as after the TTL: the last use is long past
	again, err := w.Namespace(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	now, err := again.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC); !now.Equal(want) {
		t.Fatalf("the namespace made again reads %s, want its start %s", now, want)
	}
	if ttl := rdb.PTTL(ctx, n.ks.Clock()).Val(); ttl < nsTTL-10*time.Second {
		t.Fatalf("the clock made again lives %s, want %s", ttl, nsTTL)
	}

	old := time.Now().Add(-nsTTL - time.Minute).UnixMilli()
	rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(old), Member: "team"})
	rdb.SAdd(ctx, w.webhookedKey(), "team")
	rdb.Del(ctx, n.ks.Webhooks())
	if err := w.forgetExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ZScore(ctx, w.registryKey(), "team").Err(); err != redis.Nil {
		t.Errorf("the registry still holds a namespace idle past its TTL: %v", err)
	}
	if rdb.SIsMember(ctx, w.webhookedKey(), "team").Val() {
		t.Errorf("a namespace past its TTL, without webhooks, is still among those with webhooks")
	}
	if ttl := rdb.PTTL(ctx, n.ks.Clock()).Val(); ttl < 0 {
		t.Errorf("the forgotten namespace's clock lives %s, want a TTL", ttl)
	}

	// a process died with webhooks that had no lifetime: they outlive the
	// namespace by a TTL when it is forgotten; the namespace leaves the set
	// of those with webhooks at the next look all the same
	rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(old), Member: "crashed"})
	rdb.SAdd(ctx, w.webhookedKey(), "crashed")
	crashed := core.Keyspace{Prefix: r.Prefix, Namespace: "crashed"}
	rdb.ZAdd(ctx, crashed.Webhooks(), redis.Z{Score: 1, Member: "h1"})
	for range 2 {
		w.forgot.Store(0) // as touchEvery later
		if err := w.forgetExpired(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if rdb.SIsMember(ctx, w.webhookedKey(), "crashed").Val() {
		t.Errorf("a namespace forgotten with its webhooks left is still among those with webhooks")
	}
	if ttl := rdb.PTTL(ctx, crashed.Webhooks()).Val(); ttl <= 0 || ttl > nsTTL {
		t.Errorf("the webhooks left by a process that died live %s, want at most %s", ttl, nsTTL)
	}
}

// A namespace TTL shorter than the idle period is refused: a namespace in
// use would lose its keys.
func TestNamespaceTTLIsAtLeastTheIdlePeriod(t *testing.T) {
	r := testkit.StartRedis(t)
	_, err := New(context.Background(), Config{Redis: r.Client(t), KeyPrefix: r.Prefix, NamespaceIdle: time.Hour,
		Limits: core.Limits{NamespaceTTL: time.Minute}})
	if err == nil {
		t.Fatal("a namespace TTL of 1m with an idle period of 1h was taken")
	}
}

// The default namespace is never dropped, and a watched one is not: once
// idle, what was written since their last touch (a new fault profile, the
// event log of a reset) is kept until their last use all the same, and
// every key of theirs expires within the TTL.
func TestIdleNamespaceKeptRunningStillExpires(t *testing.T) {
	w, rdb := ttlWorld(t)
	ctx := context.Background()
	n := use(t, w, core.DefaultNamespace)
	if _, err := n.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.PutFaults(ctx, []byte(`{"sync_lag": {"model": "fixed", "value": "0s"}}`)); err != nil {
		t.Fatal(err)
	}
	n.used.Store(time.Now().Add(-w.cfg.NamespaceIdle - time.Second).UnixMilli())
	if err := w.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	wantEveryKeyExpires(t, rdb, n, 2)
}

// A namespace idle past --namespace-idle whose webhooks have retries to
// make is not put to rest (its dispatcher would stop, the retries with
// it) until they are made.
func TestIdleNamespaceWithRetriesStays(t *testing.T) {
	w, rdb := ttlWorld(t)
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	n := use(t, w, "team")
	rdb.ZAdd(ctx, n.ks.WebhookRetries(), redis.Z{Score: float64(time.Now().Add(time.Minute).UnixMilli()), Member: "a retry"})
	n.used.Store(time.Now().Add(-w.cfg.NamespaceIdle - time.Second).UnixMilli())
	rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(n.used.Load()), Member: "team"})
	if err := w.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	_, kept := w.spaces["team"]
	w.mu.Unlock()
	if !kept || !n.webhooksOn() {
		t.Fatalf("an idle namespace with a retry to make was put to rest (kept %v, dispatching %v)", kept, n.webhooksOn())
	}
	rdb.Del(ctx, n.ks.WebhookRetries())
	if err := w.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	_, kept = w.spaces["team"]
	w.mu.Unlock()
	if kept {
		t.Fatal("the idle namespace stayed once its retries were made")
	}
}

// What the loop writes after the namespace's last request — here the sync
// of an order, carried out when the clock reached it — lives the TTL from
// then, and so does the namespace's clock once the process stops running
// it: no key of the namespace outlives its clock, which a request would
// find gone and make again, as new, beside the old order.
func TestWhatTheLoopWroteDoesNotOutliveTheClock(t *testing.T) {
	w, rdb := ttlWorld(t)
	ctx := context.Background()
	n, err := w.Namespace(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	submitSyncedLater(t, n)
	// the last request was half the TTL ago; the sync is carried out now
	ago := time.Now().Add(-nsTTL / 2).UnixMilli()
	n.used.Store(ago)
	n.touched.Store(ago)
	rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(ago), Member: "team"})
	carrySync(t, n)
	if err := w.keepUntilLastUse(ctx, []*Namespace{n}); err != nil {
		t.Fatal(err)
	}
	if clock, out := outliving(t, rdb, n); clock < nsTTL || len(out) > 0 {
		t.Errorf("the clock lives %s, want %s from the sync; keys outliving it: %v", clock, nsTTL, out)
	}
}

// A namespace whose lifetime has run out when the process stops running
// it (--namespace-ttl no longer than --namespace-idle) leaves no
// long-lived key without a lifetime — those written after its last touch
// go at once — for a later look to give a whole TTL anew, outliving the
// clock.
func TestANamespacePastItsLifetimeLeavesNoKeyForEver(t *testing.T) {
	w, rdb := ttlWorld(t)
	ctx := context.Background()
	n := use(t, w, "team")
	if _, err := n.PatchFaults(ctx, []byte(`{"language": "zh"}`)); err != nil { // after the touch: no lifetime
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, n.ks.Faults()).Val(); ttl != -1 {
		t.Fatalf("the profile written after the touch lives %s, want no lifetime yet", ttl)
	}
	long := time.Now().Add(-nsTTL - lifetimeMargin - time.Second).UnixMilli()
	n.used.Store(long)
	n.touched.Store(long)
	rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(long), Member: "team"})
	if err := w.keepUntilLastUse(ctx, []*Namespace{n}); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, n.ks.Faults()).Val(); ttl != -2 {
		t.Errorf("the profile written after the last touch lives %s past the namespace's lifetime, want it gone", ttl)
	}
	clock := rdb.PTTL(ctx, n.ks.Clock()).Val()
	for _, k := range n.ks.LongLived() {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl == -1 || ttl > clock+time.Second {
			t.Errorf("%s lives %s, the clock %s: want none for ever, none past the clock", k, ttl, clock)
		}
	}
}

// The keys a reset makes again — the clock, the event log — live the
// namespace TTL at once, not until the process next records a use: a
// process that dies then leaves none without a lifetime.
func TestResetKeysLiveTheTTL(t *testing.T) {
	w, rdb := ttlWorld(t)
	ctx := context.Background()
	n := use(t, w, "team")
	if _, err := n.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{n.ks.Clock(), n.ks.Events()} {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl < nsTTL || ttl > nsTTL+lifetimeMargin {
			t.Errorf("%s lives %s after a reset, want %s", k, ttl, nsTTL+lifetimeMargin)
		}
	}
}

// A reset that takes long to find its namespace's keys says why, and what
// makes it quick, once an hour for the process, whichever namespace: a
// suite that resets before each test is not told at each.
func TestSlowResetIsSaidOnceAnHour(t *testing.T) {
	defer func(d time.Duration) { slowReset = d }(slowReset)
	slowReset = -1 // every reset is slow
	var log testkit.Buffer
	w, _ := testWorld(t, Config{Log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))}, false)
	ctx := context.Background()
	for _, name := range []string{"team", "team", "other"} {
		if _, err := use(t, w, name).Reset(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const said = "a reset took long to find the namespace's keys: one Redis in its plain mode looks through every key it holds at each reset; " +
		"a Redis that many namespaces share resets in milliseconds run as a cluster, of one node too (cmd/smsim/README.md, On a Redis Cluster); said at most once an hour"
	text := log.String()
	if n := strings.Count(text, said); n != 1 || !strings.Contains(text, "namespace=team") {
		t.Errorf("three slow resets logged\n%s\nwant the warning once, of namespace team", text)
	}
	w.slowResetSaid.Add(-time.Hour.Milliseconds()) // an hour on
	if _, err := use(t, w, "other").Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), said); n != 2 {
		t.Errorf("a slow reset an hour after the warning: said %d times in all, want 2", n)
	}
}

// submitSyncedLater submits an order whose sync is due a minute later on the
// (paused) clock, so that a later RunDue carries it out as the loop would.
func submitSyncedLater(t *testing.T, n *Namespace) {
	t.Helper()
	ctx := context.Background()
	if _, err := n.PatchFaults(ctx, []byte(`{"sync_lag": {"model": "fixed", "value": "1m"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.MIIT().Submit(ctx, miit.SubmitRequest{Type: "first_filing", Variant: "app",
		EntityLeader: &miit.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}}); err != nil {
		t.Fatal(err)
	}
}

// carrySync makes the loop carry out the sync now.
func carrySync(t *testing.T, n *Namespace) {
	t.Helper()
	ctx := context.Background()
	until, err := n.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if carried, err := n.sched.RunDue(ctx, until.Add(time.Minute)); err != nil || carried != 1 {
		t.Fatalf("the loop carried out %d jobs (%v), want the sync", carried, err)
	}
}

// outliving lists the keys of n that outlive its clock, that have no
// lifetime, or that live while the clock is gone.
func outliving(t *testing.T, rdb redis.UniversalClient, n *Namespace) (time.Duration, []string) {
	t.Helper()
	ctx := context.Background()
	clock := rdb.PTTL(ctx, n.ks.Clock()).Val()
	keys, err := testkit.Keys(ctx, rdb, n.ks.Pattern())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); clock < 0 || ttl == -1 || ttl > clock+time.Second {
			out = append(out, k+" "+ttl.String())
		}
	}
	return clock, out
}

// A namespace the process keeps running though idle (the default one):
// what its loop carries out after it fell idle records a use, so that what
// the jobs wrote does not outlive the namespace's clock.
func TestWhatARestingNamespacesLoopWritesDoesNotOutliveTheClock(t *testing.T) {
	w, rdb := ttlWorld(t)
	ctx := context.Background()
	n, err := w.Namespace(ctx, core.DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	submitSyncedLater(t, n)
	// the last request was 90 minutes ago: idle, within the TTL (2h)
	ago := time.Now().Add(-90 * time.Minute).UnixMilli()
	n.used.Store(ago)
	n.touched.Store(ago)
	rdb.ZAdd(ctx, w.registryKey(), redis.Z{Score: float64(ago), Member: core.DefaultNamespace})
	if err := w.superviseOnce(ctx); err != nil { // falls idle: resting, kept until its last use
		t.Fatal(err)
	}
	carrySync(t, n) // its loop goes on: the sync is carried out now
	if err := w.superviseOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if clock, out := outliving(t, rdb, n); len(out) > 0 {
		t.Errorf("the clock lives %s; keys written by the resting namespace's loop outlive it: %v", clock, out)
	}
}

// Two processes run the default namespace. B's loop carried out the sync
// after the last request and B, stopping, keeps the clock the TTL from
// then. A, stopping later, knows of a last use past the TTL: it does not
// shorten the lifetime B gave, and the order does not outlive the clock.
func TestAProcessDoesNotShortenWhatAnotherKept(t *testing.T) {
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	a := newTTLWorld(t, r, rdb)
	b := newTTLWorld(t, r, rdb)
	na, err := a.Namespace(ctx, core.DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := b.Namespace(ctx, core.DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	submitSyncedLater(t, nb)
	long := time.Now().Add(-nsTTL - time.Minute).UnixMilli() // the last request
	for _, n := range []*Namespace{na, nb} {
		n.used.Store(long)
		n.touched.Store(long)
	}
	rdb.ZAdd(ctx, a.registryKey(), redis.Z{Score: float64(long), Member: core.DefaultNamespace})
	carrySync(t, nb)                                                  // B's loop carried the sync out just now
	if err := b.keepUntilLastUse(ctx, []*Namespace{nb}); err != nil { // B stops
		t.Fatal(err)
	}
	if clock, out := outliving(t, rdb, nb); len(out) > 0 {
		t.Fatalf("after B: clock %s, outliving %v", clock, out)
	}
	if err := a.keepUntilLastUse(ctx, []*Namespace{na}); err != nil { // A stops
		t.Fatal(err)
	}
	if clock, out := outliving(t, rdb, na); len(out) > 0 {
		t.Errorf("after A: the clock lives %s (-2: gone); keys left beside it: %v", clock, out)
	}
}
