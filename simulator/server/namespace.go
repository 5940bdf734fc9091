package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/dashboard"
	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/webhook"
)

// NamespaceHeader names the namespace of a request. Browsers, which cannot
// set headers on a websocket, may give ?namespace= instead.
const NamespaceHeader = "X-Smsim-Namespace"

// DefaultNamespaceIdle is how long a namespace no request has touched keeps
// its background work running.
const DefaultNamespaceIdle = time.Hour

// touchEvery is how often, at most, a process records in the registry that
// a namespace is in use.
const touchEvery = 10 * time.Second

var namespaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidNamespace reports whether name may name a namespace: 1 to 64
// letters, digits, '.', '_' or '-', starting with a letter or a digit.
func ValidNamespace(name string) bool { return namespaceName.MatchString(name) }

// namespace is one world of the simulator: its own clock, scheduler, fault
// profile, event log, phones and orders, all under one Redis hash tag. The
// components hold no state of their own besides the store's, so a process
// builds them when a namespace is first asked for and may drop them again.
type namespace struct {
	name   string
	ks     core.Keyspace
	clock  *core.Clock
	sched  *core.Scheduler
	faults *core.FaultStore
	events *core.EventLog
	feed   *dashboard.Feed
	gw     *gateway.Gateway
	miit   *miit.Service
	hooks  *webhook.Dispatcher

	touched atomic.Int64 // real Unix ms at which this process last recorded a use in the registry
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// registryKey is the sorted set of the namespaces in use, scored by the
// real Unix ms of their last request; every process runs the background
// work of the namespaces used within the idle period.
func (s *Server) registryKey() string { return s.cfg.KeyPrefix + ":namespaces" }

// build makes the components of namespace name and sets its clock to the
// start value unless the store holds one.
func (s *Server) build(ctx context.Context, name string) (*namespace, error) {
	ks := core.Keyspace{Prefix: s.cfg.KeyPrefix, Namespace: name}
	n := &namespace{name: name, ks: ks}
	n.clock = core.NewClock(s.rdb, ks, s.cfg.ClockStart, nil)
	n.sched = core.NewScheduler(s.rdb, ks, n.clock, s.log, s.reg, s.cfg.Scheduler)
	n.faults = core.NewFaultStore(s.rdb, ks)
	n.events = core.NewEventLog(s.rdb, ks)
	n.feed = dashboard.NewFeed(n.events, s.log)
	n.gw = gateway.New(gateway.Config{Redis: s.rdb, Keyspace: ks, Scheduler: n.sched, Faults: n.faults, Events: n.events,
		Rand: s.rnd, Log: s.log, Metrics: s.reg, Hub: s.hub})
	m, err := miit.New(miit.Config{Redis: s.rdb, Keyspace: ks, Clock: n.clock, Scheduler: n.sched,
		Faults: n.faults, Rand: s.rnd, Gateway: n.gw, Events: n.events, Log: s.log, Metrics: s.reg,
		MIITSender: s.cfg.MIITSender, ProviderSender: s.cfg.ProviderSender})
	if err != nil {
		return nil, err
	}
	n.miit = m
	n.hooks = webhook.New(webhook.Config{Redis: s.rdb, Keyspace: ks, AllowHosts: s.cfg.WebhookHosts,
		Backoff: s.cfg.WebhookBackoff, MaxAttempts: s.cfg.WebhookAttempts, Log: s.log})
	if err := n.clock.Init(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// namespace answers the components of namespace name, building them on
// first use, and records the use in the registry.
func (s *Server) namespace(ctx context.Context, name string) (*namespace, error) {
	s.mu.Lock()
	n, ok := s.spaces[name]
	s.mu.Unlock()
	if !ok {
		// Built without the lock, which a slow store would otherwise hold
		// against every request; of two built at once, the first stays.
		built, err := s.build(ctx, name)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if n, ok = s.spaces[name]; !ok {
			n = built
			s.spaces[name] = n
			if s.runCtx != nil {
				s.startNamespace(n)
			}
		}
		s.mu.Unlock()
	}
	if err := s.touch(ctx, n); err != nil {
		return nil, err
	}
	return n, nil
}

// touch records in the registry that namespace n is in use, at most once
// every touchEvery per process.
func (s *Server) touch(ctx context.Context, n *namespace) error {
	now := time.Now().UnixMilli()
	last := n.touched.Load()
	if now-last < touchEvery.Milliseconds() || !n.touched.CompareAndSwap(last, now) {
		return nil
	}
	if err := s.rdb.ZAdd(ctx, s.registryKey(), redis.Z{Score: float64(now), Member: n.name}).Err(); err != nil {
		n.touched.Store(last)
		return fmt.Errorf("record namespace %s: %w", n.name, err)
	}
	return nil
}

// startNamespace runs the background work of n: its scheduler's loop, its
// dashboard feed and its webhooks. Call it with s.mu held.
func (s *Server) startNamespace(n *namespace) {
	ctx, cancel := context.WithCancel(s.runCtx)
	n.stop = cancel
	n.wg.Add(3)
	go func() {
		defer n.wg.Done()
		n.hooks.Run(ctx)
	}()
	go func() {
		defer n.wg.Done()
		n.sched.Run(ctx)
	}()
	go func() {
		defer n.wg.Done()
		n.feed.Run(ctx)
	}()
}

// stopNamespace ends the background work of n and waits for it.
func stopNamespace(n *namespace) {
	if n.stop != nil {
		n.stop()
		n.wg.Wait()
	}
}

// activeNamespaces answers the namespaces used within the idle period,
// the default one always among them, sorted.
func (s *Server) activeNamespaces(ctx context.Context) ([]string, error) {
	since := time.Now().Add(-s.cfg.NamespaceIdle).UnixMilli()
	names, err := s.rdb.ZRangeByScore(ctx, s.registryKey(), &redis.ZRangeBy{
		Min: strconv.FormatInt(since, 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("read namespaces: %w", err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !ValidNamespace(n) })
	if !slices.Contains(names, core.DefaultNamespace) {
		names = append(names, core.DefaultNamespace)
	}
	slices.Sort(names)
	return names, nil
}

// supervise keeps this process running the background work of every
// namespace in use — whichever process its requests reach — and drops the
// namespaces no request has touched within the idle period: their events
// wait until a request to them comes again.
func (s *Server) supervise(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if err := s.superviseOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("following the namespaces in use", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) superviseOnce(ctx context.Context) error {
	names, err := s.activeNamespaces(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		s.mu.Lock()
		_, ok := s.spaces[name]
		s.mu.Unlock()
		if ok {
			continue
		}
		n, err := s.build(ctx, name)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if _, ok := s.spaces[name]; !ok {
			s.spaces[name] = n
			if s.runCtx != nil {
				s.startNamespace(n)
			}
		}
		s.mu.Unlock()
	}
	idleSince := time.Now().Add(-s.cfg.NamespaceIdle).UnixMilli()
	var idle []*namespace
	s.mu.Lock()
	for name, n := range s.spaces {
		if name != core.DefaultNamespace && !slices.Contains(names, name) && n.touched.Load() < idleSince {
			delete(s.spaces, name)
			idle = append(idle, n)
		}
	}
	s.mu.Unlock()
	for _, n := range idle {
		stopNamespace(n)
	}
	return nil
}

// namespaceOf reads the namespace a request names: the X-Smsim-Namespace
// header, or ?namespace=, or the default.
func namespaceOf(r *http.Request) (string, error) {
	h, q := r.Header.Get(NamespaceHeader), r.URL.Query().Get("namespace")
	name := h
	switch {
	case h != "" && q != "" && h != q:
		return "", core.Invalid("namespace: the %s header says %q and ?namespace= says %q: give one", NamespaceHeader, h, q)
	case h == "":
		name = q
	}
	if name == "" {
		return core.DefaultNamespace, nil
	}
	if !ValidNamespace(name) {
		what := NamespaceHeader
		if h == "" {
			what = "namespace"
		}
		return "", core.Invalid("%s: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got %q", what, name)
	}
	return name, nil
}

// nsHandler is a handler of a route that belongs to a namespace.
type nsHandler func(w http.ResponseWriter, r *http.Request, ns *namespace)

// handleNS routes pattern to h, with the namespace the request names.
func (s *Server) handleNS(mux *http.ServeMux, pattern string, h nsHandler) {
	s.handle(mux, pattern, func(w http.ResponseWriter, r *http.Request) {
		name, err := namespaceOf(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ns, err := s.namespace(r.Context(), name)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set(NamespaceHeader, name)
		h(w, r, ns)
	})
}

// namespaceUse is a namespace in use and when a request last touched it.
type namespaceUse struct {
	Name     string    `json:"name"`
	LastUsed time.Time `json:"last_used"` // real time, to within touchEvery
}

// listNamespaces answers the namespaces in use (GET /admin/v1/namespaces),
// by name: those a request touched within the idle period, and default.
func (s *Server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	since := time.Now().Add(-s.cfg.NamespaceIdle).UnixMilli()
	zs, err := s.rdb.ZRangeByScoreWithScores(r.Context(), s.registryKey(), &redis.ZRangeBy{
		Min: strconv.FormatInt(since, 10), Max: "+inf",
	}).Result()
	if err != nil {
		s.fail(w, r, fmt.Errorf("read namespaces: %w", err))
		return
	}
	out := []namespaceUse{}
	seenDefault := false
	for _, z := range zs {
		name, _ := z.Member.(string)
		if !ValidNamespace(name) {
			continue
		}
		seenDefault = seenDefault || name == core.DefaultNamespace
		out = append(out, namespaceUse{Name: name, LastUsed: time.UnixMilli(int64(z.Score)).UTC()})
	}
	if !seenDefault {
		sc, err := s.rdb.ZScore(r.Context(), s.registryKey(), core.DefaultNamespace).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			s.fail(w, r, fmt.Errorf("read namespaces: %w", err))
			return
		}
		out = append(out, namespaceUse{Name: core.DefaultNamespace, LastUsed: time.UnixMilli(int64(sc)).UTC()})
	}
	slices.SortFunc(out, func(a, b namespaceUse) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, map[string]any{"namespaces": out})
}
