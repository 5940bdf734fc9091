package core

import (
	"log/slog"
	"testing"
	"time"

	"smsim/simulator/core/testkit"
)

// The feed reads the log only while someone watches: the last watcher to
// leave ends the reader, and the next one starts another.
func TestFeedReadsOnlyWhileWatched(t *testing.T) {
	ctx := t.Context()
	srv := testkit.StartRedis(t)
	log := NewEventLog(srv.Client(t), Keyspace{Prefix: srv.Prefix, Namespace: "default"})
	f := NewFeed(log, slog.New(slog.DiscardHandler), nil)
	f.Start(ctx)
	defer f.Stop()
	readerEnds := func() {
		t.Helper()
		done := make(chan struct{})
		go func() { f.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the reader still runs with nobody watching")
		}
	}
	readerEnds() // none before the first watcher
	for round := 1; round <= 2; round++ {
		w1, _ := f.Watch(ctx, "", 0)
		w2, _ := f.Watch(ctx, "k", 0)
		f.mu.Lock()
		gen, watchers := f.reader, f.watchers
		f.mu.Unlock()
		if gen != round || watchers != 2 {
			t.Fatalf("round %d: reader generation %d with %d watchers, want %d with 2", round, gen, watchers, round)
		}
		if err := log.Emit(ctx, time.Now(), "k", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		if r := <-w1.C; r.Kind != "k" {
			t.Fatalf("round %d: got %+v", round, r)
		}
		w1.Close()
		w2.Close()
		readerEnds()
	}
}
