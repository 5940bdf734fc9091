// Package simtest runs a whole smsim inside a Go test — the HTTP API on a
// random local port, on an in-process Redis (miniredis), with its
// scheduler and live feeds — and hands the test a client of it:
//
//	func TestFiling(t *testing.T) {
//		sim := simtest.RunT(t) // stopped when the test ends
//		order, err := sim.SubmitFirstFiling(ctx, leader, admin)
//		…
//	}
//
// The simulated clock starts paused at DefaultStart(), so that nothing
// happens until the test advances it: time-dependent tests advance the
// clock instead of sleeping. Each Sim is a simulator of its own; tests
// may run in parallel.
//
// With SMSIM_TEST_REDIS_URL set (redis://127.0.0.1:6379/0, or a Redis
// Cluster: redis+cluster://127.0.0.1:7001), every Sim stores its data in
// that real Redis instead, under a key prefix of its own, and deletes its
// keys when it closes: tests of several packages may share one server at
// once.
//
// One simulator holds many namespaces, each a world of its own (clock,
// faults, phones, orders): WithNamespace sets the one the Sim's client
// speaks for, and sim.Namespace(name) answers a client of another.
package simtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator"
	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"
)

// DefaultStart is the simulated time a Sim's clock starts at, unless
// WithStart says otherwise: 2026-05-01T00:00:00Z.
func DefaultStart() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }

// Sim is one running simulator. Its embedded client talks to it.
type Sim struct {
	*client.Client
	URL    string           // the base URL of its HTTP API, such as http://127.0.0.1:40123
	World  *simulator.World // the simulator itself
	Server *server.Server   // its HTTP API
	// Redis is its in-process store; nil when it runs on the real Redis of
	// SMSIM_TEST_REDIS_URL.
	Redis *miniredis.Miniredis
	// RedisURL is its store, as redis://… (redisstore.Open): for another process or server
	// instance of the same simulator, with the same KeyPrefix. On its own miniredis, a Sim
	// takes its store for its own (simulator.Config.PrivateStore): with another instance
	// on it, give it WithConfig(func(c *simulator.Config) { c.PrivateStore = false }).
	RedisURL  string
	KeyPrefix string // the prefix of its keys

	hs       *httptest.Server
	stopped  atomic.Bool // its client's requests answer ErrStopped
	rdb      redis.UniversalClient
	real     bool               // on the real Redis of SMSIM_TEST_REDIS_URL: delete its keys at Close
	mem      *redisstore.Memory // the miniredis Redis, as the simulator reaches it
	once     sync.Once
	closeErr error
}

type options struct {
	cfg     simulator.Config
	http    server.Config
	clients []client.Option
}

// Option configures a Sim.
type Option func(*options)

// WithSeed makes every random draw (ids, codes, lags, delays, fault rolls)
// a function of seed, so that the same requests get the same answers.
func WithSeed(seed int64) Option { return func(o *options) { o.cfg.Seed = &seed } }

// WithStart starts the simulated clock at t instead of DefaultStart().
func WithStart(t time.Time) Option { return func(o *options) { o.cfg.ClockStart.At = t } }

// Running starts the clock running at scale simulated seconds per real
// second, instead of paused.
func Running(scale float64) Option {
	return func(o *options) { o.cfg.ClockStart.Paused, o.cfg.ClockStart.Scale = false, scale }
}

// WithLogger sends the simulator's log lines to log (by default they are
// discarded).
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.cfg.Log, o.http.Log = log, log }
}

// WithConfig changes the simulator's configuration before it is built
// (sender numbers, scheduler options, …); its store and registry are the
// Sim's, and on a real Redis its key prefix gets a random suffix of the
// Sim's.
func WithConfig(f func(*simulator.Config)) Option { return func(o *options) { f(&o.cfg) } }

// WithServerConfig changes the HTTP server's configuration before it is
// built (the body limit, …).
func WithServerConfig(f func(*server.Config)) Option { return func(o *options) { f(&o.http) } }

// WithNamespace makes the Sim's client speak for namespace name instead of
// the default one (see client.WithNamespace). Start refuses a name the
// server would.
func WithNamespace(name string) Option {
	return WithClientOptions(client.WithNamespace(name))
}

// WithClientOptions configures the Sim's client.
func WithClientOptions(opts ...client.Option) Option {
	return func(o *options) { o.clients = append(o.clients, opts...) }
}

// MaxNamespaces is how many namespaces a Sim holds in use at once unless
// WithConfig sets simulator.Config.MaxNamespaces: far more than a suite
// with a namespace a test makes (ForTest), run with -count, needs. A
// namespace used stays in memory for simulator.DefaultNamespaceIdle (an
// hour) after its last use, a few KB of it: 10,000 tests on one Sim hold
// about 80 MB.
const MaxNamespaces = 100_000

// ErrStopped is the error of a request of a Sim's client after the Sim
// stopped: its test (RunT) ended, or Close.
var ErrStopped = errors.New("simtest: the simulator is stopped: a Sim of RunT lives as long as the test that ran it (and its subtests)")

// RunT starts a simulator for the test and stops it when the test (and its
// subtests) end; it fails the test when the simulator cannot start.
func RunT(t testing.TB, opts ...Option) *Sim {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("simtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("simtest: %v", err)
		}
	})
	return s
}

// Start starts a simulator; Close stops it. Tests use RunT, which closes
// it for them.
func Start(opts ...Option) (*Sim, error) {
	// on its own miniredis, no other process uses its store unless the
	// test says so: its supervisor need not read the registry of
	// namespaces every second, which costs with thousands of them (ForTest)
	private := os.Getenv(testkit.EnvURL) == ""
	o := options{cfg: simulator.Config{ClockStart: core.ClockStart{At: DefaultStart(), Paused: true, Scale: 1}, PrivateStore: private}}
	for _, f := range opts {
		f(&o)
	}
	if o.cfg.StoreTimeout == 0 {
		o.cfg.StoreTimeout = testkit.StoreTimeout // a test is no timing test: a busy machine may keep Redis waiting
	}
	if o.cfg.MaxNamespaces == 0 {
		o.cfg.MaxNamespaces = MaxNamespaces
	}
	ctx := context.Background()
	s, err := store(ctx, o.cfg)
	if err != nil {
		return nil, err
	}
	o.cfg.Redis, o.cfg.KeyPrefix = s.rdb, s.KeyPrefix
	o.cfg.Registry = prometheus.NewRegistry()
	world, err := simulator.New(ctx, o.cfg)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("build the simulator: %w", err)
	}
	if err := world.Start(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("start the simulator: %w", err)
	}
	s.World = world
	s.Server = server.New(world, o.http)
	s.hs = httptest.NewServer(s.Server.Routes())
	s.URL = s.hs.URL
	hc := &http.Client{Transport: stoppable{s: s, next: http.DefaultTransport}}
	if s.Client, err = client.New(s.URL, append([]client.Option{client.WithHTTPClient(hc)}, o.clients...)...); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// store gives a Sim its Redis: the real server of SMSIM_TEST_REDIS_URL,
// under a key prefix of its own (o's, or "smsimtest", and a random
// suffix), else a new miniredis, under o's prefix as it is. Its client is
// one of smsim's store (core.StoreOptions, within o's StoreTimeout).
func store(ctx context.Context, o simulator.Config) (*Sim, error) {
	prefix := o.KeyPrefix
	u := os.Getenv(testkit.EnvURL)
	if u == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start miniredis: %w", err)
		}
		if prefix == "" {
			prefix = "smsim"
		}
		mem, err := redisstore.NewMemory(m)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("start miniredis: %w", err)
		}
		return &Sim{Redis: m, RedisURL: "redis://" + m.Addr(), KeyPrefix: prefix, mem: mem,
			rdb: redis.NewClient(core.StoreOptions(&redis.Options{Addr: m.Addr(), Dialer: mem.Dial}, o.StoreTimeout))}, nil
	}
	rdb, err := core.OpenStore(u, o.StoreTimeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", testkit.EnvURL, err)
	}
	if prefix == "" {
		prefix = "smsimtest"
	}
	unique, err := testkit.UniquePrefix(prefix)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	s := &Sim{RedisURL: u, KeyPrefix: unique, rdb: rdb, real: true}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("%s: %s: %w", testkit.EnvURL, u, err)
	}
	return s, nil
}

// stoppable sends the requests of a Sim's client while the Sim runs, and
// answers ErrStopped once it stopped: a server gone, or another test's on
// the same port, is no answer to a test that outlived its Sim.
type stoppable struct {
	s    *Sim
	next http.RoundTripper
}

func (r stoppable) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.s.stopped.Load() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, ErrStopped
	}
	return r.next.RoundTrip(req)
}

// ForTest answers a client of a namespace of the test's own on the Sim's
// server, named after the test with a random suffix, so that tests that
// share one Sim (and a test run again, -count) never meet; the namespace
// is reset when the test ends. Its clock starts as the Sim's did.
//
//	var shared = … // one simtest.Start() for the package (TestMain)
//	func TestOneFiling(t *testing.T) {
//		t.Parallel()
//		sim := shared.ForTest(t)
//		…
//	}
func (s *Sim) ForTest(t testing.TB) *client.Client {
	t.Helper()
	c := s.Namespace(namespaceFor(t.Name()))
	t.Cleanup(func() {
		if s.stopped.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.Reset(ctx); err != nil {
			t.Errorf("simtest: reset the namespace of %s: %v", t.Name(), err)
		}
	})
	return c
}

// namespaceFor makes a namespace name of a test's: its letters, digits,
// '.', '_' and '-' (others as '-'), at most 50 of them, and a random
// suffix.
func namespaceFor(test string) string {
	var b strings.Builder
	for _, r := range test {
		switch {
		case b.Len() >= 50:
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.TrimLeft(b.String(), "._-")
	if name == "" {
		name = "t"
	}
	return name + "-" + strconv.FormatUint(rand.Uint64()%(1<<40), 36)
}

// Close stops the simulator: long polls and websockets end at once. On a
// real Redis, it deletes the simulator's keys (RunT fails the test when it
// cannot). It may be called more than once.
func (s *Sim) Close() { s.stop() }

// stop closes the simulator once, and answers why its keys could not be
// deleted.
func (s *Sim) stop() error {
	s.once.Do(func() {
		s.stopped.Store(true)
		if s.World != nil {
			s.World.Stop() // ends long polls and websockets, which the HTTP server would wait out
		}
		if s.hs != nil {
			s.hs.Close()
		}
		if s.real {
			s.closeErr = s.deleteKeys()
		}
		s.rdb.Close()
		if s.mem != nil {
			s.mem.Close()
		}
	})
	return s.closeErr
}

// deleteKeys deletes the simulator's keys from the real Redis it ran on.
func (s *Sim) deleteKeys() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := testkit.DeleteKeys(ctx, s.rdb, s.KeyPrefix+":*"); err != nil {
		return fmt.Errorf("delete the keys of %s: %w", s.KeyPrefix, err)
	}
	return nil
}
