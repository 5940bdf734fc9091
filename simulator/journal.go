package simulator

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"smsim/simulator/core"
)

// DefaultJournalEvery is how often the request journal's pending entries
// are written unless configured.
const DefaultJournalEvery = 100 * time.Millisecond

// journal keeps the requests to the provider, MIIT and phone APIs of every
// namespace of the process (core.Journal) without a command on a request's
// path: a request hands its entry over in memory, and one goroutine, which
// the world owns, writes what is pending every interval, one script per
// namespace with new entries. An entry is so visible in the store within
// the interval; reading a namespace's journal (Namespace.Requests) first
// writes what this process holds of it, so that a test sees its own
// requests at once.
type journal struct {
	max   int // entries kept per namespace; 0: no journal
	every time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	pending map[string]*journalBatch // by namespace
	writing map[string]*sync.Mutex   // a namespace's batches are written one at a time, in order
	spare   []*journalBatch          // batches written, whose arrays the next ones fill (keepSpare)
}

// keepSpares is how many written batches the journal keeps to fill again,
// and keepSpareEntries the most entries one may have room for: a batch of a
// busy namespace, every interval, would otherwise grow an array anew.
const (
	keepSpares       = 8
	keepSpareEntries = 1024
)

// journalBatch is what a namespace's journal has yet to write.
type journalBatch struct {
	store   *core.Journal
	bounds  core.Bounds // the latest request's
	entries []core.JournalEntry
}

func newJournal(max int, every time.Duration, log *slog.Logger) *journal {
	if every <= 0 {
		every = DefaultJournalEvery
	}
	return &journal{max: max, every: every, log: log, pending: map[string]*journalBatch{}, writing: map[string]*sync.Mutex{}}
}

// on tells whether the process keeps a journal.
func (j *journal) on() bool { return j.max > 0 }

// add hands an entry of namespace n over, to be written; beyond the
// journal's cap, the oldest pending entries are forgotten.
func (j *journal) add(n *Namespace, b core.Bounds, e core.JournalEntry) {
	if !j.on() {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.pending[n.name]
	if p == nil {
		if k := len(j.spare); k > 0 {
			p, j.spare = j.spare[k-1], j.spare[:k-1]
		} else {
			p = &journalBatch{}
		}
		j.pending[n.name] = p
	}
	p.store, p.bounds = n.journal, b
	p.entries = append(p.entries, e)
	if len(p.entries) > j.max {
		p.entries = p.entries[len(p.entries)-j.max:]
	}
}

// drop forgets what namespace name has pending (a reset), and holds its
// writes until release is called: a batch taken before the reset is not
// written after it.
func (j *journal) drop(name string) (release func()) {
	w := j.writer(name)
	w.Lock()
	j.mu.Lock()
	delete(j.pending, name)
	j.mu.Unlock()
	return w.Unlock
}

// writer is the lock that orders the writes of namespace name.
func (j *journal) writer(name string) *sync.Mutex {
	j.mu.Lock()
	defer j.mu.Unlock()
	w := j.writing[name]
	if w == nil {
		w = &sync.Mutex{}
		j.writing[name] = w
	}
	return w
}

// flush writes what namespace name has pending.
func (j *journal) flush(ctx context.Context, name string) error {
	w := j.writer(name)
	w.Lock()
	defer w.Unlock()
	j.mu.Lock()
	p := j.pending[name]
	delete(j.pending, name)
	j.mu.Unlock()
	if p == nil || len(p.entries) == 0 {
		return nil
	}
	err := p.store.Append(ctx, p.entries, j.max, p.bounds)
	j.keepSpare(p)
	return err
}

// keepSpare keeps batch p, written, for a later batch to fill (add), its
// entries let go, unless the journal keeps enough spares or p's array is
// larger than a batch usually needs.
func (j *journal) keepSpare(p *journalBatch) {
	if cap(p.entries) > keepSpareEntries {
		return
	}
	clear(p.entries)
	*p = journalBatch{entries: p.entries[:0]}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.spare) < keepSpares {
		j.spare = append(j.spare, p)
	}
}

// flushAll writes what every namespace has pending.
func (j *journal) flushAll(ctx context.Context) {
	j.mu.Lock()
	names := make([]string, 0, len(j.pending))
	for name := range j.pending {
		names = append(names, name)
	}
	j.mu.Unlock()
	for _, name := range names {
		if err := j.flush(ctx, name); err != nil && ctx.Err() == nil {
			j.log.Warn("writing the request journal", "namespace", name, "err", err)
		}
	}
}

// run writes what is pending every interval until ctx ends.
func (j *journal) run(ctx context.Context) {
	t := time.NewTicker(j.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			j.flushAll(ctx)
		}
	}
}
