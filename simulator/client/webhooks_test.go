package client_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"smsim/simulator/client"
)

// A webhook registered through the client gets the events it asked for,
// signed with the secret the registration answered, and its log says so.
func TestWebhooks(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	posts := make(chan error, 10)
	var secret string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts <- client.VerifyWebhook(secret, r.Header, b, time.Now(), time.Minute)
	}))
	defer target.Close()

	h, err := sim.RegisterWebhook(ctx, client.WebhookRequest{URL: target.URL, Events: []string{client.KindClock}})
	if err != nil {
		t.Fatal(err)
	}
	secret = h.Secret
	if hs, err := sim.Webhooks(ctx); err != nil || len(hs) != 1 || hs[0].ID != h.ID {
		t.Fatalf("webhooks %+v, %v", hs, err)
	}
	if got, err := sim.Webhook(ctx, h.ID); err != nil || got.URL != target.URL || got.Events[0] != "clock" {
		t.Fatalf("webhook %+v, %v", got, err)
	}
	if _, err := sim.Advance(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-posts:
		if err != nil {
			t.Fatalf("the post's signature: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no post within 15s")
	}
	var log []client.WebhookDelivery
	for deadline := time.Now().Add(5 * time.Second); len(log) == 0 && time.Now().Before(deadline); {
		if log, err = sim.WebhookDeliveries(ctx, h.ID, 10); err != nil {
			t.Fatal(err)
		}
	}
	if len(log) != 1 || log[0].Status != client.DeliveryDelivered || log[0].Kind != "clock" || log[0].StatusCode != 200 {
		t.Fatalf("delivery log %+v, want the clock event delivered", log)
	}
	if err := sim.DeleteWebhook(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Webhook(ctx, h.ID); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("a deleted webhook: %v, want a 404", err)
	}
	if _, err := sim.RegisterWebhook(ctx, client.WebhookRequest{URL: "http://example.com/"}); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("a webhook to another host: %v, want a 400", err)
	}
}
