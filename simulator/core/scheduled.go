package core

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// scheduledChunk is how many jobs of the due set Scheduled reads at once.
const scheduledChunk = 500

// Scheduled answers the first limit jobs not yet carried out that keep
// accepts (nil: all), in due order and, among those due together, in the
// order they were scheduled: those waiting in the due set and those a
// process is carrying out. It reads the due set a chunk at a time and
// stops once it has enough, so that the first jobs of a long schedule cost
// one read; it is a listing, not an atomic snapshot of a schedule that
// moves meanwhile.
func (s *Scheduler) Scheduled(ctx context.Context, limit int, keep func(Job) bool) ([]Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Job
	add := func(members []string) int {
		n := 0
		for _, m := range members {
			job, err := ParseJob(m)
			if err != nil || (keep != nil && !keep(job)) {
				continue
			}
			out = append(out, job)
			n++
		}
		return n
	}
	flying, err := s.rdb.ZRange(ctx, s.flyKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read jobs in flight: %w", err)
	}
	add(flying)
	for start, found := int64(0), 0; found < limit; start += scheduledChunk {
		chunk, err := s.rdb.ZRange(ctx, s.dueKey, start, start+scheduledChunk-1).Result()
		if err != nil {
			return nil, fmt.Errorf("read scheduled jobs: %w", err)
		}
		found += add(chunk)
		if len(chunk) < scheduledChunk {
			break
		}
	}
	slices.SortFunc(out, func(a, b Job) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return strings.Compare(a.Seq, b.Seq)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
