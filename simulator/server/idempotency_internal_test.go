package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"smsim/simulator"
	"smsim/simulator/core"
)

// slowRoute serves POST /slow through handleNS, as every POST is served:
// each call waits for a value on release and answers it as its status.
func slowRoute(t *testing.T) (url string, started chan struct{}, release chan int, calls *atomic.Int32) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(core.StoreOptions(&redis.Options{Addr: m.Addr()}, 0))
	t.Cleanup(func() { rdb.Close() })
	world, err := simulator.New(context.Background(), simulator.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	s := New(world, Config{})
	mux := http.NewServeMux()
	started, release, calls = make(chan struct{}, 4), make(chan int), &atomic.Int32{}
	s.handleNS(mux, "POST /slow", func(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
		calls.Add(1)
		started <- struct{}{}
		status := <-release
		if status >= 500 {
			unavailable(w, "the store went away")
			return
		}
		s.writeJSON(w, r, status, map[string]int32{"call": calls.Load()})
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs.URL + "/slow", started, release, calls
}

func post(t *testing.T, url, key, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(IdempotencyKeyHeader, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", url, err) // not Fatal: it may run in a goroutine of the test's
		return &http.Response{}, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// While a request with a key is in progress, a retry with it is a 409
// with a Retry-After, and another request with it a 422; neither is
// carried out. Once answered, the retry is answered the same.
func TestIdempotencyKeyInProgress(t *testing.T) {
	url, started, release, calls := slowRoute(t)
	type answer struct {
		resp *http.Response
		body string
	}
	first := make(chan answer)
	go func() {
		resp, b := post(t, url, "k", `{"n":1}`)
		first <- answer{resp, b}
	}()
	<-started
	resp, b := post(t, url, "k", `{"n":1}`)
	if resp.StatusCode != 409 || resp.Header.Get("Retry-After") != "1" ||
		!strings.Contains(b, `"detail":"Idempotency-Key: a request with the key \"k\" is in progress; try again once it has answered"`) {
		t.Errorf("a retry while in progress: %d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if resp, b := post(t, url, "k", `{"n":2}`); resp.StatusCode != 422 {
		t.Errorf("another request with the key while in progress: %d %s", resp.StatusCode, b)
	}
	release <- 201
	a := <-first
	if a.resp.StatusCode != 201 || a.body != "{\"call\":1}\n" {
		t.Fatalf("the first: %d %s", a.resp.StatusCode, a.body)
	}
	resp, b = post(t, url, "k", `{"n":1}`)
	if resp.StatusCode != 201 || b != a.body || resp.Header.Get(ReplayedHeader) != "true" {
		t.Fatalf("the retry once answered: %d %s", resp.StatusCode, b)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("carried out %d times, want once", n)
	}
}

// An answer of 5xx is not kept: the key is freed, and a retry is carried
// out again.
func TestIdempotencyKeyFreedBy5xx(t *testing.T) {
	url, started, release, calls := slowRoute(t)
	for i, status := range []int{503, 200} {
		done := make(chan *http.Response)
		go func() {
			resp, _ := post(t, url, "k", `{}`)
			done <- resp
		}()
		<-started
		release <- status
		if resp := <-done; resp.StatusCode != status || resp.Header.Get(ReplayedHeader) != "" {
			t.Fatalf("attempt %d: %d, want %d carried out", i, resp.StatusCode, status)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("carried out %d times, want twice", n)
	}
}
