package load

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"time"

	"smsim/simulator/client"
)

// ended tells whether status ends a flow, in the provider's view.
func ended(status string) bool {
	switch status {
	case client.FilingApproved, client.FilingReturned, client.FilingRejected, client.FilingCanceled:
		return true
	}
	return false
}

// ends learns from the namespace's event log when orders end at the
// provider — the filing.status events of the provider's view — and tells
// the flow waiting for each: one websocket for every flow of the run.
type ends struct {
	api *client.Client

	mu      sync.Mutex
	feed    *client.Feed[client.Event]
	last    string // the id of the last event read
	waiting map[string]*waiter
	// early holds the ends of orders no flow waits for yet, with when
	// they came: a flow learns its order's id from the submit's answer,
	// which can come after the order ended.
	early map[string]earlyEnd
	// slots bounds the flows that read their order at once when told to
	// recheck: every waiting flow is told at the same moment, and their
	// reads all at once would come as one burst to a server that has just
	// fallen behind (which is why the feed broke).
	slots chan struct{}
}

// recheckAtOnce is how many flows read their order at once after the feed
// broke.
const recheckAtOnce = 16

type earlyEnd struct {
	status string
	at     time.Time
}

// waiter is a flow waiting for its order to end.
type waiter struct {
	end chan string // the status it ended with
	// recheck asks the flow to read its order: the feed broke, and an end
	// may have gone by unseen.
	recheck chan struct{}
}

// maxEarly bounds early: beyond it, ends older than earlyKeep go.
const (
	maxEarly  = 10000
	earlyKeep = time.Minute
)

func newEnds(api *client.Client) *ends {
	return &ends{api: api, waiting: map[string]*waiter{}, early: map[string]earlyEnd{}, slots: make(chan struct{}, recheckAtOnce)}
}

// connect opens the feed, the events from now on, which then lasts as
// long as ctx. Its handshake has within to end, or the client's
// HandshakeTimeout when it is the shorter: a *TimeoutError.
func (e *ends) connect(ctx context.Context, within time.Duration) error {
	fctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(within, cancel)
	f, err := e.api.WatchEvents(fctx, "")
	var ne net.Error
	timedOut := !timer.Stop() || err != nil && errors.As(err, &ne) && ne.Timeout()
	if err == nil && !timedOut {
		e.feed = f
		return nil
	}
	if err == nil { // the bound was up as it answered
		f.Close()
	}
	cancel()
	if timedOut && ctx.Err() == nil {
		return &TimeoutError{Call: "GET /ws/events", Within: min(within, client.HandshakeTimeout)}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// run reads the feed until ctx ends. When the server closes it (a reader
// too slow to keep up) or the connection breaks, it connects again after
// the last event read, and has every waiting flow read its order, in case
// the log no longer held what it missed.
func (e *ends) run(ctx context.Context) {
	feed := e.feed
	for {
		for {
			ev, err := feed.Next()
			if err != nil {
				break
			}
			e.onEvent(ev)
		}
		feed.Close()
		if ctx.Err() != nil {
			return
		}
		for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			f, err := e.api.WatchEvents(ctx, e.last)
			if err == nil {
				feed = f
				break
			}
		}
		e.recheckAll()
	}
}

func (e *ends) onEvent(ev client.Event) {
	e.last = ev.ID
	if ev.Kind != client.KindFilingStatus {
		return
	}
	var s struct{ ID, View, Status string }
	if json.Unmarshal(ev.Data, &s) != nil || s.View != "provider" || !ended(s.Status) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if w, ok := e.waiting[s.ID]; ok {
		delete(e.waiting, s.ID)
		w.end <- s.Status // buffered, and sent once: a waiter is deleted when told
		return
	}
	now := time.Now()
	if len(e.early) >= maxEarly {
		for id, x := range e.early {
			if now.Sub(x.at) > earlyKeep {
				delete(e.early, id)
			}
		}
	}
	e.early[s.ID] = earlyEnd{s.Status, now}
}

// wait answers the waiter of order id, told at once if it ended already.
func (e *ends) wait(id string) *waiter {
	w := &waiter{end: make(chan string, 1), recheck: make(chan struct{}, 1)}
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.early[id]; ok {
		delete(e.early, id)
		w.end <- x.status
		return w
	}
	e.waiting[id] = w
	return w
}

// forget stops waiting for order id.
func (e *ends) forget(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.waiting, id)
}

func (e *ends) recheckAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range e.waiting {
		select {
		case w.recheck <- struct{}{}:
		default:
		}
	}
}
