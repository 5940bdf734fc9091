package client

import (
	"testing"
	"time"
)

// A wait's error says of a job how far ahead it falls due, or that it is
// due already.
func TestDescribeJob(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 10, 0, 0, time.UTC)
	for _, c := range []struct {
		job  ScheduledJob
		want string
	}{
		{ScheduledJob{Kind: JobSync, Order: "f_85bbaf51479afbe4", Due: now.Add(31*time.Minute + 48*time.Second)},
			"miit.sync of f_85bbaf51479afbe4 at 2026-05-01T00:41:48Z, 31m48s on"},
		{ScheduledJob{Kind: JobDeliver, Phone: "13800000001", Due: now}, "gateway.deliver at 2026-05-01T00:10:00Z, due now"},
		{ScheduledJob{Kind: JobDeliver, Due: now.Add(-12 * time.Millisecond)}, "gateway.deliver at 2026-05-01T00:09:59.988Z, due now"},
	} {
		if got := describeJob(c.job, now); got != c.want {
			t.Errorf("describeJob(%+v) = %q, want %q", c.job, got, c.want)
		}
	}
}
