package core_test

import (
	"testing"
	"time"

	"smsim/simulator/core"
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
