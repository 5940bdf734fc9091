package core

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClockState is what the simulated clock reads.
type ClockState struct {
	Now    time.Time `json:"now"`
	Scale  float64   `json:"scale"`
	Paused bool      `json:"paused"`
}

// ClockStart is the clock's start value: where it stands when the store is
// new and after a reset.
type ClockStart struct {
	At     time.Time // zero: the real time at that moment
	Scale  float64   // simulated seconds per real second; 0 means 1
	Paused bool
}

// MaxScale bounds the clock's scale.
const MaxScale = 1_000_000

// maxTimeMs is MaxTime in Unix milliseconds.
const maxTimeMs = 250_246_627_200_000

// MaxTime is the latest simulated time, 9900-01-01T00:00:00Z: an advance or
// a start that would pass it is refused, and a running clock stops there.
// It leaves a century before the end of year 9999, the last time JSON and
// RFC 3339 can write, for what is scheduled from the clock (each delay is
// at most MaxDuration).
func MaxTime() time.Time { return time.UnixMilli(maxTimeMs).UTC() }

// simAfter is the simulated time, in Unix ms, that a running clock at
// scale reads elapsedMs of real time after it read simMs: at most
// MaxTime, where a running clock stops.
func simAfter(simMs, elapsedMs int64, scale float64) int64 {
	if now := float64(simMs) + float64(elapsedMs)*scale; now < maxTimeMs {
		return int64(now)
	}
	return maxTimeMs
}

// realWait is how long, in real time, a clock running at scale (more
// than 0) takes to move by d: however slow the clock, at most the longest
// time.Duration (about 292 years), never a wait that wraps into the past.
func realWait(d time.Duration, scale float64) time.Duration {
	if w := float64(d) / scale; w < math.MaxInt64 {
		return time.Duration(w)
	}
	return math.MaxInt64
}

// Clock is the simulated clock shared by every process on one Redis. Its
// state is an anchor (a simulated time read at a real time), a scale and a
// paused flag, kept in one Redis hash; a process computes the time from it
// and its own wall clock. Simulated times have millisecond resolution.
type Clock struct {
	rdb    redis.UniversalClient
	key    string
	faults string // the fault profile's key: the clock's hash mirrors its SHA-1 (Expect)
	start  ClockStart
	real   func() time.Time
}

// NewClock returns the clock of keyspace ks. real is the wall clock (nil:
// time.Now).
func NewClock(rdb redis.UniversalClient, ks Keyspace, start ClockStart, real func() time.Time) *Clock {
	if real == nil {
		real = time.Now
	}
	if start.Scale == 0 {
		start.Scale = 1
	}
	return &Clock{rdb: rdb, key: ks.Clock(), faults: ks.Faults(), start: start, real: real}
}

var (
	//go:embed clock_init.lua
	clockInitLua string
	clockInit    = NewScript[clockInitArgs](clockInitLua)

	//go:embed clock_move.lua
	clockMoveLua string
	clockMove    = NewScript[clockMoveArgs](clockMoveLua)
)

type clockInitArgs struct {
	Sim    int64  `json:"sim"`   // simulated ms
	Real   int64  `json:"real"`  // real ms
	Scale  string `json:"scale"` // the text of a number, stored as it is
	Paused bool   `json:"paused"`
	Keep   bool   `json:"keep"` // only when the clock is not set yet
}

type clockMoveArgs struct {
	Real   int64  `json:"real"`             // real ms
	Max    int64  `json:"max"`              // simulated ms: MaxTime
	Add    int64  `json:"add"`              // ms
	Scale  string `json:"scale,omitempty"`  // the text of a number; "": as it is
	Paused *bool  `json:"paused,omitempty"` // nil: as it is
}

// keys are the keys of the scripts that set the clock's anchor: the clock,
// and the profile whose SHA-1 they mirror in it (the prelude's
// mirror_expect).
func (c *Clock) keys() []string { return []string{c.key, c.faults} }

// Init sets the clock to its start value unless the store already has one.
func (c *Clock) Init(ctx context.Context) error { return c.init(ctx, true) }

// Reset sets the clock back to its start value.
func (c *Clock) Reset(ctx context.Context) error { return c.init(ctx, false) }

func (c *Clock) init(ctx context.Context, keep bool) error {
	real := c.real()
	at := c.start.At
	if at.IsZero() {
		at = real
	}
	err := clockInit.Run(ctx, c.rdb, c.keys(), clockInitArgs{
		Sim: at.UnixMilli(), Real: real.UnixMilli(), Scale: formatScale(c.start.Scale), Paused: c.start.Paused, Keep: keep,
	}).Err()
	if err != nil {
		return fmt.Errorf("set clock: %w", err)
	}
	return nil
}

// State reads the clock.
func (c *Clock) State(ctx context.Context) (ClockState, error) {
	v, err := c.rdb.HMGet(ctx, c.key, "sim", "real", "scale", "paused").Result()
	if err != nil {
		return ClockState{}, fmt.Errorf("read clock: %w", err)
	}
	return c.stateOf(v)
}

// StateCmd queues a read of the clock on a pipeline; StateOf turns its answer
// into a state. Callers use them to read the clock in the same round trip as
// other keys.
func (c *Clock) StateCmd(ctx context.Context, p redis.Pipeliner) *redis.SliceCmd {
	return p.HMGet(ctx, c.key, "sim", "real", "scale", "paused")
}

// StateOf computes the clock state from a StateCmd answer.
func (c *Clock) StateOf(cmd *redis.SliceCmd) (ClockState, error) {
	v, err := cmd.Result()
	if err != nil {
		return ClockState{}, fmt.Errorf("read clock: %w", err)
	}
	return c.stateOf(v)
}

func (c *Clock) stateOf(v []any) (ClockState, error) {
	if len(v) != 4 {
		return ClockState{}, fmt.Errorf("read clock: malformed clock %v", v)
	}
	if v[0] == nil {
		return c.startState(), nil
	}
	sim, err1 := strconv.ParseInt(v[0].(string), 10, 64)
	real, err2 := strconv.ParseInt(v[1].(string), 10, 64)
	scale, err3 := strconv.ParseFloat(v[2].(string), 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return ClockState{}, fmt.Errorf("read clock: malformed clock %v", v)
	}
	paused := v[3] == "1"
	now := min(sim, maxTimeMs)
	if elapsed := c.real().UnixMilli() - real; !paused && elapsed > 0 {
		now = simAfter(sim, elapsed, scale)
	}
	return ClockState{Now: time.UnixMilli(now).UTC(), Scale: scale, Paused: paused}, nil
}

// Now reads the simulated time.
func (c *Clock) Now(ctx context.Context) (time.Time, error) {
	s, err := c.State(ctx)
	return s.Now, err
}

// Set changes the scale and/or the paused flag (nil leaves one as it is);
// simulated time goes on from where it stands.
func (c *Clock) Set(ctx context.Context, scale *float64, paused *bool) (ClockState, error) {
	sc := ""
	if scale != nil {
		if !(*scale > 0 && *scale <= MaxScale) {
			return ClockState{}, Invalid("scale: must be more than 0 and at most %d simulated seconds per real second, got %v", MaxScale, *scale)
		}
		sc = formatScale(*scale)
	}
	return c.move(ctx, 0, sc, paused)
}

// Jump moves simulated time forward by d and answers the new state; one
// that would pass MaxTime is an *Error, and the clock stays. It neither
// carries out what falls due nor records an advance that another process
// would finish: Scheduler.Advance does both, and is what serves a request.
func (c *Clock) Jump(ctx context.Context, d time.Duration) (ClockState, error) {
	st, err := c.State(ctx)
	if err != nil {
		return ClockState{}, err
	}
	if st.Now.Add(d).After(MaxTime()) {
		return ClockState{}, Invalid("by: %s would take the clock past %s, the latest simulated time; it reads %s: give at most %s",
			FormatDuration(d), MaxTime().Format(time.RFC3339), st.Now.Format(time.RFC3339Nano), FormatDuration(MaxTime().Sub(st.Now)))
	}
	return c.move(ctx, d.Milliseconds(), "", nil)
}

func (c *Clock) move(ctx context.Context, addMs int64, scale string, paused *bool) (ClockState, error) {
	v, err := clockMove.Run(ctx, c.rdb, c.keys(),
		clockMoveArgs{Real: c.real().UnixMilli(), Max: maxTimeMs, Add: addMs, Scale: scale, Paused: paused}).StringSlice()
	if err != nil {
		return ClockState{}, fmt.Errorf("move clock: %w", err)
	}
	sim, err1 := strconv.ParseInt(v[0], 10, 64)
	sc, err2 := strconv.ParseFloat(v[1], 64)
	if err1 != nil || err2 != nil {
		return ClockState{}, fmt.Errorf("move clock: malformed answer %v", v)
	}
	return ClockState{Now: time.UnixMilli(min(sim, maxTimeMs)).UTC(), Scale: sc, Paused: v[2] == "1"}, nil
}

// formatScale writes a scale as Lua and Redis read a number: digits and a
// point, never an exponent (1e+06 is no number to Lua's tonumber in every
// Redis).
func formatScale(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// startState is what a clock not set yet reads: a namespace nothing was
// written to reads as one made now, its clock at the start value.
func (c *Clock) startState() ClockState {
	at := c.start.At
	if at.IsZero() {
		at = c.real()
	}
	return ClockState{Now: at.UTC().Truncate(time.Millisecond), Scale: c.start.Scale, Paused: c.start.Paused}
}
