package core_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

func TestFaultsRoundTrip(t *testing.T) {
	b, err := json.Marshal(core.DefaultFaults())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"sync_lag":{"model":"uniform","min":"30m","max":"1h"},"result_sync_lag":{"model":"uniform","min":"1m","max":"5m"},"sms_delay":{"model":"uniform","min":"0s","max":"0s"},"sender_delays":{},"spam_block_rate":0,"drop_rate":0,"duplicate_rate":0,"reorder_rate":0,"reorder_max":"5m","outages":[],"throttles":[],"spurious_not_found_rate":0,"lost_code_rate":0,"miit_send_delay":{"model":"fixed","value":"0s"},"resend_policy":"new_code","validation_window":"24h","auto_resend_noon":false,"magic_numbers":true,"review":{"model":"uniform","min":"24h","max":"480h","approve_ratio":1}}`
	if string(b) != want {
		t.Fatalf("default profile\n got %s\nwant %s", b, want)
	}
	f, err := core.ParseFaults([]byte(`{"sms_delay":{"max":"90s"},"drop_rate":0.25}`))
	if err != nil {
		t.Fatal(err)
	}
	d := core.DefaultFaults()
	d.SMSDelay.Max = 90 * time.Second
	d.DropRate = 0.25
	if !reflect.DeepEqual(f, d) {
		t.Fatalf("omitted fields must take their start values: %+v", f)
	}
}

func TestFaultsRejectBadSettings(t *testing.T) {
	for body, field := range map[string]string{
		`{"sync_lag":{"min":"-1m"}}`:            "sync_lag.min",
		`{"sync_lag":{"min":"2h","max":"1h"}}`:  "sync_lag: min (2h) exceeds max (1h)",
		`{"sms_delay":{"max":"soon"}}`:          "sms_delay.max",
		`{"sms_delay":{"max":5}}`:               "sms_delay.max: expected a string",
		`{"drop_rate":1.5}`:                     "drop_rate",
		`{"spam_block_rate":-0.1}`:              "spam_block_rate",
		`{"spurious_not_found_rate":2}`:         "spurious_not_found_rate",
		`{"validation_window":"0s"}`:            "validation_window",
		`{"review":{"approve_ratio":1.1}}`:      "review.approve_ratio",
		`{"review":{"min":"20h","max":"10h"}}`:  "review: min",
		`{"nope":1}`:                            "nope: unknown field",
		`{"sync_lag":{"mid":"1m"}}`:             "mid: unknown field",
		`{"auto_resend_noon":"yes"}`:            "auto_resend_noon: expected true or false",
		`[]`:                                    "body: expected a JSON object",
		`{"result_sync_lag":{"max":"100000h"}}`: "result_sync_lag.max: must be at most",
		`{"retention":"-1h"}`:                   "retention: must not be negative",
		`{"retention":""}`:                      "retention: missing",
		`{"retention":3600}`:                    "retention: expected a string",
	} {
		_, err := core.ParseFaults([]byte(body))
		e, ok := err.(*core.Error)
		if !ok || e.Code != 400 || !strings.Contains(e.Detail, field) {
			t.Errorf("ParseFaults(%s) = %v, want a 400 naming %q", body, err, field)
		}
	}
}

// The retention is the process's unless the profile sets one: absent from
// the start value and from a profile that does not set it, written back as
// it was given.
func TestFaultsRetention(t *testing.T) {
	if f := core.DefaultFaults(); f.Retention != nil {
		t.Fatalf("the start value sets a retention: %v", *f.Retention)
	}
	for body, want := range map[string]string{`{"retention":"1h30m"}`: "1h30m", `{"retention":"0s"}`: "0s"} {
		f, err := core.ParseFaults([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(f)
		var w struct{ Retention *string }
		if err := json.Unmarshal(b, &w); err != nil || w.Retention == nil || *w.Retention != want {
			t.Errorf("%s is written back as %s", body, b)
		}
	}
	f, err := core.ParseFaults([]byte(`{"retention":null}`))
	if err != nil || f.Retention != nil {
		t.Errorf("a null retention reads as %v, %v; want none", f.Retention, err)
	}
}

func TestMergePatch(t *testing.T) {
	var doc, patch any
	json.Unmarshal([]byte(`{"a":{"b":1,"c":2},"d":3}`), &doc)
	json.Unmarshal([]byte(`{"a":{"b":null,"e":4},"d":null,"f":[1]}`), &patch)
	got, _ := json.Marshal(core.MergePatch(doc, patch))
	if want := `{"a":{"c":2,"e":4},"f":[1]}`; string(got) != want {
		t.Fatalf("MergePatch = %s, want %s", got, want)
	}
}

// A duration is refused with a minus sign, even a zero one, as the
// document's Duration pattern refuses it.
func TestParseDurationRefusesAMinusSign(t *testing.T) {
	for s, want := range map[string]string{
		"-1h":   `by: must not be negative, got "-1h"`,
		"-0s":   `by: must not be negative, got "-0s"`,
		"-0":    `by: must not be negative, got "-0"`,
		"-0.0m": `by: must not be negative, got "-0.0m"`,
		"- 1s":  `by: "- 1s" is not a duration such as "45m" or "24h"`,
	} {
		d, err := core.ParseDuration("by", s)
		if e, ok := err.(*core.Error); !ok || e.Code != 400 || e.Detail != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want a 400 %q", s, d, err, want)
		}
	}
	for s, want := range map[string]time.Duration{"0s": 0, "0": 0, "+0s": 0, "+1m": time.Minute} {
		if d, err := core.ParseDuration("by", s); err != nil || d != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, d, err, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 30 * time.Minute: "30m", 24 * time.Hour: "24h", 90 * time.Minute: "1h30m",
		1500 * time.Millisecond: "1.5s", time.Hour + time.Second: "1h0m1s",
	} {
		if got := core.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSeededSourceIsReproducible(t *testing.T) {
	a, b, c := core.NewSeededSource(7), core.NewSeededSource(7), core.NewSeededSource(8)
	if a.Code("x", "1") != b.Code("x", "1") || a.ID("f", "1") != b.ID("f", "1") {
		t.Fatal("the same seed drew differently")
	}
	if a.Code("x", "1") == a.Code("x", "2") && a.Code("x", "3") == a.Code("x", "4") {
		t.Fatal("different draws of one seed are all equal")
	}
	if a.ID("f", "1") == c.ID("f", "1") {
		t.Fatal("another seed drew the same id")
	}
	for i := range 1000 {
		d := a.Between(time.Minute, 2*time.Minute, "d", string(rune(i)))
		if d < time.Minute || d > 2*time.Minute || d%time.Millisecond != 0 {
			t.Fatalf("Between drew %s", d)
		}
		if code := core.NewSource().Code(); len(code) != 6 {
			t.Fatalf("code %q", code)
		}
	}
}

// Storing a fault profile, whole or patched, keeps the lifetime its key
// had: it lives as its namespace does, not for ever from then on.
func TestFaultsKeepTheirLifetime(t *testing.T) {
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	fs := core.NewFaultStore(rdb, ks)
	if _, _, err := fs.Put(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := rdb.PExpire(ctx, ks.Faults(), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	for _, set := range []func() error{
		func() error { _, _, err := fs.Put(ctx, []byte(`{"review": {"approve_ratio": 0.5}}`)); return err },
		func() error { _, _, err := fs.Patch(ctx, []byte(`{"review": {"approve_ratio": 0.7}}`)); return err },
	} {
		if err := set(); err != nil {
			t.Fatal(err)
		}
		if ttl := rdb.PTTL(ctx, ks.Faults()).Val(); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("the profile lives %s once stored again, want what it had, at most 1h", ttl)
		}
	}
}

// Each change of the profile answers the one it replaced, read in the same
// step: of changes made at once, every profile but the last is replaced
// exactly once, and the start value is replaced first. (A patch answers
// the one it was computed from, which it stores only if it is still
// there.)
func TestAChangeOfTheProfileAnswersTheOneItReplaced(t *testing.T) {
	srv := testkit.StartRedis(t)
	ctx := context.Background()
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	const n = 20
	var (
		mu       sync.Mutex
		replaced = map[float64]int{} // drop rate replaced → times
		set      []float64
	)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			fs := core.NewFaultStore(srv.Client(t), ks)
			f, old, err := fs.Put(ctx, []byte(fmt.Sprintf(`{"drop_rate": %v}`, float64(i)/100)))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			replaced[old.DropRate]++
			set = append(set, f.DropRate)
			mu.Unlock()
		})
	}
	wg.Wait()
	last, err := core.NewFaultStore(srv.Client(t), ks).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if replaced[0] != 1 {
		t.Errorf("the start value was replaced %d times, want once: %v", replaced[0], replaced)
	}
	for _, x := range set {
		want := 1
		if x == last.DropRate {
			want = 0
		}
		if replaced[x] != want {
			t.Errorf("drop_rate %v was replaced %d times, want %d: %v", x, replaced[x], want, replaced)
		}
	}
}

// A whole profile's null for a sender of sender_delays is the entry's
// start value, none, as a merge patch's null is: the sender's messages
// take sms_delay, not a delay of 0s. The sender's name is checked still.
func TestFaultsNullSenderDelayIsNoEntry(t *testing.T) {
	f, err := core.ParseFaults([]byte(`{"sms_delay":{"model":"fixed","value":"1m"},"sender_delays":{"miit":null,"95187":{"model":"fixed","value":"2m"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		SenderDelays map[string]any `json:"sender_delays"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.SenderDelays) != "map[95187:map[model:fixed value:2m]]" {
		t.Fatalf("sender_delays %v, want 95187's alone", got.SenderDelays)
	}
	if d := f.DelayFor("12381", true); d.String() != core.Fixed(time.Minute).String() {
		t.Fatalf("MIIT's delay %v, want sms_delay's, fixed 1m", d)
	}
	_, err = core.ParseFaults([]byte(`{"sender_delays":{"miit!":null}}`))
	if want := `sender_delays: "miit!" is neither a sender number (1 to 21 digits) nor "miit"`; err == nil || err.Error() != want {
		t.Fatalf("a null entry of a sender that is none: %v, want %q", err, want)
	}
}

// staleProbe answers "fresh" when the clock and the profile are still as
// args.expect read them, and refuses as stale else: the prelude's check.
var staleProbe = core.NewScript[struct {
	Expect core.Expect `json:"expect"`
}](`if stale(KEYS[1], KEYS[2]) then return STALE end
return 'fresh'
`)

// The profile is stored after the SHA-1 of its JSON, which is what a
// snapshot expects, and which the clock's hash mirrors with its anchor: a
// change of the profile, put or patched, makes an older expect stale, and
// the newer one fresh, checked in the mirror alone. A profile stored by an
// older version, its JSON alone, still reads and checks (hashed where it is
// checked), and is patched into the new form; with none stored, the check
// expects none.
func TestTheStaleCheckReadsTheProfilesStoredSHA(t *testing.T) {
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	c := core.NewClock(rdb, ks, core.ClockStart{At: start}, nil)
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	fs := core.NewFaultStore(rdb, ks)
	state := core.NewState(c, fs, core.Limits{})
	snapshot := func() core.Snapshot {
		t.Helper()
		state.Forget()
		snap, err := state.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	check := staleChecker(t, rdb, ks)
	sha1hex := func(b []byte) string {
		h := sha1.Sum(b)
		return hex.EncodeToString(h[:])
	}

	none := snapshot()
	if none.Expect.Faults != "" || !none.Expect.Mirrored {
		t.Errorf("no profile stored: expect %+v, want no profile's, mirrored", none.Expect)
	}
	check(none.Expect, true)

	if _, _, err := fs.Put(ctx, []byte(`{"drop_rate": 0.25}`)); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.Get(ctx, ks.Faults()).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 41 || string(raw[:40]) != sha1hex(raw[40:]) || raw[40] != '{' {
		t.Fatalf("stored profile %.60q…, want the SHA-1 of its JSON, then the JSON", raw)
	}
	put := snapshot()
	if put.Expect.Faults != string(raw[:40]) || put.Faults.DropRate != 0.25 || !put.Expect.Mirrored {
		t.Errorf("after a put: expect %+v, drop_rate %v; want %q mirrored, 0.25", put.Expect, put.Faults.DropRate, raw[:40])
	}
	check(none.Expect, false)
	check(put.Expect, true)

	if _, _, err := core.NewFaultStore(srv.Client(t), ks).Patch(ctx, []byte(`{"drop_rate": 0.5}`)); err != nil {
		t.Fatal(err)
	}
	patched := snapshot()
	if patched.Faults.DropRate != 0.5 || patched.Expect.Faults == put.Expect.Faults || !patched.Expect.Mirrored {
		t.Errorf("after a patch: drop_rate %v, expect %+v; want 0.5, mirrored, another profile than %q", patched.Faults.DropRate, patched.Expect, put.Expect.Faults)
	}
	check(put.Expect, false)
	check(patched.Expect, true)

	// as an older version stored it: the JSON alone, the mirror not told
	legacyJSON := []byte(`{"drop_rate":0.75}`)
	if err := rdb.Set(ctx, ks.Faults(), legacyJSON, 0).Err(); err != nil {
		t.Fatal(err)
	}
	legacy := snapshot()
	if legacy.Faults.DropRate != 0.75 || legacy.Expect.Faults != sha1hex(legacyJSON) || legacy.Expect.Mirrored {
		t.Errorf("a profile stored whole: drop_rate %v, expect %+v; want 0.75, %q, not mirrored", legacy.Faults.DropRate, legacy.Expect, sha1hex(legacyJSON))
	}
	check(legacy.Expect, true)
	f, old, err := fs.Patch(ctx, []byte(`{"spam_block_rate": 0.1}`))
	if err != nil || old.DropRate != 0.75 || f.DropRate != 0.75 || f.SpamBlockRate != 0.1 {
		t.Fatalf("a patch of a profile stored whole: %+v from %+v (%v)", f, old, err)
	}
	if raw, _ := rdb.Get(ctx, ks.Faults()).Bytes(); len(raw) < 41 || string(raw[:40]) != sha1hex(raw[40:]) {
		t.Errorf("patched, the profile is stored %.60q…, want after its SHA-1", raw)
	}
	check(legacy.Expect, false)
	repatched := snapshot()
	if !repatched.Expect.Mirrored {
		t.Errorf("patched by this version: expect %+v, want mirrored again", repatched.Expect)
	}
	check(repatched.Expect, true)

	// deleted by something else than this version's writers: the mirror
	// disagrees, and the check reads the profile itself
	if err := rdb.Del(ctx, ks.Faults()).Err(); err != nil {
		t.Fatal(err)
	}
	gone := snapshot()
	if gone.Expect.Faults != "" || gone.Expect.Mirrored {
		t.Errorf("the profile deleted: expect %+v, want no profile's, not mirrored", gone.Expect)
	}
	check(gone.Expect, true)
	if _, err := fs.Set(ctx, core.DefaultFaults()); err != nil {
		t.Fatal(err)
	}
	check(gone.Expect, false)
}

// staleChecker answers a check that the prelude's stale finds the expect e
// fresh (wantFresh) or stale, on the namespace ks.
func staleChecker(t *testing.T, rdb redis.UniversalClient, ks core.Keyspace) func(e core.Expect, wantFresh bool) {
	keys := []string{ks.Clock(), ks.Faults()}
	return func(e core.Expect, wantFresh bool) {
		t.Helper()
		got, err := staleProbe.Run(context.Background(), rdb, keys, struct {
			Expect core.Expect `json:"expect"`
		}{e}).Text()
		switch {
		case wantFresh && (err != nil || got != "fresh"):
			t.Errorf("expect %+v: %q, %v; want fresh", e, got, err)
		case !wantFresh && !core.Stale(err):
			t.Errorf("expect %+v: %q, %v; want it refused as stale", e, got, err)
		}
	}
}

// Every writer of the clock's anchor keeps its mirror: after each, a
// snapshot is mirrored and fresh, and the one before it stale. A clock an
// older version set (no mirror) is checked by its anchor: its snapshot is
// fresh until the anchor changes; a process that makes the namespace
// mirrors it (the clock's init), and so does the next writer.
func TestEveryWriterOfTheClockMirrorsTheExpect(t *testing.T) {
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	real := start
	c := core.NewClock(rdb, ks, core.ClockStart{At: start}, func() time.Time { return real })
	fs := core.NewFaultStore(rdb, ks)
	if _, _, err := fs.Put(ctx, []byte(`{"drop_rate": 0.25}`)); err != nil { // before the clock: mirrored by its init
		t.Fatal(err)
	}
	state := core.NewState(c, fs, core.Limits{})
	sched := core.NewScheduler(rdb, ks, c, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), core.SchedulerOptions{})
	check := staleChecker(t, rdb, ks)
	var before core.Expect
	wrote := func(what string, write func() error) {
		t.Helper()
		real = real.Add(time.Second) // each writer anchors the clock anew
		if err := write(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		state.Forget()
		snap, err := state.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !snap.Expect.Mirrored || snap.Expect.Faults == "" || snap.Expect == before {
			t.Errorf("after %s: expect %+v, want a new one, mirrored, with the profile's SHA-1", what, snap.Expect)
		}
		check(snap.Expect, true)
		if before.Sim != "" {
			check(before, false)
		}
		before = snap.Expect
	}
	scale, paused := 60.0, true
	wrote("init", func() error { return c.Init(ctx) })
	wrote("a scale", func() error { _, err := c.Set(ctx, &scale, nil); return err })
	wrote("a pause", func() error { _, err := c.Set(ctx, nil, &paused); return err })
	wrote("a jump", func() error { _, err := c.Jump(ctx, time.Hour); return err })
	wrote("an advance", func() error { _, err := sched.Advance(ctx, time.Hour); return err })
	wrote("a reset", func() error { return c.Reset(ctx) })

	// as an older version set it: no mirror
	if err := rdb.HDel(ctx, ks.Clock(), "expect").Err(); err != nil {
		t.Fatal(err)
	}
	state.Forget()
	old, err := state.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if old.Expect.Mirrored || old.Expect.Sim != before.Sim {
		t.Errorf("no mirror: expect %+v, want %+v, not mirrored", old.Expect, before)
	}
	check(old.Expect, true)
	if err := rdb.HSet(ctx, ks.Clock(), "sim", "1").Err(); err != nil { // an older version's write
		t.Fatal(err)
	}
	check(old.Expect, false)
	if err := rdb.HDel(ctx, ks.Clock(), "expect").Err(); err != nil {
		t.Fatal(err)
	}
	before = core.Expect{}
	wrote("an init of a clock set without a mirror", func() error { return c.Init(ctx) })
	if before.Sim != "1" {
		t.Errorf("the init of a clock set before changed its anchor: %+v", before)
	}
	wrote("a jump after", func() error { _, err := c.Jump(ctx, time.Hour); return err })
}
