package gcheadroom_test

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"smsim/cmd/internal/gcheadroom"
)

// The percentage lets the heap grow by the headroom at least, and by the
// process's own percentage when that is more.
func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		base           int
		headroom, live uint64
		want           int
	}{
		{100, 256 * mib, 64 * mib, 400},  // a small heap: the headroom
		{100, 256 * mib, 300 * mib, 100}, // a larger one: GOGC's
		{200, 256 * mib, 256 * mib, 200},
		{100, 256 * mib, 1000, 6400}, // the least heap, 4 MiB, grown as much: about the headroom
		{100, 256 * mib, 0, 6400},
		{100, 256 * mib, 3 * mib, 6475},
		{100, 256 * mib, 8 * mib, 3200},
		{100, 1 << 50, 1 << 30, 100_000}, // at most 100,000%
	} {
		if got := gcheadroom.Percent(c.base, c.headroom, c.live); got != c.want {
			t.Errorf("Percent(%d, %d, %d) = %d, want %d", c.base, c.headroom, c.live, got, c.want)
		}
	}
}

// After a collection the collector's percentage is the headroom's, and
// stopping puts back the process's own.
func TestStartSetsThePercentAfterEachCollection(t *testing.T) {
	base := debug.SetGCPercent(100)
	defer debug.SetGCPercent(base)
	stop := gcheadroom.Start(1 << 30)
	got := collectUntilAbove(100)
	// a test binary's heap is a few megabytes: 1 GiB of headroom is
	// hundreds of times it
	if got < 1000 {
		t.Fatalf("percent %d after collections with 1 GiB of headroom, want at least 1000", got)
	}
	stop()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("percent %d after stop, want the process's 100", p)
	}
}

// With the collector off (GOGC=off), Start leaves it off.
func TestStartLeavesTheCollectorOff(t *testing.T) {
	base := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(base)
	stop := gcheadroom.Start(1 << 30)
	defer stop()
	runtime.GC()
	runtime.Gosched()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("percent %d, want -1 (off)", p)
	}
}

// A Start while another is under way does nothing: once the first one's
// stop put back the process's percentage, a later stop of the other does
// not set the first one's tuned percentage again.
func TestStartWithinAStartKeepsTheFirst(t *testing.T) {
	base := debug.SetGCPercent(150)
	defer debug.SetGCPercent(base)
	first := gcheadroom.Start(1 << 30)
	collectUntilAbove(150) // the first one's percentage is set
	second := gcheadroom.Start(1 << 30)
	first()
	second()
	if p := debug.SetGCPercent(150); p != 150 {
		t.Fatalf("percent %d after both stopped, want the process's 150", p)
	}
}

// After a collection of a small heap, the runtime's goal for the next is
// the heap and the headroom, not its least heap grown by the percentage.
func TestGoalIsTheHeadroomForASmallHeap(t *testing.T) {
	base := debug.SetGCPercent(100)
	defer debug.SetGCPercent(base)
	const headroom = 64 << 20
	stop := gcheadroom.Start(headroom)
	defer stop()
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
	collectUntilAbove(100)
	runtime.GC() // with the percentage set: the goal it makes
	metrics.Read(s)
	goal, live := s[0].Value.Uint64(), s[1].Value.Uint64()
	if goal > live+2*headroom {
		t.Fatalf("goal %d MiB after a collection of %d MiB with %d MiB of headroom, want about %d MiB", goal>>20, live>>20, headroom>>20, (live+headroom)>>20)
	}
	if goal < live+headroom/2 {
		t.Fatalf("goal %d MiB after a collection of %d MiB with %d MiB of headroom: the headroom is not kept", goal>>20, live>>20, headroom>>20)
	}
}

// collectUntilAbove collects until the collector's percentage is above p,
// at most a hundred times, and answers the percentage: Start's finalizer
// sets it after a collection, on a goroutine of its own.
func collectUntilAbove(p int) int {
	got := p
	for range 100 {
		runtime.GC()
		runtime.Gosched()
		got = debug.SetGCPercent(-1)
		debug.SetGCPercent(got)
		if got > p {
			break
		}
	}
	return got
}

// Once the process has gone quiet between two looks, the memory the heap
// does not hold goes back to the system, once until it allocates again.
// A tick sent is taken only once the look before it is done.
func TestQuietProcessGivesMemoryBack(t *testing.T) {
	base := debug.SetGCPercent(100)
	defer debug.SetGCPercent(base)
	ticks := make(chan time.Time)
	var released atomic.Int32
	stop := gcheadroom.StartWith(1<<30, ticks, func() { released.Add(1) }) // quiet: under 16 MiB between looks
	defer stop()
	tick := func() { ticks <- time.Time{} }
	tick()
	tick()
	tick() // the first look found it quiet, the second still quiet
	if n := released.Load(); n != 1 {
		t.Fatalf("%d releases over three quiet looks, want 1", n)
	}
	for range 64 {
		sink = make([]byte, 1<<20)
	}
	sink = nil
	tick() // busy: 64 MiB since the look before
	tick() // quiet again
	tick()
	if n := released.Load(); n != 2 {
		t.Fatalf("%d releases, want 2: once more after the process allocated and went quiet again", n)
	}
}

// sink holds what a test allocates, so that the allocation is made.
var sink []byte
