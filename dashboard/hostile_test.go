package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smsim/simulator/client"
)

// hostilePage is a page of another site that tries to drive the smsim at
// %[1]s from the visitor's browser: a text/plain form that resets it,
// no-cors fetches — bodies without a Content-Type — that submit a filing,
// advance the clock 48 h and register a webhook aimed at smsim's own reset,
// a CORS fetch that says JSON (its preflight must fail), and a websocket to
// the event log. window.settled is true once every attempt has ended.
const hostilePage = `<!doctype html>
<html><body>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="%[1]s/admin/v1/reset">
<input name='{"a":"' value='"}'>
</form>
<script>
const smsim = %[2]q;
const filing = {type: "first_filing", variant: "app",
  entity_leader: {name: "Mallory", phone: "13900000666", certificate_number: "110101199003071234"}};
const formSent = new Promise(ok => { document.getElementById('sink').onload = ok; });
document.getElementById('f').submit();
const noCors = (path, body) => fetch(smsim + path, {method: 'POST', mode: 'no-cors', body: JSON.stringify(body)}).catch(() => {});
const socket = new Promise(ok => {
  const ws = new WebSocket(smsim.replace('http', 'ws') + '/ws/events');
  ws.onopen = () => { window.socketOpened = true; ws.close(); ok(); };
  ws.onerror = () => ok();
});
Promise.all([
  formSent,
  noCors('/provider/v1/filings', filing),
  noCors('/admin/v1/clock/advance', {by: '48h'}),
  noCors('/admin/v1/webhooks', {url: smsim + '/admin/v1/reset'}),
  fetch(smsim + '/admin/v1/reset', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}).catch(() => {}),
  socket,
]).then(() => { window.settled = true; });
</script>
</body></html>`

// A page of another origin, in a real Chromium, changes nothing in a
// running smsim: the filing is still there, no other came, the clock has
// not moved, no webhook is registered, the event log has not grown; and
// each attempt reached smsim and was refused by its guard.
func TestHostilePageChangesNothing(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	id := s.submit(client.SubmitRequest{Type: "first_filing", Variant: "website",
		EntityLeader: with(liLei, "13800000001"), WebsiteAdmin: with(hanMeimei, "13800000002")})
	before, err := s.c.Events(ctx, client.EventOptions{Limit: 1000})
	s.check(err)
	refusedBefore := refused(t, s.url)

	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostilePage, s.url, s.url)
	}))
	defer hostile.Close()

	b := newBrowser(t)
	b.do(chromedp.Navigate(hostile.URL))
	b.within(20*time.Second, "the hostile page's attempts", `window.settled === true`)
	if eval[bool](b, `window.socketOpened === true`) {
		t.Error("the hostile page opened a websocket to the event log")
	}

	clock, err := s.c.Clock(ctx)
	s.check(err)
	if !clock.Now.Equal(t0) {
		t.Errorf("clock %s, want %s: the hostile page moved it", clock.Now, t0)
	}
	list, err := s.c.Filings(ctx, client.ListOptions{})
	s.check(err)
	if list.Total != 1 || list.Filings[0].ID != id {
		t.Errorf("filings %+v, want only %s: the hostile page reset smsim or filed one", list.Filings, id)
	}
	hooks, err := s.c.Webhooks(ctx)
	s.check(err)
	if len(hooks) != 0 {
		t.Errorf("webhooks %+v, want none", hooks)
	}
	after, err := s.c.Events(ctx, client.EventOptions{Limit: 1000})
	s.check(err)
	if len(after.Events) != len(before.Events) || after.Last != before.Last {
		t.Errorf("%d events up to %s, want the %d of before, up to %s", len(after.Events), after.Last, len(before.Events), before.Last)
	}
	// the form, the three no-cors fetches, the CORS preflight and the
	// websocket handshake each reached smsim and were refused for their
	// Origin: a test whose requests never left the browser would prove
	// nothing
	if got := refused(t, s.url) - refusedBefore; got < 6 {
		t.Errorf("smsim refused %v requests of the hostile page for their origin, want at least 6", got)
	}
}

var refusedOrigin = regexp.MustCompile(`(?m)^smsim_http_refused_total\{reason="origin"\} ([0-9.e+]+)$`)

// refused answers how many requests smsim refused for their Origin.
func refused(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := refusedOrigin.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no smsim_http_refused_total{reason=\"origin\"} in /metrics")
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
