// Package redistest gives tests a Redis to run against: a real server when
// SMSIM_TEST_REDIS_URL names one, else an in-process miniredis. Each test
// gets a key prefix of its own, so tests of several packages can share one
// real server at once.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// EnvURL is the environment variable that selects a real Redis server.
const EnvURL = "SMSIM_TEST_REDIS_URL"

// Server is a Redis for one test.
type Server struct {
	URL    string // redis://… for clients of other processes or server instances
	Prefix string // the key prefix of this test
	Mini   *miniredis.Miniredis
}

// Real tells whether tests run against a real Redis server.
func Real() bool { return os.Getenv(EnvURL) != "" }

// Start gives the test a Redis: the real server of SMSIM_TEST_REDIS_URL, or a
// new miniredis stopped at the test's end. The keys under the test's prefix
// are deleted at the end.
func Start(t testing.TB) *Server {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	s := &Server{Prefix: "smsimtest-" + hex.EncodeToString(b[:])}
	if u := os.Getenv(EnvURL); u != "" {
		s.URL = u
		t.Cleanup(func() { deletePrefix(t, u, s.Prefix) })
		return s
	}
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatalf("start miniredis: %v", err)
	}
	t.Cleanup(m.Close)
	s.Mini = m
	s.URL = "redis://" + m.Addr()
	return s
}

// Client opens a client to the server, closed at the test's end.
func (s *Server) Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatalf("parse %s: %v", s.URL, err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping %s: %v", s.URL, err)
	}
	return c
}

func deletePrefix(t testing.TB, url, prefix string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}
