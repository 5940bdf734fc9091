package core_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// afterRead calls do once, after the first read of the clock in a
// pipeline has been answered: between a snapshot's read and its keeping.
type afterRead struct{ do func() }

func (h *afterRead) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *afterRead) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *afterRead) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if do := h.do; do != nil && len(cmds) > 0 && cmds[0].Name() == "hmget" {
			h.do = nil
			do()
		}
		return err
	}
}

// A snapshot read while the process hears of a change (Forget, from
// another process's word) is answered to its reader but not kept: it may
// be of before the change, and the next reader reads the store again.
func TestASnapshotReadAcrossAForgetIsNotKept(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	c := core.NewClock(rdb, ks, core.ClockStart{At: start}, nil)
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	state := core.NewState(c, core.NewFaultStore(rdb, ks), core.Limits{})
	other := core.NewClock(srv.Client(t), ks, core.ClockStart{At: start}, nil)
	paused := true
	rdb.AddHook(&afterRead{do: func() {
		// another process pauses the clock, and this one hears of it
		if _, err := other.Set(ctx, nil, &paused); err != nil {
			t.Error(err)
		}
		state.Forget()
	}})
	snap, err := state.Snapshot(ctx)
	if err != nil || snap.Now().Paused {
		t.Fatalf("the snapshot read before the change: paused %v (%v), want running", snap.Now().Paused, err)
	}
	if snap, err = state.Snapshot(ctx); err != nil || !snap.Now().Paused {
		t.Fatalf("the next snapshot: paused %v (%v), want paused: the one read across the change was kept", snap.Now().Paused, err)
	}
}

// A clock stored paused past MaxTime (by a version that did not stop a
// running clock there when it was paused) reads MaxTime in the process's
// snapshot, which requests schedule from, as it does in Clock.State.
func TestASnapshotOfAClockStoredPastMaxTimeReadsMaxTime(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	c := core.NewClock(rdb, ks, core.ClockStart{At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Paused: true}, testkit.NewClock(time.Now()).Now)
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	past := core.MaxTime().Add(1000 * time.Hour).UnixMilli()
	if err := rdb.HSet(ctx, ks.Clock(), "sim", strconv.FormatInt(past, 10), "paused", "1").Err(); err != nil {
		t.Fatal(err)
	}
	st, err := c.State(ctx)
	if err != nil || !st.Now.Equal(core.MaxTime()) {
		t.Fatalf("Clock.State: %+v, %v; want %s", st, err, core.MaxTime())
	}
	snap, err := core.NewState(c, core.NewFaultStore(rdb, ks), core.Limits{}).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Now().Now; !got.Equal(core.MaxTime()) {
		t.Errorf("the snapshot reads %s, want %s", got, core.MaxTime())
	}
}
