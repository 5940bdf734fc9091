package load

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/people"
)

// runner is one run: its settings, its client, what it follows and what it
// measures.
type runner struct {
	cfg   Config
	api   *client.Client
	clock *simClock
	ends  *ends
	rec   *recorder
	kinds weighted[people.Kind]
	mix   weighted[people.Personality]
	// phoneBase offsets the run's phone numbers, drawn whatever the seed,
	// so that two runs in one namespace do not share phones.
	phoneBase uint64

	startAt, endAt time.Time // of the flows, on the Config's Now
}

func newRunner(cfg Config, api *client.Client) *runner {
	r := &runner{cfg: cfg, api: api, clock: &simClock{api: api, scale: cfg.Scale}, ends: newEnds(api), rec: newRecorder()}
	r.kinds = newWeighted(cfg.Types, func(k people.Kind) int { return k.Weight })
	r.mix = newWeighted(people.Personalities, func(p people.Personality) int { return cfg.Mix[p] })
	r.phoneBase = randomUint64() % phoneSpace
	return r
}

// drive starts flows by the run's loop until it stops starting them, then
// waits for those in flight, up to the Drain; when ctx ends, at once.
func (r *runner) drive(ctx context.Context) {
	flowCtx, abandon := context.WithCancel(ctx)
	defer abandon()
	startCtx, stopStarting := context.WithCancel(ctx)
	defer stopStarting()
	if r.cfg.Duration > 0 {
		var cancel context.CancelFunc
		startCtx, cancel = context.WithTimeout(startCtx, r.cfg.Duration)
		defer cancel()
	}
	startsOver := make(chan struct{}) // no more flows start
	allDone := make(chan struct{})    // … and every flow ended
	go func() {
		defer close(allDone)
		if r.cfg.loop() == LoopOpen {
			r.openLoop(startCtx, flowCtx, startsOver)
		} else {
			r.closedLoop(startCtx, flowCtx, startsOver)
		}
	}()
	select {
	case <-startsOver:
	case <-ctx.Done():
	}
	drain := time.NewTimer(r.cfg.Drain)
	defer drain.Stop()
	select {
	case <-allDone:
	case <-drain.C:
		abandon()
		<-allDone
	case <-ctx.Done():
		<-allDone
	}
	r.endAt = r.cfg.Now()
}

// closedLoop runs Concurrency workers, each running one flow after
// another, until no more are to start; it returns once every worker has.
// The starts are over once the last flow handed out has begun, so that the
// drain never cuts off a flow before it starts.
func (r *runner) closedLoop(startCtx, flowCtx context.Context, startsOver chan<- struct{}) {
	tickets := make(chan int)
	var wg, begun sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { // hands out the flows' numbers
		defer wg.Done()
		defer close(startsOver)
		defer begun.Wait()
		defer close(tickets)
		for n := 0; r.cfg.Flows == 0 || n < r.cfg.Flows; n++ {
			begun.Add(1)
			select {
			case tickets <- n:
			case <-startCtx.Done():
				begun.Done()
				return
			}
		}
	}()
	for range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range tickets {
				// a select that found both a worker and the end of the
				// starts ready may have handed out a ticket after the end:
				// no flow starts then. A run interrupted cancels the flows'
				// context and the starts' one after the other: a flow that
				// ended for the first may come here before the second is.
				if startCtx.Err() != nil || flowCtx.Err() != nil {
					begun.Done()
					continue
				}
				r.flow(flowCtx, n, time.Time{}, begun.Done)
			}
		}()
	}
}

// openLoop starts flow n at its time on the schedule (offset), each on a
// goroutine of its own, at most MaxInFlight at once; it returns once every
// flow has ended. The schedule holds the flows due before the Duration
// (and no more than Flows): a flow due while every slot is busy starts
// late, when one frees, also once the schedule is over and the drain has
// begun, and carries its lateness. Those that never start, the drain over
// or the run interrupted while they were due, are counted as not started.
func (r *runner) openLoop(startCtx, flowCtx context.Context, startsOver chan<- struct{}) {
	var wg sync.WaitGroup
	defer wg.Wait()
	var over sync.Once
	scheduleOver := func() { over.Do(func() { close(startsOver) }) }
	defer scheduleOver()
	defer context.AfterFunc(startCtx, scheduleOver)() // the Duration is up
	slots := make(chan struct{}, r.cfg.MaxInFlight)
	total := r.scheduled()
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 0; n < total; n++ {
		due := r.offset(n)
		timer.Reset(time.Until(start.Add(due)))
		select {
		case <-timer.C:
		case <-flowCtx.Done():
			r.rec.notStarted(min(r.dueBy(time.Since(start)), total) - n)
			return
		}
		if n == total-1 {
			scheduleOver() // the last flow is due: the drain runs from here
		}
		select {
		case slots <- struct{}{}:
		case <-flowCtx.Done():
			r.rec.notStarted(min(r.dueBy(time.Since(start)), total) - n)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			r.flow(flowCtx, n, r.startAt.Add(due), nil)
		}()
	}
}

// scheduled answers how many flows an open loop's schedule holds: those
// due before the Duration, at most Flows.
func (r *runner) scheduled() int {
	n := math.MaxInt
	if r.cfg.Duration > 0 {
		n = r.dueBy(r.cfg.Duration - 1)
	}
	if r.cfg.Flows > 0 {
		n = min(n, r.cfg.Flows)
	}
	return n
}

// dueBy answers how many flows of an open loop are due at or before t from
// its start: the first n with offset(n) > t, found by doubling, then
// halving.
func (r *runner) dueBy(t time.Duration) int {
	if r.offset(0) > t {
		return 0
	}
	lo, hi := 0, 1 // offset(lo) <= t
	for r.offset(hi) <= t {
		if hi > math.MaxInt/2 {
			return math.MaxInt
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 { // offset(lo) <= t < offset(hi)
		mid := lo + (hi-lo)/2
		if r.offset(mid) <= t {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// offset answers when flow n is due, from the start of an open loop: at
// Rate a second, reached linearly from 0 over the Ramp. A time past what a
// Duration holds is the longest one.
func (r *runner) offset(n int) time.Duration {
	rate, ramp := r.cfg.Rate, r.cfg.Ramp.Seconds()
	var s float64
	if rampFlows := rate * ramp / 2; float64(n) < rampFlows {
		s = math.Sqrt(2 * float64(n) * ramp / rate) // n = rate·t²/(2·ramp)
	} else {
		s = ramp + (float64(n)-rampFlows)/rate
	}
	if ns := s * float64(time.Second); ns < math.MaxInt64 {
		return time.Duration(ns)
	}
	return math.MaxInt64
}

// weighted draws items by their weights.
type weighted[T any] struct {
	items []T
	upto  []int // cumulative weights
}

// newWeighted weighs items by weight; no weight is more than MaxWeight
// (checkTypes, checkMix), so their running total does not overflow.
func newWeighted[T any](items []T, weight func(T) int) weighted[T] {
	var w weighted[T]
	total := 0
	for _, it := range items {
		if weight(it) > 0 {
			total += weight(it)
			w.items = append(w.items, it)
			w.upto = append(w.upto, total)
		}
	}
	return w
}

func (w weighted[T]) pick(draw func(n int) int) T {
	x := draw(w.upto[len(w.upto)-1])
	return w.items[sort.SearchInts(w.upto, x+1)]
}
