package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

func TestLogHandlerNamesTheRequest(t *testing.T) {
	var buf bytes.Buffer
	h := core.LogHandler(slog.NewJSONHandler(&buf, nil))
	if core.LogHandler(h) != h {
		t.Fatal("wrapping twice adds a second request_id")
	}
	log := slog.New(h).With("component", "test")
	ctx := core.WithRequestID(context.Background(), "r-1")
	log.InfoContext(ctx, "in a request")
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var in, out map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &out); err != nil {
		t.Fatal(err)
	}
	if in["request_id"] != "r-1" || in["component"] != "test" {
		t.Errorf("line in a request: %s, want request_id r-1 and the component", lines[0])
	}
	if _, ok := out["request_id"]; ok {
		t.Errorf("line outside a request: %s, want no request_id", lines[1])
	}
}

func TestEventStringMasksCodes(t *testing.T) {
	ev, err := core.ParseJob("000000000042|1777593600000|miit.code|f_0123456789abcdef|1|13800000001|157817|86400000")
	if err != nil {
		t.Fatal(err)
	}
	want := "miit.code #42 due 2026-05-01T00:00:00Z [f_0123456789abcdef 1 13800000001 ****** 86400000]"
	if got := ev.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// An event whose arguments hold a code fails, another is of no known kind,
// a third cannot be read: what the scheduler logs and returns shows the
// code only at debug level.
func TestSchedulerKeepsCodesOutOfLogsAboveDebug(t *testing.T) {
	const code = "157817"
	ctx := core.WithRequestID(context.Background(), "r-7")
	srv := testkit.StartRedis(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	rdb := srv.Client(t)
	clock := core.NewClock(rdb, ks, core.ClockStart{At: start, Paused: true}, nil)
	if err := clock.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var logs testkit.Buffer
	log := slog.New(core.LogHandler(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	s := core.NewScheduler(rdb, ks, clock, log, prometheus.NewRegistry(), core.SchedulerOptions{})
	s.Handle("miit.code", func(ctx context.Context, ev core.Job) error {
		return errors.New("the gateway is down")
	})

	ev, err := s.Schedule(ctx, start.Add(time.Minute), "miit.code", "f_0123456789abcdef", "1", "13800000001", code, "86400000")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Advance(ctx, time.Hour)
	if err == nil || strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), "the gateway is down") {
		t.Fatalf("advance over a failing event: %v, want the failure without the code", err)
	}
	if _, err := s.Schedule(ctx, start.Add(2*time.Hour), "mystery", code); err != nil {
		t.Fatal(err)
	}
	due := ks.SchedDue()
	if err := rdb.ZAdd(ctx, due, redis.Z{Score: float64(start.Add(3 * time.Hour).UnixMilli()), Member: "x|tomorrow|miit.code|" + code}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunDue(ctx, start.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		seen[rec["level"].(string)+" "+rec["msg"].(string)] = true
		if rec["level"] != "DEBUG" && strings.Contains(line, code) {
			t.Errorf("the code is in a line above debug: %s", line)
		}
		if rec["request_id"] != "r-7" {
			t.Errorf("line without the request id: %s", line)
		}
	}
	for _, want := range []string{
		"DEBUG job failed", "ERROR job of unknown kind moved to the dead-letter set", "DEBUG job of unknown kind",
		"ERROR malformed job moved to the dead-letter set", "DEBUG malformed job",
	} {
		if !seen[want] {
			t.Errorf("no %q line in %s", want, logs.String())
		}
	}
	if !strings.Contains(logs.String(), ev.Member()) {
		t.Errorf("the debug lines do not show the failed event %s", ev.Member())
	}
}

// A loop that fails again and again says so once, at warn, and once at
// info when it works again; its wait doubles up to the most.
func TestRetryingSaysAnOutageOnce(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var r core.Retrying
	r.Note(log, "following", nil)
	waits := []time.Duration{}
	for range 6 {
		r.Note(log, "following", errors.New("connection refused"))
		waits = append(waits, r.Wait(100*time.Millisecond, time.Second))
	}
	r.Note(log, "following", nil)
	r.Note(log, "following", nil)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `level=WARN msg=following err="connection refused"`) ||
		!strings.Contains(lines[1], `level=INFO msg="following: working again" failed_tries=6`) {
		t.Fatalf("logged:\n%s", b.String())
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
}
