package core_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
	"smsim/simulator/core/testkit"
)

// A note (Subscriber.Note) hears each message on its channel; once the
// Pub/Sub connection broke and its channel is subscribed again, it hears
// "" first, for what it may have missed meanwhile, then the messages
// again. (go-redis subscribes every channel again in one command, so that
// the note's own confirmation, which the subscriber waits for, and the
// first of any come together here.)
func TestANoteHearsOfALostConnection(t *testing.T) {
	srv := testkit.StartRedis(t)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
		return c, err
	}
	rdb, err := redisstore.OpenWith(srv.URL, func(o *redis.Options) { o.Dialer = dial },
		func(o *redis.ClusterOptions) { o.Dialer = dial })
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	sub := core.NewSubscriber(rdb, slog.New(slog.DiscardHandler), 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan string, 100)
	channel := srv.Prefix + ":changes"
	if err := sub.Note(ctx, channel, func(p string) { heard <- p }); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); sub.Run(ctx) }()
	defer func() { cancel(); <-done }()
	pub := srv.Client(t)
	// hear publishes word until it comes, and answers what came before it
	// but the words before (published again while they were on their way)
	var said []string
	hear := func(word string) []string {
		t.Helper()
		var before []string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if err := pub.Publish(ctx, channel, word).Err(); err != nil {
				t.Fatal(err)
			}
			for wait := time.After(20 * time.Millisecond); ; {
				select {
				case p := <-heard:
					switch {
					case p == word:
						said = append(said, word)
						return before
					case !slices.Contains(said, p):
						before = append(before, p)
					}
					continue
				case <-wait:
				}
				break
			}
		}
		t.Fatalf("%q not heard within 10s (heard %q)", word, before)
		return nil
	}
	if before := hear("one"); len(before) != 0 {
		t.Fatalf("heard %q before the first word", before)
	}
	mu.Lock()
	for _, c := range conns {
		c.Close() // the connection breaks
	}
	mu.Unlock()
	before := hear("two")
	if len(before) == 0 || before[0] != "" {
		t.Fatalf("heard %q before the word after the connection broke, want \"\" first", before)
	}
}
