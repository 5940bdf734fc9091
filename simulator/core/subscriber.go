package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Subscriber is a process's one Pub/Sub connection to the store: every
// script that writes an event on a namespace's log also publishes it on the
// namespace's live channel (the prelude's emit), and the Subscriber listens
// on the channels of the namespaces someone watches in this process and
// hands each event to that namespace's Feed. Nobody watching, it listens to
// nothing; one goroutine (Run) reads the connection, whatever the number of
// namespaces.
type Subscriber struct {
	rdb redis.UniversalClient
	log *slog.Logger

	mu        sync.Mutex
	ps        *redis.PubSub
	feeds     map[string]*Feed                // by channel: the feeds listened for
	notes     map[string]func(payload string) // by channel: what a message on it does (Note)
	unheard   map[string]bool                 // by channel of a note: the connection broke since it was confirmed
	refs      map[string]int                  // by channel: listens not stopped yet
	sent      map[string]int                  // by channel: SUBSCRIBE sent
	confirmed map[string]int                  // by channel: of those, the ones the store confirmed (it confirms in order)
	changed   chan struct{}                   // closed, and made anew, at each confirmation
	running   bool
	behind    map[string]bool // by channel of a feed: the connection broke since it was confirmed
}

// NewSubscriber returns the subscriber of a process; Run it. Its
// connection is made by the first listen.
func NewSubscriber(rdb redis.UniversalClient, log *slog.Logger) *Subscriber {
	return &Subscriber{rdb: rdb, log: log.With("component", "subscriber"), ps: rdb.Subscribe(context.Background()),
		running: true, feeds: map[string]*Feed{}, notes: map[string]func(string){}, unheard: map[string]bool{}, behind: map[string]bool{}, refs: map[string]int{}, sent: map[string]int{}, confirmed: map[string]int{},
		changed: make(chan struct{})}
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
		close(s.changed)
		s.changed = make(chan struct{})
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
			case <-time.After(failing.Wait(100*time.Millisecond, 2*time.Second)):
			}
			continue
		}
		failing.Note(s.log, "following the live channels", nil)
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.subscribed(ctx, m.Channel)
			}
		case *redis.Message:
			s.mu.Lock()
			f, note := s.feeds[m.Channel], s.notes[m.Channel]
			s.mu.Unlock()
			if note != nil {
				note(m.Payload)
				continue
			}
			if f == nil {
				continue
			}
			rec, err := liveRecord(m.Payload, f.events.ks.Namespace)
			if err != nil {
				s.log.Warn("a malformed event on a live channel", "channel", m.Channel, "err", err)
				continue
			}
			f.deliver(rec)
		}
	}
}

// connectionLost notes that the connection broke: the feeds catch up, and
// the notes hear of it, once it is back. The client has subscribed again
// already (go-redis does as it reads the error), once, to each channel it
// holds — those listened to or noted, confirmed or not: a SUBSCRIBE sent
// and not confirmed is lost, and one confirmation of each is due, which a
// listen waits for. (A stop and a listen of a channel between the client's
// subscribing again and this are not told apart: the listen may go on at
// the confirmation of the earlier SUBSCRIBE.)
func (s *Subscriber) connectionLost() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for channel := range s.feeds {
		s.behind[channel] = true
	}
	for channel := range s.notes {
		s.unheard[channel] = true
	}
	for channel := range s.sent {
		switch {
		case s.refs[channel] == 0 && s.notes[channel] == nil:
			delete(s.sent, channel) // not subscribed again: no confirmation comes
			delete(s.confirmed, channel)
		default:
			s.sent[channel] = s.confirmed[channel] + 1
		}
	}
}

// subscribed takes the confirmation of a subscription: a listen that waits
// for it goes on; after the connection broke and came back, the channel's
// feed reads what it missed, once its own channel is confirmed again: an
// event published before that would reach it neither live nor from the
// log.
//
// The store confirms the SUBSCRIBE of a channel in the order they were
// sent: the n-th confirmation is of the n-th sent, and a listen waits for
// the one of its own. One of an earlier SUBSCRIBE, which a listen that
// gave up before it came left, says nothing of a later one: an UNSUBSCRIBE
// may stand between them. A confirmation of no SUBSCRIBE of this process
// (the client subscribing again after the connection broke) counts for
// the last sent.
func (s *Subscriber) subscribed(ctx context.Context, channel string) {
	catchUp, note, missed := s.confirm(channel)
	if missed && note != nil {
		note("") // subscribed again: what came while the connection was down is lost
	}
	if catchUp != nil {
		catchUp.catchUp(ctx)
	}
}

// confirm counts the confirmation of channel (subscribed), and answers the
// feed that catches up on it, and the note that hears of it when it may
// have missed messages.
func (s *Subscriber) confirm(channel string) (catchUp *Feed, note func(string), missed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.confirmed[channel] < s.sent[channel] {
		s.confirmed[channel]++
	}
	if s.refs[channel] == 0 && s.notes[channel] == nil && s.confirmed[channel] >= s.sent[channel] {
		delete(s.sent, channel) // nothing waits for the channel any more
		delete(s.confirmed, channel)
	}
	close(s.changed)
	s.changed = make(chan struct{})
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
	if err := s.ps.Subscribe(ctx, channel); err != nil {
		delete(s.notes, channel)
		return fmt.Errorf("listen to %s: %w", channel, err)
	}
	s.sent[channel]++
	return nil
}

// listen has the subscriber hand the events of channel to f, and returns
// once the store confirmed the subscription: every event published from
// then on reaches f. Listens and stops are counted: the subscriber listens
// while one is not stopped.
func (s *Subscriber) listen(ctx context.Context, channel string, f *Feed) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return errors.New("the subscriber does not run")
	}
	s.feeds[channel] = f
	s.refs[channel]++
	if s.refs[channel] == 1 {
		// Under the lock, so that the store sees subscriptions and their
		// ends in the order they were decided.
		if err := s.ps.Subscribe(ctx, channel); err != nil {
			s.refs[channel]--
			// go-redis holds the channel even so, and would subscribe to
			// it again after a reconnection, unbeknown to the counts
			s.ps.Unsubscribe(context.WithoutCancel(ctx), channel)
			s.mu.Unlock()
			return fmt.Errorf("listen to %s: %w", channel, err)
		}
		s.sent[channel]++
	}
	if s.confirmed[channel] >= s.sent[channel] {
		s.mu.Unlock()
		return nil // listening already
	}
	s.mu.Unlock()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		// the last SUBSCRIBE sent is confirmed (no other is sent while
		// this listen is counted)
		done, changed, running := s.confirmed[channel] >= s.sent[channel], s.changed, s.running
		s.mu.Unlock()
		switch {
		case done:
			return nil
		case !running:
			return errors.New("the subscriber stopped")
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("listen to %s: no confirmation", channel)
		}
	}
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
	if s.confirmed[channel] >= s.sent[channel] && s.notes[channel] == nil {
		delete(s.sent, channel) // else kept until the confirmations still due came (subscribed)
		delete(s.confirmed, channel)
	}
	if s.running {
		s.ps.Unsubscribe(context.Background(), channel)
	}
}

// liveRecord reads an event as the prelude's emit publishes it: id, at,
// kind and data, a line each (the data is JSON, which holds no line break).
func liveRecord(payload, namespace string) (Record, error) {
	f := strings.SplitN(payload, "\n", 4)
	if len(f) != 4 {
		return Record{}, fmt.Errorf("%d fields, want 4", len(f))
	}
	at, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("at: %w", err)
	}
	data := f[3]
	if data == "" {
		data = "{}"
	}
	return Record{ID: f[0], At: time.UnixMilli(at).UTC(), Kind: f[2], Namespace: namespace, Data: []byte(data)}, nil
}
