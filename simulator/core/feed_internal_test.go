package core

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"smsim/simulator/core/testkit"
)

// The feed's process listens to the namespace's live channel only while
// someone watches: the last watcher to leave ends the listening, and the
// next one listens again.
func TestFeedListensOnlyWhileWatched(t *testing.T) {
	ctx := t.Context()
	srv := testkit.StartRedis(t)
	log := NewEventLog(srv.Client(t), Keyspace{Prefix: srv.Prefix, Namespace: "default"})
	sub := NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler))
	subCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); sub.Run(subCtx) }()
	defer func() { stop(); <-done }()
	f := NewFeed(log, sub, slog.New(slog.DiscardHandler), nil)
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
