package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/net/nettest"
)

// A pipe is a net.Conn as the standard library's conformance tests have
// it: reads and writes, concurrent calls, deadlines past, present and
// future, and Close.
func TestPipeIsAConn(t *testing.T) {
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		a, b := newPipe(pipeCapacity)
		return a, b, func() { a.Close(); b.Close() }, nil
	})
}

// A write returns once it is buffered, before anyone reads; a full buffer
// holds the writer until its reader reads, or until the write deadline.
func TestPipeBuffersUpToItsCapacity(t *testing.T) {
	a, b := newPipe(8)
	if n, err := a.Write([]byte("0123456789")); n != 10 || err != nil {
		t.Fatalf("a write into an empty buffer: %d, %v; want 10, nil", n, err)
	}
	a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := a.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write into a full buffer: %v, want the deadline", err)
	}
	a.SetWriteDeadline(time.Time{})
	wrote := make(chan error)
	go func() {
		_, err := a.Write([]byte("abc"))
		wrote <- err
	}()
	select {
	case err := <-wrote:
		t.Fatalf("a write into a full buffer returned (%v) before a read", err)
	case <-time.After(10 * time.Millisecond):
	}
	got := make([]byte, 4)
	if n, err := b.Read(got); n != 4 || err != nil || string(got) != "0123" {
		t.Fatalf("read %q, %v", got[:n], err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("the waiting write, once there was room: %v", err)
	}
	a.Close()
	rest, err := io.ReadAll(b)
	if err != nil || string(rest) != "456789abc" {
		t.Fatalf("after the writer closed, the reader got %q, %v; want what was written, then EOF", rest, err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("a write to a closed peer: %v, want %v", err, io.ErrClosedPipe)
	}
	if _, err := a.Read(got); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a read of a closed end: %v, want %v", err, net.ErrClosed)
	}
}

// A pipeline far larger than the store's read buffer, of many commands,
// gets its answers: on miniredis's own Dial (a net.Pipe) it waits on
// itself until the write deadline.
func TestMemoryCarriesLargePipelines(t *testing.T) {
	m := miniredis.NewMiniRedis()
	mem, err := NewMemory(m)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	c := redis.NewClient(&redis.Options{Dialer: mem.Dial, MaxRetries: -1, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	defer c.Close()
	ctx := context.Background()
	value := strings.Repeat("x", 2000)
	p := c.Pipeline()
	for i := range 200 {
		p.Set(ctx, fmt.Sprint("k", i), value, 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatalf("a pipeline of 200 SETs of 2 KB: %v", err)
	}
	if got := m.Keys(); len(got) != 200 {
		t.Fatalf("%d keys in the store, want 200", len(got))
	}
	if got, err := c.Get(ctx, "k199").Result(); err != nil || got != value {
		t.Fatalf("GET k199: %d bytes, %v", len(got), err)
	}
	if a := m.Server().Addr(); a != nil {
		t.Errorf("a miniredis started by NewMemory listens at %s", a)
	}
}

// Pub/Sub crosses the pipe too: a message published on one connection
// reaches a subscriber on another.
func TestMemoryCarriesPubSub(t *testing.T) {
	m := miniredis.NewMiniRedis()
	mem, err := NewMemory(m)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	c := redis.NewClient(&redis.Options{Dialer: mem.Dial})
	defer c.Close()
	ctx := context.Background()
	sub := c.Subscribe(ctx, "news")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := c.Publish(ctx, "news", "hello").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-sub.Channel():
		if msg.Channel != "news" || msg.Payload != "hello" {
			t.Fatalf("got %+v", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
}

// Connections handed to the store while it closes do not race with its
// closing (run under -race): each either reaches the store, whose Close
// then ends it, or fails as the store is closed.
func TestMemoryClosesWhileDialed(t *testing.T) {
	for range 20 {
		mem, err := NewMemory(miniredis.NewMiniRedis())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					c, err := mem.Dial(context.Background(), "tcp", "embedded")
					if err != nil {
						if !errors.Is(err, errStoreClosed) {
							t.Errorf("a dial: %v, want %v", err, errStoreClosed)
						}
						return
					}
					c.Close()
				}
			})
		}
		mem.Close()
		wg.Wait()
		mem.Close() // a second time: nothing
	}
}

// BenchmarkMemoryDialer is one small script call (EVALSHA) on the
// embedded store over the memory dialer, against a TCP socket on loopback
// in the same run.
func BenchmarkMemoryDialer(b *testing.B) {
	script := redis.NewScript(`return redis.call('INCR', KEYS[1])`)
	for _, via := range []string{"tcp", "memory"} {
		b.Run("via="+via, func(b *testing.B) {
			m := miniredis.NewMiniRedis()
			if err := m.Start(); err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			mem, err := NewMemory(m)
			if err != nil {
				b.Fatal(err)
			}
			o := &redis.Options{Addr: m.Addr()}
			if via == "memory" {
				o.Dialer = mem.Dial
			}
			c := redis.NewClient(o)
			defer c.Close()
			ctx := context.Background()
			for b.Loop() {
				if err := script.Run(ctx, c, []string{"n"}).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
