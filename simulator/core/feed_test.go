package core_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"smsim/simulator/core"
	"smsim/simulator/redistest"
)

// A watcher gets what is written after it started watching, live, and
// nothing from before; a watcher that comes back after everyone left gets
// what comes after its return.
func TestFeedStartsAtTheNewestEventWhenWatched(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := redistest.Start(t)
	log := core.NewEventLog(srv.Client(t), core.Keyspace{Prefix: srv.Prefix, Namespace: "default"})
	f := core.NewFeed(log, slog.New(slog.NewTextHandler(io.Discard, nil)))
	go f.Run(ctx)
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	emit := func(kind string) {
		t.Helper()
		if err := log.Emit(ctx, at, kind, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	next := func(w *core.Watcher) core.Record {
		t.Helper()
		select {
		case r := <-w.C:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no event came")
		}
		return core.Record{}
	}
	emit("before")
	w, ok := f.Watch(ctx)
	if !ok {
		t.Fatal("watch refused")
	}
	emit("during")
	if r := next(w); r.Kind != "during" {
		t.Fatalf("first event %q, want the one written after watching", r.Kind)
	}
	w.Close()
	emit("while away")
	w2, _ := f.Watch(ctx)
	defer w2.Close()
	emit("back")
	if r := next(w2); r.Kind != "back" {
		t.Fatalf("first event after coming back %q, want %q", r.Kind, "back")
	}
}
