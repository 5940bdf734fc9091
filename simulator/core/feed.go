package core

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultWatchBuffer is how many events a watcher may fall behind before
// the feed drops it, unless it asks for another buffer.
const DefaultWatchBuffer = 1024

// readBlock is how long the feed's reader waits in Redis for a new event
// before it looks again whether anyone still watches.
const readBlock = 100 * time.Millisecond

// Feed is the one live fan-out of a namespace: it follows the event log and
// hands each event to the watchers of this process — the event socket of
// the API and the pages, and, through a key, the phones' sockets and long
// polls, which watch the events of one number. It reads the log only while
// someone watches: one reader goroutine, started by the first watcher and
// ended with the last, so that a namespace nobody watches costs nothing. A
// watcher too slow to keep up is dropped, never waited for: it reads what
// it missed from the store and watches again.
type Feed struct {
	events *EventLog
	log    *slog.Logger
	keyOf  func(Record) string

	mu       sync.Mutex
	ctx      context.Context // the owner's; nil until Start, and after it ends
	all      map[*Watcher]struct{}
	keyed    map[string]map[*Watcher]struct{}
	watchers int
	reader   int                // generation of the reader that fans out; the others stop
	stop     context.CancelFunc // ends the current reader
	wg       sync.WaitGroup     // the readers
}

// Live is an event as the feed hands it out: one value shared by every
// watcher, with what they make of it — its JSON, a phone's frame — made
// once, by the first that asks, for all of them.
type Live struct {
	Record
	jsonOnce sync.Once
	json     []byte
	memoOnce sync.Once
	memo     any
}

// JSON answers the event's JSON, encoded once.
func (l *Live) JSON() []byte {
	l.jsonOnce.Do(func() {
		b, err := json.Marshal(l.Record)
		if err != nil {
			b = nil
		}
		l.json = b
	})
	return l.json
}

// Memo answers what f makes of the event, made once: the watchers of a key
// share one derivation (gateway.PhoneFrame).
func (l *Live) Memo(f func(Record) any) any {
	l.memoOnce.Do(func() { l.memo = f(l.Record) })
	return l.memo
}

// Watcher receives the events of a feed, live. C is closed when the
// watcher fell behind or the feed stopped.
type Watcher struct {
	C    <-chan *Live
	c    chan *Live
	key  string
	feed *Feed
	gone bool // guarded by feed.mu: closed and out of the sets
}

// NewFeed returns the feed of an event log. keyOf names the key of an
// event ("" for none) for the watchers of one key (Watch with a key); nil:
// no event has a key.
func NewFeed(events *EventLog, log *slog.Logger, keyOf func(Record) string) *Feed {
	if keyOf == nil {
		keyOf = func(Record) string { return "" }
	}
	return &Feed{events: events, log: log.With("component", "feed"), keyOf: keyOf,
		all: map[*Watcher]struct{}{}, keyed: map[string]map[*Watcher]struct{}{}}
}

// Start lets the feed serve watchers until ctx ends or Stop. It starts no
// goroutine: the first watcher starts the reader.
func (f *Feed) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctx = ctx
}

// Stop drops every watcher and waits for the reader to end.
func (f *Feed) Stop() {
	f.mu.Lock()
	f.ctx = nil
	for w := range f.all {
		f.drop(w)
	}
	for _, set := range f.keyed {
		for w := range set {
			f.drop(w)
		}
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// Watch starts receiving the events of the log — all of them, or with a key
// only those whose key it is — with a buffer of that many events (0:
// DefaultWatchBuffer). Once it returns, every event written from then on
// reaches the watcher (and perhaps a few written just before: callers that
// also read the store skip what they saw). It answers false when the feed
// is not running. Close the watcher when done.
func (f *Feed) Watch(ctx context.Context, key string, buffer int) (*Watcher, bool) {
	if buffer <= 0 {
		buffer = DefaultWatchBuffer
	}
	c := make(chan *Live, buffer)
	w := &Watcher{C: c, c: c, key: key, feed: f}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx == nil || f.ctx.Err() != nil || ctx.Err() != nil {
		return nil, false
	}
	if f.watchers == 0 {
		// Start reading at the newest event now, before the watcher is
		// told it is in: what comes later reaches it.
		last, err := f.events.Last(ctx)
		if err != nil {
			f.log.Warn("reading the event log", "err", err)
			last = "0"
		}
		rctx, cancel := context.WithCancel(f.ctx)
		f.reader++
		f.stop = cancel
		f.wg.Add(1)
		go f.read(rctx, f.reader, last)
	}
	f.watchers++
	if key == "" {
		f.all[w] = struct{}{}
	} else {
		set := f.keyed[key]
		if set == nil {
			set = map[*Watcher]struct{}{}
			f.keyed[key] = set
		}
		set[w] = struct{}{}
	}
	return w, true
}

// Watched tells whether anyone watches the feed.
func (f *Feed) Watched() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watchers > 0
}

// Close ends the watch.
func (w *Watcher) Close() {
	f := w.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop(w)
}

// drop closes w and takes it out of the sets; the last one out stops the
// reader. Call it with f.mu held.
func (f *Feed) drop(w *Watcher) {
	if w.gone {
		return
	}
	w.gone = true
	close(w.c)
	if w.key == "" {
		delete(f.all, w)
	} else if set := f.keyed[w.key]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(f.keyed, w.key)
		}
	}
	f.watchers--
	if f.watchers == 0 && f.stop != nil {
		f.stop()
		f.stop = nil
	}
}

// read follows the log after the event with id last and fans each event
// out, while its generation is the feed's reader.
func (f *Feed) read(ctx context.Context, gen int, last string) {
	defer f.wg.Done()
	for ctx.Err() == nil {
		recs, err := f.events.Wait(ctx, last, readBlock)
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
			if !f.fanOut(gen, &Live{Record: r}) {
				return
			}
			last = r.ID
		}
	}
}

// fanOut hands r to its watchers; it answers false when gen is no longer
// the feed's reader.
func (f *Feed) fanOut(gen int, r *Live) bool {
	key := f.keyOf(r.Record)
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen != f.reader || f.watchers == 0 {
		return false
	}
	send := func(w *Watcher) {
		select {
		case w.c <- r:
		default: // too slow: drop it rather than wait
			f.drop(w)
		}
	}
	for w := range f.all {
		send(w)
	}
	if key != "" {
		for w := range f.keyed[key] {
			send(w)
		}
	}
	return true
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
