package core

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"testing"

	"smsim/simulator/core/testkit"
)

// The store confirms a channel's SUBSCRIBEs in the order they were sent,
// and a listen waits for the confirmation of its own: one of an earlier
// SUBSCRIBE, left by a listen that gave up before it came and was stopped
// since (an UNSUBSCRIBE between the two), does not end the wait. Here the
// connection is not read (no Run): the test hands the confirmations over
// itself, in the store's order.
func TestListenWaitsForTheConfirmationOfItsOwnSubscribe(t *testing.T) {
	srv := testkit.StartRedis(t)
	sub := NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { sub.ps.Close() })
	const channel = "smsimtest:{ns}:events:live"
	f := &Feed{}
	listening := func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.refs[channel] > 0 && sub.confirmed[channel] >= sub.sent[channel]
	}

	// sentOut waits until n SUBSCRIBE are out, failing if the listen
	// answers first.
	sentOut := func(n int, answered chan error) {
		t.Helper()
		for {
			sub.mu.Lock()
			sent := sub.sent[channel]
			sub.mu.Unlock()
			if sent == n {
				return
			}
			select {
			case err := <-answered:
				t.Fatalf("a listen answered %v before any confirmation", err)
			default:
				runtime.Gosched()
			}
		}
	}
	gaveUp, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { first <- sub.listen(gaveUp, channel, f) }()
	sentOut(1, first)
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("a listen whose context ended: %v, want it canceled", err)
	}
	sub.stop(channel, f) // its watcher closes: UNSUBSCRIBE
	second := make(chan error, 1)
	go func() { second <- sub.listen(t.Context(), channel, f) }()
	sentOut(2, second)
	sub.subscribed(t.Context(), channel) // the first SUBSCRIBE's, late
	if listening() {
		t.Fatal("listening on the confirmation of the SUBSCRIBE before the UNSUBSCRIBE")
	}
	sub.subscribed(t.Context(), channel) // the second's
	if err := <-second; err != nil {
		t.Fatalf("the second listen: %v", err)
	}
	if !listening() {
		t.Fatal("not listening once its SUBSCRIBE is confirmed")
	}
}

// Once the connection broke, the client subscribes again, once, to each
// channel it is subscribed to: a listen that waited for the confirmation
// of two SUBSCRIBEs sent (an UNSUBSCRIBE between them) waits for that one
// instead, and a channel nobody listens to any more is forgotten.
func TestListenAfterALostConnectionWaitsForTheResubscription(t *testing.T) {
	srv := testkit.StartRedis(t)
	sub := NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { sub.ps.Close() })
	const channel, left = "smsimtest:{ns}:events:live", "smsimtest:{other}:events:live"
	f := &Feed{}
	sub.mu.Lock()
	sub.refs[channel], sub.sent[channel], sub.confirmed[channel] = 1, 2, 0 // another listen waits for the second
	sub.sent[left], sub.confirmed[left] = 1, 0                             // stopped before its confirmation
	sub.mu.Unlock()
	waited := make(chan error, 1)
	go func() { waited <- sub.listen(t.Context(), channel, f) }() // listening already: sends none
	sub.connectionLost()
	sub.mu.Lock()
	sent, _, forgotten := sub.sent[channel], sub.confirmed[channel], sub.sent[left] == 0 && sub.confirmed[left] == 0
	sub.mu.Unlock()
	if sent != 1 || !forgotten {
		t.Fatalf("after the connection broke: %d SUBSCRIBE awaited, the stopped channel forgotten: %v; want 1, true", sent, forgotten)
	}
	sub.subscribed(t.Context(), channel) // the client's subscription again
	if err := <-waited; err != nil {
		t.Fatalf("the listen: %v", err)
	}
}

// After the connection broke, each feed catches up on the log once its own
// channel is confirmed again, not at the first confirmation of any: until
// then, an event published on its channel reaches it neither live nor
// from a catch-up made too early.
func TestFeedsCatchUpAtTheirOwnChannelsConfirmation(t *testing.T) {
	srv := testkit.StartRedis(t)
	sub := NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { sub.ps.Close() })
	a, b := &Feed{}, &Feed{}
	const chA, chB = "smsimtest:{a}:events:live", "smsimtest:{b}:events:live"
	sub.mu.Lock()
	sub.feeds[chA], sub.feeds[chB] = a, b
	sub.refs[chA], sub.refs[chB] = 1, 1
	sub.sent[chA], sub.sent[chB], sub.confirmed[chA], sub.confirmed[chB] = 1, 1, 1, 1
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

// After the connection broke, go-redis has subscribed again to every
// channel it holds — also to one whose SUBSCRIBE was confirmed — before
// the subscriber hears of it: that confirmation is due too. When the last
// watcher then stops (UNSUBSCRIBE) and a new one listens (SUBSCRIBE)
// before it comes, it is of a SUBSCRIBE sent before the UNSUBSCRIBE, and
// the new listen waits on for its own.
func TestListenAfterALostConnectionWaitsPastTheResubscription(t *testing.T) {
	srv := testkit.StartRedis(t)
	sub := NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { sub.ps.Close() })
	channel := srv.Prefix + ":{ns}:events:live"
	f := &Feed{}
	listening := func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.refs[channel] > 0 && sub.confirmed[channel] >= sub.sent[channel]
	}
	first := make(chan error, 1)
	go func() { first <- sub.listen(t.Context(), channel, f) }()
	testkit.WaitFor(t, "the first SUBSCRIBE sent", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.sent[channel] == 1
	})
	sub.subscribed(t.Context(), channel)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	sub.connectionLost() // go-redis has sent SUBSCRIBE again (R)
	sub.stop(channel, f) // UNSUBSCRIBE, after R
	second := make(chan error, 1)
	go func() { second <- sub.listen(t.Context(), channel, f) }() // SUBSCRIBE (S)
	testkit.WaitFor(t, "the second SUBSCRIBE sent", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.refs[channel] == 1 && sub.sent[channel] == 3 // the first, R, S
	})
	sub.subscribed(t.Context(), channel) // R's confirmation
	if listening() {
		t.Fatal("listening on the confirmation of the SUBSCRIBE sent again before the UNSUBSCRIBE")
	}
	sub.subscribed(t.Context(), channel) // S's
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}
