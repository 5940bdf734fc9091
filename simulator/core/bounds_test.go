package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// What is finished lives the retention — the profile's, else the
// process's — at most the namespace's TTL, and that TTL without one.
func TestBoundsOf(t *testing.T) {
	hour := time.Hour
	zero := time.Duration(0)
	for _, c := range []struct {
		name      string
		limits    core.Limits
		retention *time.Duration
		want      core.Bounds
	}{
		{"the process's", core.Limits{Retention: 24 * time.Hour, NamespaceTTL: 168 * time.Hour, InboxMax: 1000}, nil,
			core.Bounds{Retain: 86_400_000, Live: 604_800_000, InboxMax: 1000}},
		{"the profile's", core.Limits{Retention: 24 * time.Hour, NamespaceTTL: 168 * time.Hour}, &hour,
			core.Bounds{Retain: 3_600_000, Live: 604_800_000}},
		{"kept as long as the namespace", core.Limits{Retention: 24 * time.Hour, NamespaceTTL: 168 * time.Hour}, &zero,
			core.Bounds{Live: 604_800_000, Retain: 604_800_000}},
		{"at most the namespace's", core.Limits{Retention: 24 * time.Hour, NamespaceTTL: time.Hour}, nil,
			core.Bounds{Retain: 3_600_000, Live: 3_600_000}},
		{"no namespace TTL", core.Limits{Retention: 24 * time.Hour}, nil, core.Bounds{Retain: 86_400_000}},
		{"nothing expires", core.Limits{}, nil, core.Bounds{}},
		{"a part of a millisecond is one", core.Limits{Retention: time.Microsecond}, nil, core.Bounds{Retain: 1}},
	} {
		f := core.DefaultFaults()
		f.Retention = c.retention
		if got := c.limits.BoundsOf(f); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// A cluster's PUBLISH counts only the listeners of the node it runs on, so
// that an event that reached nobody there may still reach a listener of
// another node: only one Redis lets a script stop publishing (Bounds.Unheard).
func TestCountsEveryListener(t *testing.T) {
	one := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer one.Close()
	cluster := redis.NewClusterClient(&redis.ClusterOptions{ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) { return nil, nil }})
	defer cluster.Close()
	if !core.CountsEveryListener(one) || core.CountsEveryListener(cluster) {
		t.Fatalf("one Redis %v, a cluster %v; want true, false", core.CountsEveryListener(one), core.CountsEveryListener(cluster))
	}
	if b := (core.Limits{Unheard: true}).BoundsOf(core.DefaultFaults()); !b.Unheard {
		t.Fatalf("bounds %+v of limits with Unheard: want Unheard", b)
	}
}

// knowProbe notes a number in the sorted set KEYS[1], as the scripts that
// write to a phone do (the prelude's know_phone).
var knowProbe = core.NewScript[struct {
	Real int64 `json:"real,omitempty"`
}](`know_phone(KEYS[1], '13800000001') return 1`)

// A number is noted at the real time its caller gives (args.real), the
// moment the caller made the call; without one, at Redis's time.
func TestKnowPhoneNotesTheCallersRealTime(t *testing.T) {
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	phones := srv.Prefix + ":phones"
	for _, real := range []int64{1796668425686, 0} {
		before := time.Now().Add(-time.Minute).UnixMilli()
		if err := knowProbe.Run(ctx, rdb, []string{phones}, struct {
			Real int64 `json:"real,omitempty"`
		}{real}).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := rdb.ZScore(ctx, phones, "13800000001").Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case real != 0 && int64(got) != real:
			t.Errorf("noted at %v, want the caller's %d", int64(got), real)
		case real == 0 && (int64(got) < before || int64(got) > time.Now().Add(time.Minute).UnixMilli()):
			t.Errorf("noted at %v without a time given, want about now (%d)", int64(got), time.Now().UnixMilli())
		}
	}
}
