package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

func TestDemoRunsTheClockFast(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want float64
	}{
		{nil, nil, 1},
		{[]string{"--demo"}, nil, demoScale},
		{[]string{"--demo", "--scale", "5"}, nil, 5},
		{[]string{"--demo"}, map[string]string{"SMSIM_SCALE": "2"}, 2},
		{nil, map[string]string{"SMSIM_DEMO": "true"}, demoScale},
	} {
		c, err := parse(tc.args, env(tc.env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.scale != tc.want {
			t.Errorf("%v %v: scale %v, want %v", tc.args, tc.env, c.scale, tc.want)
		}
	}
}

// TestDemoComesAlive runs `smsim --demo`: within ten seconds customers
// have submitted orders and codes have reached phones, people validate
// soon after, and the demo stops with the server.
func TestDemoComesAlive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testkit.Buffer
	exit := make(chan int, 1)
	started := time.Now()
	go func() {
		exit <- run(ctx, []string{"--addr", "127.0.0.1:0", "--demo", "--seed", "1"}, env(nil), io.Discard, &logs)
	}()
	url := regexp.MustCompile(`url=(http://[0-9.:]+)`)
	var base string
	for base == "" {
		if m := url.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		} else if time.Since(started) > 10*time.Second {
			t.Fatalf("no url logged: %s", logs.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	api, err := client.New(base)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	last := ""
	for !seen["code"] || !seen["validation"] {
		page, err := api.Events(ctx, client.EventOptions{After: last})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Events {
			last = r.ID
			switch r.Kind {
			case client.KindFilingSubmitted:
				seen["order"] = true
			case client.KindSMSDelivered:
				if regexp.MustCompile(`"sender":"12381"`).Match(r.Data) {
					seen["code"] = true
				}
			case client.KindValidation:
				seen["validation"] = true
			}
		}
		switch {
		case time.Since(started) > 10*time.Second && (!seen["order"] || !seen["code"]):
			t.Fatalf("after 10 s: %v, want orders and codes delivered", seen)
		case time.Since(started) > 30*time.Second:
			t.Fatalf("after 30 s: %v, want validations", seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// at info level the log tells what happens to the server, not each
	// look the people take; the test's own requests are there
	if n := strings.Count(logs.String(), "request_id=demo-"); n != 0 || !strings.Contains(logs.String(), `level=INFO msg=request method=GET route="GET /admin/v1/events"`) {
		t.Errorf("%d lines of the demo's requests at info level; the log:\n%s", n, logs.String())
	}
	st, err := api.Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Scale != demoScale || st.Paused {
		t.Errorf("clock %+v, want running at %d×", st, demoScale)
	}
	f, err := api.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.SyncLag.Max != 4*time.Minute {
		t.Errorf("sync_lag %+v, want the demo's", f.SyncLag)
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit code %d: %s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after the context ended")
	}
}

// The lines of the demo's requests are at debug level: dropped at info,
// kept (at debug) with --log-level debug; the others stay as they were.
func TestDemoQuietLogsItsRequestsAtDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		log := slog.New(core.LogHandler(demoQuiet{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})}))
		demo := core.WithRequestID(context.Background(), "demo-7")
		mine := core.WithRequestID(context.Background(), "4f2a")
		log.InfoContext(demo, "request", "route", "GET /admin/v1/clock")
		log.WarnContext(demo, "store unavailable")
		log.InfoContext(mine, "request", "route", "GET /admin/v1/clock")
		want := "level=WARN msg=\"store unavailable\" request_id=demo-7\nlevel=INFO msg=request route=\"GET /admin/v1/clock\" request_id=4f2a\n"
		if level == slog.LevelDebug {
			want = "level=DEBUG msg=request route=\"GET /admin/v1/clock\" request_id=demo-7\n" + want
		}
		if got := regexp.MustCompile(`time=\S+ `).ReplaceAllString(buf.String(), ""); got != want {
			t.Errorf("at %s:\n%s\nwant\n%s", level, got, want)
		}
	}
}
