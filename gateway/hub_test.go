package gateway

import (
	"context"
	"testing"
)

// A subscriber that stops reading is dropped once it falls behind; the
// others keep getting every delivery, and the hub never waits.
func TestHubDropsASlowSubscriber(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &Gateway{hub: newHub()}
	g.ks.Namespace = "default"
	go g.hub.run(ctx)

	slow, err := g.Subscribe(ctx, "13800000001")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := g.Subscribe(ctx, "13800000001")
	if err != nil {
		t.Fatal(err)
	}
	other, err := g.Subscribe(ctx, "13800000002")
	if err != nil {
		t.Fatal(err)
	}
	const n = subBuffer * 3
	for i := range n {
		g.hub.broadcast <- Message{ID: string(rune('a' + i%26)), Phone: "13800000001", namespace: "default"}
		if _, ok := <-fast.C; !ok { // the reader keeps up, one message at a time
			t.Fatalf("the reading subscriber was dropped after %d messages", i)
		}
	}
	read := 0
	for range slow.C { // closed once it fell behind
		read++
	}
	if read != subBuffer {
		t.Fatalf("the slow subscriber read %d before being dropped, want its buffer of %d", read, subBuffer)
	}
	select {
	case m := <-other.C:
		t.Fatalf("a subscriber of another phone got %+v", m)
	default:
	}
	slow.Close() // closing a dropped subscription is harmless
	fast.Close()
	other.Close()
}
