package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
)

func TestWatchSeesEveryDelivery(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	w, err := sim.Watch(ctx, "+86"+leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := client.DefaultPhoneProfile()
	p.SpamFilter = true
	if _, err := sim.SetProfile(ctx, leader.Phone, p); err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]string{{"95555", "hello"}, {"12381", "code 123456"}} {
		if _, err := sim.Send(ctx, m[0], leader.Phone, m[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []struct{ body, folder, code string }{{"hello", "inbox", ""}, {"code 123456", "blocked", "123456"}} {
		m, err := w.Next()
		if err != nil {
			t.Fatal(err)
		}
		if m.Body != want.body || m.Folder != want.folder || m.Code != want.code || m.Phone != leader.Phone || m.ID == "" {
			t.Fatalf("watched %+v, want %+v", m, want)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := w.Next(); !errors.Is(err, client.ErrFeedClosed) {
		t.Fatalf("next after close: %v, want ErrFeedClosed", err)
	}
}

func TestWatchEndsWithItsContext(t *testing.T) {
	sim := runT(t)
	ctx, cancel := context.WithCancel(t.Context())
	w, err := sim.Watch(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := w.Next(); !errors.Is(err, context.Canceled) {
		t.Fatalf("next after cancel: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close after the context ended: %v", err)
	}
}

// A handshake the server never answers ends when its context does, not
// at the dialer's HandshakeTimeout.
func TestWatchHandshakeEndsWithItsContext(t *testing.T) {
	hang := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer silent.Close()
	defer close(hang)
	c, err := client.New(silent.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, watch := range []func(context.Context) error{
		func(ctx context.Context) error { _, err := c.Watch(ctx, leader.Phone); return err },
		func(ctx context.Context) error { _, err := c.WatchEvents(ctx, ""); return err },
	} {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		err := watch(ctx)
		if took := time.Since(start); !errors.Is(err, context.Canceled) || took > client.HandshakeTimeout/2 {
			t.Fatalf("a handshake never answered, its context canceled after 100ms: %v after %v, want context.Canceled then", err, took)
		}
	}
}

func TestWatchEndsWhenTheServerStops(t *testing.T) {
	sim := runT(t)
	w, err := sim.Watch(t.Context(), leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	go sim.Close()
	if _, err := w.Next(); err == nil {
		t.Fatal("next after the server stopped: no error")
	}
}

func TestWatchABadNumber(t *testing.T) {
	sim := runT(t)
	_, err := sim.Watch(t.Context(), "12345")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Detail == "" {
		t.Fatalf("watch 12345: %v", err)
	}
	// a number that needs escaping reaches the server as it was given
	_, err = sim.Watch(t.Context(), "138 0000/1")
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.Contains(e.Detail, `"138 0000/1"`) {
		t.Fatalf("watch \"138 0000/1\": %v", err)
	}
}

func TestWatchEvents(t *testing.T) {
	sim := runT(t)
	ctx := t.Context()
	page, err := sim.Events(ctx, client.EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Send(ctx, "95555", leader.Phone, "before"); err != nil {
		t.Fatal(err)
	}
	f, err := sim.WatchEvents(ctx, page.Last) // catches up on the message, then follows
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := sim.Advance(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for len(kinds) < 3 {
		rec, err := f.Next()
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, rec.Kind)
	}
	want := []string{client.KindSMSSent, client.KindSMSDelivered, client.KindClock}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	if _, err := sim.WatchEvents(ctx, "soon"); !client.IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("after=soon: %v, want a 400", err)
	}
}
