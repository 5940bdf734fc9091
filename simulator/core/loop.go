package core

import (
	"container/heap"
	"context"
	"log/slog"
	"sync"
	"time"
)

// LoopOptions tunes a Loop; the zero value is the default.
type LoopOptions struct {
	// Sweep is the longest a scheduler goes unlooked at (real time): a
	// paused clock, one with nothing due, or one whose jobs another process
	// scheduled or claimed and left (its claims go back when their lease
	// ends) is looked at once a Sweep. Default 30s.
	Sweep time.Duration
	// Workers bounds how many schedulers carry out due jobs at once.
	// Default 8.
	Workers int
}

// Loop is a process's one scheduler loop: it serves every scheduler added
// to it — one per namespace — from a single goroutine and a queue ordered
// by when each next has something to do. A scheduler is looked at when its
// earliest job falls due (computed from its clock's scale), when it is
// kicked (a request scheduled something, or changed its clock), and once a
// Sweep anyway; in between it costs nothing, however many there are.
type Loop struct {
	opts LoopOptions
	log  *slog.Logger
	real func() time.Time

	mu      sync.Mutex
	queue   loopQueue
	entries map[*Scheduler]*loopEntry
	wake    chan struct{}
}

type loopEntry struct {
	s       *Scheduler
	at      time.Time // when to look next
	index   int       // in the queue; -1 while it is being looked at, or gone
	running bool      // being looked at
	again   bool      // kicked while being looked at
	next    time.Time // kicked, while being looked at, to look again then
	gone    bool      // removed
}

// NewLoop returns a loop; run it with Run.
func NewLoop(log *slog.Logger, opts LoopOptions) *Loop {
	if opts.Sweep <= 0 {
		opts.Sweep = 30 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	return &Loop{opts: opts, log: log.With("component", "loop"), real: time.Now,
		entries: map[*Scheduler]*loopEntry{}, wake: make(chan struct{}, 1)}
}

// Add makes the loop serve s, looking at it at once; s.Kick wakes the loop
// for it from then on.
func (l *Loop) Add(s *Scheduler) {
	l.mu.Lock()
	if _, ok := l.entries[s]; !ok {
		e := &loopEntry{s: s, at: l.real()}
		l.entries[s] = e
		heap.Push(&l.queue, e)
	}
	l.mu.Unlock()
	s.mu.Lock()
	s.wake = func(at time.Time) { l.kick(s, at) }
	s.mu.Unlock()
	l.signal()
}

// Remove stops serving s; a look at it under way finishes.
func (l *Loop) Remove(s *Scheduler) {
	s.mu.Lock()
	s.wake = nil
	s.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[s]
	if !ok {
		return
	}
	delete(l.entries, s)
	e.gone = true
	if e.index >= 0 {
		heap.Remove(&l.queue, e.index)
	}
}

// Len answers how many schedulers the loop serves.
func (l *Loop) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Busy answers how many schedulers are being looked at or are due for a
// look.
func (l *Loop) Busy() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.real()
	n := 0
	for _, e := range l.entries {
		if e.running || !e.at.After(now) {
			n++
		}
	}
	return n
}

// kick has the loop look at s at the real time at (zero: at once), or
// sooner if it was to anyway.
func (l *Loop) kick(s *Scheduler, at time.Time) {
	now := l.real()
	if at.IsZero() || at.Before(now) {
		at = now
	}
	l.mu.Lock()
	e, ok := l.entries[s]
	if ok {
		switch {
		case e.running:
			if !at.After(now) {
				e.again = true
			} else if e.next.IsZero() || at.Before(e.next) {
				e.next = at
			}
		case e.index >= 0 && at.Before(e.at):
			e.at = at
			heap.Fix(&l.queue, e.index)
		}
	}
	l.mu.Unlock()
	if ok {
		l.signal()
	}
}

func (l *Loop) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run serves the schedulers until ctx ends, and waits for the looks under
// way.
func (l *Loop) Run(ctx context.Context) {
	workers := make(chan struct{}, l.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, wait := l.due()
		for _, e := range due {
			select {
			case workers <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-workers }()
				next, err := e.s.look(ctx)
				if err != nil && ctx.Err() == nil {
					l.log.Warn("carrying out due jobs", "err", err)
				}
				l.requeue(e, next)
			}()
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-l.wake:
		}
	}
}

// due takes out of the queue the entries whose time has come, and answers
// how long until the next one's.
func (l *Loop) due() ([]*loopEntry, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.real()
	var out []*loopEntry
	for len(l.queue) > 0 && !l.queue[0].at.After(now) {
		e := heap.Pop(&l.queue).(*loopEntry)
		e.running = true
		out = append(out, e)
	}
	wait := l.opts.Sweep
	if len(l.queue) > 0 {
		wait = min(wait, l.queue[0].at.Sub(now))
	}
	return out, wait
}

// requeue puts e back in the queue after a look: at next (zero: nothing to
// do), at the latest a Sweep from now, at once when it was kicked meanwhile.
func (l *Loop) requeue(e *loopEntry, next time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.running = false
	if e.gone {
		return
	}
	now := l.real()
	e.at = now.Add(l.opts.Sweep)
	if !next.IsZero() && next.Before(e.at) {
		e.at = next
	}
	if !e.next.IsZero() && e.next.Before(e.at) {
		e.at = e.next
	}
	e.next = time.Time{}
	if e.again {
		e.at, e.again = now, false
	}
	heap.Push(&l.queue, e)
	l.signal()
}

// loopQueue is a heap of entries by the time to look at them.
type loopQueue []*loopEntry

func (q loopQueue) Len() int           { return len(q) }
func (q loopQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q loopQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *loopQueue) Push(x any) {
	e := x.(*loopEntry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *loopQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	e.index = -1
	return e
}
