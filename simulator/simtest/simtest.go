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
package simtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator"
	"smsim/simulator/client"
	"smsim/simulator/server"
)

// DefaultStart is the simulated time a Sim's clock starts at, unless
// WithStart says otherwise: 2026-05-01T00:00:00Z.
func DefaultStart() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }

// Sim is one running simulator. Its embedded client talks to it.
type Sim struct {
	*client.Client
	URL    string               // the base URL of its HTTP API, such as http://127.0.0.1:40123
	Server *server.Server       // the simulator itself
	Redis  *miniredis.Miniredis // its store

	hs   *httptest.Server
	rdb  redis.UniversalClient
	once sync.Once
}

type options struct {
	cfg     server.Config
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
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.cfg.Log = log } }

// WithServerConfig changes the server's configuration before it is built
// (sender numbers, body limit, …); its store and registry are the Sim's.
func WithServerConfig(f func(*server.Config)) Option { return func(o *options) { f(&o.cfg) } }

// WithClientOptions configures the Sim's client.
func WithClientOptions(opts ...client.Option) Option {
	return func(o *options) { o.clients = append(o.clients, opts...) }
}

// RunT starts a simulator for the test and stops it when the test (and its
// subtests) end; it fails the test when the simulator cannot start.
func RunT(t testing.TB, opts ...Option) *Sim {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("simtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a simulator; Close stops it. Tests use RunT, which closes
// it for them.
func Start(opts ...Option) (*Sim, error) {
	o := options{cfg: server.Config{ClockStart: simulator.ClockStart{At: DefaultStart(), Paused: true, Scale: 1}}}
	for _, f := range opts {
		f(&o)
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start miniredis: %w", err)
	}
	s := &Sim{Redis: m, rdb: redis.NewClient(&redis.Options{Addr: m.Addr()})}
	o.cfg.Redis = s.rdb
	o.cfg.Registry = prometheus.NewRegistry()
	ctx := context.Background()
	srv, err := server.New(ctx, o.cfg)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("build the server: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("start the server: %w", err)
	}
	s.Server = srv
	s.hs = httptest.NewServer(srv.Routes())
	s.URL = s.hs.URL
	if s.Client, err = client.New(s.URL, o.clients...); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the simulator: long polls and websockets end at once. It
// may be called more than once.
func (s *Sim) Close() {
	s.once.Do(func() {
		if s.Server != nil {
			s.Server.Stop() // ends long polls and websockets, which the HTTP server would wait out
		}
		if s.hs != nil {
			s.hs.Close()
		}
		s.rdb.Close()
		s.Redis.Close()
	})
}
