package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// subBuffer is how many deliveries a subscriber may fall behind before the
// hub drops it.
const subBuffer = 64

// Subscription receives the deliveries to one phone, live. C is closed when
// the subscriber fell too far behind (or the hub stopped): the subscriber
// then reads what it missed from the store.
type Subscription struct {
	C     <-chan Message
	c     chan Message
	key   string
	hub   *Hub
	ended bool
}

// Hub fans deliveries out to the subscribers of each phone in this process.
// One goroutine (Run) owns the set of subscribers; a subscriber too slow to
// keep up is dropped, never waited for.
type Hub struct {
	rdb        redis.UniversalClient
	channel    string // the Pub/Sub channel of deliveries
	log        *slog.Logger
	register   chan *Subscription
	unregister chan *Subscription
	broadcast  chan Message
	done       chan struct{}
	subs       map[string]map[*Subscription]struct{}
}

// NewHub returns the hub of the deliveries of every namespace under
// prefix. One hub serves all the gateways of a process (Config.Hub); Run
// it once.
func NewHub(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Hub {
	h := newHub()
	h.rdb, h.channel, h.log = rdb, prefix+":deliveries", log.With("component", "hub")
	return h
}

func newHub() *Hub {
	return &Hub{
		register:   make(chan *Subscription),
		unregister: make(chan *Subscription),
		broadcast:  make(chan Message, 1024),
		done:       make(chan struct{}),
		subs:       map[string]map[*Subscription]struct{}{},
	}
}

func hubKey(ns, phone string) string { return ns + "/" + phone }

func (h *Hub) run(ctx context.Context) {
	defer close(h.done)
	for {
		select {
		case <-ctx.Done():
			for _, set := range h.subs {
				for s := range set {
					close(s.c)
				}
			}
			h.subs = nil
			return
		case s := <-h.register:
			set := h.subs[s.key]
			if set == nil {
				set = map[*Subscription]struct{}{}
				h.subs[s.key] = set
			}
			set[s] = struct{}{}
		case s := <-h.unregister:
			if set, ok := h.subs[s.key]; ok {
				if _, ok := set[s]; ok {
					delete(set, s)
					close(s.c)
					if len(set) == 0 {
						delete(h.subs, s.key)
					}
				}
			}
		case m := <-h.broadcast:
			key := hubKey(m.namespace, m.Phone)
			for s := range h.subs[key] {
				select {
				case s.c <- m:
				default: // too slow: drop it rather than wait
					delete(h.subs[key], s)
					close(s.c)
				}
			}
			if len(h.subs[key]) == 0 {
				delete(h.subs, key)
			}
		}
	}
}

// Subscribe starts receiving the deliveries to phone. Once it returns, every
// delivery published later reaches the subscription. Close it when done.
func (g *Gateway) Subscribe(ctx context.Context, phone string) (*Subscription, error) {
	c := make(chan Message, subBuffer)
	s := &Subscription{C: c, c: c, key: hubKey(g.ks.Namespace, phone), hub: g.hub}
	select {
	case g.hub.register <- s:
		return s, nil
	case <-g.hub.done:
		return nil, fmt.Errorf("subscribe to %s: gateway stopped", phone)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	if s.ended {
		return
	}
	s.ended = true
	select {
	case s.hub.unregister <- s:
	case <-s.hub.done:
	}
}

// Run consumes the Pub/Sub feed of deliveries and fans them out to this
// process's subscribers until ctx ends. ready is closed once the
// subscription to the feed is confirmed.
func (h *Hub) Run(ctx context.Context, ready chan<- struct{}) error {
	go h.run(ctx)
	ps := h.rdb.Subscribe(ctx, h.channel)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		return fmt.Errorf("subscribe to %s: %w", h.channel, err)
	}
	close(ready)
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			<-h.done
			return nil
		case msg, ok := <-ch:
			if !ok {
				return nil
			}
			var d delivery
			if err := json.Unmarshal([]byte(msg.Payload), &d); err != nil {
				h.log.Warn("malformed delivery on the feed", "err", err)
				continue
			}
			m := d.message()
			m.namespace = d.Namespace
			select {
			case h.broadcast <- m:
			case <-ctx.Done():
			}
		}
	}
}

// Run runs the gateway's hub (Hub.Run), when the gateway has one of its
// own.
func (g *Gateway) Run(ctx context.Context, ready chan<- struct{}) error {
	return g.hub.Run(ctx, ready)
}
