package core

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"smsim/simulator/core/testkit"
)

// newRunningFeed answers a feed, not started, of a log of a store of its
// own, and its subscriber, run until the test ends.
func newRunningFeed(t *testing.T) (*Feed, *Subscriber, *EventLog) {
	srv := testkit.StartRedis(t)
	log := NewEventLog(srv.Client(t), Keyspace{Prefix: srv.Prefix, Namespace: "default"})
	sub := NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler), 0)
	subCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sub.Run(subCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return NewFeed(log, sub, slog.New(slog.DiscardHandler), nil), sub, log
}

// The feed's process listens to the namespace's live channel only while
// someone watches: the last watcher to leave ends the listening, and the
// next one listens again.
func TestFeedListensOnlyWhileWatched(t *testing.T) {
	ctx := t.Context()
	f, sub, log := newRunningFeed(t)
	f.Start(ctx)
	defer f.Stop()
	listening := func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.feeds[f.channel] == f
	}
	if listening() {
		t.Fatal("listening before anyone watches")
	}
	for round := 1; round <= 2; round++ {
		w1, _ := f.Watch(ctx, "", 0)
		w2, _ := f.Watch(ctx, "k", 0)
		if !listening() {
			t.Fatalf("round %d: not listening with two watchers", round)
		}
		if err := log.Emit(ctx, time.Now(), "k", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		if r := <-w1.C; r.Kind != "k" {
			t.Fatalf("round %d: got %+v", round, r)
		}
		w1.Close()
		w2.Close()
		testkit.WaitFor(t, "the listening stopped", func() bool { return !listening() })
	}
}

// A watcher dropped as it starts — the feed stopped as a watcher came, a
// watcher closed at once — ends its listen after the listen began, never
// before: once every watcher is gone, the subscriber listens to nothing,
// and no other watcher's listen was ended in its place.
func TestAWatcherDroppedAsItStartsEndsItsOwnListen(t *testing.T) {
	ctx := t.Context()
	f, sub, _ := newRunningFeed(t)
	counted := func() int {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.refs[f.channel]
	}
	for round := range 300 {
		f.Start(ctx)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if w, err := f.Watch(ctx, "", 0); err == nil {
					w.Close()
				}
			})
		}
		wg.Go(f.Stop)
		wg.Wait()
		f.Stop()
		testkit.WaitFor(t, fmt.Sprintf("round %d: the listens ended", round), func() bool { return counted() == 0 })
	}
}

// A reset begins a log numbered from the time of day again: one numbered
// at or before the last event handed out (within its millisecond) reaches
// the watchers, and so do the events after it; an event of before it, or
// the same reset again, does not.
func TestFeedHandsOnAResetNumberedBeforeItsLast(t *testing.T) {
	ctx := t.Context()
	f, _, _ := newRunningFeed(t)
	f.Start(ctx)
	defer f.Stop()
	w, err := f.Watch(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, r := range []Record{
		{ID: "1700000000000-5", Kind: KindSMSSent},
		{ID: "1700000000000-4", Kind: KindSMSSent}, // handed out already
		{ID: "1700000000000-5", Kind: KindReset},   // the new log's first, at the last's id
		{ID: "1700000000000-5", Kind: KindReset},   // the same again
		{ID: "1700000000000-6", Kind: KindSMSSent},
		{ID: "1700000000000-0", Kind: KindReset}, // another, before it
		{ID: "1700000000000-1", Kind: KindSMSDelivered},
		{ID: "1700000000000-1", Kind: KindSMSDelivered}, // handed out already
	} {
		f.deliver(r)
	}
	var got []string
	for len(got) < 5 {
		select {
		case r := <-w.C:
			got = append(got, r.ID+" "+r.Kind)
		case <-time.After(10 * time.Second):
			t.Fatalf("handed out %v, then nothing", got)
		}
	}
	want := []string{"1700000000000-5 " + KindSMSSent, "1700000000000-5 " + KindReset, "1700000000000-6 " + KindSMSSent,
		"1700000000000-0 " + KindReset, "1700000000000-1 " + KindSMSDelivered}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("handed out %v, want %v", got, want)
	}
	select {
	case r := <-w.C:
		t.Fatalf("handed out %s %s too", r.ID, r.Kind)
	default:
	}
}
