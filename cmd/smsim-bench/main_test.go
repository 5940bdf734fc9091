package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"smsim/simulator/core/testkit"
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

// The bare phone server is measured only beside smsim's phones, on a real
// Redis; its work only with it.
func TestPhonesBareNeedsPhonesAndARedis(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--phones-bare"}, "smsim-bench: --phones-bare needs --phones and --redis-url\n"},
		{[]string{"--phones-bare", "--phones", "10"}, "smsim-bench: --phones-bare needs --phones and --redis-url\n"},
		{[]string{"--phones-bare", "--phones", "10", "--redis-url", "redis://127.0.0.1:1/0", "--stores", "embedded", "--scale-only"},
			"smsim-bench: --phones-bare: the bare phone server runs on a real Redis; give --stores with redis\n"},
		{[]string{"--phones-bare-work", "5", "--phones", "10", "--redis-url", "redis://127.0.0.1:1/0"}, "smsim-bench: --phones-bare-work: at least 0, and with --phones-bare\n"},
		{[]string{"--phones-bare-work", "-1", "--phones-bare", "--phones", "10", "--redis-url", "redis://127.0.0.1:1/0"}, "smsim-bench: --phones-bare-work: at least 0, and with --phones-bare\n"},
	} {
		var stdout, stderr strings.Builder
		if code := run(c.args, &stdout, &stderr); code != 2 || stderr.String() != c.want {
			t.Errorf("%q: exit %d, %q; want 2, %q", c.args, code, stderr.String(), c.want)
		}
	}
}

// The bare server's measure gives smsim's against it, as ratios.
func TestBesideBare(t *testing.T) {
	var bare, sm scaleResult
	bare.set("delivery_p99_ms", 5)
	bare.set("smsim_cpu_us_per_delivery", 100)
	bare.set("redis_cpu_us_per_delivery", 25)
	sm.set("delivery_p99_ms", 20)
	sm.set("smsim_cpu_us_per_delivery", 120)
	sm.set("redis_cpu_us_per_delivery", 90)
	besideBare(&bare, sm)
	for name, want := range map[string]float64{"smsim_p99_ratio": 4, "smsim_cpu_ratio": 1.2, "smsim_redis_ratio": 3.6} {
		if got := bare.Values[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// A phones trace starts with the measure's start in Unix ms, then a line
// for each delivery: when it was sent (ms from the start), its latency (µs).
func TestWriteTrace(t *testing.T) {
	file := t.TempDir() + "/trace.txt"
	from := time.UnixMilli(1796619533163)
	if err := writeTrace(file, from, []time.Duration{5 * time.Millisecond, 1500 * time.Millisecond},
		[]time.Duration{2300 * time.Microsecond, 11 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := "# start_unix_ms 1796619533163\n# sent_ms latency_us\n5 2300\n1500 11000\n"
	if string(b) != want {
		t.Fatalf("trace:\n%s\nwant:\n%s", b, want)
	}
}

// luaHeld reads, from a real Redis, what its two Lua states hold: the
// scripts' and the functions', each a few tens of KB even when empty.
func TestLuaHeldReadsRedisMemory(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("the embedded store has no Lua of Redis's")
	}
	rdb := testkit.StartRedis(t).Client(t)
	held, err := luaHeld(context.Background(), &store{name: "redis", rdb: rdb})
	if err != nil {
		t.Fatal(err)
	}
	if held.Store != "redis" || held.ScriptsKB <= 0 || held.FunctionsKB <= 0 {
		t.Fatalf("luaHeld answered %+v, want the KB of Redis's two Lua states", held)
	}
}
