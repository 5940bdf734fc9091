// Package server is smsim's HTTP API: for each namespace a request names
// it builds the clock, the scheduler, the fault profile, the gateway and
// MIIT on one Redis, runs their background work, and serves the contract
// (provider, MIIT, phones, gateway, control, operations) as one
// http.Handler.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
)

// DefaultMaxBody bounds a request body.
const DefaultMaxBody = 64 << 10

// Config is what a Server is built from.
type Config struct {
	// Redis is the store. New adds a hook to it that counts failed
	// commands: give each Server a client of its own.
	Redis          redis.UniversalClient
	KeyPrefix      string // default "smsim"
	ClockStart     core.ClockStart
	Seed           *int64 // nil: draws from crypto/rand
	MIITSender     string
	ProviderSender string
	Log            *slog.Logger
	Registry       *prometheus.Registry
	MaxBody        int64
	Scheduler      core.SchedulerOptions
	// WebhookHosts are the hosts besides loopback that webhooks may be
	// posted to.
	WebhookHosts []string
	// WebhookBackoff is the wait before each retry of a failed webhook post
	// (nil: webhook.DefaultBackoff); WebhookAttempts bounds the attempts
	// (0: webhook.DefaultMaxAttempts).
	WebhookBackoff  func(attempt int) time.Duration
	WebhookAttempts int
	// NamespaceIdle is how long a namespace no request has touched keeps
	// its background work running (default DefaultNamespaceIdle).
	NamespaceIdle time.Duration
}

// Server is one smsim process.
type Server struct {
	cfg   Config
	rdb   redis.UniversalClient
	log   *slog.Logger
	reg   *prometheus.Registry
	rnd   *core.Source
	hub   *gateway.Hub
	http  *httpMetrics
	stats *serverMetrics

	mu     sync.Mutex            // guards spaces and runCtx
	spaces map[string]*namespace // the namespaces this process has built
	runCtx context.Context       // the background work's; nil until Start

	stop     func()
	wg       sync.WaitGroup
	patterns []string
}

// New builds a server and sets the default namespace's clock to its start
// value unless the store already holds one.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "smsim"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Log = slog.New(core.LogHandler(cfg.Log.Handler())) // lines logged with a request's context name it
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.NamespaceIdle == 0 {
		cfg.NamespaceIdle = DefaultNamespaceIdle
	}
	s := &Server{cfg: cfg, rdb: cfg.Redis, log: cfg.Log, reg: cfg.Registry, spaces: map[string]*namespace{}}
	s.rnd = core.NewSource()
	if cfg.Seed != nil {
		s.rnd = core.NewSeededSource(*cfg.Seed)
	}
	s.hub = gateway.NewHub(s.rdb, cfg.KeyPrefix, s.log)
	s.http = newHTTPMetrics(s.reg)
	s.stats = newServerMetrics(s.reg)
	s.reg.MustRegister(miit.NewOrdersCollector(s.rdb, cfg.KeyPrefix, s.activeNamespaces, s.log))
	s.rdb.AddHook(redisHook{s.stats.redisErrors})
	if _, err := s.namespace(ctx, core.DefaultNamespace); err != nil {
		return nil, err
	}
	return s, nil
}

// Start runs the background work — the live feed of deliveries, and the
// scheduler's loop and dashboard feed of every namespace in use — until
// Stop. It returns once the feed of deliveries is subscribed, so that every
// delivery from then on reaches this process's phones.
func (s *Server) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	ready := make(chan struct{})
	feedErr := make(chan error, 1)
	s.mu.Lock()
	s.runCtx = runCtx
	for _, n := range s.spaces {
		s.startNamespace(n)
	}
	s.mu.Unlock()
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.hub.Run(runCtx, ready); err != nil {
			feedErr <- err
		}
	}()
	go func() {
		defer s.wg.Done()
		s.supervise(runCtx)
	}()
	select {
	case <-ready:
		return nil
	case err := <-feedErr:
		s.Stop()
		return err
	case <-ctx.Done():
		s.Stop()
		return ctx.Err()
	case <-time.After(10 * time.Second):
		s.Stop()
		return errors.New("subscribing to the delivery feed timed out")
	}
}

// Stop ends the background work and waits for it.
func (s *Server) Stop() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
	s.mu.Lock()
	spaces := make([]*namespace, 0, len(s.spaces))
	for _, n := range s.spaces {
		spaces = append(spaces, n)
	}
	s.mu.Unlock()
	for _, n := range spaces {
		stopNamespace(n)
	}
}

// Reset forgets every filing, message, phone profile and event of a
// namespace, and sets its clock and fault profile back to their start
// values. Other namespaces keep everything.
func (s *Server) Reset(ctx context.Context, namespace string) error {
	n, err := s.namespace(ctx, namespace)
	if err != nil {
		return err
	}
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, n.ks.Pattern(), 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 500 {
				if err := c.Del(ctx, batch...).Err(); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			return c.Del(ctx, batch...).Err()
		}
		return nil
	}
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	case *redis.Client:
		err = del(ctx, c)
	default:
		err = fmt.Errorf("reset: unsupported client %T", s.rdb)
	}
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return n.clock.Reset(ctx)
}

// Routes is the whole HTTP API.
func (s *Server) Routes() http.Handler {
	mux := http.NewServeMux()
	s.patterns = nil
	s.routeProvider(mux)
	s.routeMIIT(mux)
	s.routePhones(mux)
	s.routeGateway(mux)
	s.routeAdmin(mux)
	s.routeOps(mux)
	s.routeDashboard(mux)
	s.routeLists(mux)
	s.routeWebhooks(mux)
	s.handleNS(mux, "GET /ws/events", s.eventSocket)
	return s.instrument(problemsForMux(mux))
}

func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	s.handleH(mux, pattern, h)
}

func (s *Server) handleH(mux *http.ServeMux, pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	mux.Handle(pattern, h)
}

// Patterns lists the route patterns of Routes ("GET /healthz", …).
func (s *Server) Patterns() []string {
	if s.patterns == nil {
		s.Routes()
	}
	return append([]string{}, s.patterns...)
}
