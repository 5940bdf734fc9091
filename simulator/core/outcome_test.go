package core_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// silentRedis accepts connections, answers the handshake of each (HELLO,
// CLIENT) as a Redis 5 would, and then nothing: every call sent to it runs
// out of time after it was sent.
func silentRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					cmd, err := readCommand(r)
					if err != nil {
						return
					}
					switch strings.ToUpper(cmd) {
					case "HELLO":
						io.WriteString(c, "-ERR unknown command 'HELLO'\r\n")
					case "CLIENT":
						io.WriteString(c, "+OK\r\n")
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

// readCommand reads one command of RESP (an array of bulk strings) and
// answers its name.
func readCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil {
		return "", err
	}
	var name string
	for i := range n {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return "", err
		}
		arg := make([]byte, size+2)
		if _, err := io.ReadFull(r, arg); err != nil {
			return "", err
		}
		if i == 0 {
			name = string(arg[:size])
		}
	}
	return name, nil
}

// A request's Outcome is unknown once a call that writes was sent and got
// no answer in time; a read that got none, a call never sent (nothing
// listens) and a call refused or answered leave it known.
func TestOutcome(t *testing.T) {
	silent := silentRedis(t)
	mini := miniredis.RunT(t)
	write := func(ctx context.Context, c *redis.Client) error {
		return c.EvalSha(ctx, "0123456789012345678901234567890123456789", []string{"k"}).Err()
	}
	for _, tc := range []struct {
		name    string
		addr    string
		call    func(context.Context, *redis.Client) error
		unknown bool
	}{
		{"a write out of time", silent, write, true},
		{"a repeatable write out of time", silent, func(ctx context.Context, c *redis.Client) error {
			return write(core.Repeatable(ctx), c)
		}, false},
		{"a pipelined write out of time", silent, func(ctx context.Context, c *redis.Client) error {
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Get(ctx, "k")
				p.Incr(ctx, "n")
				return nil
			})
			return err
		}, true},
		{"a read out of time", silent, func(ctx context.Context, c *redis.Client) error { return c.HGetAll(ctx, "k").Err() }, false},
		{"a write never sent: nothing listens", "127.0.0.1:1", write, false},
		{"a write refused (NOSCRIPT)", mini.Addr(), write, false},
		{"a write answered", mini.Addr(), func(ctx context.Context, c *redis.Client) error { return c.Incr(ctx, "n").Err() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := redis.NewClient(core.StoreOptions(&redis.Options{Addr: tc.addr}, 200*time.Millisecond))
			defer c.Close()
			c.AddHook(core.StoreDeadline{Timeout: 200 * time.Millisecond})
			ctx, outcome := core.WithOutcome(context.Background())
			err := tc.call(ctx, c)
			if got := outcome.Unknown(); got != tc.unknown {
				t.Errorf("Unknown() = %v after %v, want %v", got, err, tc.unknown)
			}
			tc.call(context.Background(), c) // without an Outcome, nothing to mark
		})
	}
}
