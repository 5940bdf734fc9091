package testkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Post is one request a Receiver was sent.
type Post struct {
	Header http.Header
	Body   []byte
}

// Receiver is a webhook target on loopback: it keeps every post and answers
// the n-th (from 1) with the status answer gives for it.
type Receiver struct {
	*httptest.Server
	mu    sync.Mutex
	posts []Post
	taken int           // posts handed out by Next
	more  chan struct{} // signalled on each post
}

// NewReceiver starts a receiver, closed at the test's end.
func NewReceiver(t testing.TB, answer func(n int, body []byte) int) *Receiver {
	t.Helper()
	r := &Receiver{more: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.posts = append(r.posts, Post{Header: req.Header.Clone(), Body: body})
		n := len(r.posts)
		r.mu.Unlock()
		select {
		case r.more <- struct{}{}:
		default:
		}
		w.WriteHeader(answer(n, body))
	}))
	t.Cleanup(r.Close)
	return r
}

// Answer answers every post with code.
func Answer(code int) func(int, []byte) int {
	return func(int, []byte) int { return code }
}

// Posts answers the posts so far, in order.
func (r *Receiver) Posts() []Post {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Post(nil), r.posts...)
}

// Next waits (real time: posts come from background dispatchers) for the
// first post it has not handed out yet, failing the test after 15 seconds.
func (r *Receiver) Next(t testing.TB) Post {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		if r.taken < len(r.posts) {
			p := r.posts[r.taken]
			r.taken++
			r.mu.Unlock()
			return p
		}
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-deadline:
			t.Fatal("no webhook post within 15s")
		}
	}
}
