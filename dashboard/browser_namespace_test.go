package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smsim/simulator/client"
	"smsim/simulator/server"
	"smsim/simulator/simtest"
)

// in answers the test's client of s speaking for namespace ns.
func (s *smsim) in(ns string) *smsim {
	return &smsim{t: s.t, url: s.url, c: s.c.With(client.WithHeader(server.NamespaceHeader, ns))}
}

// clockAt answers the simulated time of s's namespace, read through the API.
func (s *smsim) clockAt() time.Time {
	s.t.Helper()
	st, err := s.c.Clock(context.Background())
	s.check(err)
	return st.Now
}

// switchTo types a namespace in the page's control and switches.
func (b *browser) switchTo(ns string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#ns-input').value = `+js(ns)), chromedp.Click(chromedp.ID("ns-switch")))
}

// shown answers the phones (cards) and orders (rows) the page shows, sorted.
func (b *browser) shown() (phones, orders []string) {
	b.t.Helper()
	phones = eval[[]string](b, `[...document.querySelectorAll('.phone')].map((c) => c.dataset.phone).sort()`)
	orders = eval[[]string](b, `[...document.querySelectorAll('#orders tbody tr')].map((r) => r.dataset.order).sort()`)
	return phones, orders
}

// showsOnly checks that the page shows namespace ns, with exactly these
// phones and orders.
func (b *browser) showsOnly(ns string, phones, orders []string) {
	b.t.Helper()
	if got := eval[string](b, `document.querySelector('#ns-current').textContent`); got != ns {
		b.t.Errorf("the control shows namespace %q, want %q", got, ns)
	}
	gotPhones, gotOrders := b.shown()
	if !slices.Equal(gotPhones, phones) {
		b.t.Errorf("in %s the page shows phones %v, want %v", ns, gotPhones, phones)
	}
	if !slices.Equal(gotOrders, orders) {
		b.t.Errorf("in %s the page shows orders %v, want %v", ns, gotOrders, orders)
	}
}

// clockShows waits until the page's clock reads at.
func (b *browser) clockShows(what string, at time.Time) {
	b.t.Helper()
	b.within(2*time.Second, what, fmt.Sprintf(`document.querySelector('#clock-now').dataset.ms === '%d'`, at.UnixMilli()))
}

// TestDashboardNamespaces drives two namespaces through the API and has the
// page switch between them: each shows its own phones, messages, orders and
// clock, and nothing of the other.
func TestDashboardNamespaces(t *testing.T) {
	sim := simtest.RunT(t) // unseeded: the orders of the two namespaces get ids of their own
	s := &smsim{t: t, url: sim.URL, c: sim.Client}
	nsA, nsB := s.in("ns-a"), s.in("ns-b")
	orderA := nsA.submit(client.SubmitRequest{Type: "first_filing", Variant: "website",
		EntityLeader: with(liLei, "13800000011"), WebsiteAdmin: with(hanMeimei, "13800000012")})
	nsA.send("13000000011", "hello from ns-a")
	orderB := nsB.submit(client.SubmitRequest{Type: "modify", Variant: "entity", EntityLeader: with(liLei, "13800000021")})
	nsB.send("13000000021", "hello from ns-b")
	if orderA == orderB {
		t.Fatalf("both namespaces' orders are %s: the page could not tell them apart", orderA)
	}
	phonesA := []string{"13000000011", "13800000011", "13800000012"} // the message's, the order's people's
	phonesB := []string{"13000000021", "13000000022", "13800000021"}

	b := newBrowser(t)
	b.open(s.url + "/")

	t.Run("the page opens on the default namespace, empty", func(t *testing.T) {
		b := b.with(t)
		b.clockShows("the default namespace's clock", t0)
		b.showsOnly("default", nil, nil)
		if got := eval[string](b, `document.querySelector('#phones-count').textContent`); got != "0" {
			t.Errorf("phones count %q, want 0", got)
		}
		if got := eval[string](b, `location.search`); got != "" {
			t.Errorf("the URL's query is %q, want none", got)
		}
		if got := eval[string](b, `document.title`); got != "smsim" {
			t.Errorf("title %q, want smsim", got)
		}
	})

	t.Run("switching to ns-a shows ns-a's phone, message and order only", func(t *testing.T) {
		b, nsA, nsB := b.with(t), nsA.with(t), nsB.with(t)
		b.switchTo("ns-a")
		b.within(2*time.Second, "ns-a's message", card("13000000011")+`?.querySelector('.bubble .body')?.textContent === "hello from ns-a"`)
		b.within(2*time.Second, "ns-a's order", `document.querySelector('tr[data-order=`+js(orderA)+`]') !== null`)
		b.within(5*time.Second, "the feed of ns-a live", `document.querySelector('#feed-state').dataset.state === 'live'`)
		b.showsOnly("ns-a", phonesA, []string{orderA})
		if got := eval[string](b, `location.search`); got != "?namespace=ns-a" {
			t.Errorf("the URL's query is %q, want ?namespace=ns-a", got)
		}
		if got := eval[string](b, `document.title`); got != "smsim · ns-a" {
			t.Errorf("title %q, want smsim · ns-a", got)
		}
		// live: a message of ns-b is not shown, one of ns-a after it is
		nsB.send("13000000022", "ns-b, while the page shows ns-a")
		nsA.send("13000000011", "ns-a, live")
		b.within(2*time.Second, "ns-a's live message", card("13000000011")+`?.querySelectorAll('.bubble').length === 2`)
		b.showsOnly("ns-a", phonesA, []string{orderA})
	})

	t.Run("switching to ns-b shows ns-b's phones, message and order only", func(t *testing.T) {
		b, nsA, nsB := b.with(t), nsA.with(t), nsB.with(t)
		b.switchTo("ns-b")
		b.within(2*time.Second, "ns-b's message", card("13000000021")+`?.querySelector('.bubble .body')?.textContent === "hello from ns-b"`)
		b.within(2*time.Second, "ns-b's phones", `document.querySelectorAll('.phone').length === 3`)
		b.within(2*time.Second, "ns-b's order", `document.querySelector('tr[data-order=`+js(orderB)+`]') !== null`)
		b.within(5*time.Second, "the feed of ns-b live", `document.querySelector('#feed-state').dataset.state === 'live'`)
		b.showsOnly("ns-b", phonesB, []string{orderB})
		if got := eval[string](b, `location.search`); got != "?namespace=ns-b" {
			t.Errorf("the URL's query is %q, want ?namespace=ns-b", got)
		}
		nsA.send("13000000012", "ns-a, while the page shows ns-b")
		nsB.send("13000000021", "ns-b, live")
		b.within(2*time.Second, "ns-b's live message", card("13000000021")+`?.querySelectorAll('.bubble').length === 2`)
		b.showsOnly("ns-b", phonesB, []string{orderB})
	})

	t.Run("a reload stays on ns-b", func(t *testing.T) {
		b := b.with(t)
		b.do(chromedp.Reload())
		b.within(5*time.Second, "the feed live again", `document.querySelector('#feed-state').dataset.state === 'live'`)
		b.within(2*time.Second, "ns-b's messages", card("13000000021")+`?.querySelectorAll('.bubble').length === 2`)
		b.within(2*time.Second, "ns-b's order", `document.querySelector('tr[data-order=`+js(orderB)+`]') !== null`)
		b.showsOnly("ns-b", phonesB, []string{orderB})
		if got := eval[string](b, `document.querySelector('#ns-input').value`); got != "ns-b" {
			t.Errorf("the control's field holds %q, want ns-b", got)
		}
	})

	t.Run("a bad name is refused, saying why, and the page stays", func(t *testing.T) {
		b := b.with(t)
		for _, tc := range []struct{ name, input, err string }{
			{"a space and a !", "bad name!", `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got "bad name!"`},
			{"a leading dash", "-ns", `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got "-ns"`},
			{"65 characters", strings.Repeat("n", 65), `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got "` + strings.Repeat("n", 65) + `"`},
			{"nothing", "", `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got ""`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := b.with(t)
				b.switchTo(tc.input)
				if got := eval[string](b, `document.querySelector('#ns-error').textContent`); got != tc.err {
					t.Errorf("error %q, want %q", got, tc.err)
				}
				if got := eval[string](b, `location.search`); got != "?namespace=ns-b" {
					t.Errorf("the URL's query is %q, want ?namespace=ns-b", got)
				}
				if got := eval[string](b, `document.querySelector('#ns-input').getAttribute('aria-invalid')`); got != "true" {
					t.Errorf("the field's aria-invalid is %q, want true", got)
				}
				b.showsOnly("ns-b", phonesB, []string{orderB})
			})
		}
	})

	t.Run("the clock's buttons act on the namespace shown only", func(t *testing.T) {
		b, nsA, nsB, s := b.with(t), nsA.with(t), nsB.with(t), s.with(t)
		b.clockShows("ns-b's clock", t0)
		b.do(chromedp.Click(chromedp.ID("advance-1h")))
		b.clockShows("ns-b's clock one hour on", t0.Add(time.Hour))
		if got := nsB.clockAt(); !got.Equal(t0.Add(time.Hour)) {
			t.Errorf("ns-b's clock reads %s, want %s", got, t0.Add(time.Hour))
		}
		if got := nsA.clockAt(); !got.Equal(t0) {
			t.Errorf("ns-a's clock reads %s, want %s: the page moved it", got, t0)
		}
		if got := s.clockAt(); !got.Equal(t0) {
			t.Errorf("the default namespace's clock reads %s, want %s: the page moved it", got, t0)
		}
	})

	t.Run("back in the browser's history is ns-a again", func(t *testing.T) {
		b := b.with(t)
		b.do(chromedp.Evaluate[chromedp.Void](`history.back()`))
		b.within(2*time.Second, "ns-a's messages", card("13000000011")+`?.querySelectorAll('.bubble').length === 2`)
		b.within(2*time.Second, "ns-a's message sent while the page showed ns-b", card("13000000012")+` !== null`)
		b.clockShows("ns-a's clock, unmoved", t0)
		b.showsOnly("ns-a", append([]string{"13000000011", "13000000012"}, phonesA[1:]...), []string{orderA})
		if got := eval[string](b, `document.querySelector('#ns-error').textContent`); got != "" {
			t.Errorf("the control still says %q", got)
		}
		if got := eval[string](b, `location.search`); got != "?namespace=ns-a" {
			t.Errorf("the URL's query is %q, want ?namespace=ns-a", got)
		}
		b.do(chromedp.Evaluate[chromedp.Void](`history.back()`))
		b.clockShows("the default namespace's clock", t0)
		b.within(2*time.Second, "the default namespace, empty", `document.querySelector('#ns-current').textContent === 'default' && document.querySelectorAll('.phone').length === 0`)
		b.showsOnly("default", nil, nil)
	})

	if p := b.problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// gate holds the requests of namespace ns to the given paths until it is
// opened: their answers reach the page late.
type gate struct {
	ns    string
	paths []string
	open  chan struct{}
	held  atomic.Int32 // requests held
	done  atomic.Int32 // of them, answered
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ns := r.Header.Get(server.NamespaceHeader)
		if ns == "" {
			ns = r.URL.Query().Get("namespace")
		}
		if ns == g.ns && slices.Contains(g.paths, r.URL.Path) {
			g.held.Add(1)
			defer g.done.Add(1)
			<-g.open
		}
		h.ServeHTTP(w, r)
	})
}

// TestDashboardNamespaceLateAnswers: the answers and events of a namespace
// the page has left arrive after the page switched on; none of them shows.
func TestDashboardNamespaceLateAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
	}{
		{"the state's answers", []string{"/admin/v1/clock", "/phones/v1", "/provider/v1/filings"}},
		{"the event socket", []string{"/ws/events"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := simtest.RunT(t) // unseeded: the orders of the two namespaces get ids of their own
			g := &gate{ns: "slow", paths: tc.paths, open: make(chan struct{})}
			hs := httptest.NewServer(g.wrap(sim.Server.Routes()))
			t.Cleanup(hs.Close)
			opened := false
			release := func() {
				if !opened {
					opened = true
					close(g.open)
				}
			}
			t.Cleanup(release) // before the server closes, which waits for the held requests
			s := &smsim{t: t, url: hs.URL, c: sim.Client}
			slow, nsB := s.in("slow"), s.in("ns-b")
			slowOrder := slow.submit(client.SubmitRequest{Type: "modify", Variant: "entity", EntityLeader: with(liLei, "13800000031")})
			slow.send("13000000031", "hello from slow")
			slow.advance(2 * time.Hour)
			orderB := nsB.submit(client.SubmitRequest{Type: "modify", Variant: "entity", EntityLeader: with(liLei, "13800000041")})
			nsB.send("13000000041", "hello from ns-b")
			if slowOrder == orderB {
				t.Fatalf("both namespaces' orders are %s: the page could not tell them apart", orderB)
			}

			b := newBrowser(t)
			b.open(s.url + "/")
			b.switchTo("slow")
			deadline := time.Now().Add(5 * time.Second)
			for g.held.Load() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the page sent no request of namespace slow that the test holds")
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.switchTo("ns-b")
			b.within(2*time.Second, "ns-b's message", card("13000000041")+`?.querySelector('.bubble .body')?.textContent === "hello from ns-b"`)
			b.within(2*time.Second, "ns-b's order", `document.querySelector('tr[data-order=`+js(orderB)+`]') !== null`)
			b.clockShows("ns-b's clock", t0)

			// slow logs another event, then its held requests are answered
			// (a browser opens one websocket to a host at a time: ns-b's
			// waits for slow's)
			slow.send("13000000032", "slow, after the page left")
			release()
			b.within(5*time.Second, "the feed of ns-b live", `document.querySelector('#feed-state').dataset.state === 'live'`)
			deadline = time.Now().Add(5 * time.Second)
			for g.done.Load() < g.held.Load() {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d held requests answered", g.done.Load(), g.held.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
			// an event of ns-b after them: once it shows, the page has
			// handled what came before
			nsB.send("13000000041", "ns-b, after the late answers")
			b.within(2*time.Second, "ns-b's message after the late answers", card("13000000041")+`?.querySelectorAll('.bubble').length === 2`)
			b.showsOnly("ns-b", []string{"13000000041", "13800000041"}, []string{orderB})
			b.clockShows("ns-b's clock, not slow's", t0)
			if slices.Contains(eval[[]string](b, `[...document.querySelectorAll('tr')].map((r) => r.dataset.order || '')`), slowOrder) {
				t.Errorf("slow's order %s shows", slowOrder)
			}
			if p := b.problems(); len(p) > 0 {
				t.Errorf("console:\n%s", strings.Join(p, "\n"))
			}
		})
	}
}

// suggestions answers the values of the namespace field's suggestions, in
// their order.
func (b *browser) suggestions() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelector('#ns-input').list.options].map((o) => o.value)`)
}

// answers answers how many answers of the list of namespaces in use the
// page has handled, read or not (the list's data-answers).
func (b *browser) answers() int {
	b.t.Helper()
	return eval[int](b, `Number(document.querySelector('#ns-list').dataset.answers || 0)`)
}

// suggests waits until the namespace field's suggestions are exactly names.
func (b *browser) suggests(what string, names ...string) {
	b.t.Helper()
	b.within(2*time.Second, what, `JSON.stringify([...document.querySelector('#ns-input').list.options].map((o) => o.value)) === `+js(mustJSON(b.t, names)))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// focusField takes the focus from the namespace field, if it has it, and
// clicks in it: the page reads the namespaces in use again. (A page without
// the browser's focus, as a headless one, gets no focus event from
// element.focus(); a click gives it.)
func (b *browser) focusField() {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur()`), chromedp.Click(chromedp.ID("ns-input")))
}

// listing answers GET /admin/v1/namespaces as the test says: as the server
// does, with 503, or with 200 and a body that holds no list.
type listing struct {
	mode  atomic.Value // "", "503" or "garbage"
	asked atomic.Int32 // requests of the list
	named atomic.Int32 // of them, those that named a namespace
}

func (l *listing) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/v1/namespaces" {
			h.ServeHTTP(w, r)
			return
		}
		l.asked.Add(1)
		if r.Header.Get(server.NamespaceHeader) != "" || r.URL.Query().Has("namespace") {
			l.named.Add(1)
		}
		switch l.mode.Load() {
		case "503":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"title": "Service Unavailable", "status": 503, "detail": "read namespaces: the store is away"}`))
		case "garbage":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"namespaces": "alpha"}`))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// TestDashboardNamespaceSuggestions: the namespace field suggests the
// namespaces in use, read again when the field gets the focus; picking one
// shows it; a list that cannot be read leaves the suggestions as they were.
func TestDashboardNamespaceSuggestions(t *testing.T) {
	sim := simtest.RunT(t) // unseeded: the orders of the namespaces get ids of their own
	l := &listing{}
	l.mode.Store("")
	hs := httptest.NewServer(l.wrap(sim.Server.Routes()))
	t.Cleanup(hs.Close)
	s := &smsim{t: t, url: hs.URL, c: sim.Client}
	s.in("alpha").send("13000000051", "hello from alpha")
	s.in("beta").submit(client.SubmitRequest{Type: "modify", Variant: "entity", EntityLeader: with(liLei, "13800000052")})

	b := newBrowser(t)
	b.open(s.url + "/")

	t.Run("the page opens suggesting the namespaces in use", func(t *testing.T) {
		b := b.with(t)
		b.suggests("the namespaces in use", "alpha", "beta", "default")
		if got := eval[string](b, `document.querySelector('#ns-list option[value=default]').label`); got != "default (shown)" {
			t.Errorf("the suggestion of the namespace shown reads %q, want %q", got, "default (shown)")
		}
		if got := eval[string](b, `document.querySelector('#ns-list option[value=alpha]').label`); got != "" {
			t.Errorf("the suggestion of alpha is labelled %q, want no label", got)
		}
		if got := eval[string](b, `document.querySelector('#ns-input').value`); got != "default" {
			t.Errorf("the field holds %q, want default", got)
		}
	})

	gamma := s.in("gamma")
	orderGamma := gamma.submit(client.SubmitRequest{Type: "first_filing", Variant: "website",
		EntityLeader: with(liLei, "13800000053"), WebsiteAdmin: with(hanMeimei, "13800000054")})
	gamma.send("13000000053", "hello from gamma")

	t.Run("a namespace begun since shows once the field gets the focus", func(t *testing.T) {
		b, s := b.with(t), s.with(t)
		// an event the page shows, sent after gamma began: once it shows,
		// the page has handled what came before
		s.send("13000000050", "default, after gamma began")
		b.within(2*time.Second, "the message after gamma began", card("13000000050")+` !== null`)
		if n := l.asked.Load(); n != 1 {
			t.Errorf("the page asked for the list %d times before the focus, want once, at load: it reads the list on its own", n)
		}
		if got := b.answers(); got != 1 {
			t.Errorf("the page handled %d answers of the list before the focus, want 1", got)
		}
		if got := b.suggestions(); !slices.Equal(got, []string{"alpha", "beta", "default"}) {
			t.Fatalf("before the focus the suggestions are %v, want alpha, beta, default: the page reads the list on its own", got)
		}
		b.focusField()
		b.suggests("gamma among the suggestions", "alpha", "beta", "default", "gamma")
		if n := l.asked.Load(); n != 2 {
			t.Errorf("the page asked for the list %d times, want twice: at load and on the focus", n)
		}
	})

	t.Run("picking a suggestion shows its namespace", func(t *testing.T) {
		b := b.with(t)
		pick := eval[string](b, `document.querySelector('#ns-list option[value=gamma]').value`)
		b.switchTo(pick)
		b.within(2*time.Second, "gamma's message", card("13000000053")+`?.querySelector('.bubble .body')?.textContent === "hello from gamma"`)
		b.within(2*time.Second, "gamma's order", `document.querySelector('tr[data-order=`+js(orderGamma)+`]') !== null`)
		b.within(5*time.Second, "the feed of gamma live", `document.querySelector('#feed-state').dataset.state === 'live'`)
		b.showsOnly("gamma", []string{"13000000053", "13800000053", "13800000054"}, []string{orderGamma})
		if got := eval[string](b, `location.search`); got != "?namespace=gamma" {
			t.Errorf("the URL's query is %q, want ?namespace=gamma", got)
		}
		if got := eval[string](b, `document.querySelector('#ns-error').textContent`); got != "" {
			t.Errorf("the control says %q", got)
		}
		b.within(2*time.Second, "gamma marked as shown", `document.querySelector('#ns-list option[value=gamma]')?.label === 'gamma (shown)'`)
		if got := eval[string](b, `document.querySelector('#ns-list option[value=default]').label`); got != "" {
			t.Errorf("the suggestion of default is labelled %q, want no label", got)
		}
	})

	t.Run("a list that cannot be read leaves the suggestions as they were", func(t *testing.T) {
		b, s := b.with(t), s.with(t)
		s.in("delta").send("13000000055", "hello from delta")
		for _, mode := range []string{"503", "garbage"} {
			t.Run(mode, func(t *testing.T) {
				b := b.with(t)
				l.mode.Store(mode)
				asked, answers := l.asked.Load(), b.answers()
				b.focusField()
				b.within(2*time.Second, "the page handled the list's answer",
					fmt.Sprintf(`document.querySelector('#ns-list').dataset.answers === '%d'`, answers+1))
				if n := l.asked.Load(); n != asked+1 {
					t.Errorf("the focus asked for the list %d times, want once", n-asked)
				}
				if got := b.suggestions(); !slices.Equal(got, []string{"alpha", "beta", "default", "gamma"}) {
					t.Errorf("the suggestions are %v, want those read before: alpha, beta, default, gamma", got)
				}
				b.showsOnly("gamma", []string{"13000000053", "13800000053", "13800000054"}, []string{orderGamma})
			})
		}
		l.mode.Store("")
		b.focusField()
		b.suggests("delta among the suggestions, the list readable again", "alpha", "beta", "default", "delta", "gamma")
		// typing a name still works as before
		b.switchTo("delta")
		b.within(2*time.Second, "delta's message", card("13000000055")+`?.querySelector('.bubble .body')?.textContent === "hello from delta"`)
		b.showsOnly("delta", []string{"13000000055"}, nil)
	})

	if n := l.named.Load(); n != 0 {
		t.Errorf("%d of %d requests of the list named a namespace", n, l.asked.Load())
	}
	// The browser logs the 503 of the list itself; the page logs nothing.
	if p := b.problemsBut(func(m chromedp.ConsoleMessage) bool {
		return m.Source == "network" && strings.HasSuffix(m.URL, "/admin/v1/namespaces") && strings.Contains(m.Text, "503")
	}); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}
