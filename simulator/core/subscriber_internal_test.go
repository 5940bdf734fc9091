package core

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core/redisstore"
	"smsim/simulator/core/testkit"
)

// readerless is a subscriber whose connection the test reads itself, in
// place of Run: it hands each message to the subscriber as Run would
// (take), in the order the store sent them. breakConn breaks the
// connection.
type readerless struct {
	*Subscriber
	t     *testing.T
	mu    sync.Mutex
	conns []*trackedConn
	down  atomic.Bool  // the store cannot be reached: a dial fails
	tries atomic.Int32 // the dials tried while it could not
}

// trackedConn is a connection that tells whether it was closed.
type trackedConn struct {
	net.Conn
	closed atomic.Bool
}

func (c *trackedConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

func newReaderless(t *testing.T) (*readerless, *testkit.Redis) {
	srv := testkit.StartRedis(t)
	r := &readerless{t: t}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if r.down.Load() {
			r.tries.Add(1)
			return nil, errors.New("the store cannot be reached")
		}
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c}
		r.mu.Lock()
		r.conns = append(r.conns, tc)
		r.mu.Unlock()
		return tc, nil
	}
	rdb, err := redisstore.OpenWith(srv.URL, func(o *redis.Options) { o.Dialer = dial },
		func(o *redis.ClusterOptions) { o.Dialer = dial })
	if err != nil {
		t.Fatal(err)
	}
	r.Subscriber = NewSubscriber(rdb, slog.New(slog.DiscardHandler), 0)
	t.Cleanup(func() {
		r.ps.Close()
		rdb.Close()
	})
	return r, srv
}

// next reads the next message of the connection and hands it over, and
// answers it.
func (r *readerless) next() any {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := r.ps.Receive(ctx)
	if err != nil {
		r.t.Fatalf("reading the connection: %v", err)
	}
	r.handle(ctx, msg)
	return msg
}

// nextPong reads and hands over the messages of the connection until a
// ping's answer, which it answers.
func (r *readerless) nextPong() string {
	r.t.Helper()
	for {
		if p, ok := r.next().(*redis.Pong); ok {
			return p.Payload
		}
	}
}

// closedConns answers how many of the connections made so far were closed.
func (r *readerless) closedConns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.conns {
		if c.closed.Load() {
			n++
		}
	}
	return n
}

// closeConns breaks the connections made so far, and reads nothing: the
// next command written on the connection fails.
func (r *readerless) closeConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
}

// breakConn breaks the connections made so far; the next read fails, and
// go-redis makes a new connection as it reads the error, subscribing
// again to every channel it holds. The subscriber hears of it
// (connectionLost) when Run would, after that read, unless later.
func (r *readerless) breakConn(later bool) {
	r.t.Helper()
	r.closeConns()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.ps.Receive(ctx); err == nil {
		r.t.Fatal("read the connection after it broke")
	}
	if !later {
		r.connectionLost()
	}
}

// waitingPings answers the tokens of the pings listens wait for.
func (r *readerless) waitingPings() []string {
	r.Subscriber.mu.Lock()
	defer r.Subscriber.mu.Unlock()
	var out []string
	for token := range r.pings {
		out = append(out, token)
	}
	return out
}

func (r *readerless) ready(channel string) bool {
	r.Subscriber.mu.Lock()
	defer r.Subscriber.mu.Unlock()
	return r.Subscriber.ready[channel]
}

// A listen returns once the store has taken its SUBSCRIBE: once a PING it
// sent after it comes back. The answer of an earlier listen's PING, one
// that gave up and was stopped since (an UNSUBSCRIBE between the two),
// comes before, and does not end the wait.
func TestListenWaitsForItsOwnPing(t *testing.T) {
	sub, srv := newReaderless(t)
	channel := srv.Prefix + ":{ns}:events:live"
	f := &Feed{}
	gaveUp, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { first <- sub.listen(gaveUp, channel, f) }()
	testkit.WaitFor(t, "the first listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("a listen whose context ended: %v, want it canceled", err)
	}
	sub.stop(channel, f) // its watcher closes: UNSUBSCRIBE
	second := make(chan error, 1)
	go func() { second <- sub.listen(t.Context(), channel, f) }()
	testkit.WaitFor(t, "the second listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	own := sub.waitingPings()[0]

	if token := sub.nextPong(); token == own {
		t.Fatalf("the first answer is of the second listen's ping %s", own)
	}
	select {
	case err := <-second:
		t.Fatalf("the second listen answered %v at the first listen's ping, before the UNSUBSCRIBE", err)
	default:
	}
	if sub.ready(channel) {
		t.Fatal("the channel is ready at a ping sent before its last SUBSCRIBE")
	}
	if token := sub.nextPong(); token != own {
		t.Fatalf("the second answer is of %s, want the second listen's %s", token, own)
	}
	if err := <-second; err != nil {
		t.Fatalf("the second listen: %v", err)
	}
	if !sub.ready(channel) {
		t.Fatal("the channel is not ready once a ping after its SUBSCRIBE came back")
	}
	// another listen of the channel, ready, sends no ping and waits for none
	if err := sub.listen(t.Context(), channel, f); err != nil {
		t.Fatal(err)
	}
	if w := sub.waitingPings(); len(w) != 0 {
		t.Errorf("a listen of a ready channel waits for %v", w)
	}
}

// The ping of a listen that waits is lost with a broken connection: it
// goes again once the subscriber hears of it, after the client's
// SUBSCRIBE again, and the listen returns when that one comes back. The
// channel, ready before, is not ready until then.
func TestListenAfterALostConnectionPingsAgain(t *testing.T) {
	sub, srv := newReaderless(t)
	channel, other := srv.Prefix+":{ns}:events:live", srv.Prefix+":{other}:events:live"
	f, g := &Feed{}, &Feed{}
	go sub.listen(t.Context(), other, g)
	sub.nextPong()
	if !sub.ready(other) {
		t.Fatalf("%s is not ready once its ping came back", other)
	}
	waited := make(chan error, 1)
	go func() { waited <- sub.listen(t.Context(), channel, f) }()
	testkit.WaitFor(t, "the listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	sub.breakConn(false)
	if sub.ready(other) {
		t.Fatalf("%s is ready after the connection broke, before a ping came back", other)
	}
	select {
	case err := <-waited:
		t.Fatalf("the listen answered %v when the connection broke", err)
	default:
	}
	sub.nextPong()
	if err := <-waited; err != nil {
		t.Fatalf("the listen: %v", err)
	}
	if !sub.ready(channel) {
		t.Fatal("the channel is not ready once its ping came back on the new connection")
	}
}

// A stop and a listen of a channel in the moment between go-redis's
// subscribing again on a new connection and the subscriber hearing of the
// broken one: the new listen returns once the store took its own
// SUBSCRIBE, not at the confirmation of the one go-redis sent again
// before the stop's UNSUBSCRIBE.
func TestListenBetweenTheResubscriptionAndItsNotice(t *testing.T) {
	sub, srv := newReaderless(t)
	channel := srv.Prefix + ":{ns}:events:live"
	f := &Feed{}
	go sub.listen(t.Context(), channel, f)
	sub.nextPong()
	sub.breakConn(true)  // go-redis has sent SUBSCRIBE again (R)
	sub.stop(channel, f) // UNSUBSCRIBE, after R
	second := make(chan error, 1)
	go func() { second <- sub.listen(t.Context(), channel, f) }() // SUBSCRIBE (S), PING
	testkit.WaitFor(t, "the second listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	sub.connectionLost()
	for {
		msg := sub.next()
		if _, pong := msg.(*redis.Pong); pong {
			break
		}
		select {
		case err := <-second:
			t.Fatalf("the listen answered %v at %v, before its ping came back", err, msg)
		default:
		}
		if sub.ready(channel) {
			t.Fatalf("the channel is ready at %v, before the listen's ping came back", msg)
		}
	}
	if err := <-second; err != nil {
		t.Fatalf("the listen: %v", err)
	}
	if !sub.ready(channel) {
		t.Fatal("the channel is not ready once the listen's ping came back")
	}
}

// After the connection broke, each feed catches up on the log once its own
// channel is confirmed again, not at the first confirmation of any: until
// then, an event published on its channel reaches it neither live nor
// from a catch-up made too early.
func TestFeedsCatchUpAtTheirOwnChannelsConfirmation(t *testing.T) {
	srv := testkit.StartRedis(t)
	sub := NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler), 0)
	t.Cleanup(func() { sub.ps.Close() })
	a, b := &Feed{}, &Feed{}
	const chA, chB = "smsimtest:{a}:events:live", "smsimtest:{b}:events:live"
	sub.mu.Lock()
	sub.feeds[chA], sub.feeds[chB] = a, b
	sub.refs[chA], sub.refs[chB] = 1, 1
	sub.mu.Unlock()
	sub.connectionLost()
	if f, _, _ := sub.confirm(chA); f != a {
		t.Fatalf("the confirmation of %s catches up %p, want its feed %p alone", chA, f, a)
	}
	if f, _, _ := sub.confirm(chA); f != nil {
		t.Fatalf("a second confirmation of %s catches up %p again", chA, f)
	}
	if f, _, _ := sub.confirm(chB); f != b {
		t.Fatalf("the confirmation of %s catches up %p, want its feed %p", chB, f, b)
	}
}

// A PING that finds the connection broken has go-redis make a new one
// there and then, subscribing again to each channel it holds, and the
// PING goes nowhere: Run, not reading the broken connection at that
// moment, hears of no error. The subscriber takes it as a lost connection
// all the same: the pings out go again on the new one, and the feeds
// catch up at their channel's confirmation.
func TestAPingThatFindsTheConnectionBrokenCountsAsALostConnection(t *testing.T) {
	sub, srv := newReaderless(t)
	channel, other := srv.Prefix+":{ns}:events:live", srv.Prefix+":{other}:events:live"
	f, g := &Feed{}, &Feed{}
	go sub.listen(t.Context(), other, g)
	sub.nextPong()
	waited := make(chan error, 2)
	go func() { waited <- sub.listen(t.Context(), channel, f) }() // SUBSCRIBE, PING
	testkit.WaitFor(t, "the first listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	sub.closeConns()                                              // its answer is lost
	go func() { waited <- sub.listen(t.Context(), channel, f) }() // PING: a new connection
	testkit.WaitFor(t, "the second listen's ping out", func() bool { return len(sub.waitingPings()) == 2 })
	sub.Subscriber.mu.Lock()
	behind := sub.behind[other]
	sub.Subscriber.mu.Unlock()
	if !behind {
		t.Errorf("the feed of %s does not catch up after the connection was made anew", other)
	}
	for range 2 {
		sub.nextPong()
	}
	for range 2 {
		if err := <-waited; err != nil {
			t.Fatalf("a listen: %v", err)
		}
	}
}

// The pings that go again once the connection is back (pingAgain) may
// find it broken again: they go again on the next one.
func TestPingsThatGoAgainOnABrokenConnectionGoAgain(t *testing.T) {
	sub, srv := newReaderless(t)
	channel := srv.Prefix + ":{ns}:events:live"
	f := &Feed{}
	waited := make(chan error, 1)
	go func() { waited <- sub.listen(t.Context(), channel, f) }()
	testkit.WaitFor(t, "the listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	sub.breakConn(false)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	msg, err := sub.ps.Receive(ctx) // the first message of the new connection
	if err != nil {
		t.Fatal(err)
	}
	sub.closeConns() // and the new connection breaks before the pings go again
	sub.pingAgain(ctx)
	sub.take(ctx, msg)
	sub.nextPong()
	if err := <-waited; err != nil {
		t.Fatalf("the listen: %v", err)
	}
}

// A listen whose time is up as it writes its SUBSCRIBE or its PING (a
// long poll's, that ran out as the listen waited for the lock) leaves the
// connection be: go-redis drops the connection a write times out on,
// every channel's, and the feeds would all catch up, the notes hear of a
// lost connection, for nothing.
func TestAListenWhoseTimeIsUpKeepsTheConnection(t *testing.T) {
	sub, srv := newReaderless(t)
	channel, other := srv.Prefix+":{ns}:events:live", srv.Prefix+":{other}:events:live"
	f, g := &Feed{}, &Feed{}
	go sub.listen(t.Context(), other, g)
	sub.nextPong()
	up, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Millisecond))
	defer cancel()
	if err := sub.listen(up, channel, f); !errors.Is(err, context.DeadlineExceeded) { // SUBSCRIBE, PING
		t.Fatalf("a listen whose time is up: %v", err)
	}
	if n := sub.closedConns(); n != 0 {
		t.Fatalf("%d connections closed after a listen whose time was up subscribed", n)
	}
	if err := sub.listen(up, channel, f); !errors.Is(err, context.DeadlineExceeded) { // PING
		t.Fatalf("a listen whose time is up: %v", err)
	}
	if n := sub.closedConns(); n != 0 {
		t.Fatalf("%d connections closed after a listen whose time was up pinged", n)
	}
	sub.Subscriber.mu.Lock()
	behind := sub.behind[other]
	sub.Subscriber.mu.Unlock()
	if behind {
		t.Errorf("the feed of %s catches up after listens whose time was up", other)
	}
}

// While the connection is down, a listen of a channel listened to already
// writes nothing: a PING would have go-redis dial the store, under the
// subscriber's lock, which every listen, stop and the reader wait for,
// through the dial's timeout when the store's host is away. Its PING goes
// once the connection is back (pingAgain).
func TestAListenWhileTheConnectionIsDownDialsNothing(t *testing.T) {
	sub, srv := newReaderless(t)
	channel := srv.Prefix + ":{ns}:events:live"
	f := &Feed{}
	go sub.listen(t.Context(), channel, f)
	sub.nextPong()
	sub.down.Store(true)
	sub.breakConn(false) // go-redis cannot make a new connection
	tried := sub.tries.Load()
	waited := make(chan error, 1)
	go func() { waited <- sub.listen(t.Context(), channel, f) }()
	testkit.WaitFor(t, "the listen's ping out", func() bool { return len(sub.waitingPings()) == 1 })
	if n := sub.tries.Load() - tried; n != 0 {
		t.Errorf("a listen of a channel listened to tried %d dials while the connection was down", n)
	}
	sub.down.Store(false)
	sub.nextPong()
	if err := <-waited; err != nil {
		t.Fatalf("the listen: %v", err)
	}
}

// A listen of a channel nobody listens to, while the connection is down,
// writes nothing either: its SUBSCRIBE, then its PING, go once the
// connection is back, and the channel's events come from then on.
func TestAListenOfANewChannelWhileTheConnectionIsDownDialsNothing(t *testing.T) {
	sub, srv := newReaderless(t)
	channel, other := srv.Prefix+":{ns}:events:live", srv.Prefix+":{other}:events:live"
	f, g := &Feed{}, &Feed{}
	go sub.listen(t.Context(), other, g) // go-redis subscribes to it again on the new connection
	sub.nextPong()
	sub.down.Store(true)
	sub.breakConn(false)
	tried := sub.tries.Load()
	waited := make(chan error, 1)
	go func() { waited <- sub.listen(t.Context(), channel, f) }()
	testkit.WaitFor(t, "the listen's ping out", func() bool { return len(sub.waitingPings()) == 1 })
	if n := sub.tries.Load() - tried; n != 0 {
		t.Errorf("a listen of a new channel tried %d dials while the connection was down", n)
	}
	sub.down.Store(false)
	sub.nextPong()
	if err := <-waited; err != nil {
		t.Fatalf("the listen: %v", err)
	}
	if !sub.ready(channel) {
		t.Fatal("the channel is not ready once its ping came back")
	}
	pub := srv.Client(t)
	if err := pub.Publish(t.Context(), channel, "after").Err(); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := sub.ps.ReceiveTimeout(t.Context(), 5*time.Second) // read here: the feed is a stand-in
		if err != nil {
			t.Fatalf("reading the connection: %v", err)
		}
		if m, ok := msg.(*redis.Message); ok {
			if m.Channel != channel || m.Payload != "after" {
				t.Fatalf("a message on %s: %q, want %q on %s", m.Channel, m.Payload, "after", channel)
			}
			break
		}
	}
}

// The stop of a channel's last listen, while the connection is down,
// writes nothing: its UNSUBSCRIBE goes once the connection is back.
func TestAStopWhileTheConnectionIsDownDialsNothing(t *testing.T) {
	sub, srv := newReaderless(t)
	channel, other := srv.Prefix+":{ns}:events:live", srv.Prefix+":{other}:events:live"
	f, g := &Feed{}, &Feed{}
	go sub.listen(t.Context(), other, g)
	sub.nextPong()
	go sub.listen(t.Context(), channel, f)
	sub.nextPong()
	sub.down.Store(true)
	sub.breakConn(false)
	tried := sub.tries.Load()
	sub.stop(channel, f)
	if n := sub.tries.Load() - tried; n != 0 {
		t.Errorf("a stop tried %d dials while the connection was down", n)
	}
	sub.down.Store(false)
	for {
		if m, ok := sub.next().(*redis.Subscription); ok && m.Kind == "unsubscribe" {
			if m.Channel != channel {
				t.Fatalf("unsubscribed from %s, want %s", m.Channel, channel)
			}
			break
		}
	}
	sub.Subscriber.mu.Lock()
	pending := len(sub.pending)
	sub.Subscriber.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d SUBSCRIBEs or UNSUBSCRIBEs still to send once the connection is back", pending)
	}
}

// A listen whose SUBSCRIBE finds the connection broken counts, as any
// other, until its stop (the feed stops the watcher of a listen that
// failed too): another listen of the channel, come in between, is still
// listened to after that stop.
func TestAListenWhoseSubscribeFailedCountsUntilItsStop(t *testing.T) {
	sub, srv := newReaderless(t)
	channel, other := srv.Prefix+":{ns}:events:live", srv.Prefix+":{other}:events:live"
	f, g := &Feed{}, &Feed{}
	go sub.listen(t.Context(), other, g)
	sub.nextPong()
	sub.closeConns()
	first := make(chan error, 1)
	go func() { first <- sub.listen(t.Context(), channel, f) }() // SUBSCRIBE: a new connection
	testkit.WaitFor(t, "the first listen's SUBSCRIBE out", func() bool {
		sub.Subscriber.mu.Lock()
		defer sub.Subscriber.mu.Unlock()
		return len(first) > 0 || len(sub.pings) > 0 // failed, or waits
	})
	second := make(chan error, 1)
	go func() { second <- sub.listen(t.Context(), channel, f) }()
	for sub.nextPong(); len(sub.waitingPings()) > 0; {
		sub.nextPong()
	}
	if err := <-second; err != nil {
		t.Fatalf("the second listen: %v", err)
	}
	if err := <-first; err != nil {
		sub.stop(channel, f) // as its feed does
	}
	sub.Subscriber.mu.Lock()
	refs := sub.refs[channel]
	sub.Subscriber.mu.Unlock()
	if refs == 0 {
		t.Fatalf("%s is not listened to any more, with the second listen not stopped", channel)
	}
}

// A channel's SUBSCRIBEs are counted while it is listened to, or a listen
// of it waits: its last listen stopped as it waited, the count goes once
// that listen is done, whether its ping came back or it gave up.
func TestTheSubscribesOfAChannelLeftAreForgotten(t *testing.T) {
	sub, srv := newReaderless(t)
	channel, other := srv.Prefix+":{ns}:events:live", srv.Prefix+":{other}:events:live"
	f, g := &Feed{}, &Feed{}
	gaveUp, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { first <- sub.listen(gaveUp, channel, f) }()
	testkit.WaitFor(t, "the first listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	sub.stop(channel, f) // its watcher closed as it waited
	cancel()
	<-first
	second := make(chan error, 1)
	go func() { second <- sub.listen(t.Context(), other, g) }()
	testkit.WaitFor(t, "the second listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	sub.stop(other, g)
	for len(sub.waitingPings()) > 0 { // the first listen's answer, then the second's
		sub.nextPong()
	}
	if err := <-second; err != nil {
		t.Fatalf("the second listen: %v", err)
	}
	sub.Subscriber.mu.Lock()
	defer sub.Subscriber.mu.Unlock()
	if len(sub.subs) != 0 {
		t.Errorf("SUBSCRIBEs counted of channels nobody listens to: %v", sub.subs)
	}
}

// A ping sent before the channel's last SUBSCRIBE (the watcher of its
// listen left as it waited, and another listened: an UNSUBSCRIBE and a
// SUBSCRIBE after it) does not make the channel ready as it comes back:
// the store may not have taken that SUBSCRIBE yet, and a listen then
// waits for a ping of its own.
func TestAPingSentBeforeTheLastSubscribeDoesNotMakeTheChannelReady(t *testing.T) {
	sub, srv := newReaderless(t)
	channel := srv.Prefix + ":{ns}:events:live"
	f := &Feed{}
	first := make(chan error, 1)
	go func() { first <- sub.listen(t.Context(), channel, f) }() // SUBSCRIBE, PING
	testkit.WaitFor(t, "the first listen's ping sent", func() bool { return len(sub.waitingPings()) == 1 })
	sub.stop(channel, f)                                         // its watcher left: UNSUBSCRIBE
	go func() { first <- sub.listen(t.Context(), channel, f) }() // SUBSCRIBE, PING
	testkit.WaitFor(t, "the second listen's ping sent", func() bool { return len(sub.waitingPings()) == 2 })
	sub.nextPong() // the first's
	if sub.ready(channel) {
		t.Fatal("the channel is ready at a ping sent before its last SUBSCRIBE")
	}
	go func() { first <- sub.listen(t.Context(), channel, f) }()
	testkit.WaitFor(t, "the third listen's ping sent", func() bool { return len(sub.waitingPings()) == 2 })
	for len(sub.waitingPings()) > 0 {
		sub.nextPong()
	}
	for range 3 {
		if err := <-first; err != nil {
			t.Fatalf("a listen: %v", err)
		}
	}
	if !sub.ready(channel) {
		t.Fatal("the channel is not ready once a ping sent after its last SUBSCRIBE came back")
	}
}

// A listen's wait is up only once the store said nothing for that long: a
// reader busy handing over what came before the ping's answer (a note, a
// feed's catch-up) holds the answer back, and the listen waits on; the
// store silent, it fails as a command out of time.
func TestAListenWaitsOnWhileTheReaderIsBusy(t *testing.T) {
	srv := testkit.StartRedis(t)
	sub := NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler), time.Second)
	// The listens' clock: a wait starts (again) with a word on timed, and
	// is up with a tick.
	ticks, timed := make(chan time.Time), make(chan struct{}, 1)
	clock := func(time.Duration) <-chan time.Time {
		timed <- struct{}{}
		return ticks
	}
	sub.after = clock
	ctx := t.Context()
	held, release := make(chan struct{}), make(chan struct{})
	note := srv.Prefix + ":changes"
	if err := sub.Note(ctx, note, func(payload string) {
		if payload == "hold" {
			held <- struct{}{}
			<-release
		}
	}); err != nil {
		t.Fatal(err)
	}
	run, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sub.Run(run) }()
	t.Cleanup(func() { stop(); <-done })
	pub := srv.Client(t)
	testkit.WaitFor(t, "the note subscribed", func() bool {
		n, err := pub.PubSubNumSub(ctx, note).Result()
		return err == nil && n[note] == 1
	})
	if err := pub.Publish(ctx, note, "hold").Err(); err != nil {
		t.Fatal(err)
	}
	<-held // the reader hands a message over, and reads nothing meanwhile
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before the reader's end
	channel := srv.Prefix + ":{ns}:events:live"
	waited := make(chan error, 1)
	go func() { waited <- sub.listen(ctx, channel, &Feed{}) }()
	<-timed
	for range 2 {
		ticks <- time.Now() // its wait is up while the reader is busy
		select {
		case <-timed: // it waits on
		case err := <-waited:
			t.Fatalf("a listen whose wait was up while the reader was busy: %v", err)
		}
	}
	free()
	if err := <-waited; err != nil {
		t.Fatalf("a listen whose answer came behind a busy reader: %v", err)
	}

	// The store says nothing: nobody reads the connection here.
	r, srv2 := newReaderless(t)
	r.after = clock
	go func() { waited <- r.listen(ctx, srv2.Prefix+":{ns}:events:live", &Feed{}) }()
	<-timed
	ticks <- time.Now()
	err := <-waited
	want := "listen to " + srv2.Prefix + ":{ns}:events:live: the store did not answer within 10s: context deadline exceeded"
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != want {
		t.Fatalf("a listen the store said nothing to: %v, want %q", err, want)
	}
}

// TestLiveRecordReadsTheFourLines holds liveRecord to the form the
// prelude's emit publishes: id, at, kind and data, a line each; the data
// is the rest of the payload, "{}" when empty; a payload of fewer lines,
// or a time that is no integer, is refused with what is wrong.
func TestLiveRecordReadsTheFourLines(t *testing.T) {
	r, err := liveRecord("1777593600000-3\n1777593600123\nsms.delivered\n{\"id\":\"m_1\"}", "ns1")
	if err != nil {
		t.Fatal(err)
	}
	want := Record{ID: "1777593600000-3", At: time.UnixMilli(1777593600123).UTC(), Kind: "sms.delivered", Namespace: "ns1",
		Data: []byte(`{"id":"m_1"}`)}
	if r.ID != want.ID || !r.At.Equal(want.At) || r.At.Location() != time.UTC || r.Kind != want.Kind || r.Namespace != want.Namespace ||
		string(r.Data) != string(want.Data) || cap(r.Data) != len(r.Data) {
		t.Errorf("liveRecord = %+v (data %s, cap %d), want %+v", r, r.Data, cap(r.Data), want)
	}
	if r, err := liveRecord("1-0\n5\nreset\n", "ns1"); err != nil || string(r.Data) != "{}" {
		t.Errorf("empty data: %s, %v; want {}", r.Data, err)
	}
	for payload, wantErr := range map[string]string{
		"1-0":                  "1 fields, want 4",
		"1-0\n5":               "2 fields, want 4",
		"1-0\n5\nreset":        "3 fields, want 4",
		"1-0\nsoon\nreset\n{}": `at: strconv.ParseInt: parsing "soon": invalid syntax`,
	} {
		if _, err := liveRecord(payload, "ns1"); err == nil || err.Error() != wantErr {
			t.Errorf("liveRecord(%q) = %v, want %s", payload, err, wantErr)
		}
	}
}
