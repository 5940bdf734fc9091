// Package server is smsim's HTTP API: it serves the contract (provider,
// MIIT, phones, gateway, control, operations, the dashboard) of a
// simulator.World as one http.Handler, each request in the namespace it
// names. It decodes requests, answers them and reports errors as problem
// details; what a request does is the world's.
package server

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/prometheus/client_golang/prometheus"

	"smsim/simulator"
	"smsim/simulator/core"
)

// DefaultMaxBody bounds a request body.
const DefaultMaxBody = 64 << 10

// Config is what a Server is built from besides its world.
type Config struct {
	Log     *slog.Logger
	MaxBody int64 // default DefaultMaxBody
	// AllowedHosts are the names (or addresses) besides loopback ones that
	// a request's Host may give (--allowed-host); any other is a 421.
	AllowedHosts []string
	// AdminToken, when set, guards the admin and phone-control routes
	// (Guarded): they want it as Authorization: Bearer (--admin-token).
	AdminToken string
	// SocketWriteWait bounds the writing of one frame to a websocket: a
	// watcher that reads nothing for that long is dropped (0:
	// DefaultSocketWriteWait).
	SocketWriteWait time.Duration
	// SocketPingPeriod is how often a websocket is pinged: a client that
	// answers no ping within 10/9 of it is dropped (0:
	// DefaultSocketPingPeriod).
	SocketPingPeriod time.Duration
	// EventQueue is how many events a socket of the event log may fall
	// behind before it is dropped with 1008 (0: DefaultEventQueue).
	EventQueue int
}

// Server serves a World over HTTP.
type Server struct {
	cfg   Config
	world *simulator.World
	log   *slog.Logger
	reg   *prometheus.Registry
	http  *httpMetrics
	stats *serverMetrics

	hosts    hosts
	upgrader websocket.Upgrader
	sockets  sync.WaitGroup // the websockets' goroutines, and their pinger's
	pingers  pingers
	rooms    rooms
	writers  writers

	patterns []string
}

// New returns the HTTP API of world. Its metrics are registered on the
// world's registry, which /metrics serves.
func New(world *simulator.World, cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Log = slog.New(core.LogHandler(cfg.Log.Handler())) // lines logged with a request's context name it
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.SocketWriteWait == 0 {
		cfg.SocketWriteWait = DefaultSocketWriteWait
	}
	if cfg.EventQueue == 0 {
		cfg.EventQueue = DefaultEventQueue
	}
	if cfg.SocketPingPeriod == 0 {
		cfg.SocketPingPeriod = DefaultSocketPingPeriod
	}
	s := &Server{cfg: cfg, world: world, log: cfg.Log, reg: world.Registry(), hosts: newHosts(cfg.AllowedHosts)}
	s.upgrader = s.newUpgrader()
	s.http = newHTTPMetrics(s.reg)
	s.stats = newServerMetrics(s.reg)
	return s
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
	return s.instrument(s.problemsForMux(mux))
}

func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	s.handleH(mux, pattern, h)
}

func (s *Server) handleH(mux *http.ServeMux, pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.http.duration.WithLabelValues(pattern) // served from the start, empty
	mux.Handle(pattern, route{h})
}

// route is the handler of a route, as the mux holds it: what tells it from
// the mux's own answers (problemsForMux).
type route struct{ http.Handler }

// Patterns lists the route patterns of Routes ("GET /healthz", …).
func (s *Server) Patterns() []string {
	if s.patterns == nil {
		s.Routes()
	}
	return append([]string{}, s.patterns...)
}
