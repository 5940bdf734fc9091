package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"smsim/simulator/core"
)

// Scheduled lists the jobs not yet carried out in due order, those in
// flight among them, across the chunks it reads, and stops at its limit.
func TestScheduledListsInDueOrder(t *testing.T) {
	ctx := context.Background()
	e := newSchedEnv(t)
	s := e.scheduler(t)
	s.Handle("stuck", func(context.Context, core.Job) error { return errors.New("process died") })
	if _, err := s.Schedule(ctx, start.Add(90*time.Second), "stuck", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunDue(ctx, start.Add(90*time.Second)); err == nil {
		t.Fatal("want the handler's error: the job stays in flight")
	}
	const n = 1200 // more than two chunks
	for i := range n {
		kind := "b"
		if i%100 == 0 {
			kind = "a"
		}
		if _, err := s.Schedule(ctx, start.Add(time.Duration(n-i)*time.Minute), kind, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	list := func(limit int, keep func(core.Job) bool) string {
		t.Helper()
		jobs, err := s.Scheduled(ctx, limit, keep)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range jobs {
			out = append(out, fmt.Sprintf("%s%s@%s", j.Kind, strings.Join(j.Args, ","), j.Due.Sub(start)))
		}
		return strings.Join(out, " ")
	}
	if got, want := list(3, nil), "b1199@1m0s stuckx@1m30s b1198@2m0s"; got != want {
		t.Errorf("the first three: %s, want %s", got, want)
	}
	if got, want := list(3, func(j core.Job) bool { return j.Kind == "a" }), "a1100@1h40m0s a1000@3h20m0s a900@5h0m0s"; got != want {
		t.Errorf("the first three of kind a: %s, want %s", got, want)
	}
	if got, want := list(20, func(j core.Job) bool { return j.Kind == "a" && j.Args[0] < "2" }), "a1100@1h40m0s a1000@3h20m0s a100@18h20m0s a0@20h0m0s"; got != want {
		t.Errorf("the jobs of kind a below 2: %s, want %s", got, want)
	}
	if got := list(0, nil); got != "" {
		t.Errorf("a limit of 0 lists %s", got)
	}
	all, err := s.Scheduled(ctx, 5000, nil)
	if err != nil || len(all) != n+1 {
		t.Fatalf("all: %d, %v; want %d", len(all), err, n+1)
	}
}
