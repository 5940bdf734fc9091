package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

// side is what one namespace's part of a test did.
type side struct {
	c       *client.Client
	ns      string
	advance time.Duration
	order   client.ProviderView
	leader  client.Message // the leader's code message
	admin   client.Message // the administrator's code message
	socket  []client.Message
}

// drive runs the whole flow in s's namespace: watch the leader's phone,
// submit, wait for the administrator's code (a long poll under way while
// the clock moves), advance, wait for the leader's code, validate both.
func (s *side) drive(t *testing.T) {
	ctx := t.Context()
	feed, err := s.c.Watch(ctx, leader.Phone)
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	if s.order, err = s.c.SubmitFirstFiling(ctx, leader, admin); err != nil {
		t.Fatal(err)
	}
	type waited struct {
		m   client.Message
		err error
	}
	adminCode := make(chan waited, 1)
	go func() {
		m, err := s.c.WaitForCodeAfter(ctx, admin.Phone, client.AfterStart)
		adminCode <- waited{m, err}
	}()
	st, err := s.c.Advance(ctx, s.advance)
	if err != nil {
		t.Fatal(err)
	}
	if want := simtest.DefaultStart().Add(s.advance); !st.Now.Equal(want) {
		t.Fatalf("%s: clock %v after advancing %v, want %v", s.ns, st.Now, s.advance, want)
	}
	if s.leader, err = s.c.WaitForCodeAfter(ctx, leader.Phone, client.AfterStart); err != nil {
		t.Fatal(err)
	}
	w := <-adminCode
	if w.err != nil {
		t.Fatal(w.err)
	}
	s.admin = w.m
	for _, v := range []struct {
		p    client.Person
		code string
		want string
	}{{leader, s.leader.Code, client.ResultPartial}, {admin, s.admin.Code, client.ResultComplete}} {
		r, err := s.c.ValidatePerson(ctx, v.p, v.code)
		if err != nil || r.Result != v.want {
			t.Fatalf("%s: validate %s's code %s: %+v, %v; want %s", s.ns, v.p.Name, v.code, r, err, v.want)
		}
	}
	for len(s.socket) < 2 { // the provider's notice, then the code
		m, err := feed.Next()
		if err != nil {
			t.Fatal(err)
		}
		s.socket = append(s.socket, m)
	}
}

// Two namespaces of one simulator, driven at once by the same people:
// neither sees the other's orders, messages, clock or events — over plain
// requests, long polls and websockets — and a reset of one leaves the
// other as it was.
func TestNamespacesDriveApart(t *testing.T) {
	sim := runT(t)
	a, err := client.New(sim.URL, client.WithNamespace("a"))
	if err != nil {
		t.Fatal(err)
	}
	sides := []*side{{c: a, ns: "a", advance: time.Hour}, {c: a.Namespace("b"), ns: "b", advance: 3 * time.Hour}}
	t.Run("drive", func(t *testing.T) {
		for _, s := range sides {
			t.Run(s.ns, func(t *testing.T) {
				t.Parallel()
				s.drive(t)
			})
		}
	})
	if t.Failed() {
		return
	}
	ctx := t.Context()

	used, err := sim.Namespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(used) != 3 || used[0].Name != "a" || used[1].Name != "b" || used[2].Name != "default" || used[0].LastUsed.IsZero() {
		t.Fatalf("namespaces in use %+v, want a, b and default with their last use", used)
	}

	if sides[0].order.ID == sides[1].order.ID || sides[0].leader.ID == sides[1].leader.ID {
		t.Fatalf("a and b share an order or a message: %s %s, %s %s",
			sides[0].order.ID, sides[1].order.ID, sides[0].leader.ID, sides[1].leader.ID)
	}
	for _, s := range sides {
		list, err := s.c.Filings(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if list.Total != 1 || len(list.Filings) != 1 || list.Filings[0].ID != s.order.ID {
			t.Errorf("%s lists %+v, want its own order %s alone", s.ns, list, s.order.ID)
		}
		inbox, err := s.c.Messages(ctx, leader.Phone, client.FolderInbox)
		if err != nil {
			t.Fatal(err)
		}
		if len(inbox) != 2 || inbox[0].Sender != "95187" || !strings.Contains(inbox[0].Body, s.order.ID) || inbox[1].ID != s.leader.ID {
			t.Errorf("%s: the leader's inbox %+v, want its own notice of %s and its own code %s", s.ns, inbox, s.order.ID, s.leader.ID)
		}
		if len(s.socket) != 2 || s.socket[0].ID != inbox[0].ID || s.socket[1].ID != s.leader.ID {
			t.Errorf("%s: the leader's socket carried %+v, want the inbox's %+v", s.ns, s.socket, inbox)
		}
		if st, err := s.c.Clock(ctx); err != nil || !st.Now.Equal(simtest.DefaultStart().Add(s.advance)) {
			t.Errorf("%s: clock %+v, %v; want it advanced by its own %v alone", s.ns, st, err, s.advance)
		}
		evs, err := s.c.Events(ctx, client.EventOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Events) == 0 {
			t.Errorf("%s has no events", s.ns)
		}
		for _, r := range evs.Events {
			if r.Namespace != s.ns {
				t.Errorf("%s's event log holds %s of namespace %q", s.ns, r.Kind, r.Namespace)
			}
		}
	}
	if list, err := sim.Filings(ctx, client.ListOptions{}); err != nil || list.Total != 0 {
		t.Errorf("the default namespace lists %+v, %v; want nothing", list, err)
	}
	if st, err := sim.Clock(ctx); err != nil || !st.Now.Equal(simtest.DefaultStart()) {
		t.Errorf("the default namespace's clock %+v, %v; want it where it started", st, err)
	}

	b := sides[1]
	if _, err := a.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Filing(ctx, sides[0].order.ID); !client.IsStatus(err, http.StatusNotFound) {
		t.Errorf("a's order after a's reset: %v, want a 404", err)
	}
	if st, err := a.Clock(ctx); err != nil || !st.Now.Equal(simtest.DefaultStart()) {
		t.Errorf("a's clock after its reset: %+v, %v", st, err)
	}
	if v, err := b.c.MIITFiling(ctx, b.order.ID); err != nil || v.Status != client.FilingUnderReview {
		t.Errorf("b's order after a's reset: %+v, %v; want it under review still", v, err)
	}
	if st, err := b.c.Clock(ctx); err != nil || !st.Now.Equal(simtest.DefaultStart().Add(b.advance)) {
		t.Errorf("b's clock after a's reset: %+v, %v", st, err)
	}
	if m, err := b.c.LatestCode(ctx, leader.Phone); err != nil || m.ID != b.leader.ID {
		t.Errorf("b's leader's code after a's reset: %+v, %v; want %s", m, err, b.leader.ID)
	}
}

func TestNamespaceNames(t *testing.T) {
	const rule = `smsim client: namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got `
	for _, name := range []string{"", "a b", "-a", ".a", "_a", "a/b", "ä", strings.Repeat("n", 65)} {
		_, err := client.New("http://127.0.0.1:8080", client.WithNamespace(name))
		if err == nil || err.Error() != rule+`"`+name+`"` {
			t.Errorf("New with namespace %q: error %v", name, err)
		}
		if client.ValidNamespace(name) {
			t.Errorf("ValidNamespace(%q) is true", name)
		}
	}
	for _, name := range []string{"a", "Team-B.2_x", "0", strings.Repeat("n", 64)} {
		if _, err := client.New("http://127.0.0.1:8080", client.WithNamespace(name)); err != nil || !client.ValidNamespace(name) {
			t.Errorf("New with namespace %q: %v", name, err)
		}
	}

	// With and Namespace answer no error: every request of the copy does,
	// and nothing reaches the server
	var requests int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status": "ok"}`))
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	bad := c.Namespace("a b")
	if err := bad.Healthz(ctx); err == nil || err.Error() != rule+`"a b"` {
		t.Errorf("a request in namespace \"a b\": %v", err)
	}
	if _, err := bad.Watch(ctx, leader.Phone); err == nil || err.Error() != rule+`"a b"` {
		t.Errorf("a websocket in namespace \"a b\": %v", err)
	}
	if err := c.With(client.WithNamespace("")).Readyz(ctx); err == nil || err.Error() != rule+`""` {
		t.Errorf("a request in namespace \"\": %v", err)
	}
	if err := bad.Namespace("good").Healthz(ctx); err != nil {
		t.Errorf("a request in a good namespace named after a bad one: %v", err)
	}
	if err := c.Healthz(ctx); err != nil {
		t.Errorf("the client Namespace copied: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 2 {
		t.Errorf("%d requests reached the server, want the 2 of good namespaces", requests)
	}
}

// The namespace goes with every request, the long polls and the websocket
// handshakes among them; a copy for another namespace leaves the client it
// copies as it was.
func TestNamespaceGoesWithEveryRequest(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get(client.NamespaceHeader)+" "+r.Header.Get("X-Test"))
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/next") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, "no websocket here", http.StatusTeapot)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithHeader("X-Test", "t"), client.WithNamespace("a"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	b := c.Namespace("b")
	if _, _, err := c.Next(ctx, leader.Phone, client.NextOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Watch(ctx, leader.Phone); !client.IsStatus(err, http.StatusTeapot) {
		t.Fatalf("Watch: %v", err)
	}
	if _, err := c.WatchEvents(ctx, ""); !client.IsStatus(err, http.StatusTeapot) {
		t.Fatalf("WatchEvents: %v", err)
	}
	var e *client.Error
	if _, err := b.Clock(ctx); !errors.As(err, &e) || e.Status != http.StatusTeapot {
		t.Fatalf("Clock: %v", err)
	}
	want := []string{
		"/phones/v1/13800000001/messages/next a t",
		"/phones/v1/13800000001/ws b t",
		"/ws/events a t",
		"/admin/v1/clock b t",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("requests %q, want %q", got, want)
	}
}
