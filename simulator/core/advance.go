package core

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// An advance of the clock cannot strand what falls due on the way, even
// when its process dies in the middle of it. It records its target in the
// clock's hash (advance_to, with its Idempotency-Key, its owner and the end
// of the owner's lease) in the same script that moves the clock there,
// then carries out everything due by the target, renewing its lease each
// time it claims jobs or waits for others' (claim.lua, pending.lua), and
// last forgets the target, keeping its key and answer for a retry
// (clock_finish.lua). Should its process die, the lease runs out, and
// whichever process next looks at the namespace's clock — its scheduler
// loop (Tick), a read of the clock (Scheduler.Clock), another advance —
// takes the advance over (clock_take.lua) and finishes it first: the jobs
// the dead process had claimed come back when their own lease ends, each
// carried out once. A retry of an advance with the same key moves nothing
// and answers as that advance did.

var (
	//go:embed clock_advance.lua
	clockAdvanceLua string
	clockAdvance    = NewScript[clockAdvanceArgs](clockAdvanceLua)

	//go:embed clock_take.lua
	clockTakeLua string
	clockTake    = NewScript[clockTakeArgs](clockTakeLua)

	//go:embed clock_finish.lua
	clockFinishLua string
	clockFinish    = NewScript[clockFinishArgs](clockFinishLua)
)

type clockAdvanceArgs struct {
	Real  int64  `json:"real"` // real ms
	Add   int64  `json:"add"`  // ms
	Key   string `json:"key"`  // the Idempotency-Key; "": none
	Owner string `json:"owner"`
	Lease int64  `json:"lease"` // real ms
	Max   int64  `json:"max"`   // simulated ms
}

type clockTakeArgs struct {
	Real  int64  `json:"real"` // real ms
	Owner string `json:"owner"`
	Lease int64  `json:"lease"` // real ms
}

type clockFinishArgs struct {
	Owner  string `json:"owner"`
	Answer string `json:"answer,omitempty"`  // JSON of a ClockState
	GiveUp bool   `json:"give_up,omitempty"` // the owner failed: any process may take the advance over
	Keep   int    `json:"keep"`              // the answers of keyed advances kept (KeptAdvances)
}

// KeptAdvances is how many keyed advances' answers the clock keeps, for a
// retry of one whose process died before the API recorded its answer.
const KeptAdvances = 64

// clockFields are the fields of the clock's hash that make its state;
// advanceFields tell of an unfinished advance.
var (
	clockFields   = []string{"sim", "real", "scale", "paused"}
	advanceFields = []string{"advance_to", "advance_lease"}
)

// MaxIdempotencyKey bounds the length of an advance's Idempotency-Key.
const MaxIdempotencyKey = 255

// checkIdempotencyKey refuses a key longer than MaxIdempotencyKey, or with
// anything but visible ASCII characters.
func checkIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKey {
		return Invalid("Idempotency-Key: at most %d characters, got %d", MaxIdempotencyKey, len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return Invalid("Idempotency-Key: only visible ASCII characters (no spaces), got %q", key)
		}
	}
	return nil
}

// advanceOwnerKey marks the context of an advance's work with its owner,
// whose lease the scheduler renews as it claims and waits.
type advanceOwnerKey struct{}

// unfinished is an advance the clock's hash records as not finished.
type unfinished struct {
	to    time.Time // its target, simulated
	lease time.Time // the end of its owner's lease, real
}

// advanceOf reads an unfinished advance from the clock's fields and
// advanceFields, read in that order.
func (s *Scheduler) advanceOf(v []any) (unfinished, bool) {
	if len(v) != len(clockFields)+len(advanceFields) {
		return unfinished{}, false
	}
	to, ok := v[len(clockFields)].(string)
	if !ok {
		return unfinished{}, false
	}
	lease, _ := v[len(clockFields)+1].(string)
	toMs, _ := strconv.ParseInt(to, 10, 64)
	leaseMs, _ := strconv.ParseInt(lease, 10, 64)
	return unfinished{to: time.UnixMilli(toMs).UTC(), lease: time.UnixMilli(leaseMs)}, true
}

// Advance moves the clock forward by d and, before it returns, carries out
// everything due by the new time, in due order: what this process claims,
// and what other processes claimed and are still carrying out.
func (s *Scheduler) Advance(ctx context.Context, d time.Duration) (ClockState, error) {
	st, _, err := s.AdvanceOnce(ctx, d, "")
	return st, err
}

// AdvanceOnce is Advance under an idempotency key (key; "" for none): an
// advance retried with the key of the namespace's latest advance moves
// nothing and answers the clock that advance answered, and true — also when it was
// cut short by the death of its process, which is then finished first. An
// unfinished advance of another key is finished (or, while its own process
// carries it out, awaited) before this one starts, so advances never
// overlap. What the advance started is finished even when ctx ends: the
// clock has moved.
func (s *Scheduler) AdvanceOnce(ctx context.Context, d time.Duration, key string) (ClockState, bool, error) {
	if err := checkIdempotencyKey(key); err != nil {
		return ClockState{}, false, err
	}
	defer s.forgetState() // the clock moved: what the jobs compute with is read again
	for {
		owner := newOwner()
		out, err := clockAdvance.Run(ctx, s.rdb, s.clock.keys(), clockAdvanceArgs{
			Real: s.real().UnixMilli(), Add: d.Milliseconds(), Key: key, Owner: owner, Lease: s.leaseUntil(), Max: maxTimeMs,
		}).StringSlice()
		if err != nil {
			return ClockState{}, false, fmt.Errorf("advance clock: %w", err)
		}
		switch out[0] {
		case "replay":
			var st ClockState
			if err := json.Unmarshal([]byte(out[1]), &st); err != nil {
				return ClockState{}, false, fmt.Errorf("advance clock: the answer kept for its key: %w", err)
			}
			return st, true, nil
		case "past":
			ms, _ := strconv.ParseInt(out[1], 10, 64)
			now := time.UnixMilli(ms).UTC()
			return ClockState{}, false, Invalid("by: %s would take the clock past %s, the latest simulated time; it reads %s: give at most %s",
				FormatDuration(d), MaxTime().Format(time.RFC3339), now.Format(time.RFC3339Nano), FormatDuration(MaxTime().Sub(now)))
		case "unfinished":
			if err := s.awaitAdvance(ctx); err != nil {
				return ClockState{}, false, err
			}
		case "started":
			s.forgetState()
			ms, _ := strconv.ParseInt(out[1], 10, 64)
			st, err := s.finishAdvance(context.WithoutCancel(ctx), owner, time.UnixMilli(ms).UTC())
			return st, false, err
		default:
			return ClockState{}, false, fmt.Errorf("advance clock: malformed answer %v", out)
		}
	}
}

// finishAdvance carries out, as owner of the advance, everything due by
// its target to, then ends the advance and answers the clock. When it
// fails, the advance stays unfinished, its lease ended: the next look at
// the clock, or the next advance, finishes it.
func (s *Scheduler) finishAdvance(ctx context.Context, owner string, to time.Time) (ClockState, error) {
	if err := s.Drain(context.WithValue(s.fromAdvance(ctx), advanceOwnerKey{}, owner), to); err != nil {
		ctx := context.WithoutCancel(ctx)
		if err := clockFinish.Run(ctx, s.rdb, []string{s.clock.key}, clockFinishArgs{Owner: owner, GiveUp: true}).Err(); err != nil {
			s.log.WarnContext(ctx, "giving up an advance", "err", err)
		}
		return ClockState{}, err
	}
	st, err := s.clock.State(ctx)
	if err != nil {
		return ClockState{}, err
	}
	answer, err := json.Marshal(st)
	if err != nil {
		return ClockState{}, fmt.Errorf("finish advance: %w", err)
	}
	err = clockFinish.Run(ctx, s.rdb, []string{s.clock.key}, clockFinishArgs{Owner: owner, Answer: string(answer), Keep: KeptAdvances}).Err()
	s.signalReleased()
	if err != nil {
		return ClockState{}, fmt.Errorf("finish advance: %w", err)
	}
	if !st.Paused {
		// the jobs after the target are nearer in real time than when the
		// loop last looked: it looks again
		s.Kick()
	}
	return st, nil
}

// takeOver finishes the namespace's unfinished advance when its owner's
// lease ended. While the lease runs, it answers when it ends; with no
// advance unfinished, the zero time.
func (s *Scheduler) takeOver(ctx context.Context) (time.Time, error) {
	owner := newOwner()
	out, err := clockTake.Run(ctx, s.rdb, []string{s.clock.key},
		clockTakeArgs{Real: s.real().UnixMilli(), Owner: owner, Lease: s.leaseUntil()}).StringSlice()
	if err != nil {
		return time.Time{}, fmt.Errorf("take over advance: %w", err)
	}
	switch out[0] {
	case "held":
		ms, _ := strconv.ParseInt(out[1], 10, 64)
		return time.UnixMilli(ms), nil
	case "taken":
		ms, _ := strconv.ParseInt(out[1], 10, 64)
		s.log.WarnContext(ctx, "finishing an advance whose process stopped before it finished", "to", time.UnixMilli(ms).UTC())
		st, err := s.finishAdvance(ctx, owner, time.UnixMilli(ms).UTC())
		if err == nil && s.takenOver != nil {
			s.takenOver(ctx, st)
		}
		return time.Time{}, err
	}
	return time.Time{}, nil
}

// OnTakeOver has the scheduler call f with the clock once it finished an
// advance another process left unfinished, as that process would have
// after its advance (the namespace's event of the clock). Call it before
// Run.
func (s *Scheduler) OnTakeOver(f func(ctx context.Context, st ClockState)) { s.takenOver = f }

// Replayed answers what the advance of key answered when key is the
// Idempotency-Key of an advance of the namespace: the latest, or one whose
// answer the clock keeps (KeptAdvances); one unfinished is finished or
// awaited first. It answers false for any other key: a request computes
// its advance (to a time, to the next job) only then, so that its retry is
// answered as it was whatever the clock reads now.
func (s *Scheduler) Replayed(ctx context.Context, key string) (ClockState, bool, error) {
	if key == "" {
		return ClockState{}, false, nil
	}
	for {
		v, err := s.rdb.HMGet(ctx, s.clock.key, "advance_key", "advanced_key", "advanced", "advanced:"+key).Result()
		if err != nil {
			return ClockState{}, false, fmt.Errorf("read the clock's advances: %w", err)
		}
		str := func(x any) string { t, _ := x.(string); return t }
		answer := ""
		switch {
		case str(v[0]) == key:
			if err := s.awaitAdvance(ctx); err != nil {
				return ClockState{}, false, err
			}
			continue
		case str(v[1]) == key:
			answer = str(v[2])
		case v[3] != nil:
			answer = str(v[3])
		default:
			return ClockState{}, false, nil
		}
		var st ClockState
		if err := json.Unmarshal([]byte(answer), &st); err != nil {
			return ClockState{}, false, fmt.Errorf("the answer kept for the key %q: %w", key, err)
		}
		return st, true, nil
	}
}

// awaitAdvance returns once no advance is unfinished: it finishes one whose
// owner's lease ended, and waits for one under way.
func (s *Scheduler) awaitAdvance(ctx context.Context) error {
	var wait backoff
	for {
		released := s.releasedChan()
		lease, err := s.takeOver(ctx)
		if err != nil || lease.IsZero() {
			return err
		}
		if err := wait.wait(ctx, released); err != nil {
			return err
		}
	}
}

// Clock reads the namespace's clock as it serves it: an advance whose
// process died before it finished (its lease ended) is finished first.
// It costs one round trip when no advance is unfinished.
func (s *Scheduler) Clock(ctx context.Context) (ClockState, error) {
	v, err := s.rdb.HMGet(ctx, s.clock.key, append(clockFields, advanceFields...)...).Result()
	if err != nil {
		return ClockState{}, fmt.Errorf("read clock: %w", err)
	}
	if a, ok := s.advanceOf(v); ok && !a.lease.After(s.real()) {
		if _, err := s.takeOver(ctx); err != nil {
			return ClockState{}, err
		}
		return s.clock.State(ctx)
	}
	return s.clock.stateOf(v[:len(clockFields)])
}

// forgetState drops what the process holds of the namespace's clock.
func (s *Scheduler) forgetState() {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state != nil {
		state.Forget()
	}
}

// newOwner names the owner of an advance.
func newOwner() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
