package core

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// feedBuffer is how many events a watcher may fall behind before the feed
// drops it (it then reconnects and catches up from the log).
const feedBuffer = 1024

// Feed follows the event log and fans each event out to the watchers of
// this process, the pages' websockets. One goroutine (Run) owns the set of
// watchers; a watcher too slow to keep up is dropped, never waited for.
type Feed struct {
	events     *EventLog
	log        *slog.Logger
	register   chan *Watcher
	unregister chan *Watcher
	done       chan struct{}
}

// Watcher receives the events of the log, live. C is closed when the
// watcher fell behind or the feed stopped.
type Watcher struct {
	C     <-chan Record
	c     chan Record
	feed  *Feed
	ready chan struct{} // the feed took the watcher in
}

// NewFeed returns the feed of an event log.
func NewFeed(events *EventLog, log *slog.Logger) *Feed {
	return &Feed{events: events, log: log.With("component", "feed"),
		register: make(chan *Watcher), unregister: make(chan *Watcher), done: make(chan struct{})}
}

// Run fans events out to the watchers until ctx ends. It reads the log
// only while someone watches: a process nobody watches spends nothing on
// the feed.
func (f *Feed) Run(ctx context.Context) {
	defer close(f.done)
	records := make(chan Record, feedBuffer)
	from := make(chan string, 1) // for the reader: where to start reading, or "" to stop
	go f.read(ctx, from, records)
	watchers := map[*Watcher]struct{}{}
	floor := "" // events up to this one predate the watchers: a read of before may still bring them
	tell := func(id string) {
		select {
		case <-from:
		default:
		}
		from <- id
	}
	defer func() {
		for w := range watchers {
			close(w.c)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			for range records { // let the reader finish
			}
			return
		case w := <-f.register:
			if len(watchers) == 0 {
				// Start reading at the newest event now, before the watcher
				// is told it is registered: what comes later reaches it.
				last, err := f.events.Last(ctx)
				if err != nil {
					f.log.Warn("reading the event log", "err", err)
					last = "0"
				}
				tell(last)
				floor = last
			}
			watchers[w] = struct{}{}
			w.ready <- struct{}{}
		case w := <-f.unregister:
			if _, ok := watchers[w]; ok {
				delete(watchers, w)
				close(w.c)
				if len(watchers) == 0 {
					tell("")
				}
			}
		case r, ok := <-records:
			if !ok {
				return
			}
			if floor != "" && !Newer(r.ID, floor) {
				continue
			}
			for w := range watchers {
				select {
				case w.c <- r:
				default: // too slow: drop it rather than wait
					delete(watchers, w)
					close(w.c)
				}
			}
			if len(watchers) == 0 {
				tell("")
			}
		}
	}
}

// read follows the log from where from says, until it says "" (stop).
func (f *Feed) read(ctx context.Context, from <-chan string, records chan<- Record) {
	defer close(records)
	last := ""
	for ctx.Err() == nil {
		if last == "" {
			select {
			case <-ctx.Done():
				return
			case last = <-from:
			}
			continue
		}
		select {
		case last = <-from:
			continue
		default:
		}
		recs, err := f.events.Wait(ctx, last, 100*time.Millisecond)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("reading the event log", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			continue
		}
		for _, r := range recs {
			select {
			case records <- r:
				last = r.ID
			case <-ctx.Done():
				return
			}
		}
	}
}

// Watch starts receiving events. Once it returns, every event the feed
// reads from then on reaches the watcher. Close it when done.
func (f *Feed) Watch(ctx context.Context) (*Watcher, bool) {
	c := make(chan Record, feedBuffer)
	w := &Watcher{C: c, c: c, feed: f, ready: make(chan struct{}, 1)}
	select {
	case f.register <- w:
		<-w.ready
		return w, true
	case <-f.done:
	case <-ctx.Done():
	}
	return nil, false
}

// Close ends the watch.
func (w *Watcher) Close() {
	select {
	case w.feed.unregister <- w:
	case <-w.feed.done:
	}
}

// CatchUp answers the events after id after, up to max.
func (f *Feed) CatchUp(ctx context.Context, after string, max int64) ([]Record, error) {
	return f.events.After(ctx, after, max)
}

// Newer tells whether event id a comes after event id b.
func Newer(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am > bm || (am == bm && as > bs)
}

func splitID(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m, s
}
