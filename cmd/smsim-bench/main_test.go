package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// lateTimer is a context whose deadline has passed while its timer has not
// yet said so: what a measure's context is for a moment under load.
type lateTimer struct {
	context.Context
	end time.Time
}

func (c lateTimer) Deadline() (time.Time, bool) { return c.end, true }

func TestCutOff(t *testing.T) {
	timeout := fmt.Errorf("write tcp 127.0.0.1:48838->127.0.0.1:6379: %w", os.ErrDeadlineExceeded)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"a timeout once the deadline passed, the timer late", lateTimer{context.Background(), time.Now().Add(-time.Millisecond)}, timeout, true},
		{"a timeout before the deadline", lateTimer{context.Background(), time.Now().Add(time.Hour)}, timeout, false},
		{"any error once the context is done", done, errors.New("EOF"), true},
		{"a long poll cut short", context.Background(), errCutOff, true},
		{"an error with no deadline", context.Background(), timeout, false},
	} {
		if got := cutOff(c.ctx, c.err); got != c.want {
			t.Errorf("%s: cutOff = %v, want %v", c.name, got, c.want)
		}
	}
}

// A call that fails before the measure's end fails the measure; one cut
// off by its end does not.
func TestAMeasuresCallsFailIt(t *testing.T) {
	refused := errors.New("connection refused")
	var smp sample
	err := smp.run(context.Background(), config{workers: 2}, time.Minute, func(ctx context.Context, _, _ int) error {
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("run: %v, want %v", err, refused)
	}
	err = smp.run(context.Background(), config{workers: 2}, 10*time.Millisecond, func(ctx context.Context, _, _ int) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if err != nil {
		t.Fatalf("run cut off by its end: %v, want no error", err)
	}
}
