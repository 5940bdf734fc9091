package core

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// DeadJob is a job that failed for good — malformed, of a kind nobody
// handles, or whose handler answered a Permanent error — as the
// dead-letter set keeps it: it is never carried out again.
type DeadJob struct {
	Job      string     `json:"job"`           // its stored form
	Kind     string     `json:"kind"`          // "" when it cannot be read
	Due      *time.Time `json:"due,omitempty"` // simulated; absent when it cannot be read
	Args     []string   `json:"args"`
	Error    string     `json:"error"`     // what it failed with
	FailedAt time.Time  `json:"failed_at"` // real time
}

// deadEntry is a member of the dead-letter set (dead.lua).
type deadEntry struct {
	Job      string `json:"job"`
	Error    string `json:"error"`
	FailedAt int64  `json:"failed_at"` // real ms
}

// DeadJobs answers the newest limit jobs of the dead-letter set, newest
// first, and how many the set holds (at most its newest 1000).
func (s *Scheduler) DeadJobs(ctx context.Context, limit int) ([]DeadJob, int64, error) {
	p := s.rdb.Pipeline()
	members := p.ZRevRange(ctx, s.deadKey, 0, int64(limit)-1)
	total := p.ZCard(ctx, s.deadKey)
	if _, err := p.Exec(ctx); err != nil {
		return nil, 0, fmt.Errorf("read dead jobs: %w", err)
	}
	out := make([]DeadJob, 0, len(members.Val()))
	for _, m := range members.Val() {
		var e deadEntry
		if err := json.Unmarshal([]byte(m), &e); err != nil {
			return nil, 0, fmt.Errorf("read dead jobs: %q: %w", m, err)
		}
		d := DeadJob{Job: e.Job, Args: []string{}, Error: e.Error, FailedAt: time.UnixMilli(e.FailedAt).UTC()}
		if job, err := ParseJob(e.Job); err == nil {
			d.Kind, d.Args = job.Kind, append(d.Args, job.Args...)
			d.Due = &job.Due
		}
		out = append(out, d)
	}
	return out, total.Val(), nil
}
