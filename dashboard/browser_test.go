package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"smsim/simulator"
	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"
	"smsim/simulator/simtest"
)

var update = flag.Bool("update", false, "rewrite testdata/dashboard.png, the screenshot the README shows")

// t0 is the simulated time the browser tests start at, the clock paused.
var t0 = simtest.DefaultStart()

// smsim is a simulator the browser looks at, and the test's client of it.
type smsim struct {
	t   *testing.T
	url string
	c   *client.Client
}

// start runs a whole simulator for the test, its clock paused at t0.
func start(t *testing.T) *smsim {
	t.Helper()
	sim := simtest.RunT(t, simtest.WithSeed(4))
	return &smsim{t: t, url: sim.URL, c: sim.Client}
}

// with answers the client for t, a subtest: a failure of its helpers is
// the subtest's, not its parent's.
func (s *smsim) with(t *testing.T) *smsim {
	c := *s
	c.t = t
	return &c
}

func (s *smsim) check(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *smsim) send(to, body string) {
	s.t.Helper()
	_, err := s.c.Send(context.Background(), "95187", to, body)
	s.check(err)
}

var (
	liLei     = client.Person{Name: "Li Lei", CertificateNumber: "110101199003071234"}
	hanMeimei = client.Person{Name: "Han Meimei", CertificateNumber: "11010119920101567X"}
)

// with answers a person with a phone number.
func with(p client.Person, phone string) *client.Person {
	p.Phone = phone
	return &p
}

func (s *smsim) submit(req client.SubmitRequest) string {
	s.t.Helper()
	v, err := s.c.Submit(context.Background(), req)
	s.check(err)
	return v.ID
}

// validate has p validate with the newest code in their inbox, or with
// code when it is not empty.
func (s *smsim) validate(p *client.Person, code string) {
	s.t.Helper()
	ctx := context.Background()
	if code == "" {
		m, err := s.c.LatestCode(ctx, p.Phone)
		s.check(err)
		code = m.Code
	}
	_, err := s.c.ValidatePerson(ctx, *p, code)
	s.check(err)
}

func (s *smsim) advance(d time.Duration) {
	s.t.Helper()
	_, err := s.c.Advance(context.Background(), d)
	s.check(err)
}

// setProfile changes a phone's profile.
func (s *smsim) setProfile(phone string, change func(*client.PhoneProfile)) {
	s.t.Helper()
	ctx := context.Background()
	p, err := s.c.Profile(ctx, phone)
	s.check(err)
	change(&p)
	_, err = s.c.SetProfile(ctx, phone, p)
	s.check(err)
}

func (s *smsim) profile(phone string) client.PhoneProfile {
	s.t.Helper()
	p, err := s.c.Profile(context.Background(), phone)
	s.check(err)
	return p
}

// browser is a headless Chromium with one tab, seen from a test: its
// helpers fail t, the test or subtest that uses it (with).
type browser struct {
	t *testing.T
	*tab
}

// tab is the browser's one tab, and what it wrote to its console and the
// dialogs it opened: the same for every test that uses the browser.
type tab struct {
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	dialogs []string
	markers int // markers sent (mark)
}

// with answers the browser for t, a subtest: a failure of its helpers is
// the subtest's, not its parent's (which a subtest must not fail).
func (b *browser) with(t *testing.T) *browser {
	return &browser{t: t, tab: b.tab}
}

// chromium finds the browser. Without one, the browser tests fail in CI
// (CI is set: .ci/run installs Chromium, so its absence there is a defect)
// and are skipped elsewhere, saying how to install it, so that
// `go test ./...` works on a machine without a browser.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("SMSIM_CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/chromium"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "chromium is not installed: the dashboard's browser tests need it (Debian: apt-get install -y chromium; " +
		".ci/run installs it), or name a Chromium binary in SMSIM_CHROMIUM"
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1440, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, tab: &tab{ctx: ctx}}
	console := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	go func() {
		for d, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, d.Type.String()+": "+d.Message)
			b.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// eval answers the value of a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// within waits until a JavaScript expression is true in the page, for at
// most d of real time, and answers how long it took.
func (b *browser) within(d time.Duration, what, expr string) time.Duration {
	b.t.Helper()
	start := time.Now()
	for {
		if eval[bool](b, expr) {
			return time.Since(start)
		}
		if time.Since(start) > d {
			b.t.Fatalf("%s: not within %s (%s)", what, d, expr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clickNow clicks the element of selector in one step of the page's own,
// as soon as it is there: the page renders a phone's card again as events
// come, and chromedp.Click, which looks a node up and then clicks it, may
// find the node gone in between.
func (b *browser) clickNow(d time.Duration, what, selector string) {
	b.t.Helper()
	b.within(d, what, `(() => { const e = document.querySelector(`+js(selector)+`); if (!e) return false; e.click(); return true })()`)
}

// markerPrefix begins the text of the console messages and dialogs that
// the tests have the page write, to know that those before have arrived.
const markerPrefix = "smsim test marker "

// mark has the page write a marker with write (a JavaScript function of
// the marker's text), and waits until got (of the text) sees it: the
// browser sends its console messages, and its dialogs, in the order the
// page wrote them, so everything the page wrote before the marker has
// reached the test then.
func (b *browser) mark(what, write string, got func(text string) bool) {
	b.t.Helper()
	b.markers++
	text := markerPrefix + strconv.Itoa(b.markers)
	b.do(chromedp.Evaluate[chromedp.Void](`(` + write + `)(` + js(text) + `)`))
	deadline := time.Now().Add(5 * time.Second)
	for !got(text) {
		if time.Now().After(deadline) {
			b.t.Fatalf("the %s marker %q did not arrive within 5s", what, text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// problems answers the console's errors, warnings and exceptions.
func (b *browser) problems() []string {
	b.t.Helper()
	return b.problemsBut(func(chromedp.ConsoleMessage) bool { return false })
}

// problemsBut answers the console's errors, warnings and exceptions but
// those expected, of all the page wrote before it was asked (mark).
func (b *browser) problemsBut(expected func(chromedp.ConsoleMessage) bool) []string {
	b.t.Helper()
	b.mark("console", `(text) => console.info(text)`, func(text string) bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return slices.ContainsFunc(b.console, func(m chromedp.ConsoleMessage) bool { return m.Text == text })
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
			if !expected(m) {
				out = append(out, m.String()+" ("+m.URL+")")
			}
		}
	}
	return out
}

// alerts answers the dialogs the page opened before it was asked (mark),
// but the markers.
func (b *browser) alerts() []string {
	b.t.Helper()
	b.mark("dialog", `(text) => setTimeout(() => alert(text))`, func(text string) bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return slices.Contains(b.dialogs, "alert: "+text)
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, d := range b.dialogs {
		if !strings.HasPrefix(d, "alert: "+markerPrefix) {
			out = append(out, d)
		}
	}
	return out
}

// startWait bounds how long a page may take to start: loading, reading
// its namespace, opening its feed. No test measures that, and a loaded
// machine (several test binaries, Chromium, Redis on two cores) may take
// seconds.
const startWait = 20 * time.Second

// booted waits until the page has loaded the namespace it shows: the last
// thing it does then is to read the namespaces in use, and count the answer.
func (b *browser) booted() {
	b.t.Helper()
	b.within(startWait, "the page loaded", `Number(document.querySelector('#ns-list').dataset.answers) >= 1`)
}

// open loads the page and waits until its feed is live.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
	b.within(startWait, "the feed goes live", `document.querySelector('#feed-state').dataset.state === 'live'`)
}

// js quotes a string for a JavaScript expression.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func card(phone string) string {
	return fmt.Sprintf(`document.querySelector('.phone[data-phone=%s]')`, js(phone))
}

func TestDashboard(t *testing.T) {
	s := start(t)
	b := newBrowser(t)
	b.open(s.url + "/")

	t.Run("page loads without console errors", func(t *testing.T) {
		b := b.with(t)
		if got := eval[string](b, `document.title`); got != "smsim" {
			t.Errorf("title %q, want smsim", got)
		}
		b.booted()
		b.clockShows("the clock read", t0)
		if p := b.problems(); len(p) > 0 {
			t.Errorf("console:\n%s", strings.Join(p, "\n"))
		}
	})

	t.Run("a message appears in its phone within two seconds", func(t *testing.T) {
		b, s := b.with(t), s.with(t)
		const phone, body = "13000000001", "Your parcel code is 424242, pick it up today."
		sent := time.Now()
		s.send(phone, body)
		b.within(2*time.Second-time.Since(sent), "the message in the phone's inbox",
			card(phone)+`?.querySelector('.bubble .body')?.textContent === `+js(body))
		if got := eval[string](b, card(phone)+`.querySelector('.bubble mark').textContent`); got != "424242" {
			t.Errorf("the code picked out: %q, want 424242", got)
		}
		if got := eval[string](b, card(phone)+`.querySelector('.bubble .sender').textContent`); got != "95187" {
			t.Errorf("sender %q, want 95187", got)
		}
		if got := eval[string](b, card(phone)+`.querySelector('[data-tab=inbox]').textContent`); got != "Inbox 1" {
			t.Errorf("inbox tab %q, want Inbox 1", got)
		}
	})

	t.Run("a phone emptied through the API is emptied in the page", func(t *testing.T) {
		b, s := b.with(t), s.with(t)
		const phone = "13000000002"
		s.send(phone, "to be cleared")
		b.within(2*time.Second, "the message in the phone's inbox", card(phone)+`?.querySelector('[data-tab=inbox]')?.textContent === 'Inbox 1'`)
		s.check(s.c.ClearMessages(context.Background(), phone))
		b.within(2*time.Second, "the inbox emptied", card(phone)+`?.querySelector('[data-tab=inbox]')?.textContent === 'Inbox 0' && !`+card(phone)+`.querySelector('.bubble')`)
	})

	t.Run("toggling the spam filter in the page changes the phone's profile", func(t *testing.T) {
		b, s := b.with(t), s.with(t)
		const phone = "13000000001"
		b.clickNow(2*time.Second, "the spam filter's button", `.phone[data-phone="`+phone+`"] button[data-fault="spam_filter"]`)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if p := s.profile(phone); p.SpamFilter {
				if p.Service != "active" || !p.Reachable {
					t.Errorf("service %q: the toggle changed more than the spam filter", p.Service)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the profile's spam_filter is still false 10 s after the click")
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.within(time.Second, "the badge shows the spam filter on",
			card(phone)+`.querySelector('[data-fault=spam_filter]').getAttribute('aria-pressed') === 'true'`)
		// and back
		b.clickNow(2*time.Second, "the spam filter's button", `.phone[data-phone="`+phone+`"] button[data-fault="spam_filter"]`)
		b.within(2*time.Second, "the badge shows the spam filter off",
			card(phone)+`.querySelector('[data-fault=spam_filter]').getAttribute('aria-pressed') === 'false'`)
		if s.profile(phone).SpamFilter {
			t.Error("spam_filter still true after the second click")
		}
	})

	t.Run("a body of HTML shows as text", func(t *testing.T) {
		b, s := b.with(t), s.with(t)
		const phone, body = "13000000002", `<img src=x onerror=alert(1)>`
		s.send(phone, body)
		b.within(2*time.Second, "the message in the phone's inbox",
			card(phone)+`?.querySelector('.bubble .body')?.textContent === `+js(body))
		if n := eval[int](b, `document.querySelectorAll('#phones img, #orders img').length`); n != 0 {
			t.Errorf("%d img elements in the page: the body was parsed as HTML", n)
		}
		if a := b.alerts(); len(a) > 0 {
			t.Errorf("dialogs opened: %v", a)
		}
	})

	t.Run("advancing the clock from the page moves simulated time", func(t *testing.T) {
		b, s := b.with(t), s.with(t)
		before := eval[float64](b, `Number(document.querySelector('#clock-now').dataset.ms)`)
		if before != float64(t0.UnixMilli()) {
			t.Errorf("the page's clock reads %v, want %v (the paused clock)", before, t0.UnixMilli())
		}
		b.do(chromedp.Click(chromedp.ID("advance-1h")))
		b.within(2*time.Second, "the page's clock one hour on",
			fmt.Sprintf(`Number(document.querySelector('#clock-now').dataset.ms) === %d`, t0.Add(time.Hour).UnixMilli()))
		st, err := s.c.Clock(context.Background())
		s.check(err)
		if !st.Now.Equal(t0.Add(time.Hour)) {
			t.Errorf("the API's clock reads %s, want %s", st.Now, t0.Add(time.Hour))
		}
		if got := eval[string](b, `document.querySelector('#clock-now').textContent`); got != "2026-05-01 01:00:00" {
			t.Errorf("the page shows %q, want 2026-05-01 01:00:00", got)
		}
	})

	if p := b.problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
	if a := b.alerts(); len(a) > 0 {
		t.Errorf("dialogs opened: %v", a)
	}
}

// TestDashboardScreenshot fills a simulator with a few orders and phones in
// every state and takes a screenshot of the page: testdata/dashboard.png,
// the one the README shows, is rewritten with -update.
func TestDashboardScreenshot(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	_, err := s.c.PatchFaults(ctx, json.RawMessage(`{"sync_lag": {"model": "fixed", "value": "20m"}, "result_sync_lag": {"model": "fixed", "value": "2m"}}`))
	s.check(err)
	s.setProfile("13800000003", func(p *client.PhoneProfile) { p.SpamFilter = true })
	s.setProfile("13800000004", func(p *client.PhoneProfile) { p.Service = "suspended" })
	a := s.submit(client.SubmitRequest{Type: "first_filing", Variant: "website",
		EntityLeader: with(liLei, "13800000001"), WebsiteAdmin: with(hanMeimei, "13800000002")})
	s.submit(client.SubmitRequest{Type: "modify", Variant: "entity", EntityLeader: with(liLei, "13800000003")})
	s.submit(client.SubmitRequest{Type: "first_filing", Variant: "website",
		EntityLeader: with(liLei, "13800000005"), WebsiteAdmin: with(hanMeimei, "13800000004")})
	c := s.submit(client.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: with(hanMeimei, "13800000006")})
	s.advance(30 * time.Minute)
	s.validate(with(liLei, "13800000001"), "")
	s.validate(with(hanMeimei, "13800000002"), "000000")
	s.validate(with(hanMeimei, "13800000006"), "")
	_, err = s.c.ResendPerson(ctx, *with(liLei, "13800000005"))
	s.check(err)
	s.send("13800000002", `<img src=x onerror=alert(1)>`)
	s.submit(client.SubmitRequest{Type: "add_service", Variant: "website",
		EntityLeader: with(liLei, "13900000007"), WebsiteAdmin: with(hanMeimei, "13900000008")})
	s.advance(5 * time.Minute)

	b := newBrowser(t)
	b.open(s.url + "/")
	b.within(5*time.Second, "the orders in the table", `document.querySelectorAll('#orders tbody tr').length === 5`)
	b.within(5*time.Second, "the phones' messages",
		card("13800000002")+`?.querySelectorAll('.bubble').length >= 3 && !document.querySelector('#phones').textContent.includes('Loading')`)
	if got := eval[string](b, `document.querySelector('tr[data-order=`+js(a)+`]').dataset.status`); got != "pending_validation" {
		t.Errorf("order %s shows %s, want pending_validation", a, got)
	}
	if got := eval[string](b, `document.querySelector('tr[data-order=`+js(c)+`]').dataset.status`); got != "under_review" {
		t.Errorf("order %s shows %s, want under_review", c, got)
	}
	if got := eval[string](b, card("13800000002")+`.querySelector('.bubble:last-child .body').textContent`); got != `<img src=x onerror=alert(1)>` {
		t.Errorf("the last message of 13800000002 shows %q", got)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	if w := img.Bounds().Dx(); w != 1440 {
		t.Errorf("screenshot %d pixels wide, want 1440", w)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "dashboard.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", "dashboard.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p := b.problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
	if a := b.alerts(); len(a) > 0 {
		t.Errorf("dialogs opened: %v", a)
	}
}

// A page opened after messages failed shows them on their phone's card,
// with why, and those still on their way: from the event log, which no
// folder listing shows.
func TestDashboardShowsFailuresFromBeforeItOpened(t *testing.T) {
	s := start(t)
	s.send("19900000001", "first") // the magic number whose line is suspended
	s.send("19900000001", "second")
	ctx := context.Background()
	_, err := s.c.PatchFaults(ctx, map[string]any{"sms_delay": map[string]string{"min": "1h", "max": "1h"}})
	s.check(err)
	s.send("13000000007", "on its way")
	b := newBrowser(t)
	b.open(s.url + "/")
	b.booted()
	b.within(2*time.Second, "the failures on the card", card("19900000001")+`?.querySelector('.failed')?.textContent === '2 failed: suspended'`)
	if got := eval[string](b, card("19900000001")+`.querySelector('.sub')?.textContent || ''`); got != "No messages." {
		t.Errorf("the suspended phone's inbox reads %q, want No messages.", got)
	}
	b.within(2*time.Second, "the message on its way", card("13000000007")+`?.querySelector('.pending')?.textContent === '1 on the way'`)
	// once it arrives, it is in the inbox and no longer on its way
	s.advance(time.Hour)
	b.within(2*time.Second, "the message delivered", card("13000000007")+`?.querySelector('.bubble .body')?.textContent === 'on its way' && !`+card("13000000007")+`.querySelector('.pending')`)
	if p := b.problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// The orders table, drawn again every second for the time left, keeps its
// rows while they show the same order: a text selected in one (an order's
// id, to copy it) stays selected as the time left counts down.
func TestDashboardOrdersKeepTheirRows(t *testing.T) {
	s := start(t)
	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	id := s.submit(client.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: &leader})
	s.advance(time.Hour) // synced: its window runs
	_, err := s.c.Resume(context.Background(), 3600)
	s.check(err)
	b := newBrowser(t)
	b.open(s.url + "/")
	b.booted()
	row := `document.querySelector('tr[data-order=` + js(id) + `]')`
	b.within(2*time.Second, "the order, its window running", row+`?.querySelector('.left') !== null`)
	eval[bool](b, `(() => { const r = `+row+`; r.dataset.testMark = 'kept';
		const sel = getSelection(); sel.removeAllRanges(); const range = document.createRange();
		range.selectNodeContents(r.querySelector('.id')); sel.addRange(range); return true })()`)
	left := eval[string](b, row+`.querySelector('.left').textContent`)
	b.within(3*time.Second, "the time left counting down", row+`.querySelector('.left').textContent !== `+js(left))
	if got := eval[string](b, row+`.dataset.testMark || ''`); got != "kept" {
		t.Fatalf("the row of the order was drawn anew as the time left ticked")
	}
	if got := eval[string](b, `getSelection().toString()`); got != id {
		t.Fatalf("the selection reads %q once the time left ticked, want the order's id %q", got, id)
	}
	if p := b.problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// connect answers a client of the simulator at url.
func connect(t *testing.T, url string) *client.Client {
	t.Helper()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDashboardReconnects restarts the server under the page: the page
// reconnects by itself and catches up on an event logged while it was
// away.
func TestDashboardReconnects(t *testing.T) {
	r := testkit.StartRedis(t)
	seed := int64(5)
	newServer := func() *simulator.World {
		world, err := simulator.New(context.Background(), simulator.Config{Redis: r.Client(t), KeyPrefix: r.Prefix, Seed: &seed,
			ClockStart: core.ClockStart{At: t0, Paused: true}})
		if err != nil {
			t.Fatal(err)
		}
		if err := world.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return world
	}
	serve := func(world *simulator.World, addr string) (*http.Server, string) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: server.New(world, server.Config{}).Routes()}
		go hs.Serve(ln)
		return hs, ln.Addr().String()
	}
	first := newServer()
	hs, addr := serve(first, "127.0.0.1:0")
	s := &smsim{t: t, url: "http://" + addr, c: connect(t, "http://"+addr)}
	s.send("13000000003", "before the restart")

	b := newBrowser(t)
	b.open(s.url + "/")
	b.within(2*time.Second, "the first message", card("13000000003")+`?.querySelector('.bubble .body')?.textContent === "before the restart"`)

	// The process stops; another starts on the same store. Before it
	// listens, a message is sent: the page can only learn of it by
	// catching up.
	hs.Close()
	first.Stop()
	b.within(5*time.Second, "the page sees the server gone", `document.querySelector('#feed-state').dataset.state === 'reconnecting'`)
	second := newServer()
	defer second.Stop()
	side := httptest.NewServer(server.New(second, server.Config{}).Routes())
	defer side.Close()
	(&smsim{t: t, url: side.URL, c: connect(t, side.URL)}).send("13000000003", "while the page was away")
	hs2, _ := serve(second, addr)
	defer hs2.Close()

	b.within(5*time.Second, "the page live again", `document.querySelector('#feed-state').dataset.state === 'live'`)
	b.within(2*time.Second, "the message sent while the page was away",
		card("13000000003")+`?.querySelectorAll('.bubble').length === 2`)
	if got := eval[string](b, card("13000000003")+`.querySelector('.bubble:last-child .body').textContent`); got != "while the page was away" {
		t.Errorf("last message %q", got)
	}
	s.send("13000000003", "after the restart")
	b.within(2*time.Second, "a message after the restart", card("13000000003")+`?.querySelectorAll('.bubble').length === 3`)
}

// TestDashboardManyPhones: with 2,000 phones the page holds only the
// cards in view, scrolls to the last one and searches by number.
func TestDashboardManyPhones(t *testing.T) {
	s := start(t)
	phones := map[string]json.RawMessage{}
	for i := range 2000 {
		phones[fmt.Sprintf("137%08d", i)] = json.RawMessage(`{}`)
	}
	phones["13700001999"] = json.RawMessage(`{"reachable": false}`)
	_, err := s.c.ApplyScenario(context.Background(), client.Scenario{Name: "many_phones", Phones: phones})
	s.check(err)

	b := newBrowser(t)
	b.open(s.url + "/")
	b.within(5*time.Second, "the count of phones", `document.querySelector('#phones-count').textContent === '2,000'`)
	if n := eval[int](b, `document.querySelectorAll('.phone').length`); n == 0 || n > 60 {
		t.Errorf("%d phone cards in the page, want only those in view (a few dozen at most)", n)
	}
	took := eval[float64](b, `(() => {
		const el = document.querySelector('#phones');
		const t = performance.now();
		el.scrollTop = el.scrollHeight;
		el.dispatchEvent(new Event('scroll'));
		return performance.now() - t;
	})()`)
	b.within(2*time.Second, "the last phone in view", card("13700001999")+` !== null`)
	if n := eval[int](b, `document.querySelectorAll('.phone').length`); n > 60 {
		t.Errorf("%d phone cards after scrolling, want only those in view", n)
	}
	if took > 100 {
		t.Errorf("scrolling to the end took %.0f ms", took)
	}
	b.within(2*time.Second, "the unreachable badge",
		card("13700001999")+`.querySelector('[data-fault=unreachable]').getAttribute('aria-pressed') === 'true'`)
	b.do(chromedp.SendKeys(chromedp.ID("phone-search"), "1370000198"))
	b.within(2*time.Second, "the search's phones", `document.querySelector('#phones-count').textContent === '10 of 2,000'`)
	if got := eval[[]string](b, `[...document.querySelectorAll('.phone')].map((c) => c.dataset.phone).sort()`); len(got) == 0 || len(got) > 10 || got[0] != "13700001980" {
		t.Errorf("cards for the search 1370000198: %v, want the first of 13700001980 to 13700001989", got)
	} else {
		for _, p := range got {
			if !strings.HasPrefix(p, "1370000198") {
				t.Errorf("card %s does not match the search", p)
			}
		}
	}
}
