package client_test

import (
	"net/http"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

func TestSendAndFollowAMessage(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	if _, err := sim.PatchFaults(ctx, map[string]any{"sms_delay": map[string]string{"model": "fixed", "value": "2m"}}); err != nil {
		t.Fatal(err)
	}
	id, err := sim.Send(ctx, "12381", "+8613800000001", "code 123456")
	if err != nil {
		t.Fatal(err)
	}
	m, err := sim.Message(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != id || m.Status != client.MessageQueued || m.Phone != "13800000001" || m.Code != "123456" || m.DeliveredAt != nil {
		t.Fatalf("queued message %+v", m)
	}
	if _, err := sim.Advance(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	m, err = sim.Message(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := simtest.DefaultStart().Add(2 * time.Minute)
	if m.Status != client.MessageDelivered || m.Folder != client.FolderInbox || m.DeliveredAt == nil || !m.DeliveredAt.Equal(want) {
		t.Fatalf("delivered message %+v", m)
	}
	var steps []string
	for _, d := range m.Trail {
		steps = append(steps, d.Step)
	}
	if len(steps) != 3 || steps[0] != client.StepSent || steps[1] != client.StepDelay || steps[2] != client.StepDelivered {
		t.Fatalf("trail %+v", m.Trail)
	}
	if _, err := sim.Send(ctx, "12381", "12345", "x"); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("send to a bad number: %v, want a 400", err)
	}
	if _, err := sim.Message(ctx, "m_0000000000000000"); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("unknown message: %v, want a 404", err)
	}
}
