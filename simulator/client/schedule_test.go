package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

func TestScheduleAndAdvance(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	start := simtest.DefaultStart()
	if _, err := sim.AdvanceNext(ctx, client.JobFilter{}); !client.IsStatus(err, http.StatusConflict) {
		t.Fatalf("next with nothing scheduled: %v, want a 409", err)
	}
	if _, err := sim.PatchFaults(ctx, map[string]any{"sync_lag": map[string]string{"min": "40m", "max": "40m"}}); err != nil {
		t.Fatal(err)
	}
	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	v, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeFirstFiling, Variant: "app", EntityLeader: &leader})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.Schedule(ctx, client.JobFilter{Order: v.ID}, 0)
	want := []client.ScheduledJob{{Kind: client.JobSync, Due: start.Add(40 * time.Minute), Order: v.ID}}
	if err != nil || !s.Now.Equal(start) || s.More || fmt.Sprint(s.Scheduled) != fmt.Sprint(want) {
		t.Fatalf("schedule %+v, %v; want %+v", s, err, want)
	}
	st, err := sim.AdvanceNext(ctx, client.JobFilter{Kind: client.JobSync, Phone: ""})
	if err != nil || !st.Now.Equal(start.Add(40*time.Minute)) {
		t.Fatalf("next sync: %+v, %v", st, err)
	}
	mv, err := sim.MIITFiling(ctx, v.ID)
	if err != nil || mv.Deadline == nil {
		t.Fatalf("MIIT's view %+v, %v", mv, err)
	}
	if st, err = sim.AdvanceTo(ctx, mv.Deadline.Add(-time.Millisecond)); err != nil || !st.Now.Equal(mv.Deadline.Add(-time.Millisecond)) {
		t.Fatalf("to a millisecond before the deadline: %+v, %v", st, err)
	}
	if _, err := sim.AdvanceTo(ctx, start); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("to the past: %v, want a 400", err)
	}
	if _, err := sim.Schedule(ctx, client.JobFilter{Kind: "miit.lunch"}, 0); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("an unknown kind: %v, want a 400", err)
	}
	s, err = sim.Schedule(ctx, client.JobFilter{Phone: "+8613800000001"}, 1)
	if err != nil || len(s.Scheduled) != 0 {
		t.Fatalf("the phone's jobs once its code arrived: %+v, %v", s, err)
	}
	if st, err = sim.AdvanceNext(ctx, client.JobFilter{Kind: client.JobExpire, Order: v.ID}); err != nil || !st.Now.Equal(*mv.Deadline) {
		t.Fatalf("next expiry: %+v, %v", st, err)
	}
	if mv, err = sim.MIITFiling(ctx, v.ID); err != nil || mv.Status != "canceled" {
		t.Fatalf("after the expiry %+v, %v", mv, err)
	}
}

// Jump the clock to a millisecond before an order's deadline: the code still
// works there, without computing deadline − now.
func ExampleClient_AdvanceTo() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	v, _ := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeFirstFiling, Variant: "app", EntityLeader: &leader})
	sim.AdvanceNext(ctx, client.JobFilter{Kind: client.JobSync, Order: v.ID}) // the order reaches MIIT, the code is sent
	code, _ := sim.WaitForCode(ctx, leader.Phone)
	mv, _ := sim.MIITFiling(ctx, v.ID)
	st, _ := sim.AdvanceTo(ctx, mv.Deadline.Add(-time.Millisecond))
	fmt.Println(mv.Deadline.Sub(st.Now))
	r, _ := sim.ValidatePerson(ctx, leader, code)
	fmt.Println(r.Result)
	// Output:
	// 1ms
	// complete
}

// List what is scheduled, then go to the next of it.
func ExampleClient_Schedule() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	sim.PatchFaults(ctx, map[string]any{"sync_lag": map[string]string{"min": "45m", "max": "45m"}})
	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	sim.Submit(ctx, client.SubmitRequest{Type: client.TypeFirstFiling, Variant: "app", EntityLeader: &leader})
	s, _ := sim.Schedule(ctx, client.JobFilter{}, 0)
	for _, j := range s.Scheduled {
		fmt.Println(j.Kind, j.Due.Sub(s.Now))
	}
	st, _ := sim.AdvanceNext(ctx, client.JobFilter{})
	fmt.Println(st.Now.Sub(s.Now))
	// Output:
	// miit.sync 45m0s
	// 45m0s
}
