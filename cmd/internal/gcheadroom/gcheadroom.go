// Package gcheadroom keeps Go's garbage collector from running more often
// than a process can afford at speed: after each collection it sets the
// collector's percentage (GOGC) so that the next one comes no sooner than
// when the heap has grown by a given headroom, or by the percentage the
// process started with, whichever is more.
//
// A process whose live heap is small — a server holding thousands of idle
// sockets, a load driver — collects, at GOGC's 100%, each time it has
// allocated about what it holds: at thousands of requests a second, every
// second or so, and each collection's marking slows every goroutine that
// allocates meanwhile. With a headroom of a few hundred megabytes it
// collects a few times less often; a process whose live heap is larger than
// the headroom collects as GOGC says. The price is the headroom in resident
// memory while the process works. GOMEMLIMIT, when set, still bounds it.
package gcheadroom

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMiB is the headroom smsim and its drivers keep by default, in
// MiB: at 5,000 deliveries a second to 10,000 phone sockets, the
// collector's marking set the deliveries' tail at GOGC's 100%, and no
// longer at a headroom of this size.
const DefaultMiB = 256

// maxPercent bounds the percentage Start sets: a heap of a few kilobytes
// would otherwise ask for millions.
const maxPercent = 100_000

// Whether a Start is under way: the collector's percentage is the
// process's, so a Start while another is under way (a process that serves
// and drives) does nothing, and the first one's stop puts back what the
// process had.
var (
	mu      sync.Mutex
	started bool
)

// Start keeps at least headroom bytes of growth between two collections
// from the next collection on, and answers a func that stops it and puts
// back the percentage the process had. With headroom 0, with the collector
// off (GOGC=off), or while another Start is under way, it does nothing.
//
// Go keeps up to the headroom resident once the process has gone quiet:
// every quietEvery, Start looks at what the process allocated since, and
// when that is less than a 64th of the headroom, it gives the memory the
// heap does not hold back to the system (debug.FreeOSMemory), once a quiet
// spell.
func Start(headroom uint64) (stop func()) {
	t := time.NewTicker(quietEvery)
	end := start(headroom, t.C, debug.FreeOSMemory)
	return func() {
		end()
		t.Stop()
	}
}

// quietEvery is how often Start looks whether the process has gone quiet.
const quietEvery = 30 * time.Second

// start is Start with the ticks at which it looks whether the process has
// gone quiet, and what it calls then to give memory back.
func start(headroom uint64, ticks <-chan time.Time, release func()) (stop func()) {
	mu.Lock()
	defer mu.Unlock()
	if started || headroom == 0 {
		return func() {}
	}
	from, on := gcPercent()
	if !on {
		return func() {}
	}
	started = true
	var stopped atomic.Bool
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}
	var arm func()
	arm = func() {
		// A finalizer runs once the collector found its object
		// unreachable: once after each collection, re-armed each time.
		runtime.SetFinalizer(new(sentinel), func(*sentinel) {
			mu.Lock()
			defer mu.Unlock()
			if stopped.Load() {
				return
			}
			metrics.Read(samples)
			debug.SetGCPercent(Percent(from, headroom, samples[0].Value.Uint64()+samples[1].Value.Uint64()+samples[2].Value.Uint64()))
			arm()
		})
	}
	arm()
	done := make(chan struct{})
	go watchQuiet(headroom/64, ticks, done, release)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped.Swap(true) {
			return
		}
		close(done)
		started = false
		debug.SetGCPercent(from)
	}
}

// gcPercent answers the collector's percentage as it stands, read without
// setting it (which could start a collection), and false when the
// collector is off (GOGC=off, which the runtime reports as -1).
func gcPercent() (int, bool) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	p := s[0].Value.Uint64()
	if p > math.MaxInt32 {
		return 0, false
	}
	return int(p), true
}

// watchQuiet calls release at a tick when the process allocated less than
// quiet bytes since the tick before, once until it allocates more again.
func watchQuiet(quiet uint64, ticks <-chan time.Time, done <-chan struct{}, release func()) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	last, released := s[0].Value.Uint64(), false
	for {
		select {
		case <-done:
			return
		case <-ticks:
		}
		metrics.Read(s)
		now := s[0].Value.Uint64()
		switch calm := now-last < quiet; {
		case calm && !released:
			release()
			released = true
		case !calm:
			released = false
		}
		last = now
	}
}

// Percent answers the collector's percentage that lets a heap whose
// collection marked live bytes (with the stacks and globals it scanned)
// grow by headroom before the next: base, or more when base would grow it
// by less. The runtime grows its least heap (4 MiB) by the same
// percentage, so a heap of less than that would get far more than the
// headroom: the percentage stops where that least heap reaches live and
// the headroom together.
func Percent(base int, headroom, live uint64) int {
	p := uint64(maxPercent)
	if live > 0 {
		p = min(p, headroom*100/live)
	}
	p = min(p, (live+headroom)*100/runtimeHeapMinimum)
	return max(base, int(p))
}

// runtimeHeapMinimum is the runtime's least heap goal at a percentage of
// 100 (defaultHeapMinimum), which it scales by the percentage.
const runtimeHeapMinimum = 4 << 20

// sentinel is an object whose only use is to be collected. It is larger
// than the allocator's tiny objects, which share blocks with others and
// may never be freed alone.
type sentinel struct{ _ [32]byte }
