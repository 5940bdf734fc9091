package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// BenchmarkJournalAppend is one write of the request journal: the 32
// entries of about ten flows' requests, as the journal writes them every
// 100 ms. An op is a write; its cost is the store's work on the entries.
func BenchmarkJournalAppend(b *testing.B) {
	r := testkit.StartRedis(b)
	rdb := r.Client(b)
	j := core.NewJournal(rdb, core.Keyspace{Prefix: r.Prefix, Namespace: core.DefaultNamespace})
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]core.JournalEntry, 32)
	for i := range entries {
		phone := fmt.Sprintf("1380000%04d", i)
		entries[i] = core.JournalEntry{ID: fmt.Sprintf("req-%d", i), Method: "POST", Route: "POST /miit/v1/validations",
			Path:   "/miit/v1/validations",
			Body:   json.RawMessage(`{"code":"123456","phone":"` + phone + `","certificate_last6":"071234"}`),
			Status: 200, Answer: json.RawMessage(`{"result":"complete","message":"Validation succeeded. Your filing has been submitted for review."}`),
			At: at, RealAt: at, Took: "1.2ms", Phones: []string{phone}}
	}
	ctx := context.Background()
	for b.Loop() {
		if err := j.Append(ctx, entries, core.DefaultJournalMax, core.Bounds{Retain: 86_400_000}); err != nil {
			b.Fatal(err)
		}
	}
}
