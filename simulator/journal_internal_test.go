package simulator

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// A namespace's next batch fills the array of a batch written before it,
// and the journal holds every entry of both, in order: the array is let go
// of its entries before it is filled again.
func TestJournalBatchesFillTheArraysOfWrittenOnes(t *testing.T) {
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	j := newJournal(100, time.Hour, slog.New(slog.DiscardHandler))
	n := &Namespace{name: "a", journal: core.NewJournal(rdb, core.Keyspace{Prefix: r.Prefix, Namespace: "a"})}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	entry := func(i int) core.JournalEntry {
		return core.JournalEntry{ID: string(rune('a' + i)), Method: "GET", Route: "GET /x", Path: "/x", Status: 200,
			At: at, RealAt: at.Add(time.Duration(i) * time.Second), Took: "1ms"}
	}
	for i := range 3 {
		j.add(n, core.Bounds{}, entry(i))
	}
	first := &j.pending["a"].entries[0]
	if err := j.flush(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if len(j.spare) != 1 || len(j.spare[0].entries) != 0 || cap(j.spare[0].entries) < 3 {
		t.Fatalf("after the write, spares %d, want the batch, empty, its array kept", len(j.spare))
	}
	if first.ID != "" || first.Route != "" || !first.At.IsZero() {
		t.Fatalf("the written batch's array still holds %+v, want its entries let go", *first)
	}
	for i := 3; i < 5; i++ {
		j.add(n, core.Bounds{}, entry(i))
	}
	if got := &j.pending["a"].entries[0]; got != first {
		t.Fatal("the next batch made an array of its own, want the written one's")
	}
	if err := j.flush(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	got, err := n.journal.Read(ctx, core.JournalFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(ids, want) {
		t.Fatalf("the journal holds %v, want %v", ids, want)
	}
}

// A batch whose array grew past what a batch usually needs is not kept.
func TestJournalKeepsNoLargeSpare(t *testing.T) {
	j := newJournal(100_000, time.Hour, slog.New(slog.DiscardHandler))
	j.keepSpare(&journalBatch{entries: make([]core.JournalEntry, 0, keepSpareEntries+1)})
	for range keepSpares + 2 {
		j.keepSpare(&journalBatch{entries: make([]core.JournalEntry, 1, 4)})
	}
	if len(j.spare) != keepSpares {
		t.Fatalf("%d spares, want %d: the large one left out, the rest up to the bound", len(j.spare), keepSpares)
	}
}
