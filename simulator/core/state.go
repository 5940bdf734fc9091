package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Snapshot is what a process holds of a namespace's clock and fault
// profile, read once and kept until a change is seen: a request computes
// with it instead of reading them again. A script that acts on what was
// computed checks, inside Redis, that the clock's anchor and the profile are
// still those of the snapshot (Expect, the prelude's stale); when they are
// not, the script refuses with ErrStale and the caller reads them afresh and
// tries again. So a change made through another process is seen by the
// next request, and costs a round trip only then.
type Snapshot struct {
	Faults Faults
	Expect Expect // the proof a script checks
	clock  *Clock
	anchor ClockState // the anchor: simulated time at the anchor's real time
	at     time.Time  // the anchor's real time; zero when the clock is not set
	limits Limits
}

// Expect is what a script checks before it acts on a Snapshot: the clock's
// anchor as stored ("" each when the clock is not set) and the SHA-1 of the
// stored fault profile ("" when none is stored). A script is given it as
// one string, the five joined by '|' (MarshalJSON).
//
// Every writer of the anchor or the profile mirrors that string in the
// clock's hash (its field expect, after a '='), in the script that writes
// them. Mirrored tells that the mirror held it when the snapshot was read:
// the string then goes as the mirror has it, and a script checks the
// mirror alone, one field of one key (the prelude's stale). A store an
// older version wrote last has no mirror, or one that disagrees: its
// scripts check the anchor and the profile themselves. (A process of an
// older version that writes the anchor or the profile while this one uses
// the namespace leaves the mirror as it was: this one sees the change when
// it reads the snapshot again, at the word of the change that version
// sends too, simulator.Namespace.)
type Expect struct {
	Sim      string
	Real     string
	Scale    string
	Paused   string
	Faults   string
	Mirrored bool
}

// MarshalJSON writes e as the scripts take it (the prelude's stale): one
// JSON string, "sim|real|scale|paused|faults", none of which holds a '|' —
// digits, a number, "0" or "1", hex — as the store holds them. A string
// costs a script's decoding a tenth of what an object of five fields does:
// every script that acts on a Snapshot is given one.
func (e Expect) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil), nil
}

// ErrStale is the refusal of a script whose Snapshot is no longer current.
var ErrStale = errors.New("the clock or the fault profile changed since they were read")

// Stale tells whether err is a script's refusal of a stale Snapshot.
func Stale(err error) bool {
	return err != nil && (errors.Is(err, ErrStale) || strings.HasPrefix(err.Error(), "STALE the clock"))
}

// Now is the simulated time now, read from the anchor and the process's
// wall clock.
func (s Snapshot) Now() ClockState {
	if s.at.IsZero() {
		return s.clock.startState() // not set: a namespace nothing was written to
	}
	st := s.anchor
	if elapsed := s.clock.real().Sub(s.at).Milliseconds(); !st.Paused && elapsed > 0 {
		st.Now = time.UnixMilli(simAfter(st.Now.UnixMilli(), elapsed, st.Scale)).UTC()
	} else if st.Now.UnixMilli() > maxTimeMs { // stored past it by a version that did not stop it there
		st.Now = MaxTime()
	}
	return st
}

// RealAt is the real time at which the clock will read sim, at its scale
// (now when it reads sim already); false when the clock is paused: only an
// advance moves it then, and carries out what falls due itself.
func (s Snapshot) RealAt(sim time.Time) (time.Time, bool) {
	now := s.Now()
	if now.Paused || now.Scale <= 0 {
		return time.Time{}, false
	}
	d := sim.Sub(now.Now)
	if d <= 0 {
		return s.clock.real(), true
	}
	return s.clock.real().Add(realWait(d, now.Scale)), true
}

// Bounds are the bounds of the keys a script writes with the snapshot:
// the process's limits, the retention of the fault profile, the clock's
// scale (0 when it is paused).
func (s Snapshot) Bounds() Bounds {
	b := s.limits.BoundsOf(s.Faults)
	if now := s.Now(); !now.Paused && now.Scale > 0 {
		b.Scale = now.Scale
	}
	return b
}

// State keeps the Snapshot of one namespace in a process.
type State struct {
	clock  *Clock
	faults *FaultStore
	limits Limits

	mu   sync.Mutex
	snap *Snapshot // nil: to be read
	gen  uint64    // counts Forget: a snapshot read across one is not kept
}

// NewState returns the keeper of the snapshot of clock and faults, whose
// scripts bound the keys they write by limits.
func NewState(clock *Clock, faults *FaultStore, limits Limits) *State {
	return &State{clock: clock, faults: faults, limits: limits}
}

// Limits are the process's limits the namespace's keys are bounded by.
func (s *State) Limits() Limits { return s.limits }

// Snapshot answers the namespace's snapshot, reading it when the process
// holds none (one round trip, two commands).
func (s *State) Snapshot(ctx context.Context) (Snapshot, error) {
	s.mu.Lock()
	if s.snap != nil {
		snap := *s.snap
		s.mu.Unlock()
		return snap, nil
	}
	gen := s.gen
	s.mu.Unlock()
	p := s.clock.rdb.Pipeline()
	c := p.HMGet(ctx, s.clock.key, "sim", "real", "scale", "paused", "expect")
	f := p.Get(ctx, s.faults.key)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Snapshot{}, fmt.Errorf("read clock and fault profile: %w", err)
	}
	snap := Snapshot{clock: s.clock, limits: s.limits}
	str := func(x any) string { t, _ := x.(string); return t }
	v := c.Val()
	if len(v) == 5 && v[0] != nil {
		snap.Expect = Expect{Sim: str(v[0]), Real: str(v[1]), Scale: str(v[2]), Paused: str(v[3])}
		sim, err1 := strconv.ParseInt(snap.Expect.Sim, 10, 64)
		real, err2 := strconv.ParseInt(snap.Expect.Real, 10, 64)
		scale, err3 := strconv.ParseFloat(snap.Expect.Scale, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return Snapshot{}, fmt.Errorf("read clock: malformed clock %v", v)
		}
		snap.anchor = ClockState{Now: time.UnixMilli(sim).UTC(), Scale: scale, Paused: snap.Expect.Paused == "1"}
		snap.at = time.UnixMilli(real)
	}
	raw, err := f.Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		snap.Faults = DefaultFaults()
	case err != nil:
		return Snapshot{}, fmt.Errorf("read fault profile: %w", err)
	default:
		if snap.Faults, err = s.faults.decode(raw); err != nil {
			return Snapshot{}, err
		}
		snap.Expect.Faults = storedSHA(raw)
	}
	if len(v) == 5 {
		mirror := str(v[4])
		snap.Expect.Mirrored = len(mirror) > 1 && mirror[0] == '=' && mirror[1:] == snap.Expect.text()
	}
	s.mu.Lock()
	if s.gen == gen {
		s.snap = &snap // else forgotten while it was read: perhaps of before the change
	}
	s.mu.Unlock()
	return snap, nil
}

// Forget drops the snapshot: the next Snapshot reads it again; one being
// read meanwhile is not kept. Call it when a script refused it as stale,
// and after a change of the clock or the profile.
func (s *State) Forget() {
	s.mu.Lock()
	s.snap = nil
	s.gen++
	s.mu.Unlock()
}
