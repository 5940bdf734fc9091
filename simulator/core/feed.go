package core

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultWatchBuffer is how many events a watcher may fall behind before
// the feed drops it, unless it asks for another buffer.
const DefaultWatchBuffer = 1024

// Feed is the one live fan-out of a namespace: it hands each event of the
// log to the watchers of this process — the event socket of the API and the
// pages, and, through a key, the phones' sockets and long polls, which watch
// the events of one number. The events come from the namespace's live
// channel (Subscriber), which this process listens to only while someone
// watches: a namespace nobody watches costs nothing. A watcher too slow to
// keep up is dropped, never waited for: it reads what it missed from the
// store and watches again.
type Feed struct {
	events  *EventLog
	sub     *Subscriber
	channel string
	log     *slog.Logger
	keyOf   func(*Live) string

	mu        sync.Mutex
	ctx       context.Context // the owner's; nil until Start, and after it ends
	all       map[*Watcher]struct{}
	keyed     map[string]map[*Watcher]struct{}
	lines     map[string]*line // the lines of Queue's watchers, by key ("" for all)
	watchers  int
	last      string // the id of the last event handed out
	lastReset bool   // that event was a reset
}

// Live is an event as the feed hands it out: one value shared by every
// watcher, with what they make of it — its JSON, a phone's frame, a
// socket's frame on the wire — made once, by the first that asks, for all
// of them.
type Live struct {
	Record
	jsonOnce sync.Once
	json     []byte
	memoMu   sync.Mutex
	memos    []memo
}

// memo is what the watchers make of a Live under one key (Live.Memo).
type memo struct {
	key, v any
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

// Memo answers what f makes of the event, made once for key (a value of a
// type of the caller's own, as a context's key): the watchers that make
// the same of it share one derivation (gateway.PhoneFrame).
func (l *Live) Memo(key any, f func(*Live) any) any {
	l.memoMu.Lock()
	defer l.memoMu.Unlock()
	for _, m := range l.memos {
		if m.key == key {
			return m.v
		}
	}
	v := f(l)
	l.memos = append(l.memos, memo{key, v})
	return v
}

// line is the events that Queue's watchers of one key (or of all events)
// read, in order: a chain of links that every one of them shares, each
// with its place in it. The feed holds only the last link: the ones before
// it live while a watcher has yet to read past them, so a watcher that
// falls behind costs its place, not a queue of its own.
type line struct {
	last     *link // guarded by feed.mu
	watchers int   // guarded by feed.mu
}

// link is an event in a line. The line's last link stays while the line
// does, as the place its watchers read from; its event stays only until
// each watcher that was there when it came has taken it (or left), so that
// a line nobody writes to again, as a phone's after its code, holds no
// event.
type link struct {
	l    atomic.Pointer[Live]
	left atomic.Int64 // the watchers yet to take it
	seq  uint64       // its place in the line: one more than the link before
	next atomic.Pointer[link]
}

// newLink is the link of l after last, for watchers of its line.
func newLink(l *Live, last *link, watchers int) *link {
	n := &link{seq: last.seq + 1}
	n.l.Store(l)
	n.left.Store(int64(watchers))
	return n
}

// taken notes that a watcher took the link, or will not: the last of them
// lets its event go.
func (n *link) taken() {
	if n.left.Add(-1) == 0 {
		n.l.Store(nil)
	}
}

// Watcher receives the events of a feed, live. C is closed when the
// watcher fell behind or the feed stopped. A watcher of Queue has no C: it
// reads the line of its key with Next.
type Watcher struct {
	C       <-chan *Live
	c       chan *Live
	key     string
	feed    *Feed
	gone    bool // guarded by feed.mu: closed and out of the sets
	listens bool // guarded by feed.mu: its listen of the subscriber is counted, and its drop ends it
	slow    bool // guarded by feed.mu: dropped for falling behind

	// A watcher of Queue: its place in its line, how far it may fall
	// behind, and who to tell of events.
	notify func()
	max    uint64
	line   *line
	at     *link         // the last link it took: Next's, one reader at a time
	seen   atomic.Uint64 // at's seq, for the feed to tell how far behind it is
	stop   uint64        // once ended: the seq of the last link it may take
	ended  atomic.Bool   // dropped (gone)
}

// NewFeed returns the feed of an event log, its events handed over by sub.
// keyOf names the key of an event ("" for none) for the watchers of one
// key (Watch with a key); nil: no event has a key.
func NewFeed(events *EventLog, sub *Subscriber, log *slog.Logger, keyOf func(*Live) string) *Feed {
	if keyOf == nil {
		keyOf = func(*Live) string { return "" }
	}
	return &Feed{events: events, sub: sub, channel: events.ks.Live(), log: log.With("component", "feed"), keyOf: keyOf,
		all: map[*Watcher]struct{}{}, keyed: map[string]map[*Watcher]struct{}{}, lines: map[string]*line{}}
}

// Start lets the feed serve watchers until ctx ends or Stop. It starts no
// goroutine: the first watcher has the subscriber listen.
func (f *Feed) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctx = ctx
}

// Stop drops every watcher.
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
}

// Watch starts receiving the events of the log — all of them, or with a key
// only those whose key it is — with a buffer of that many events (0:
// DefaultWatchBuffer). Once it returns, every event written from then on
// reaches the watcher (and perhaps a few written just before: callers that
// also read the store skip what they saw). It fails when the feed is not
// running (ErrStopped), when ctx ends first (its error), and when the store
// does not take the subscription within the subscriber's wait (an error
// StoreUnavailable tells). Close the watcher when done.
func (f *Feed) Watch(ctx context.Context, key string, buffer int) (*Watcher, error) {
	if buffer <= 0 {
		buffer = DefaultWatchBuffer
	}
	c := make(chan *Live, buffer)
	return f.watch(ctx, &Watcher{C: c, c: c, key: key, feed: f})
}

// Queue starts receiving the events of the log as Watch does, into a
// queue that costs the watcher nothing however far behind it falls: every
// watcher of Queue with the same key reads one line of the events, each
// from its place in it. It may fall max events behind (0:
// DefaultWatchBuffer): one more and it is dropped. Its reader takes them
// with Next. notify is called, under the feed's lock (it must not block,
// nor call the feed), when an event comes to an empty queue, and when the
// watcher is dropped: a reader may sleep while Pending is false, and be
// woken by notify. Close the watcher when done.
func (f *Feed) Queue(ctx context.Context, key string, max int, notify func()) (*Watcher, error) {
	if max <= 0 {
		max = DefaultWatchBuffer
	}
	return f.watch(ctx, &Watcher{key: key, feed: f, notify: notify, max: uint64(max)})
}

// watch adds w to the feed's watchers (Watch, Queue).
func (f *Feed) watch(ctx context.Context, w *Watcher) (*Watcher, error) {
	f.mu.Lock()
	if f.ctx == nil || f.ctx.Err() != nil {
		f.mu.Unlock()
		return nil, ErrStopped
	}
	if err := ctx.Err(); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	f.watchers++
	if w.notify != nil {
		ln := f.lines[w.key]
		if ln == nil {
			ln = &line{last: &link{}}
			f.lines[w.key] = ln
		}
		ln.watchers++
		w.line, w.at = ln, ln.last
		w.seen.Store(ln.last.seq)
	}
	if w.key == "" {
		f.all[w] = struct{}{}
	} else {
		set := f.keyed[w.key]
		if set == nil {
			set = map[*Watcher]struct{}{}
			f.keyed[w.key] = set
		}
		set[w] = struct{}{}
	}
	// Each watcher is a listen of the subscriber (its drop, a stop), so that
	// Watch returns once the store has taken the subscription: what comes
	// later reaches the watcher. The listen begins under the lock, with the
	// watcher: nothing can drop the watcher, and stop its listen, before
	// the listen is counted. It waits without the lock: the answer it waits
	// for may come after events the subscriber hands to this feed.
	wait, counted := f.sub.begin(ctx, f.channel, f)
	w.listens = counted
	f.mu.Unlock()
	if err := wait(); err != nil {
		switch {
		case ctx.Err() != nil:
			f.log.Debug("the watcher left before the live channel was listened to", "err", err)
		case err == ErrStopped || StoreUnavailable(err):
			// the caller answers it, and logs it as every call the store failed
			f.log.Debug("listening to the live channel", "err", err)
		default:
			f.log.Warn("listening to the live channel", "err", err)
		}
		w.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return w, nil
}

// Next takes the oldest event waiting for a watcher of Queue; nil when
// none waits. ended tells that none will come any more: the watcher was
// dropped (Slow tells why) and has taken what came before. One goroutine
// at a time reads a watcher.
func (w *Watcher) Next() (l *Live, ended bool) {
	ended = w.ended.Load()
	n := w.at.next.Load()
	if n == nil || (ended && n.seq > w.stop) {
		return nil, ended
	}
	// seen before the next link is looked at (Pending, Next): the feed links
	// an event before it looks at seen, so either this reader sees the link
	// or the feed sees it has nothing left, and notifies.
	w.at = n
	w.seen.Store(n.seq)
	l = n.l.Load() // before taken, which lets it go once every watcher has it
	n.taken()
	return l, false
}

// Pending tells whether Next has something to answer: an event, or the
// watcher's end.
func (w *Watcher) Pending() bool {
	return w.ended.Load() || w.at.next.Load() != nil
}

// Watched tells whether anyone watches the feed.
func (f *Feed) Watched() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watchers > 0
}

// Slow tells whether the feed dropped the watcher (closed C) because it
// fell behind, rather than because the feed stopped or it was closed.
func (w *Watcher) Slow() bool {
	w.feed.mu.Lock()
	defer w.feed.mu.Unlock()
	return w.slow
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
	if w.line != nil {
		f.dropAt(w, w.line.last.seq)
		return
	}
	f.dropAt(w, 0)
}

// dropAt is drop, for a watcher of Queue that may still take the events of
// its line up to seq stop.
func (f *Feed) dropAt(w *Watcher, stop uint64) {
	if w.gone {
		return
	}
	w.gone = true
	if w.notify != nil {
		w.stop = stop
		w.ended.Store(true) // after stop, which Next reads once it sees ended
		w.notify()
		if w.line.watchers--; w.line.watchers == 0 && f.lines[w.key] == w.line {
			delete(f.lines, w.key)
		}
	} else {
		close(w.c)
	}
	if w.key == "" {
		delete(f.all, w)
	} else if set := f.keyed[w.key]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(f.keyed, w.key)
		}
	}
	f.watchers--
	if w.listens {
		go f.sub.stop(f.channel, f) // not under the lock, which the subscriber may wait for
	}
}

// deliver hands r to its watchers (the subscriber calls it, in the order
// of the log). An event not newer than the last one handed out was handed
// out already (a catch-up meets the live channel), but for a reset: the log
// it begins is numbered from the time of day again, and a reset within the
// millisecond of the last event, or with the clock of Redis's machine set
// back, is numbered at or before it. A reset goes on unless it is the last
// one handed out itself; what a watcher makes of a reset not newer than
// what it has is its own (the sockets ask the log whether it still holds
// their last event).
func (f *Feed) deliver(r Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watchers == 0 {
		return
	}
	if f.last != "" && !Newer(r.ID, f.last) && (r.Kind != KindReset || (r.ID == f.last && f.lastReset)) {
		return
	}
	f.last, f.lastReset = r.ID, r.Kind == KindReset
	l := &Live{Record: r}
	key := f.keyOf(l) // what it makes of the event, the watchers share (Live.Memo)
	// The event joins the lines of Queue's watchers before any of them is
	// looked at.
	linkTo := func(key string) {
		if ln := f.lines[key]; ln != nil {
			n := newLink(l, ln.last, ln.watchers)
			ln.last.next.Store(n)
			ln.last = n
		}
	}
	// A reset reaches every watcher, whatever its key: what a watcher of
	// one phone counted on (the numbers of the deliveries) starts over. So
	// does a change of the clock: a watcher waiting for what is on its way
	// asks again whether anything is.
	reset := r.Kind == KindReset || r.Kind == KindClock
	linkTo("")
	switch {
	case reset:
		for k := range f.lines {
			if k != "" {
				linkTo(k)
			}
		}
	case key != "":
		linkTo(key)
	}
	send := func(w *Watcher) {
		if w.notify != nil {
			last := w.line.last.seq
			switch behind := last - w.seen.Load(); {
			case behind > w.max: // too slow: drop it rather than wait
				w.slow = true
				f.dropAt(w, last-1)
				w.line.last.taken() // the event it will not take
			case behind == 1: // the event came to an empty queue
				w.notify()
			}
			return
		}
		select {
		case w.c <- l:
		default: // too slow: drop it rather than wait
			w.slow = true
			f.drop(w)
		}
	}
	for w := range f.all {
		send(w)
	}
	switch {
	case reset:
		for _, ws := range f.keyed {
			for w := range ws {
				send(w)
			}
		}
	case key != "":
		for w := range f.keyed[key] {
			send(w)
		}
	}
}

// catchUp hands the watchers what the log holds after the last event they
// were handed: the events published while the live channel was away.
func (f *Feed) catchUp(ctx context.Context) {
	f.mu.Lock()
	last := f.last
	f.mu.Unlock()
	if last == "" {
		return
	}
	for {
		recs, err := f.events.After(ctx, last, 1000)
		if err != nil {
			f.log.Warn("catching up on the event log", "err", err)
			return
		}
		for _, r := range recs {
			f.deliver(r)
			last = r.ID
		}
		if len(recs) < 1000 {
			return
		}
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
