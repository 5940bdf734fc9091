package client_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/simtest"
)

func TestClock(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	st, err := sim.Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st != (client.ClockState{Now: simtest.DefaultStart(), Scale: 1, Paused: true}) {
		t.Fatalf("clock %+v", st)
	}
	st, err = sim.Advance(ctx, 90*time.Minute)
	if err != nil || !st.Now.Equal(simtest.DefaultStart().Add(90*time.Minute)) || !st.Paused {
		t.Fatalf("advanced %+v, %v", st, err)
	}
	if _, err := sim.Advance(ctx, -time.Minute); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("advance backwards: %v, want a 400", err)
	}
	st, err = sim.Resume(ctx, 1000)
	if err != nil || st.Paused || st.Scale != 1000 {
		t.Fatalf("resumed %+v, %v", st, err)
	}
	time.Sleep(20 * time.Millisecond)
	st, err = sim.Pause(ctx)
	if err != nil || !st.Paused || !st.Now.After(simtest.DefaultStart().Add(90*time.Minute+10*time.Second)) {
		t.Fatalf("paused %+v, %v: 20ms at 1000× is 20s", st, err)
	}
	scale := 0.5
	if st, err = sim.SetClock(ctx, client.ClockSettings{Scale: &scale}); err != nil || st.Scale != 0.5 || !st.Paused {
		t.Fatalf("rescaled %+v, %v", st, err)
	}
	if _, err := sim.SetClock(ctx, client.ClockSettings{}); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("empty settings: %v, want a 400", err)
	}
}

// A POST sent again under the same Idempotency-Key does nothing again: an
// advance retried moves the clock once, and answers as it did.
func TestWithIdempotencyKey(t *testing.T) {
	sim := runT(t)
	ctx := client.WithIdempotencyKey(t.Context(), "day-1")
	first, err := sim.Advance(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	again, err := sim.Advance(ctx, 24*time.Hour)
	if err != nil || again != first {
		t.Fatalf("the advance retried with its key: %+v (%v), want %+v", again, err, first)
	}
	if _, err := sim.AdvanceTo(ctx, first.Now.Add(time.Hour)); !client.IsStatus(err, http.StatusUnprocessableEntity) {
		t.Fatalf("another advance under the key: %v, want a 422", err)
	}
	if st, err := sim.Advance(t.Context(), time.Hour); err != nil || !st.Now.Equal(first.Now.Add(time.Hour)) {
		t.Fatalf("an advance without the key: %+v (%v), want an hour on", st, err)
	}
	if st, err := sim.Clock(ctx); err != nil || !st.Now.Equal(first.Now.Add(time.Hour)) {
		t.Fatalf("a GET under the key: %+v (%v)", st, err)
	}
}

func TestFaultProfile(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	f, err := sim.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, client.DefaultFaults()) {
		t.Fatalf("start value %+v", f)
	}
	f.DropRate = 0.25
	f.SyncLag = client.Fixed(5 * time.Minute)
	f.Outages = []client.Outage{{Carrier: client.CarrierChinaUnicom, Start: simtest.DefaultStart(),
		End: simtest.DefaultStart().Add(time.Hour), Mode: client.ModeHold}}
	got, err := sim.PutFaults(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if got.DropRate != 0.25 || got.SyncLag != client.Fixed(5*time.Minute) || len(got.Outages) != 1 ||
		len(got.Outages[0].Prefixes) == 0 || got.Outages[0].Prefixes[0] != "130" {
		t.Fatalf("put %+v", got)
	}
	got, err = sim.PatchFaults(ctx, json.RawMessage(`{"drop_rate": null, "spam_block_rate": 0.5}`))
	if err != nil || got.DropRate != 0 || got.SpamBlockRate != 0.5 || got.SyncLag != client.Fixed(5*time.Minute) {
		t.Fatalf("patched %+v, %v", got, err)
	}
	_, err = sim.PatchFaults(ctx, map[string]any{"sms_delay": map[string]string{"model": "lognormal", "median": "1m", "p99": "10s"}})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 400 || !strings.HasPrefix(e.Detail, "sms_delay.p99: must not be below the median") {
		t.Fatalf("bad patch: %v", err)
	}
}

func TestResetForgetsEverything(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	order := codesSent(t, sim)
	if _, err := sim.PatchFaults(ctx, map[string]float64{"drop_rate": 1}); err != nil {
		t.Fatal(err)
	}
	st, err := sim.Reset(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st != (client.ClockState{Now: simtest.DefaultStart(), Scale: 1, Paused: true}) {
		t.Fatalf("clock after the reset %+v", st)
	}
	if _, err := sim.Filing(ctx, order.ID); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("order after the reset: %v, want a 404", err)
	}
	if ms, err := sim.Messages(ctx, leader.Phone, ""); err != nil || len(ms) != 0 {
		t.Fatalf("inbox after the reset %+v, %v", ms, err)
	}
	if f, err := sim.Faults(ctx); err != nil || f.DropRate != 0 {
		t.Fatalf("faults after the reset %+v, %v", f, err)
	}
}

func TestScenarios(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	list, err := sim.Scenarios(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
		if s.Description == "" {
			t.Errorf("scenario %s has no description", s.Name)
		}
	}
	if strings.Join(names, ",") != strings.Join(core.ScenarioNames(), ",") {
		t.Fatalf("scenarios %v, want %v", names, core.ScenarioNames())
	}
	res, err := sim.ApplyShippedScenario(ctx, "bad_carrier_day")
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "bad_carrier_day" || len(res.Faults.Outages) != 1 ||
		!res.Faults.Outages[0].Start.Equal(simtest.DefaultStart().Add(time.Hour)) {
		t.Fatalf("applied %+v", res)
	}
	f, err := sim.Faults(ctx)
	if err != nil || !reflect.DeepEqual(f, res.Faults) {
		t.Fatalf("faults %+v, %v: want the scenario's", f, err)
	}

	res, err = sim.ApplyScenario(ctx, client.Scenario{Name: "admin_phone_off",
		Faults:  json.RawMessage(`{"sync_lag": {"model": "fixed", "value": "5m"}}`),
		Outages: []client.RelativeOutage{{Carrier: client.CarrierChinaUnicom, After: 10 * time.Minute, For: 30 * time.Minute, Mode: client.ModeRefuse}},
		Phones:  map[string]json.RawMessage{admin.Phone: json.RawMessage(`{"reachable": false}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "admin_phone_off" || res.Faults.SyncLag != client.Fixed(5*time.Minute) ||
		!res.Faults.Outages[0].End.Equal(simtest.DefaultStart().Add(40*time.Minute)) || res.Phones[admin.Phone].Reachable {
		t.Fatalf("applied %+v", res)
	}
	if p, err := sim.Profile(ctx, admin.Phone); err != nil || p.Reachable || p.Service != client.ServiceActive {
		t.Fatalf("profile %+v, %v", p, err)
	}
	if _, err := sim.ApplyShippedScenario(ctx, "sunny_day"); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("unknown scenario: %v, want a 400", err)
	}
}

func TestDeadJobs(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	list, err := sim.DeadJobs(ctx, 0)
	if err != nil || list.Total != 0 || len(list.Jobs) != 0 {
		t.Fatalf("dead jobs at the start: %+v, %v", list, err)
	}
	rdb, err := core.OpenStore(sim.RedisURL, 0) // one server or a cluster
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	due := core.Keyspace{Prefix: sim.KeyPrefix, Namespace: core.DefaultNamespace}.SchedDue()
	at := simtest.DefaultStart().Add(time.Minute).UnixMilli()
	for _, m := range []string{"000000000901|" + strconv.FormatInt(at, 10) + "|miit.review|f_1|extra", "x|soon"} {
		if err := rdb.ZAdd(ctx, due, redis.Z{Score: float64(at), Member: m}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	list, err = sim.DeadJobs(ctx, 1)
	if err != nil || list.Total != 2 || len(list.Jobs) != 1 {
		t.Fatalf("dead jobs: %+v, %v; want the newest of 2", list, err)
	}
	if d := list.Jobs[0]; d.Job != "x|soon" || d.Kind != "" || d.Due != nil || len(d.Args) != 0 ||
		d.Error != `malformed job "x|soon"` || d.FailedAt.IsZero() {
		t.Errorf("newest dead job %+v", d)
	}
	list, err = sim.DeadJobs(ctx, 0)
	if err != nil || len(list.Jobs) != 2 {
		t.Fatalf("dead jobs: %+v, %v", list, err)
	}
	wantDue := simtest.DefaultStart().Add(time.Minute)
	if d := list.Jobs[1]; d.Kind != "miit.review" || d.Due == nil || !d.Due.Equal(wantDue) || !reflect.DeepEqual(d.Args, []string{"f_1", "extra"}) ||
		d.Error != "malformed job miit.review #901 due 2026-05-01T00:01:00Z [f_1 extra]: 2 arguments, want 1" {
		t.Errorf("older dead job %+v", d)
	}
	if _, err := sim.DeadJobs(ctx, 1001); !client.IsStatus(err, http.StatusBadRequest) {
		t.Errorf("limit 1001: %v, want a 400", err)
	}
}
