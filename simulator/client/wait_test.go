package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

func TestWaitForCodeFindsACodeDeliveredBeforeTheCall(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	codesSent(t, sim)
	code, err := sim.WaitForCode(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := sim.LatestCode(ctx, leader.Phone)
	if err != nil || latest.Code != code || len(code) != 6 || latest.Sender != "12381" {
		t.Fatalf("waited for %q, the inbox's newest is %+v (%v)", code, latest, err)
	}
}

// onItsWay sends phone a message that stays on its way (its sender's
// delay is a thousand hours), so that a wait on the paused clock waits
// instead of answering that nothing is on its way.
func onItsWay(t *testing.T, sim *simtest.Sim, phone string) {
	t.Helper()
	f := client.DefaultFaults()
	f.SenderDelays = map[string]client.Delay{"10009": client.Fixed(1000 * time.Hour)}
	if _, err := sim.PutFaults(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Send(t.Context(), "10009", phone, "on its way"); err != nil {
		t.Fatal(err)
	}
}

// With a message on its way to the phone, WaitForCode waits on the paused
// clock for what an advance brings.
func TestWaitForCodeWaitsForTheCode(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	onItsWay(t, sim, admin.Phone)
	if _, err := sim.SubmitFirstFiling(ctx, leader, admin); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		code, err := sim.WaitForCode(ctx, admin.Phone)
		got <- code
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond) // most likely in its long poll by now; it need not be
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	code := <-got
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	r, err := sim.ValidatePerson(ctx, admin, code)
	if err != nil || r.Result != client.ResultPartial {
		t.Fatalf("validate the waited-for code %q: %+v, %v", code, r, err)
	}
}

// A resend texts a new code, and the old one stops working: a test walks
// the codes one by one, each after the message of the one before.
func TestWaitForTheNextCodeAfterAResend(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	if _, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	first, err := sim.WaitForCodeAfter(ctx, leader.Phone, client.AfterStart)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if m, err := sim.WaitForCodeAfter(short, leader.Phone, first.ID); !errors.Is(err, client.ErrNoMessage) {
		t.Fatalf("a next code before the resend: %+v, %v", m, err)
	}
	if r, err := sim.ResendPerson(ctx, leader); err != nil || r.Result != client.ResultResent {
		t.Fatalf("resend %+v, %v", r, err)
	}
	second, err := sim.WaitForCodeAfter(ctx, leader.Phone, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.Code == "" {
		t.Fatalf("second %+v after first %+v", second, first)
	}
	if again, err := sim.WaitForCode(ctx, leader.Phone); err != nil || again != first.Code {
		t.Fatalf("WaitForCode = %q, %v: want the first code still", again, err)
	}
	if latest, err := sim.LatestCode(ctx, leader.Phone); err != nil || latest.ID != second.ID {
		t.Fatalf("latest %+v, %v: want the resent one", latest, err)
	}
	if second.Code != first.Code {
		r, err := sim.ValidatePerson(ctx, leader, first.Code)
		if err != nil || r.Result != client.ResultFailed {
			t.Fatalf("the replaced code: %+v, %v", r, err)
		}
	}
	r, err := sim.ValidatePerson(ctx, leader, second.Code)
	if err != nil || r.Result != client.ResultComplete {
		t.Fatalf("the resent code: %+v, %v", r, err)
	}
}

// A cursor taken before an action asks for what the action brings, not
// for what came before it.
func TestCursorAndWaitingFromNow(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	cur, err := sim.Cursor(ctx, leader.Phone)
	if err != nil || cur != client.AfterStart {
		t.Fatalf("cursor of an empty inbox %q, %v", cur, err)
	}
	codesSent(t, sim)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if m, err := sim.WaitForCodeAfter(short, leader.Phone, ""); !errors.Is(err, client.ErrNoMessage) {
		t.Fatalf("waiting from now found %+v, %v: the code came before the call", m, err)
	}
	cur, err = sim.Cursor(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if latest, _ := sim.LatestCode(ctx, leader.Phone); cur != latest.ID {
		t.Fatalf("cursor %q, want the newest message %q", cur, latest.ID)
	}
	if _, err := sim.ResendPerson(ctx, leader); err != nil {
		t.Fatal(err)
	}
	m, err := sim.WaitForCodeAfter(ctx, leader.Phone, cur)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == cur {
		t.Fatalf("got the message of the cursor again")
	}
	m, err = sim.WaitForMessage(ctx, leader.Phone, client.NextOptions{After: client.AfterStart, Sender: "95187"})
	if err != nil || m.Code != "" {
		t.Fatalf("the provider's notice: %+v, %v", m, err)
	}
}

func TestWaitingInVain(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	onItsWay(t, sim, leader.Phone)
	if _, err := sim.SubmitFirstFiling(ctx, leader, admin); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	deadline, _ := short.Deadline()
	code, err := sim.WaitForCode(short, leader.Phone) // the clock is paused: the order never syncs
	if code != "" || !errors.Is(err, client.ErrNoMessage) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("code %q, error %v", code, err)
	}
	// it says why: what comes next, and how far to advance
	sync, serr := sim.Schedule(ctx, client.JobFilter{Kind: client.JobSync}, 1)
	if serr != nil || len(sync.Scheduled) != 1 {
		t.Fatalf("the order's sync: %+v, %v", sync, serr)
	}
	j := sync.Scheduled[0]
	if want := fmt.Sprintf("none came in time (the clock is paused at 2026-05-01T00:00:00Z; next for 13800000001: gateway.deliver at 2026-06-11T16:00:00Z, 1000h0m0s on; "+
		"before it in the namespace: miit.sync of %s at %s, %s on; advance the clock to bring them (Advance, AdvanceTo, AdvanceNext)): context deadline exceeded",
		j.Order, j.Due.Format(time.RFC3339Nano), j.Due.Sub(simtest.DefaultStart())); !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("the wait's error %q, want it to end %q", err, want)
	}
	if early := time.Until(deadline); early > 0 {
		t.Fatalf("gave up %s before the context's deadline", early)
	}

	c := sim.With(client.WithWait(100 * time.Millisecond))
	start := time.Now()
	if _, err := c.WaitForCode(ctx, leader.Phone); !errors.Is(err, client.ErrNoMessage) {
		t.Fatalf("no deadline: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("waited %s, want the client's wait of 100ms", d)
	}
	if _, err := sim.LatestCode(ctx, leader.Phone); !errors.Is(err, client.ErrNoMessage) {
		t.Fatalf("latest code before any: %v", err)
	}

	canceled, stop := context.WithCancel(ctx)
	stop()
	if _, err := sim.WaitForCode(canceled, leader.Phone); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// On a paused clock with nothing on its way to the phone, nothing can
// arrive: the waits answer at once, ErrNothingOnItsWay (and ErrNoMessage),
// instead of waiting out their time; Next answers the same.
func TestNothingOnItsWay(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	p := client.DefaultPhoneProfile()
	p.Service = client.ServiceSuspended
	if _, err := sim.SetProfile(ctx, leader.Phone, p); err != nil {
		t.Fatal(err)
	}
	codesSent(t, sim) // the leader's code failed: the phone is suspended
	start := time.Now()
	code, err := sim.WaitForCode(ctx, leader.Phone)
	if code != "" || !errors.Is(err, client.ErrNothingOnItsWay) || !errors.Is(err, client.ErrNoMessage) {
		t.Fatalf("code %q, error %v", code, err)
	}
	if want := "; 2 in its failed folder (Messages(ctx, phone, client.FolderFailed)))"; !strings.HasSuffix(err.Error(), want) ||
		!strings.Contains(err.Error(), "(the clock is paused at 2026-05-01T01:00:00Z; next in the namespace: miit.expire of ") ||
		strings.Contains(err.Error(), "advance the clock") {
		t.Fatalf("the wait's error %q, want it to say the clock, the next job and the failed folder, and not to advance the clock", err)
	}
	if _, ok, err := sim.Next(ctx, leader.Phone, client.NextOptions{Timeout: time.Minute}); ok || !errors.Is(err, client.ErrNothingOnItsWay) || !errors.Is(err, client.ErrNoMessage) {
		t.Fatalf("next: %v %v", ok, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s, want at once", d)
	}
	failed, err := sim.Messages(ctx, leader.Phone, client.FolderFailed)
	if err != nil || len(failed) != 2 || failed[1].Reason != client.ReasonSuspended || failed[1].Status != client.MessageFailed ||
		failed[1].Code == "" || failed[1].Trail[len(failed[1].Trail)-1].Step != client.StepFailed {
		t.Fatalf("failed %+v, %v", failed, err)
	}
	travelling, err := sim.Messages(ctx, leader.Phone, client.FolderTravelling)
	if err != nil || len(travelling) != 0 {
		t.Fatalf("travelling %+v, %v", travelling, err)
	}
	// the admin's code came
	if code, err := sim.WaitForCode(ctx, admin.Phone); err != nil || len(code) != 6 {
		t.Fatalf("admin: %q %v", code, err)
	}
}
