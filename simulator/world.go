// Package simulator is the assembled world: for each namespace a request
// names, a clock, a scheduler, a fault profile, an event log and its live
// feed, the SMS gateway, MIIT and the webhooks, all on one Redis, with their
// background work started and stopped together. The HTTP API
// (simulator/server), the test harness (simulator/simtest) and the binary
// (cmd/smsim) stand on it; it stands on the domain (gateway, miit), which
// stands on the ground (simulator/core).
package simulator

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/webhook"
)

// DefaultNamespaceIdle is how long a namespace no request has touched keeps
// its background work running.
const DefaultNamespaceIdle = time.Hour

// touchEvery is how often, at most, a process records in the registry that
// a namespace is in use.
const touchEvery = 10 * time.Second

// unmadeGrace is how long a namespace nothing was written to stays in a
// process after its last watcher left.
const unmadeGrace = 10 * time.Second

var namespaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidNamespace reports whether name may name a namespace: 1 to 64
// letters, digits, '.', '_' or '-', starting with a letter or a digit.
func ValidNamespace(name string) bool { return namespaceName.MatchString(name) }

// InvalidNamespace is the error that refuses a name, what naming it.
func InvalidNamespace(what, name string) *core.Error {
	return core.Invalid("%s: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got %q", what, name)
}

// Config is what a World is built from.
type Config struct {
	// Redis is the store: a client that never sends a command twice
	// (core.StoreOptions), which New refuses otherwise. New adds hooks to
	// it — one that counts failed commands, one that bounds each call by
	// StoreTimeout: give each World a client of its own.
	Redis redis.UniversalClient
	// StoreTimeout bounds each call to the store, its wait for a
	// connection included (default core.DefaultStoreTimeout): a request
	// that finds the store stalled answers 503 by then.
	StoreTimeout   time.Duration
	KeyPrefix      string // default "smsim"
	ClockStart     core.ClockStart
	Seed           *int64 // nil: draws from crypto/rand
	MIITSender     string
	ProviderSender string
	Language       string // of a namespace whose fault profile names none (core.LanguageEnglish, core.LanguageChinese); default English
	Log            *slog.Logger
	Registry       *prometheus.Registry // nil: a registry of the World's own
	Scheduler      core.SchedulerOptions
	Loop           core.LoopOptions
	// WebhookHosts are the hosts besides loopback that webhooks may be
	// posted to, and host:port entries (webhook.Config.AllowHosts); with
	// WebhookStrictLoopback, the only loopback ports open are theirs.
	// WebhookDeny are addresses never posted to: the process's own, its
	// Redis's (webhook.Config.Deny).
	WebhookHosts          []string
	WebhookStrictLoopback bool
	WebhookDeny           []string
	// WebhookBackoff is the wait before each retry of a failed webhook post
	// (nil: webhook.DefaultBackoff); WebhookAttempts bounds the attempts
	// (0: webhook.DefaultMaxAttempts).
	WebhookBackoff  func(attempt int) time.Duration
	WebhookAttempts int
	// NamespaceIdle is how long a namespace no request has touched keeps
	// its background work running (default DefaultNamespaceIdle).
	NamespaceIdle time.Duration
	// MaxNamespaces bounds the namespaces in use (touched within
	// NamespaceIdle): a write that would make one more is refused with a
	// 429 (default DefaultMaxNamespaces).
	MaxNamespaces int
	// PrivateStore tells that no other process uses the store, as none
	// reaches the embedded one: the namespaces in use are this process's
	// own, and its supervisor does not read the registry every second for
	// those another process uses. (The embedded store sorts the whole
	// registry for that read: with thousands of namespaces used once, most
	// of what an idle process did.)
	PrivateStore bool
	// Limits bound the memory of the namespaces in Redis: how long what is
	// finished lives (the retention, unless a namespace's fault profile
	// sets its own), how many messages a phone's folder keeps, how long a
	// namespace's keys outlive its last use (NamespaceTTL, at least
	// NamespaceIdle). The zero value bounds nothing: every key lives
	// forever.
	Limits core.Limits
	// JournalMax is how many requests each namespace's request journal
	// keeps, the newest (0: core.DefaultJournalMax; negative: no journal);
	// JournalEvery how often a process writes the entries it holds
	// (default DefaultJournalEvery).
	JournalMax   int
	JournalEvery time.Duration
}

// DefaultMaxNamespaces is how many namespaces may be in use at once unless
// configured.
const DefaultMaxNamespaces = 1000

// World is the simulator of one process: the namespaces it has built and
// their background work. Several processes on one Redis share every
// namespace's state.
type World struct {
	cfg    Config
	rdb    redis.UniversalClient
	log    *slog.Logger
	reg    *prometheus.Registry
	rnd    *core.Source
	errs   *prometheus.CounterVec
	health health
	loop   *core.Loop         // the one scheduler loop of every namespace
	sub    *core.Subscriber   // the one Pub/Sub connection of every namespace's live feed
	jrnl   *journal           // the requests every namespace's journal has yet to write
	hooks  *webhook.Network   // where every namespace's webhooks may go, and the one client that posts them
	born   time.Time          // when New made it: the default namespace's last use when no other is known
	self   string             // names the process in its words on core.ChangesChannel, which it skips
	heard  prometheus.Counter // smsim_changes_heard_total

	mu     sync.Mutex            // guards spaces and runCtx
	spaces map[string]*Namespace // the namespaces this process has built
	runCtx context.Context       // the background work's; nil until Start
	forgot atomic.Int64          // real Unix ms at which supervise last looked for expired namespaces
	supMu  sync.Mutex            // held by each look of supervise (superviseOnce)

	// slowResetSaid is when (real Unix ms) a namespace last said that a
	// reset took long to find its keys (Namespace.saySlowReset).
	slowResetSaid atomic.Int64

	// supervise gives the memory of the namespaces it dropped back to the
	// system (release), at most every releaseEvery
	relMu    sync.Mutex // guards dropped and released
	release  func()
	dropped  int       // the namespaces dropped since memory was last given back
	released time.Time // when it was

	stop func()
	wg   sync.WaitGroup
}

// New builds a world and sets the default namespace's clock to its start
// value unless the store already holds one.
func New(ctx context.Context, cfg Config) (*World, error) {
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "smsim"
	}
	if strings.ContainsAny(cfg.KeyPrefix, "{}") {
		return nil, fmt.Errorf("key prefix %q: must hold no { or }: the namespace in braces is the hash tag that keeps "+
			"its keys in one slot of a Redis Cluster, and a brace before it would make every namespace one slot", cfg.KeyPrefix)
	}
	if strings.ContainsAny(cfg.KeyPrefix, core.GlobChars) {
		return nil, fmt.Errorf("key prefix %q: must hold none of %s: a reset finds a namespace's keys by a pattern of the prefix (core.Keyspace.Pattern), "+
			"which would match other prefixes' keys", cfg.KeyPrefix, core.GlobChars)
	}
	if cfg.ClockStart.At.After(core.MaxTime()) {
		return nil, fmt.Errorf("clock start %s: past the latest simulated time, %s", cfg.ClockStart.At.Format(time.RFC3339Nano), core.MaxTime().Format(time.RFC3339))
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Log = slog.New(core.LogHandler(cfg.Log.Handler())) // lines logged with a request's context name it
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.NamespaceIdle == 0 {
		cfg.NamespaceIdle = DefaultNamespaceIdle
	}
	if cfg.MaxNamespaces == 0 {
		cfg.MaxNamespaces = DefaultMaxNamespaces
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = core.DefaultStoreTimeout
	}
	if !core.NeverRetries(cfg.Redis) {
		return nil, errors.New("the store's client retries commands: a script sent again while the first copy " +
			"waits in a stalled Redis runs twice; build its options with core.StoreOptions (MaxRetries -1)")
	}
	if ttl := cfg.Limits.NamespaceTTL; ttl > 0 && ttl < cfg.NamespaceIdle {
		return nil, fmt.Errorf("namespace TTL %s: must be 0 (never) or at least the idle period (%s), "+
			"so that a namespace in use keeps its keys", core.FormatDuration(ttl), core.FormatDuration(cfg.NamespaceIdle))
	}
	cfg.Limits.Unheard = core.CountsEveryListener(cfg.Redis)
	w := &World{cfg: cfg, rdb: cfg.Redis, log: cfg.Log, reg: cfg.Registry, spaces: map[string]*Namespace{}, release: debug.FreeOSMemory, born: time.Now(),
		self: strconv.FormatUint(rand.Uint64(), 36)}
	w.rnd = core.NewSource()
	if cfg.Seed != nil {
		w.rnd = core.NewSeededSource(*cfg.Seed)
	}
	w.errs = newStoreMetrics(w.reg)
	w.heard = newChangesMetric(w.reg)
	w.reg.MustRegister(poolCollector{w.rdb})
	if cfg.JournalMax == 0 {
		cfg.JournalMax = core.DefaultJournalMax
	}
	w.jrnl = newJournal(max(cfg.JournalMax, 0), cfg.JournalEvery, w.log)
	w.loop = core.NewLoop(w.log, cfg.Loop)
	w.sub = core.NewSubscriber(w.rdb, w.log, cfg.StoreTimeout)
	w.hooks = webhook.NewNetwork(webhook.Config{AllowHosts: cfg.WebhookHosts, StrictLoopback: cfg.WebhookStrictLoopback, Deny: cfg.WebhookDeny})
	w.reg.MustRegister(miit.NewOrdersCollector(w.rdb, cfg.KeyPrefix, w.activeNamespaces, w.log))
	w.rdb.AddHook(redisHook{w.errs, &w.health})
	w.rdb.AddHook(core.StoreDeadline{Timeout: cfg.StoreTimeout}) // inside the count: a call out of time is a failure
	if err := w.holdDefault(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// holdDefault makes the default namespace and holds it from the start, its
// loop running, without recording a use: like any other, it is in use —
// in the registry, counted against MaxNamespaces — once a write is carried
// out to it, and while one was within NamespaceIdle.
func (w *World) holdDefault(ctx context.Context) error {
	n, err := w.existing(ctx, core.DefaultNamespace)
	if err != nil {
		return err
	}
	ctx = core.Repeatable(ctx) // made once, whoever asks again
	if err := w.init(ctx, n); err != nil {
		return err
	}
	if ttl := w.cfg.Limits.NamespaceTTL; ttl > 0 { // as a write's would (Write)
		p := w.rdb.Pipeline()
		expireAt(ctx, p, n, time.Now().Add(ttl), nil)
		if _, err := p.Exec(ctx); err != nil {
			return fmt.Errorf("bound namespace %s: %w", n.name, err)
		}
	}
	return nil
}

// Registry is where the world's metrics are registered, and where the
// process serves its metrics from.
func (w *World) Registry() *prometheus.Registry { return w.reg }

// Start runs the background work — the one scheduler loop of every
// namespace in use, the one subscriber of their live feeds, their
// webhooks, and the probe of the store's health (Ready) — until Stop.
func (w *World) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	w.stop = cancel
	w.mu.Lock()
	w.runCtx = runCtx
	for _, n := range w.spaces {
		n.start(runCtx)
		w.loop.Add(n.sched)
	}
	w.mu.Unlock()
	if err := w.sub.Note(ctx, core.ChangesChannel(w.cfg.KeyPrefix), w.changedElsewhere); err != nil {
		cancel()
		return err
	}
	for _, run := range []func(context.Context){w.probe, w.loop.Run, w.jrnl.run, w.sub.Run, w.supervise} {
		w.wg.Go(func() { run(runCtx) })
	}
	return nil
}

// changedElsewhere takes a process's word that it set the clock or the
// fault profile of a namespace, or reset it (Namespace.changed): what this
// process holds of them is read afresh before it serves the namespace
// again — its journal's times, its API faults, its plans. "" is the word
// of a connection that broke: any word may have been lost.
func (w *World) changedElsewhere(word string) {
	f := strings.Split(word, "\n") // name, kind, process
	if len(f) == 3 && f[2] == w.self {
		return // its own: it forgot already
	}
	name, kind := f[0], ""
	if len(f) > 1 {
		kind = f[1]
	}
	w.heard.Inc()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.spaces {
		if word == "" || n.name == name {
			n.forget(word == "" || kind == resetWord)
		}
	}
}

// Stop ends the background work and waits for it: long polls and sockets
// that wait on it end too.
func (w *World) Stop() {
	if w.stop != nil {
		w.stop()
	}
	w.wg.Wait()
	w.mu.Lock()
	spaces := make([]*Namespace, 0, len(w.spaces))
	for _, n := range w.spaces {
		spaces = append(spaces, n)
	}
	w.mu.Unlock()
	var made []*Namespace
	for _, n := range spaces {
		n.halt()
		if n.made.Load() {
			made = append(made, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	w.jrnl.flushAll(ctx) // what the requests answered before Stop
	if err := w.keepUntilLastUse(ctx, made); err != nil {
		w.log.Warn("keeping the namespaces", "err", err)
	}
}

// releaseEvery is how often at most supervise gives the memory of the
// namespaces it dropped back to the system. Go's collector keeps up to
// twice what the heap holds (more with a headroom between collections:
// the binary's --gc-headroom), and without allocations no collection runs:
// 10,000 namespaces that went idle on the embedded store left the process
// at 390 MB resident, 255 MB once given back. Giving back is a whole
// collection (debug.FreeOSMemory), hence at most once a minute.
const releaseEvery = time.Minute

// stopTimeout bounds what Stop writes to the store.
const stopTimeout = 5 * time.Second

// registryKey is the sorted set of the namespaces in use, scored by the
// real Unix ms of their last request; every process runs the background
// work of the namespaces used within the idle period.
func (w *World) registryKey() string { return core.NamespacesKey(w.cfg.KeyPrefix) }

// webhookedKey is the set of the namespaces that have webhooks: every
// process runs their dispatchers, and no other.
func (w *World) webhookedKey() string { return core.WebhookedKey(w.cfg.KeyPrefix) }

// Namespace answers namespace name for a request that changes it: it
// makes the namespace when it is new (its clock at the start value, one
// more in the registry of those in use, refused with a 429 beyond
// MaxNamespaces), or when its keys expired since, and records the use.
func (w *World) Namespace(ctx context.Context, name string) (*Namespace, error) {
	n, err := w.existing(ctx, name)
	if err != nil {
		return nil, err
	}
	if !n.made.Load() {
		if err := w.make(ctx, n); err != nil {
			return nil, err
		}
	}
	gone, err := w.touch(ctx, n, false)
	if err != nil {
		return nil, err
	}
	if gone { // idle past the namespace TTL: it starts again, as new
		n.made.Store(false)
		n.state.Forget()
		if err := w.make(ctx, n); err != nil {
			return nil, err
		}
		if _, err := w.touch(ctx, n, true); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Write answers namespace name for a request that changes it, as
// Namespace does, with settle to call once the request was answered,
// telling whether it was carried out (not refused): a namespace not in
// use — new to the store, or idle — counts as in use (in the registry,
// and against MaxNamespaces) from its admission, and stays so once a
// write is carried out; a refused one (a 400 of a misspelt namespace's
// first request) is taken back, leaving none in use. What such a write
// made, its clock, lives the namespace TTL. settle is nil when there is
// nothing to settle: the namespace was in use already.
func (w *World) Write(ctx context.Context, name string) (n *Namespace, settle func(ctx context.Context, carriedOut bool) error, err error) {
	if n, err = w.existing(ctx, name); err != nil {
		return nil, nil, err
	}
	if n.made.Load() && time.Now().UnixMilli()-n.touched.Load() < w.cfg.NamespaceIdle.Milliseconds() { // in use, recorded by this process
		n, err = w.Namespace(ctx, name)
		return n, nil, err
	}
	inUse, undo, err := w.admit(core.Repeatable(ctx), n)
	if err != nil {
		return nil, nil, err
	}
	if inUse {
		n, err = w.Namespace(ctx, name)
		return n, nil, err
	}
	if n.made.Load() {
		// idle, but held in memory (the default namespace, a watched one):
		// its keys may have expired since, past the namespace TTL; then it
		// starts again, as new
		alive, err := w.rdb.Exists(ctx, n.ks.Clock()).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("read namespace %s: %w", n.name, err)
		}
		if alive == 0 {
			n.made.Store(false)
			n.state.Forget()
		}
	}
	if !n.made.Load() {
		ctx := core.Repeatable(ctx) // made once, whoever asks again
		if err := w.init(ctx, n); err != nil {
			return nil, nil, err
		}
		if ttl := w.cfg.Limits.NamespaceTTL; ttl > 0 {
			p := w.rdb.Pipeline()
			expireAt(ctx, p, n, time.Now().Add(ttl), nil)
			if _, err := p.Exec(ctx); err != nil {
				return nil, nil, fmt.Errorf("bound namespace %s: %w", n.name, err)
			}
		}
	}
	return n, func(ctx context.Context, carriedOut bool) error {
		if !carriedOut {
			return undo(ctx)
		}
		_, err := w.touch(ctx, n, true)
		return err
	}, nil
}

// Peek answers namespace name for a request that only reads it: a
// namespace nothing was written to reads as one made now (its clock at the
// start value, nothing in it), and stays unmade, out of the registry and
// of this process's memory. One asleep (in the store, not in this
// process's memory) wakes as on a write: what fell due on its running
// clock is carried out before the read answers (one round trip when
// nothing is), and the loop takes it while more is to come on a running
// clock. A read records no use: the namespace sleeps again once idle.
func (w *World) Peek(ctx context.Context, name string) (*Namespace, error) {
	if !ValidNamespace(name) {
		return nil, InvalidNamespace("namespace", name)
	}
	w.mu.Lock()
	n, ok := w.spaces[name]
	w.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := w.build(name)
	if err != nil {
		return nil, err
	}
	work, err := n.sched.HasWork(ctx)
	if err != nil || !work {
		return n, err // nothing to come by itself: no loop needed
	}
	n.made.Store(true) // it has jobs: something was written to it
	n = w.adopt(n)     // the one the process holds, its loop's too
	leave := n.Hold()  // a reset waits for what is carried out below
	defer leave()
	if _, err := n.sched.Tick(ctx); err != nil { // an advance left unfinished, claims whose lease ended
		return nil, err
	}
	now, err := n.clock.Now(ctx)
	if err != nil {
		return nil, err
	}
	// what is due, what that makes due at once, and what the loop took
	// meanwhile: done before the read answers
	if err := n.sched.Drain(ctx, now); err != nil {
		return nil, err
	}
	return n, nil
}

// Watch answers namespace name for a request that waits for what happens
// in it (a long poll, a socket): its feed runs in this process while
// watched, whether or not the namespace is made yet, and nothing is
// written.
func (w *World) Watch(ctx context.Context, name string) (*Namespace, error) {
	return w.existing(ctx, name)
}

// existing answers the namespace this process holds under name, building
// and keeping it on first use.
func (w *World) existing(ctx context.Context, name string) (*Namespace, error) {
	if !ValidNamespace(name) {
		return nil, InvalidNamespace("namespace", name)
	}
	w.mu.Lock()
	n, ok := w.spaces[name]
	w.mu.Unlock()
	if ok {
		n.used.Store(time.Now().UnixMilli())
		return n, nil
	}
	// Built without the lock, which a slow store would otherwise hold
	// against every request; of two built at once, the first stays.
	built, err := w.build(name)
	if err != nil {
		return nil, err
	}
	return w.adopt(built), nil
}

// make makes namespace n in the store, once: its clock at the start value
// unless set, its keys written by an earlier version upgraded
// (core.UpgradeStore), and its place in the registry, within MaxNamespaces.
func (w *World) make(ctx context.Context, n *Namespace) error {
	ctx = core.Repeatable(ctx) // made once, whoever asks again
	if _, _, err := w.admit(ctx, n); err != nil {
		return err
	}
	return w.init(ctx, n)
}

var (
	//go:embed admit.lua
	admitLua    string
	admitScript = core.NewScript[admitArgs](admitLua)
	//go:embed admit_release.lua
	admitReleaseLua    string
	admitReleaseScript = core.NewScript[admitReleaseArgs](admitReleaseLua)
)

type admitArgs struct {
	Name    string  `json:"name"`
	Now     float64 `json:"now"`   // real ms, less half of one: see admit
	Since   int64   `json:"since"` // real ms: a namespace used since is in use
	Max     int     `json:"max"`
	Default bool    `json:"default,omitempty"`
}

type admitReleaseArgs struct {
	Name   string  `json:"name"`
	Now    float64 `json:"now"`
	Before string  `json:"before"`
}

// admit tells whether namespace n is in use (used within the idle period),
// and else records it in use, counted against MaxNamespaces in one step
// with every other admission (admit.lua): beyond them it is a 429. undo,
// for one it recorded, takes the record back, for a request that was
// refused.
func (w *World) admit(ctx context.Context, n *Namespace) (inUse bool, undo func(context.Context) error, err error) {
	ms := time.Now().UnixMilli()
	// Admitted half a millisecond back: a use recorded since, even in the
	// same millisecond (touch, whole ms), moves the score, and undo then
	// leaves it be.
	now := float64(ms) - 0.5
	out, err := admitScript.Run(ctx, w.rdb, []string{w.registryKey()}, admitArgs{Name: n.name, Now: now,
		Since: ms - w.cfg.NamespaceIdle.Milliseconds(), Max: w.cfg.MaxNamespaces, Default: n.name == core.DefaultNamespace}).StringSlice()
	if err != nil {
		return false, nil, fmt.Errorf("admit namespace %s: %w", n.name, err)
	}
	switch out[0] {
	case "in_use":
		return true, nil, nil
	case "full":
		return false, nil, &core.Error{Code: http.StatusTooManyRequests, Detail: fmt.Sprintf(
			"namespace %q: %s namespaces are in use, the most this server holds (--max-namespaces); use one of them, "+
				"or wait until one has been idle for %s", n.name, out[1], core.FormatDuration(w.cfg.NamespaceIdle))}
	}
	before := out[1]
	return false, func(ctx context.Context) error {
		err := admitReleaseScript.Run(ctx, w.rdb, []string{w.registryKey()}, admitReleaseArgs{Name: n.name, Now: now, Before: before}).Err()
		if err != nil {
			return fmt.Errorf("release namespace %s: %w", n.name, err)
		}
		return nil
	}, nil
}

// init makes namespace n's keys: its clock at the start value.
func (w *World) init(ctx context.Context, n *Namespace) error {
	if err := n.clock.Init(ctx); err != nil {
		return err
	}
	if err := core.UpgradeStore(ctx, w.rdb, n.ks, w.cfg.Limits.BoundsOf(core.DefaultFaults())); err != nil {
		return err
	}
	n.made.Store(true)
	return nil
}

// adopt keeps n unless a namespace of its name was kept meanwhile, starts
// it when the world runs, and answers the one kept.
func (w *World) adopt(n *Namespace) *Namespace {
	w.mu.Lock()
	defer w.mu.Unlock()
	if kept, ok := w.spaces[n.name]; ok {
		kept.used.Store(time.Now().UnixMilli())
		return kept
	}
	n.used.Store(time.Now().UnixMilli())
	w.spaces[n.name] = n
	if w.runCtx != nil {
		n.start(w.runCtx)
		w.loop.Add(n.sched)
	}
	return n
}

// touch records in the registry that namespace n is in use, and writes
// afresh the lifetime of its long-lived keys (NamespaceTTL from now), at
// most once every touchEvery per process unless forced: one round trip,
// two while it has webhooks. It answers whether the namespace's clock was
// gone — the namespace expired, and is to be made again.
func (w *World) touch(ctx context.Context, n *Namespace, force bool) (bool, error) {
	now := time.Now()
	last := n.touched.Load()
	if (!force && now.UnixMilli()-last < touchEvery.Milliseconds()) || !n.touched.CompareAndSwap(last, now.UnixMilli()) {
		return false, nil
	}
	ctx = core.Repeatable(ctx) // recorded again to the same effect
	ttl := w.cfg.Limits.NamespaceTTL
	var hooks []string
	if ttl > 0 {
		var err error
		if hooks, err = w.hookIDs(ctx, n); err != nil {
			n.touched.Store(last)
			return false, err
		}
	}
	p := w.rdb.Pipeline()
	p.ZAddGT(ctx, w.registryKey(), redis.Z{Score: float64(now.UnixMilli()), Member: n.name})
	var clock *redis.IntCmd
	if ttl > 0 {
		clock = expireAt(ctx, p, n, now.Add(ttl+lifetimeMargin), hooks)
	}
	if _, err := p.Exec(ctx); err != nil {
		n.touched.Store(last)
		return false, fmt.Errorf("record namespace %s: %w", n.name, err)
	}
	return clock != nil && clock.Val() == 0, nil
}

// activeNamespaces answers the namespaces used within the idle period,
// the default one always among them, sorted.
func (w *World) activeNamespaces(ctx context.Context) ([]string, error) {
	uses, err := w.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(uses))
	for i, u := range uses {
		names[i] = u.Name
	}
	return names, nil
}

// NamespaceUse is a namespace in use and when a request last touched it.
type NamespaceUse struct {
	Name     string    `json:"name"`
	LastUsed time.Time `json:"last_used"` // real time, to within touchEvery
}

// Namespaces answers the namespaces in use, by name: those a request
// touched within the idle period, and the default one.
func (w *World) Namespaces(ctx context.Context) ([]NamespaceUse, error) {
	since := time.Now().Add(-w.cfg.NamespaceIdle).UnixMilli()
	zs, err := w.rdb.ZRangeByScoreWithScores(ctx, w.registryKey(), &redis.ZRangeBy{
		Min: strconv.FormatInt(since, 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("read namespaces: %w", err)
	}
	out := []NamespaceUse{}
	seenDefault := false
	for _, z := range zs {
		name, _ := z.Member.(string)
		if !ValidNamespace(name) {
			continue
		}
		seenDefault = seenDefault || name == core.DefaultNamespace
		out = append(out, NamespaceUse{Name: name, LastUsed: time.UnixMilli(int64(z.Score)).UTC()})
	}
	if !seenDefault {
		sc, err := w.rdb.ZScore(ctx, w.registryKey(), core.DefaultNamespace).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read namespaces: %w", err)
		}
		// out of the registry (no request for the namespace TTL): this
		// process's last request to it, else its start
		last := max(int64(sc), w.born.UnixMilli())
		w.mu.Lock()
		if n, ok := w.spaces[core.DefaultNamespace]; ok {
			last = max(last, n.used.Load())
		}
		w.mu.Unlock()
		out = append(out, NamespaceUse{Name: core.DefaultNamespace, LastUsed: time.UnixMilli(last).UTC()})
	}
	slices.SortFunc(out, func(a, b NamespaceUse) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// withoutRetries answers the namespaces of spaces whose webhooks have no
// retry waiting nor under way: one round trip for those with webhooks,
// none without. On an error, those with webhooks are kept this time.
func (w *World) withoutRetries(ctx context.Context, spaces []*Namespace) []*Namespace {
	p := w.rdb.Pipeline()
	counts := make(map[*Namespace][2]*redis.IntCmd)
	for _, n := range spaces {
		if n.webhooksOn() {
			counts[n] = [2]*redis.IntCmd{p.ZCard(ctx, n.ks.WebhookRetries()), p.ZCard(ctx, n.ks.WebhookInflight())}
		}
	}
	if len(counts) == 0 {
		return spaces
	}
	_, err := p.Exec(ctx)
	out := spaces[:0:0]
	for _, n := range spaces {
		c, hooked := counts[n]
		if hooked && (err != nil || c[0].Val()+c[1].Val() > 0) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// supervise keeps this process running the background work of every
// namespace in use — whichever process its requests reach — and drops the
// namespaces no request has touched within the idle period: their jobs
// wait until a request to them comes again.
func (w *World) supervise(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var failing core.Retrying // said once while the store is away, not once a second
	for {
		err := w.superviseOnce(ctx)
		if ctx.Err() == nil {
			failing.Note(w.log, "following the namespaces in use", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *World) superviseOnce(ctx context.Context) error {
	w.supMu.Lock() // one look at a time: a look that read the registry before another dropped a namespace would build it again
	defer w.supMu.Unlock()
	var names []string // the namespaces in use in any process
	if !w.cfg.PrivateStore {
		var err error
		if names, err = w.activeNamespaces(ctx); err != nil {
			return err
		}
	}
	active := make(map[string]bool, len(names))
	for _, name := range names {
		active[name] = true
		w.mu.Lock()
		_, ok := w.spaces[name]
		w.mu.Unlock()
		if ok {
			continue
		}
		n, err := w.build(name)
		if err != nil {
			return err
		}
		n.made.Store(true) // in the registry: made by another process
		w.adopt(n)
	}
	idleSince := time.Now().Add(-w.cfg.NamespaceIdle).UnixMilli()
	graceSince := time.Now().Add(-unmadeGrace).UnixMilli()
	var idle []*Namespace
	// resting are idle here but kept (the default namespace, one watched,
	// one another process uses): what was written since their last touch
	// is kept until their last use once, as if they were dropped
	var resting []*Namespace
	var restingUse []int64
	w.mu.Lock()
	for name, n := range w.spaces {
		since := idleSince
		if !n.made.Load() {
			since = graceSince // only watched, never written to
		}
		used := n.used.Load()
		switch {
		case name != core.DefaultNamespace && !active[name] && used < since && !n.feed.Watched():
			idle = append(idle, n)
		case n.made.Load() && used < idleSince && n.kept.Load() != used:
			resting = append(resting, n)
			restingUse = append(restingUse, used)
		}
	}
	w.mu.Unlock()
	idle = w.withoutRetries(ctx, idle) // its dispatcher has retries to make: it stays until they are made
	w.mu.Lock()
	for _, n := range idle {
		delete(w.spaces, n.name)
	}
	w.mu.Unlock()
	var made []*Namespace
	for _, n := range idle {
		w.loop.Remove(n.sched)
		n.halt()
		if n.made.Load() {
			made = append(made, n)
		}
	}
	if err := w.keepUntilLastUse(ctx, append(made, resting...)); err != nil {
		w.log.Warn("keeping the idle namespaces", "err", err)
	} else {
		for i, n := range resting {
			n.kept.Store(restingUse[i])
		}
	}
	w.relMu.Lock()
	w.dropped += len(idle)
	if w.dropped > 0 && time.Since(w.released) >= releaseEvery {
		w.release()
		w.released, w.dropped = time.Now(), 0
	}
	w.relMu.Unlock()
	if err := w.forgetExpired(ctx); err != nil {
		w.log.Warn("forgetting the expired namespaces", "err", err)
	}
	hooked, err := w.rdb.SMembers(ctx, w.webhookedKey()).Result()
	if err != nil {
		return fmt.Errorf("read the namespaces with webhooks: %w", err)
	}
	w.mu.Lock()
	spaces := make([]*Namespace, 0, len(w.spaces))
	for _, n := range w.spaces {
		spaces = append(spaces, n)
	}
	w.mu.Unlock()
	has := make(map[string]bool, len(hooked))
	for _, name := range hooked {
		has[name] = true
	}
	for _, n := range spaces {
		n.dispatchWebhooks(has[n.name])
	}
	return nil
}

// built answers the names of the namespaces this process has built, sorted.
func (w *World) built() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.spaces))
	for name := range w.spaces {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
