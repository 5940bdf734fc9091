package core

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// JournalEntry is one request to the provider, MIIT or phone API of a
// namespace as the request journal keeps it: what the client sent, what
// smsim answered, when in both clocks, and the fault api_faults applied.
type JournalEntry struct {
	ID        string          `json:"id"` // the request's X-Request-Id
	Method    string          `json:"method"`
	Route     string          `json:"route"` // as openapi.json names it: "POST /miit/v1/validations"
	Path      string          `json:"path"`
	Query     string          `json:"query,omitempty"`
	Body      json.RawMessage `json:"body,omitempty"`   // the JSON sent, or the text as a JSON string; absent: none
	Status    int             `json:"status"`           // 0: the connection was dropped
	Answer    json.RawMessage `json:"answer,omitempty"` // the JSON answered, as Body
	At        time.Time       `json:"at"`               // simulated time when it came
	RealAt    time.Time       `json:"real_at"`          // real time when it came
	Took      string          `json:"took"`             // real time to the answer
	Phones    []string        `json:"phones,omitempty"` // the numbers its path or body names
	Order     string          `json:"order,omitempty"`  // the order its path or answer names
	Fault     *AppliedFault   `json:"fault,omitempty"`
	Truncated bool            `json:"truncated,omitempty"` // Body or Answer cut at JournalBodyMax, Path or Query at JournalURLMax
}

// JournalBodyMax bounds the body and the answer a journal entry keeps.
const JournalBodyMax = 16 << 10

// JournalURLMax bounds the path and the query a journal entry keeps.
const JournalURLMax = 4 << 10

// DefaultJournalMax is how many requests a namespace's journal keeps,
// the newest, unless configured.
const DefaultJournalMax = 1000

// JournalFilter chooses entries of the journal; a zero field chooses all.
type JournalFilter struct {
	Route string // exact: "POST /miit/v1/validations"
	Phone string // among the entry's numbers
	Order string
	Since time.Time // simulated, inclusive
	Until time.Time // simulated, exclusive
}

// Match tells whether e is chosen.
func (f JournalFilter) Match(e JournalEntry) bool {
	return (f.Route == "" || e.Route == f.Route) &&
		(f.Phone == "" || slices.Contains(e.Phones, f.Phone)) &&
		(f.Order == "" || e.Order == f.Order) &&
		(f.Since.IsZero() || !e.At.Before(f.Since)) &&
		(f.Until.IsZero() || e.At.Before(f.Until))
}

// Journal is the request journal of a namespace in the store: a list of
// entries, oldest first, its newest Max kept, living the retention from
// its last write.
type Journal struct {
	rdb redis.UniversalClient
	key string
}

// NewJournal returns the journal of keyspace ks.
func NewJournal(rdb redis.UniversalClient, ks Keyspace) *Journal {
	return &Journal{rdb: rdb, key: ks.Journal()}
}

var (
	//go:embed journal.lua
	journalLua    string
	journalScript = NewScript[journalArgs](journalLua)
)

type journalArgs struct {
	Max    int    `json:"max"`
	Bounds Bounds `json:"bounds"`
}

// Append writes entries, keeping the newest max, in one command. The
// entries go to Redis as they are pushed, an argument each, not inside the
// script's JSON arguments: a script decodes no text it only stores.
func (j *Journal) Append(ctx context.Context, entries []JournalEntry, max int, b Bounds) error {
	raw := make([]string, 0, len(entries))
	var buf []byte
	for _, e := range entries {
		if enc, ok := e.appendJSON(buf[:0]); ok {
			buf = enc
			raw = append(raw, string(enc))
			continue
		}
		r, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("journal entry %s %s: %w", e.Method, e.Path, err)
		}
		raw = append(raw, string(r))
	}
	if err := journalScript.RunWith(ctx, j.rdb, []string{j.key}, journalArgs{Max: max, Bounds: b}, raw).Err(); err != nil {
		return fmt.Errorf("write the request journal: %w", err)
	}
	return nil
}

// Read answers the entries f chooses, in the order they came (real time).
func (j *Journal) Read(ctx context.Context, f JournalFilter) ([]JournalEntry, error) {
	raw, err := j.rdb.LRange(ctx, j.key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read the request journal: %w", err)
	}
	out := []JournalEntry{}
	for _, s := range raw {
		var e JournalEntry
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			return nil, fmt.Errorf("read the request journal: %w", err)
		}
		if f.Match(e) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b JournalEntry) int { return a.RealAt.Compare(b.RealAt) })
	return out, nil
}
