package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
)

// Subscriber is a process's one Pub/Sub connection to the store: every
// script that writes an event on a namespace's log also publishes it on the
// namespace's live channel (the prelude's emit), and the Subscriber listens
// on the channels of the namespaces someone watches in this process and
// hands each event to that namespace's Feed. Nobody watching, it listens to
// nothing; one goroutine (Run) reads the connection, whatever the number of
// namespaces. What a listen or a stop decides while the connection is down,
// and the pings of the listens that wait, go once a message comes on the
// new connection (pingAgain): the process holds a channel for as long as it
// runs, the changes channel (Note), which go-redis subscribes to again on
// every connection it makes, so that one does. A subscriber that holds no
// channel would wait for its next message forever.
type Subscriber struct {
	rdb redis.UniversalClient
	log *slog.Logger

	mu      sync.Mutex
	ps      *redis.PubSub
	feeds   map[string]*Feed                // by channel: the feeds listened for
	notes   map[string]func(payload string) // by channel: what a message on it does (Note)
	unheard map[string]bool                 // by channel of a note: the connection broke since it was confirmed
	refs    map[string]int                  // by channel: listens not stopped yet
	subs    map[string]uint64               // by channel listened to: its SUBSCRIBEs sent, the client's after a lost connection too
	ready   map[string]bool                 // by channel listened to: a ping sent after its last SUBSCRIBE came back
	pings   map[string]*ping                // by token: the pings of the listens that wait
	waits   map[string]int                  // by channel: of those, its listens'
	token   uint64                          // the last ping's
	reping  bool                            // the connection broke: the pings go again once it is back
	pending map[string]bool                 // by channel: a SUBSCRIBE (true) or UNSUBSCRIBE (false) decided while the connection was down, sent once it is back
	running bool
	stopped chan struct{}                        // closed when Run has ended
	behind  map[string]bool                      // by channel of a feed: the connection broke since it was confirmed
	wait    time.Duration                        // how long a listen waits for its ping at most while the store says nothing
	heard   uint64                               // the messages the reader took from the connection
	busy    bool                                 // the reader hands a message over: what the store sent after it waits for the reader
	after   func(time.Duration) <-chan time.Time // time.After; a test's own clock
}

// DefaultListenWait is how long a listen waits for its ping at most, unless
// NewSubscriber is told; and how long in all, whatever it is told, while the
// store answers but its ping has not come back.
const DefaultListenWait = 10 * time.Second

// ErrStopped is what a listen answers once the subscriber stopped, or
// before it runs: the simulator is stopping.
var ErrStopped = &Error{Code: http.StatusServiceUnavailable, Detail: "the simulator is stopping"}

// A ping is what a listen waits for: a PING sent on the connection after
// its channel's SUBSCRIBE. The store answers a connection's commands in
// order, so once the PING's answer (its token) comes back, the store has
// taken the SUBSCRIBE, and every event published from then on comes.
type ping struct {
	channel string
	sub     uint64        // the channel's SUBSCRIBEs sent when it was sent (Subscriber.subs)
	back    chan struct{} // closed when it came back
}

// NewSubscriber returns the subscriber of a process; Run it. Its
// connection is made by the first listen. A listen fails once the store
// said nothing on the connection for wait (DefaultListenWait when 0), the
// process's store timeout, as for any answer of the store. While the store
// answers, the listen waits on for its ping, up to DefaultListenWait in
// all: the reader hands every message before the ping's answer to its feed
// or its note first, and a feed catches up on the log there after the
// connection came back.
func NewSubscriber(rdb redis.UniversalClient, log *slog.Logger, wait time.Duration) *Subscriber {
	if wait <= 0 {
		wait = DefaultListenWait
	}
	return &Subscriber{rdb: rdb, log: log.With("component", "subscriber"), ps: rdb.Subscribe(context.Background()), wait: wait, after: time.After,
		running: true, stopped: make(chan struct{}), feeds: map[string]*Feed{}, notes: map[string]func(string){},
		unheard: map[string]bool{}, behind: map[string]bool{}, refs: map[string]int{}, subs: map[string]uint64{},
		ready: map[string]bool{}, pings: map[string]*ping{}, waits: map[string]int{}, pending: map[string]bool{}}
}

// Run reads the Pub/Sub connection until ctx ends, handing each event to
// its feed. After the connection broke and came back, every feed reads
// what it missed from the log.
func (s *Subscriber) Run(ctx context.Context) {
	// A read of the connection waits for a message whatever ctx says:
	// closing the connection ends it.
	closed := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			s.ps.Close()
		case <-closed:
		}
	}()
	defer close(closed)
	var failing Retrying // said once while the store is away, not at every try
	defer func() {
		s.mu.Lock()
		s.running = false
		s.ps.Close()
		close(s.stopped)
		s.mu.Unlock()
	}()
	for ctx.Err() == nil {
		msg, err := s.ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.connectionLost()
			failing.Note(s.log, "following the live channels", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(failing.Wait(100*time.Millisecond, s.retryAtMost())):
			}
			continue
		}
		failing.Note(s.log, "following the live channels", nil)
		s.handle(ctx, msg)
	}
}

// retryAtMost is how long the reader waits at most, while the store is
// away, before it tries the connection again: a quarter of a listen's
// wait, so that a listen that starts as the store comes back finds the
// reader on it within its wait (its SUBSCRIBE and PING go once the reader
// is); at least 100 ms, at most 2 s.
func (s *Subscriber) retryAtMost() time.Duration {
	return min(2*time.Second, max(100*time.Millisecond, s.wait/4))
}

// handle takes a message of the connection: the pings of the listens go
// again if it is the first since the connection broke (pingAgain), then it
// does what the message says (take). Meanwhile the subscriber is busy: the
// store answers, and the listens that wait for it wait on.
func (s *Subscriber) handle(ctx context.Context, msg any) {
	s.pingAgain(ctx)
	s.take(ctx, msg)
	s.mu.Lock()
	s.busy = false
	s.mu.Unlock()
}

// take does what a message of the connection says: a subscription
// confirmed, a ping come back, an event to hand to its feed or a message
// to its note.
func (s *Subscriber) take(ctx context.Context, msg any) {
	switch m := msg.(type) {
	case *redis.Subscription:
		if m.Kind == "subscribe" {
			s.subscribed(ctx, m.Channel)
		}
	case *redis.Pong:
		s.pong(m.Payload)
	case *redis.Message:
		s.mu.Lock()
		f, note := s.feeds[m.Channel], s.notes[m.Channel]
		s.mu.Unlock()
		if note != nil {
			note(m.Payload)
			return
		}
		if f == nil {
			return
		}
		// a message may tell several events, one after another (emit's
		// hold), each ended by the ASCII record separator but the last
		for rest, more := m.Payload, true; more; {
			var one string
			one, rest, more = strings.Cut(rest, liveSeparator)
			rec, err := liveRecord(one, f.events.ks.Namespace)
			if err != nil {
				s.log.Warn("a malformed event on a live channel", "channel", m.Channel, "err", err)
				return
			}
			f.deliver(rec)
		}
	}
}

// connectionLost notes that the connection broke: the feeds catch up, and
// the notes hear of it, once it is back. The client has subscribed again
// to each channel it holds as it made a new connection, before any other
// command (go-redis does as it reads the error, or at the next command):
// the pings of the listens that wait were lost with the connection, and go
// again once it is back (pingAgain), after those SUBSCRIBEs; until one
// comes back, no channel is ready.
func (s *Subscriber) connectionLost() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost()
}

// failed takes the error of a command written on the connection, under
// the lock. go-redis drops a connection that a command failed on, and
// makes a new one there and then, subscribing again to every channel it
// holds, unless the store cannot be reached: Run may never hear of it,
// reading no more of the old connection, and whatever was written on that
// one is lost. So it is a lost connection (connectionLost) all the same.
func (s *Subscriber) failed(err error) error {
	if err != nil {
		s.lost()
	}
	return err
}

// lost is connectionLost, under the lock.
func (s *Subscriber) lost() {
	for channel := range s.feeds {
		s.behind[channel] = true
	}
	for channel := range s.notes {
		s.unheard[channel] = true
	}
	for channel := range s.refs {
		s.subs[channel]++
		delete(s.ready, channel)
	}
	for _, p := range s.pings {
		p.sub = s.subs[p.channel]
	}
	s.reping = true
}

// pingAgain sends, once the connection is back (a message came on it),
// the SUBSCRIBEs and UNSUBSCRIBEs decided while it was down (pending),
// then again the pings of the listens that waited: each PING after every
// SUBSCRIBE, so that its answer says its channel's was taken. Should the
// connection break again as they go, what is left goes once it is back.
// It counts the message as heard, and the subscriber busy with it (handle).
func (s *Subscriber) pingAgain(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heard++
	s.busy = true
	if !s.reping {
		return
	}
	s.reping = false
	for channel, subscribe := range s.pending {
		if subscribe {
			if s.failed(s.ps.Subscribe(ctx, channel)) != nil {
				return
			}
			s.subs[channel]++
		} else if s.failed(s.ps.Unsubscribe(ctx, channel)) != nil {
			return
		}
		delete(s.pending, channel)
	}
	for _, p := range s.pings {
		p.sub = s.subs[p.channel]
	}
	for token := range s.pings {
		if !s.sendPing(ctx, token) {
			return
		}
	}
}

// sendPing sends the PING of token on the connection, under the lock, and
// tells whether it went: a PING that cannot be sent goes again once the
// connection is back (failed, pingAgain).
func (s *Subscriber) sendPing(ctx context.Context, token string) bool {
	if err := s.failed(s.ps.Ping(ctx, token)); err != nil {
		s.log.Debug("a ping of a listen", "err", err)
		return false
	}
	return true
}

// pong takes the answer of a PING: the listen that sent it goes on, and
// its channel is ready, unless the channel was subscribed to again since
// the PING was sent (a stop and a listen, or the connection lost between).
func (s *Subscriber) pong(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pings[token]
	if p == nil {
		return // of a listen that gave up
	}
	s.unping(token, p.channel)
	if s.refs[p.channel] > 0 && s.subs[p.channel] == p.sub {
		s.ready[p.channel] = true
	}
	s.forget(p.channel)
	close(p.back)
}

// subscribed takes the confirmation of a subscription: after the
// connection broke and came back, the channel's feed reads what it missed,
// once its own channel is confirmed again (an event published before that
// would reach it neither live nor from the log), and its note hears that
// messages may have been lost.
func (s *Subscriber) subscribed(ctx context.Context, channel string) {
	catchUp, note, missed := s.confirm(channel)
	if missed && note != nil {
		note("") // subscribed again: what came while the connection was down is lost
	}
	if catchUp != nil {
		catchUp.catchUp(ctx)
	}
}

// confirm takes the confirmation of channel (subscribed), and answers the
// feed that catches up on it, and the note that hears of it when it may
// have missed messages. A confirmation after the connection broke is of
// the client's SUBSCRIBE on the new connection: the old one's answers are
// lost with it.
func (s *Subscriber) confirm(channel string) (catchUp *Feed, note func(string), missed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.behind[channel] {
		catchUp = s.feeds[channel]
		delete(s.behind, channel)
	}
	missed = s.unheard[channel]
	delete(s.unheard, channel)
	return catchUp, s.notes[channel], missed
}

// Note has the subscriber call do with the payload of each message on
// channel, from the goroutine that reads the connection, for as long as it
// runs; and with "" once the connection broke and the store confirmed the
// channel again, when messages may have been lost. It returns without
// waiting for the store to confirm the subscription.
func (s *Subscriber) Note(ctx context.Context, channel string, do func(payload string)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return errors.New("the subscriber does not run")
	}
	s.notes[channel] = do
	if err := s.failed(s.ps.Subscribe(ctx, channel)); err != nil {
		delete(s.notes, channel)
		return fmt.Errorf("listen to %s: %w", channel, err)
	}
	return nil
}

// listen has the subscriber hand the events of channel to f, and returns
// once the store has taken the subscription: every event published from
// then on reaches f. It sends a PING after the channel's SUBSCRIBE, and
// waits for it to come back (ping), unless a PING sent after the
// channel's last SUBSCRIBE came back already. Listens and stops are
// counted: the subscriber listens while one is not stopped.
func (s *Subscriber) listen(ctx context.Context, channel string, f *Feed) error {
	wait, _ := s.begin(ctx, channel, f)
	return wait()
}

// begin is the start of a listen, which the caller ends with wait: it
// counts the listen (counted; not when the subscriber has stopped), and
// writes its SUBSCRIBE and PING. It does not wait for anything but the
// lock and those writes, so that the feed can begin a watcher's listen
// under its own lock, before anything can drop the watcher and stop the
// listen (Feed.watch).
func (s *Subscriber) begin(ctx context.Context, channel string, f *Feed) (wait func() error, counted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return func() error { return ErrStopped }, false
	}
	s.feeds[channel] = f
	s.refs[channel]++
	// The commands of the listen are written without its deadline: go-redis
	// drops the connection, every channel's, that a write times out on.
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer context.AfterFunc(ctx, cancel)()
	defer cancel()
	switch {
	case s.refs[channel] == 1 && s.reping:
		// The connection is down: the SUBSCRIBE goes once it is back
		// (pingAgain), rather than dial the store under the lock, which
		// every listen, stop and the reader wait for.
		s.pending[channel] = true
	case s.refs[channel] == 1:
		// Under the lock, so that the store sees subscriptions and their
		// ends in the order they were decided.
		if s.failed(s.ps.Subscribe(wctx, channel)) != nil {
			// go-redis holds the channel even so, and subscribes to it on
			// every connection it makes from now on, but for the one it
			// may have made as the SUBSCRIBE failed: it goes again once
			// the connection is back. The listen waits as any other, until
			// its stop.
			s.pending[channel] = true
		}
		s.subs[channel]++
	case s.ready[channel]:
		return func() error { return nil }, true // listening already
	}
	s.token++
	token := "listen:" + strconv.FormatUint(s.token, 10)
	p := &ping{channel: channel, sub: s.subs[channel], back: make(chan struct{})}
	s.pings[token] = p
	s.waits[channel]++
	if !s.reping {
		// else the connection is down, and the PING goes once it is back
		// (pingAgain), rather than dial the store under the lock
		s.sendPing(wctx, token)
	}
	stopped, most, after, seen, start := s.stopped, s.wait, s.after, s.heard, time.Now()
	gaveUp := func(err error) error {
		s.mu.Lock()
		if s.pings[token] != nil {
			s.unping(token, channel)
		}
		s.forget(channel)
		s.mu.Unlock()
		return err
	}
	return func() error {
		tick := after(most)
		for {
			select {
			case <-p.back:
				return nil
			case <-stopped:
				return gaveUp(ErrStopped)
			case <-ctx.Done():
				return gaveUp(ctx.Err())
			case <-tick:
				if s.answered(&seen) && time.Since(start) < DefaultListenWait {
					// the ping's answer waits behind what the reader hands over
					tick = after(most)
					continue
				}
				// an answer of the store out of time, as a command's: the
				// store cannot serve for now (StoreUnavailable)
				return gaveUp(fmt.Errorf("listen to %s: the store did not answer within %s: %w", channel, most, context.DeadlineExceeded))
			}
		}
	}, true
}

// answered tells whether the store sent anything on the connection since
// the reader had taken seen messages, or the reader is handing one over,
// and moves seen to now.
func (s *Subscriber) answered(seen *uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	answered := s.busy || s.heard != *seen
	*seen = s.heard
	return answered
}

// stop ends a listen of f to channel; with the last, the subscriber stops
// listening.
func (s *Subscriber) stop(channel string, f *Feed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feeds[channel] != f {
		return
	}
	s.refs[channel]--
	if s.refs[channel] > 0 {
		return
	}
	if s.refs[channel] < 0 { // a stop before its listen: the feed stopped meanwhile
		s.refs[channel] = 0
	}
	delete(s.refs, channel)
	delete(s.feeds, channel)
	delete(s.behind, channel)
	delete(s.ready, channel)
	s.forget(channel)
	switch {
	case !s.running:
	case s.reping:
		// The connection is down: the UNSUBSCRIBE goes once it is back
		// (pingAgain), rather than dial the store under the lock. go-redis
		// may subscribe again to the channel meanwhile, as it makes a new
		// connection: its messages find no feed.
		s.pending[channel] = false
	default:
		delete(s.pending, channel)
		s.failed(s.ps.Unsubscribe(context.Background(), channel))
	}
}

// forget forgets the SUBSCRIBEs of channel once nobody listens to it, and
// no listen of it waits (a listen again counts them afresh), under the
// lock.
func (s *Subscriber) forget(channel string) {
	if s.refs[channel] == 0 && !s.waiting(channel) {
		delete(s.subs, channel)
	}
}

// waiting tells whether a listen of channel waits for its ping.
func (s *Subscriber) waiting(channel string) bool { return s.waits[channel] > 0 }

// unping forgets the ping token of a listen of channel, under the lock.
func (s *Subscriber) unping(token, channel string) {
	delete(s.pings, token)
	if s.waits[channel]--; s.waits[channel] <= 0 {
		delete(s.waits, channel)
	}
}

// liveSeparator ends each event but the last of a message that tells
// several (the prelude's emit): the ASCII record separator, which JSON
// never holds unescaped.
const liveSeparator = "\x1e"

// liveRecord reads an event as the prelude's emit publishes it: id, at,
// kind and data, a line each (the data is JSON, which holds no line break).
//
// The record's data is the payload's own bytes, not a copy: a delivery's
// two events carry about 2 KB, which a copy would add to what every
// delivery allocates (and so to how often the collector runs under load).
// A Record's Data is read, never written, by whoever it reaches: the
// feeds, the sockets, the hooks.
func liveRecord(payload, namespace string) (Record, error) {
	var f [3]string
	rest := payload
	for i := range f {
		line, after, ok := strings.Cut(rest, "\n")
		if !ok {
			return Record{}, fmt.Errorf("%d fields, want 4", i+1)
		}
		f[i], rest = line, after
	}
	at, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("at: %w", err)
	}
	data := rest
	if data == "" {
		data = "{}"
	}
	return Record{ID: f[0], At: time.UnixMilli(at).UTC(), Kind: f[2], Namespace: namespace,
		Data: unsafe.Slice(unsafe.StringData(data), len(data))}, nil
}
