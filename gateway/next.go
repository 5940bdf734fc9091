package gateway

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// Filter selects the messages a waiter wants; the zero Filter takes any.
type Filter struct {
	Sender   string         // exact sender
	FromMIIT bool           // 12381 or 106…12381
	HasCode  bool           // the body holds a six-digit code
	Match    *regexp.Regexp // on the body
}

// Matches tells whether m passes the filter.
func (f Filter) Matches(m Message) bool {
	return (f.Sender == "" || m.Sender == f.Sender) &&
		(!f.FromMIIT || IsMIITSender(m.Sender)) &&
		(!f.HasCode || m.Code != "") &&
		(f.Match == nil || f.Match.MatchString(m.Body))
}

// AfterStart asks Next for the inbox's first message.
const AfterStart = "start"

// Next answers the first inbox message of phone that passes f and was
// delivered after message after (AfterStart: from the inbox's start; empty:
// after the call). It waits for one until timeout (real time) and answers
// false when none came; ErrNothingOnItsWay at once, without waiting, when
// none is there and none can come (the clock is paused, no message to
// phone is on its way and no sender has one still to send: Config.Coming).
func (g *Gateway) Next(ctx context.Context, phone, after string, f Filter, timeout time.Duration) (Message, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last int64 // deliveries up to this sequence number are seen
	if after != "" {
		if after != AfterStart {
			seq, ok, err := g.seqOf(ctx, phone, after, FolderInbox)
			if err != nil {
				if timeUp(ctx) {
					return Message{}, false, nil // the poll's own time ran out
				}
				return Message{}, false, err
			}
			if !ok {
				return Message{}, false, core.NotFound("after: no message %q in the inbox of %s", after, phone)
			}
			last = seq
		}
		// What the inbox holds already answers at once, watching nothing.
		if m, ok, err := g.firstAfter(ctx, phone, &last, f); ok || err != nil {
			return m, ok, err
		}
	}
	if none, err := g.nothingOnItsWay(ctx, phone); err != nil {
		if timeUp(ctx) {
			return Message{}, false, nil // the poll's own time ran out
		}
		return Message{}, false, err
	} else if none {
		if after == "" {
			return Message{}, false, ErrNothingOnItsWay
		}
		// delivered between the first look and the question?
		if m, ok, err := g.firstAfter(ctx, phone, &last, f); ok || err != nil {
			return m, ok, err
		}
		return Message{}, false, ErrNothingOnItsWay
	}
	watch, err := g.Watch(ctx, phone)
	if err != nil {
		if timeUp(ctx) {
			return Message{}, false, nil // the poll's own time ran out
		}
		return Message{}, false, err
	}
	defer func() { watch.Close() }()
	g.stats.polls.Inc() // watching: every delivery from now on reaches the poll
	defer g.stats.polls.Dec()
	if after == "" {
		// Only what is delivered after the call counts: everything numbered
		// up to now was delivered before.
		n, err := g.rdb.HGet(ctx, g.ks.Seq(), "delivery").Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			if timeUp(ctx) {
				return Message{}, false, nil // the poll's own time ran out
			}
			return Message{}, false, fmt.Errorf("read the deliveries of %s: %w", phone, err)
		}
		last = n
	} else if m, ok, err := g.firstAfter(ctx, phone, &last, f); ok || err != nil {
		return m, ok, err // delivered between the first look and the watch
	}
	// Whether anything is on its way may change with no event that says so
	// (the last message on its way went to the blocked folder, or is not
	// the one waited for; an order was canceled, and the code it was to
	// bring is no more): on a paused clock, the poll asks again every
	// nothingRecheck.
	recheck := g.rechecks.join(g.paused)
	defer g.rechecks.leave()
	for {
		select {
		case <-ctx.Done():
			return Message{}, false, pollEnd(ctx)
		case <-recheck:
			recheck = g.rechecks.next()
			if m, ok, err := g.unlessComing(ctx, phone, &last, f); !errors.Is(err, errComing) {
				return m, ok, err
			}
		case r, ok := <-watch.C:
			if !ok { // dropped as too slow, or the feed stopped: read the store, then listen again
				again, err := g.Watch(ctx, phone)
				if err != nil {
					if ctx.Err() != nil {
						return Message{}, false, pollEnd(ctx)
					}
					return Message{}, false, err // the simulator is stopping, or the store is away: a 503
				}
				watch = again
				if m, ok, err := g.firstAfter(ctx, phone, &last, f); ok || err != nil {
					return m, ok, err
				}
				continue
			}
			switch r.Kind {
			case core.KindReset:
				last = 0 // the deliveries are numbered from 1 again
				continue
			case core.KindClock, core.KindSMSFailed:
				// the clock paused, or a message to the phone failed: what
				// was on its way may be no more
				if m, ok, err := g.unlessComing(ctx, phone, &last, f); !errors.Is(err, errComing) {
					return m, ok, err
				}
				continue
			}
			fr, ok := PhoneFrame(r)
			m := fr.Message
			if !ok || m.Folder != FolderInbox || m.Seq <= last {
				continue
			}
			last = m.Seq
			if f.Matches(m) {
				return fr.Full(), true, nil
			}
		}
	}
}

// unlessComing answers what a waiting poll answers once nothing is on its
// way to phone any more — a message delivered meanwhile that passes f, else
// ErrNothingOnItsWay — and errComing while something still is (or the
// store could not tell: the poll waits on).
func (g *Gateway) unlessComing(ctx context.Context, phone string, last *int64, f Filter) (Message, bool, error) {
	if none, err := g.nothingOnItsWay(ctx, phone); err != nil || !none {
		return Message{}, false, errComing
	}
	if m, ok, err := g.firstAfter(ctx, phone, last, f); ok || err != nil {
		return m, ok, err
	}
	return Message{}, false, ErrNothingOnItsWay
}

// errComing is unlessComing's answer while something is on its way.
var errComing = errors.New("gateway: something is on its way")

// nothingRecheck is how often a long poll waiting on a paused clock asks
// again whether anything is on its way to its phone.
const nothingRecheck = time.Second

// rechecks wakes the long polls of a gateway every nothingRecheck while
// its clock is paused: one ticker for all of them, running while one
// waits. A clock that runs brings what is due, and a pause is an event
// each poll hears; so a poll waiting on it costs no CPU, and holds no timer
// but its timeout's (the runtime looks through all of its timers each time
// one is reset to fall due soon, which net/http does at the end of every
// request: a ticker a poll made every request of the process cost more
// with thousands waiting, and woke each of them every second).
type rechecks struct {
	mu      sync.Mutex
	waiting int
	wake    chan struct{} // closed at the next recheck
	stop    chan struct{} // closed once no poll waits
	// ticks makes the ticker of the rechecks and its stop; nil: a
	// time.Ticker of nothingRecheck (a test's own otherwise)
	ticks func() (<-chan time.Time, func())
}

// join counts a poll among those waiting, and answers the channel closed at
// the next recheck; paused tells whether the clock is paused.
func (r *rechecks) join(paused func() bool) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting == 0 {
		r.wake, r.stop = make(chan struct{}), make(chan struct{})
		tick, stopTicks := r.ticker()
		go r.run(r.stop, tick, stopTicks, paused)
	}
	r.waiting++
	return r.wake
}

// next answers the channel of the recheck after the one that woke a poll.
func (r *rechecks) next() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wake
}

// leave counts a poll out; the ticker stops with the last.
func (r *rechecks) leave() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting--; r.waiting == 0 {
		close(r.stop)
	}
}

// run wakes the polls at each tick of a paused clock until stop is closed.
func (r *rechecks) run(stop <-chan struct{}, tick <-chan time.Time, stopTicks func(), paused func() bool) {
	defer stopTicks()
	for {
		select {
		case <-stop:
			return
		case <-tick:
		}
		if !paused() {
			continue
		}
		r.mu.Lock()
		close(r.wake)
		r.wake = make(chan struct{})
		r.mu.Unlock()
	}
}

func (r *rechecks) ticker() (<-chan time.Time, func()) {
	if r.ticks != nil {
		return r.ticks()
	}
	t := time.NewTicker(nothingRecheck)
	return t.C, t.Stop
}

// paused tells whether the clock is paused, as far as the store can tell.
func (g *Gateway) paused() bool {
	snap, err := g.state.Snapshot(context.Background())
	return err == nil && snap.Now().Paused
}

// firstAfter reads the inbox after *last for the first message passing f,
// moving *last past what it read.
func (g *Gateway) firstAfter(ctx context.Context, phone string, last *int64, f Filter) (Message, bool, error) {
	ms, err := g.folderAfter(ctx, phone, FolderInbox, *last)
	if err != nil {
		if timeUp(ctx) {
			return Message{}, false, nil
		}
		return Message{}, false, err
	}
	for _, m := range ms {
		*last = m.Seq
		if f.Matches(m) {
			return m, true, nil
		}
	}
	return Message{}, false, nil
}

// timeUp tells whether the poll's own time ran out: its context ended, or
// its deadline passed — a store call bounded by that deadline may fail
// with a timeout a moment before the context says it ended.
// pollEnd is what a poll whose ctx ended answers: nothing (false, nil)
// when its own time ran out, the context's error when its caller left.
func pollEnd(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return nil
	}
	return ctx.Err()
}

func timeUp(ctx context.Context) bool {
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return true
	}
	return ctx.Err() != nil
}
