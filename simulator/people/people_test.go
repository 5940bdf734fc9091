package people_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/people"
	"smsim/simulator/simtest"
)

var t0 = simtest.DefaultStart()

// advance moves the paused clock by step, then lets the crowd do what is
// due, until the clock has moved by total.
func advance(t *testing.T, sim *simtest.Sim, c *people.Crowd, total, step time.Duration) {
	t.Helper()
	ctx := context.Background()
	for d := time.Duration(0); d < total; d += step {
		if _, err := sim.Advance(ctx, step); err != nil {
			t.Fatal(err)
		}
		if err := c.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func miitView(t *testing.T, sim *simtest.Sim, id string) client.MIITView {
	t.Helper()
	v, err := sim.MIITFiling(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// orders answers how many orders the simulator has.
func orders(t *testing.T, sim *simtest.Sim) int {
	t.Helper()
	l, err := sim.Filings(context.Background(), client.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return l.Total
}

// acts answers the journal entries of one phone as "action result".
func acts(j []people.Entry, phone string) []string {
	out := []string{}
	for _, e := range j {
		if e.Phone == phone {
			out = append(out, e.Action+" "+e.Result)
		}
	}
	return out
}

func entry(j []people.Entry, phone, action string) people.Entry {
	for _, e := range j {
		if e.Phone == phone && e.Action == action {
			return e
		}
	}
	return people.Entry{}
}

func person(phone string, p people.Personality) *people.Person {
	return &people.Person{Name: "Li Lei", Phone: phone, CertificateNumber: "110101199003071234", Personality: p}
}

// TestPersonalities follows one order per personality on a paused clock
// advanced step by step: each person validates (or not) as their
// personality says.
func TestPersonalities(t *testing.T) {
	sim := simtest.RunT(t, simtest.WithSeed(1))
	ctx := context.Background()
	if _, err := sim.PatchFaults(ctx, json.RawMessage(`{"sync_lag": {"model": "fixed", "value": "10m"}, "result_sync_lag": {"model": "fixed", "value": "1m"}}`)); err != nil {
		t.Fatal(err)
	}
	seed := int64(1)
	c := people.New(people.Config{API: sim.Client, Seed: &seed})
	if err := c.Step(ctx); err != nil {
		t.Fatal(err)
	}
	const prompt, typo, slow, never, resender = "13800000001", "13800000002", "13800000003", "13800000004", "13800000005"
	submit := func(o people.Order) string {
		t.Helper()
		id, err := c.Submit(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	both := submit(people.Order{Type: "first_filing", Variant: "website",
		EntityLeader: person(prompt, people.Prompt), WebsiteAdmin: person(typo, people.Typo)})
	slowID := submit(people.Order{Type: "modify", Variant: "entity", EntityLeader: person(slow, people.Slow)})
	neverID := submit(people.Order{Type: "modify", Variant: "entity", EntityLeader: person(never, people.Never)})
	resendID := submit(people.Order{Type: "modify", Variant: "entity", EntityLeader: person(resender, people.Resender)})

	// The codes go out at 00:10; the prompt and the typo people are done
	// within minutes, the typo person after one failure.
	advance(t, sim, c, 30*time.Minute, time.Minute)
	j := c.Journal()
	if got := acts(j, prompt); !reflect.DeepEqual(got, []string{"validate partial"}) && !reflect.DeepEqual(got, []string{"validate complete"}) {
		t.Errorf("prompt person: %v, want one validation that succeeds", got)
	}
	if got := acts(j, typo); len(got) != 2 || got[0] != "validate failed" || (got[1] != "validate complete" && got[1] != "validate partial") {
		t.Errorf("typo person: %v, want a failed validation, then one that succeeds", got)
	}
	if at := entry(j, prompt, "validate").At; at.Before(t0.Add(10*time.Minute)) || at.After(t0.Add(14*time.Minute)) {
		t.Errorf("prompt person validated at %s, want within minutes of the code at 00:10", at)
	}
	if v := miitView(t, sim, both); v.Status != client.FilingUnderReview {
		t.Errorf("order of the prompt and typo people: %s, want under_review", v.Status)
	}
	if got := acts(j, slow); len(got) != 0 {
		t.Errorf("slow person acted within 30 minutes: %v", got)
	}

	// The slow person validates hours later; the resender asks for a new
	// code first and uses it.
	advance(t, sim, c, 13*time.Hour, 10*time.Minute)
	j = c.Journal()
	if got := acts(j, slow); !reflect.DeepEqual(got, []string{"validate complete"}) {
		t.Errorf("slow person: %v, want one validation that completes", got)
	}
	if at := entry(j, slow, "validate").At; at.Before(t0.Add(70*time.Minute)) || at.After(t0.Add(12*time.Hour+20*time.Minute)) {
		t.Errorf("slow person validated at %s, want 1 to 12 hours after the code at 00:10", at)
	}
	if v := miitView(t, sim, slowID); v.Status != client.FilingUnderReview {
		t.Errorf("slow person's order: %s, want under_review", v.Status)
	}
	if got := acts(j, resender); !reflect.DeepEqual(got, []string{"resend resent", "validate complete"}) {
		t.Errorf("resender: %v, want a resend, then a validation that completes", got)
	}
	if v := miitView(t, sim, resendID); v.Status != client.FilingUnderReview || len(v.Personnel) != 1 || v.Personnel[0].Resends != 1 {
		t.Errorf("resender's order: %+v, want under_review with one resend", v)
	}

	// The one who never validates: canceled when the window ends.
	advance(t, sim, c, 12*time.Hour, time.Hour)
	if got := acts(c.Journal(), never); len(got) != 0 {
		t.Errorf("never person acted: %v", got)
	}
	if v := miitView(t, sim, neverID); v.Status != client.FilingCanceled || v.CanceledBy != "expiry" {
		t.Errorf("never person's order: %s by %q, want canceled by expiry", v.Status, v.CanceledBy)
	}
}

// TestCustomersReproducible runs the same crowd twice on the same seeds:
// the customers submit the same orders and the people do the same things
// at the same simulated times.
func TestCustomersReproducible(t *testing.T) {
	run := func() ([]people.Entry, int) {
		sim := simtest.RunT(t, simtest.WithSeed(42))
		// The demo's profile, but with nothing drawn per message: the
		// server names a message by the order in which it was sent, and
		// its background loop may take a due event before an advance does.
		for _, patch := range []string{people.DemoFaults, `{"sms_delay": {"model": "fixed", "value": "5s"}, "spam_block_rate": 0, "drop_rate": 0}`} {
			if _, err := sim.PatchFaults(context.Background(), json.RawMessage(patch)); err != nil {
				t.Fatal(err)
			}
		}
		seed := int64(42)
		c := people.New(people.Config{API: sim.Client, Seed: &seed, Arrival: 2 * time.Minute})
		if err := c.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		advance(t, sim, c, 3*time.Hour, 2*time.Minute)
		return c.Journal(), orders(t, sim)
	}
	j1, n1 := run()
	j2, n2 := run()
	if n1 < 45 || n1 > 180 {
		t.Errorf("%d orders in 3 hours, want about 90 (one every 2 minutes)", n1)
	}
	if len(j1) < 20 {
		t.Errorf("the people acted %d times, want dozens", len(j1))
	}
	if n1 != n2 || !reflect.DeepEqual(j1, j2) {
		t.Errorf("two runs differ: %d and %d orders, journals of %d and %d entries", n1, n2, len(j1), len(j2))
		for i := 0; i < len(j1) && i < len(j2); i++ {
			if j1[i] != j2[i] {
				t.Errorf("first difference, entry %d: %+v and %+v", i, j1[i], j2[i])
				break
			}
		}
	}
	kinds := map[people.Personality]bool{}
	for _, e := range j1 {
		kinds[e.Personality] = true
	}
	for _, p := range []people.Personality{people.Prompt, people.Typo, people.Resender} {
		if !kinds[p] {
			t.Errorf("no %s person acted in 3 hours", p)
		}
	}
	if kinds[people.Never] {
		t.Errorf("a person who never validates acted")
	}
}

// TestRunStopsWithItsContext: Run applies its fault profile, steps until
// its context ends, and then returns at once.
func TestRunStopsWithItsContext(t *testing.T) {
	sim := simtest.RunT(t)
	c := people.New(people.Config{API: sim.Client, Arrival: time.Minute, Tick: 5 * time.Millisecond, Faults: people.DemoFaults})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if orders(t, sim) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no customer arrived within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f, err := sim.Faults(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.SyncLag.Max != 4*time.Minute {
		t.Errorf("sync_lag = %+v, want the demo's (max 4m)", f.SyncLag)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2 s of the end of its context")
	}
}
