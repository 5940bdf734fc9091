package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
	"smsim/simulator/server"
)

// Phones used by the tests of this file.
const (
	phoneA = "13800000001"
	phoneB = "13900000002"
)

// Senders: MIIT's long form, 106 + ten digits + 12381, and a number like it
// with nine digits, which is not MIIT's.
const (
	longMIIT      = "106" + "1234567890" + "12381"
	notMIITSender = "106" + "123456789" + "12381"
)

// gwMessage is a message as GET /gateway/v1/messages/{id} shows it.
type gwMessage struct {
	ID          string     `json:"id"`
	Phone       string     `json:"phone"`
	Sender      string     `json:"sender"`
	Body        string     `json:"body"`
	Code        string     `json:"code"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	Folder      string     `json:"folder"`
	SentAt      time.Time  `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

// jsonKeys answers the top-level keys of a JSON object, sorted.
func jsonKeys(t testing.TB, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s: %v", b, err)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wantJSON checks that got is the same JSON value as want.
func wantJSON(t testing.TB, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: not JSON: %s: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %s: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

// gwSend posts a message to the gateway, checks the 202 answer
// {"id","status":"queued"} and answers the id.
func (in *instance) gwSend(from, to, body string) string {
	in.t.Helper()
	code, b := in.do("POST", "/gateway/v1/messages", map[string]string{"from": from, "to": to, "body": body})
	if code != http.StatusAccepted {
		in.t.Fatalf("POST /gateway/v1/messages: status %d, want 202; body %s", code, b)
	}
	if keys := jsonKeys(in.t, b); !reflect.DeepEqual(keys, []string{"id", "status"}) {
		in.t.Fatalf("POST /gateway/v1/messages answered keys %v, want [id status]: %s", keys, b)
	}
	var r struct{ ID, Status string }
	if err := json.Unmarshal(b, &r); err != nil {
		in.t.Fatal(err)
	}
	if !strings.HasPrefix(r.ID, "m_") || r.Status != "queued" {
		in.t.Fatalf("POST /gateway/v1/messages = %s, want an id m_… and status queued", b)
	}
	return r.ID
}

// gwGet reads a message from the gateway, with the keys its JSON holds.
func (in *instance) gwGet(id string) (gwMessage, []string) {
	in.t.Helper()
	code, b := in.do("GET", "/gateway/v1/messages/"+id, nil)
	if code != http.StatusOK {
		in.t.Fatalf("GET /gateway/v1/messages/%s: status %d; body %s", id, code, b)
	}
	var m gwMessage
	if err := json.Unmarshal(b, &m); err != nil {
		in.t.Fatalf("decode %s: %v", b, err)
	}
	return m, jsonKeys(in.t, b)
}

// wantGw checks a message as the gateway shows it, and the exact keys of
// its JSON.
func (in *instance) wantGw(id string, want gwMessage, keys ...string) {
	in.t.Helper()
	got, gotKeys := in.gwGet(id)
	keys = append(slices.Clone(keys), "trail") // every gateway message explains itself
	slices.Sort(keys)
	if !reflect.DeepEqual(got, want) {
		in.t.Fatalf("message %s = %+v, want %+v", id, got, want)
	}
	if !reflect.DeepEqual(gotKeys, keys) {
		in.t.Fatalf("message %s has keys %v, want %v", id, gotKeys, keys)
	}
}

// Keys of a gateway message in each state.
var (
	keysQueued    = []string{"id", "phone", "sender", "body", "status", "sent_at"}
	keysDelivered = []string{"id", "phone", "sender", "body", "status", "folder", "sent_at", "delivered_at"}
	keysFailed    = []string{"id", "phone", "sender", "body", "status", "reason", "sent_at"}
)

func withCode(keys []string) []string { return append(slices.Clone(keys), "code") }

// folderRaw reads a folder's messages with the keys of each.
func (in *instance) folderRaw(phone, folder string) ([]message, [][]string) {
	in.t.Helper()
	code, b := in.do("GET", "/phones/v1/"+phone+"/messages?folder="+folder, nil)
	if code != http.StatusOK {
		in.t.Fatalf("GET messages of %s: status %d; body %s", phone, code, b)
	}
	var raw struct{ Messages []json.RawMessage }
	if keys := jsonKeys(in.t, b); !reflect.DeepEqual(keys, []string{"messages"}) {
		in.t.Fatalf("folder answer has keys %v, want [messages]: %s", keys, b)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		in.t.Fatal(err)
	}
	if raw.Messages == nil {
		in.t.Fatalf("folder answer %s: messages must be an array", b)
	}
	var ms []message
	var keys [][]string
	for _, r := range raw.Messages {
		var m message
		if err := json.Unmarshal(r, &m); err != nil {
			in.t.Fatal(err)
		}
		ms = append(ms, m)
		keys = append(keys, jsonKeys(in.t, r))
	}
	return ms, keys
}

func ids(ms []message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func (in *instance) wantFolder(phone, folder string, want ...string) {
	in.t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := ids(in.folder(phone, folder)); !reflect.DeepEqual(got, want) {
		in.t.Fatalf("%s of %s holds %v, want %v", folder, phone, got, want)
	}
}

// phoneMsgKeys are the keys of a message as a phone shows it, code aside.
var phoneMsgKeys = []string{"id", "phone", "sender", "body", "folder", "sent_at", "delivered_at"}

func TestGatewaySendDeliversAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.advance("1h").Now // a now that is not the start
	if !now.Equal(t0.Add(time.Hour)) {
		t.Fatalf("now = %v, want %v", now, t0.Add(time.Hour))
	}
	cases := []struct {
		body, code string
	}{
		{"Your verification code is 123456.", "123456"},
		{"123456", "123456"},
		{"【工信部】您的验证码为654321，请勿泄露。", "654321"},
		{"code:112233, valid 24h", "112233"},
		{"order f_123456ab submitted", ""},
		{"ticket 1234567 open", ""},
		{"ref abc123456 and 12345", ""},
		{"no digits at all", ""},
	}
	var sent []string
	for _, c := range cases {
		id := e.gwSend("95187", phoneA, c.body)
		sent = append(sent, id)
		want := gwMessage{ID: id, Phone: phoneA, Sender: "95187", Body: c.body, Code: c.code,
			Status: "delivered", Folder: "inbox", SentAt: now, DeliveredAt: &now}
		keys := keysDelivered
		if c.code != "" {
			keys = withCode(keys)
		}
		e.wantGw(id, want, keys...)
	}
	ms, keys := e.folderRaw(phoneA, "inbox")
	if got := ids(ms); !reflect.DeepEqual(got, sent) {
		t.Fatalf("inbox = %v, want %v in delivery order", got, sent)
	}
	for i, c := range cases {
		want := message{ID: sent[i], Phone: phoneA, Sender: "95187", Body: c.body, Code: c.code,
			Folder: "inbox", SentAt: now, DeliveredAt: &now}
		if !reflect.DeepEqual(ms[i], want) {
			t.Errorf("inbox[%d] = %+v, want %+v", i, ms[i], want)
		}
		wantKeys := slices.Clone(phoneMsgKeys)
		if c.code != "" {
			wantKeys = append(wantKeys, "code")
		}
		slices.Sort(wantKeys)
		if !reflect.DeepEqual(keys[i], wantKeys) {
			t.Errorf("inbox[%d] (%q) has keys %v, want %v", i, c.body, keys[i], wantKeys)
		}
	}
	e.wantFolder(phoneA, "blocked")
	e.wantFolder(phoneB, "inbox")
}

func TestGatewaySMSDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.patchFaults(`{"sms_delay":{"min":"10m","max":"10m"}}`)
	id := e.gwSend("95187", phoneA, "delayed 246810")
	queued := gwMessage{ID: id, Phone: phoneA, Sender: "95187", Body: "delayed 246810", Code: "246810",
		Status: "queued", SentAt: t0}
	e.wantGw(id, queued, withCode(keysQueued)...)
	e.wantFolder(phoneA, "inbox")

	if st := e.advance("9m59s"); !st.Now.Equal(t0.Add(9*time.Minute + 59*time.Second)) {
		t.Fatalf("clock after 9m59s = %v", st.Now)
	}
	e.wantGw(id, queued, withCode(keysQueued)...)
	e.wantFolder(phoneA, "inbox")
	e.wantFolder(phoneA, "blocked")

	e.advance("1s")
	at := t0.Add(10 * time.Minute)
	e.wantGw(id, gwMessage{ID: id, Phone: phoneA, Sender: "95187", Body: "delayed 246810", Code: "246810",
		Status: "delivered", Folder: "inbox", SentAt: t0, DeliveredAt: &at}, withCode(keysDelivered)...)
	in := e.inbox(phoneA)
	if len(in) != 1 || in[0].ID != id || !in[0].SentAt.Equal(t0) || in[0].DeliveredAt == nil || !in[0].DeliveredAt.Equal(at) {
		t.Fatalf("inbox = %+v, want %s delivered at %v", in, id, at)
	}
}

const defaultProfile = `{"spam_filter":false,"service":"active","reachable":true}`

func (in *instance) wantProfile(phone, want string) {
	in.t.Helper()
	code, b := in.do("GET", "/phones/v1/"+phone+"/profile", nil)
	if code != http.StatusOK {
		in.t.Fatalf("GET profile of %s: status %d; body %s", phone, code, b)
	}
	wantJSON(in.t, "profile of "+phone, b, fullProfile(want))
}

// fullProfile completes a profile written with only some fields with the
// start values of the rest.
func fullProfile(p string) string {
	m := map[string]any{}
	if err := json.Unmarshal([]byte(p), &m); err != nil {
		return p
	}
	for k, v := range map[string]any{
		"spam_filter": false, "service": "active", "reachable": true,
		"delay":       map[string]any{"model": "fixed", "value": "0s"},
		"inbox_limit": 0, "block_senders": []any{}, "block_keywords": []any{}, "duplicate_rate": 0,
	} {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (in *instance) putProfile(phone, p string) {
	in.t.Helper()
	code, b := in.do("PUT", "/phones/v1/"+phone+"/profile", p)
	if code != http.StatusOK {
		in.t.Fatalf("PUT profile %s of %s: status %d; body %s", p, phone, code, b)
	}
}

func TestPhoneProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.wantProfile(phoneA, defaultProfile)

	// PUT replaces the whole profile: an omitted field takes its start value.
	code, b := e.do("PUT", "/phones/v1/"+phoneA+"/profile", `{"spam_filter":true}`)
	if code != 200 {
		t.Fatalf("PUT profile: %d %s", code, b)
	}
	wantJSON(t, "PUT answer", b, fullProfile(`{"spam_filter":true,"service":"active","reachable":true}`))
	e.wantProfile(phoneA, `{"spam_filter":true,"service":"active","reachable":true}`)
	e.putProfile(phoneA, `{"reachable":false}`)
	e.wantProfile(phoneA, `{"spam_filter":false,"service":"active","reachable":false}`)
	e.putProfile(phoneA, `{"spam_filter":true,"service":"suspended","reachable":false}`)
	e.wantProfile(phoneA, `{"spam_filter":true,"service":"suspended","reachable":false}`)
	e.wantProfile(phoneB, defaultProfile) // another phone keeps its own

	// Bad profiles are refused and change nothing.
	for _, c := range []struct{ body, field string }{
		{`{"service":"x"}`, "service"},
		{`{"service":""}`, "service"},
		{`{"spam_filter":false,"volume":3}`, "volume"},
		{`{"reachable":"yes"}`, "reachable"},
		{`{"spam_filter":1}`, "spam_filter"},
		{`[]`, "body"},
		{``, "body"},
		{`{"spam_filter":true} {}`, "body"},
		{`null`, "body"}, // not an object: no profile at all, not the start one
	} {
		resp, body := rawRequest(t, "PUT", e.url+"/phones/v1/"+phoneA+"/profile", "application/json", c.body, nil)
		wantProblem(t, "PUT profile "+c.body, resp, body, 400, c.field)
		e.wantProfile(phoneA, `{"spam_filter":true,"service":"suspended","reachable":false}`)
	}
}

func TestPhoneProfileRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// spam_filter: MIIT's senders go to blocked, others to the inbox.
	e.putProfile(phoneA, `{"spam_filter":true}`)
	miit1 := e.gwSend("12381", phoneA, "code 111111")
	miit2 := e.gwSend(longMIIT, phoneA, "code 222222")
	other := e.gwSend("95187", phoneA, "code 333333")
	notMIIT := e.gwSend(notMIITSender, phoneA, "nine digits 444444")
	for _, c := range []struct{ id, sender, body, code string }{
		{miit1, "12381", "code 111111", "111111"}, {miit2, longMIIT, "code 222222", "222222"},
	} {
		e.wantGw(c.id, gwMessage{ID: c.id, Phone: phoneA, Sender: c.sender, Body: c.body, Code: c.code,
			Status: "blocked", Folder: "blocked", SentAt: t0, DeliveredAt: &t0}, withCode(keysDelivered)...)
	}
	e.wantGw(other, gwMessage{ID: other, Phone: phoneA, Sender: "95187", Body: "code 333333", Code: "333333",
		Status: "delivered", Folder: "inbox", SentAt: t0, DeliveredAt: &t0}, withCode(keysDelivered)...)
	e.wantFolder(phoneA, "blocked", miit1, miit2)
	e.wantFolder(phoneA, "inbox", other, notMIIT)
	bl := e.folder(phoneA, "blocked")
	if bl[0].Folder != "blocked" || bl[0].Sender != "12381" || bl[0].Code != "111111" || bl[1].Sender != longMIIT {
		t.Fatalf("blocked folder = %+v", bl)
	}

	// suspended: fails, lands in no folder.
	e.putProfile(phoneB, `{"service":"suspended"}`)
	susp := e.gwSend("12381", phoneB, "code 555555")
	e.wantGw(susp, gwMessage{ID: susp, Phone: phoneB, Sender: "12381", Body: "code 555555", Code: "555555",
		Status: "failed", Reason: "suspended", SentAt: t0}, withCode(keysFailed)...)
	// unreachable
	e.putProfile(phoneB, `{"reachable":false}`)
	unr := e.gwSend("95187", phoneB, "hello")
	e.wantGw(unr, gwMessage{ID: unr, Phone: phoneB, Sender: "95187", Body: "hello",
		Status: "failed", Reason: "unreachable", SentAt: t0}, keysFailed...)
	// the line comes first: suspended and unreachable is suspended
	e.putProfile(phoneB, `{"service":"suspended","reachable":false}`)
	both := e.gwSend("95187", phoneB, "hello again")
	if m, _ := e.gwGet(both); m.Status != "failed" || m.Reason != "suspended" {
		t.Fatalf("suspended and unreachable: %+v, want failed/suspended", m)
	}
	e.wantFolder(phoneB, "inbox")
	e.wantFolder(phoneB, "blocked")

	// drop_rate 1: every message is lost.
	const phoneC, phoneD = "15000000003", "15100000004"
	e.patchFaults(`{"drop_rate":1}`)
	drop := e.gwSend("95187", phoneC, "lost")
	e.wantGw(drop, gwMessage{ID: drop, Phone: phoneC, Sender: "95187", Body: "lost",
		Status: "failed", Reason: "dropped", SentAt: t0}, keysFailed...)
	e.wantFolder(phoneC, "inbox")
	e.wantFolder(phoneC, "blocked")

	// spam_block_rate 1: every sender is blocked.
	e.patchFaults(`{"drop_rate":0,"spam_block_rate":1}`)
	spam := e.gwSend("95187", phoneD, "any sender")
	e.wantGw(spam, gwMessage{ID: spam, Phone: phoneD, Sender: "95187", Body: "any sender",
		Status: "blocked", Folder: "blocked", SentAt: t0, DeliveredAt: &t0}, keysDelivered...)
	e.wantFolder(phoneD, "blocked", spam)
	e.wantFolder(phoneD, "inbox")
}

func TestPhoneClearMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.putProfile(phoneA, `{"spam_filter":true}`)
	in1 := e.gwSend("95187", phoneA, "one")
	bl1 := e.gwSend("12381", phoneA, "two 123456")
	other := e.gwSend("95187", phoneB, "other phone")
	e.wantFolder(phoneA, "inbox", in1)
	e.wantFolder(phoneA, "blocked", bl1)

	code, b := e.do("DELETE", "/phones/v1/"+phoneA+"/messages", nil)
	if code != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("DELETE messages: %d %q, want 204 and no body", code, b)
	}
	e.wantFolder(phoneA, "inbox")
	e.wantFolder(phoneA, "blocked")
	e.wantFolder(phoneB, "inbox", other)
	e.wantProfile(phoneA, `{"spam_filter":true,"service":"active","reachable":true}`)
	// new deliveries land in the emptied folders
	in2 := e.gwSend("95187", phoneA, "three")
	e.wantFolder(phoneA, "inbox", in2)
	// emptying empty folders is fine
	if code, b := e.do("DELETE", "/phones/v1/"+phoneB+"/messages", nil); code != 204 {
		t.Fatalf("DELETE: %d %s", code, b)
	}
	if code, b := e.do("DELETE", "/phones/v1/"+phoneB+"/messages", nil); code != 204 {
		t.Fatalf("DELETE again: %d %s", code, b)
	}
	e.wantFolder(phoneB, "inbox")
}

// polled is the answer of a request made from another goroutine.
type polled struct {
	code int
	body []byte
	err  error
	took time.Duration
	wait string // X-Smsim-Wait of a 204
}

// goGet sends a GET from another goroutine; the answer arrives on the
// channel.
func (in *instance) goGet(path string) <-chan polled {
	ch := make(chan polled, 1)
	u := in.url + path
	ns := in.ns
	go func() {
		start := time.Now()
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			ch <- polled{err: err}
			return
		}
		if ns != "" {
			req.Header.Set(server.NamespaceHeader, ns)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- polled{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- polled{code: resp.StatusCode, body: b, err: err, took: time.Since(start), wait: resp.Header.Get(server.WaitHeader)}
	}()
	return ch
}

// await waits (real time) for an answer from goGet.
func await(t testing.TB, ch <-chan polled, limit time.Duration) polled {
	t.Helper()
	select {
	case p := <-ch:
		if p.err != nil {
			t.Fatalf("request failed: %v", p.err)
		}
		return p
	case <-time.After(limit):
		t.Fatalf("no answer within %v", limit)
	}
	panic("unreachable")
}

// notYet checks that a long poll sent to in waits there: it waits until
// the instance counts it among its long polls (smsim_long_polls: it
// watches for deliveries from then on), and checks that it has not
// answered.
func notYet(t testing.TB, in *instance, ch <-chan polled, what string) {
	t.Helper()
	testkit.WaitFor(t, what+": the poll waiting on the server", func() bool { return in.gauge("smsim_long_polls") == 1 })
	select {
	case p := <-ch:
		t.Fatalf("%s: answered %d %s (err %v) while it should still wait", what, p.code, p.body, p.err)
	default:
	}
}

// polledMessage checks a 200 answer of a long poll and decodes it.
func polledMessage(t testing.TB, p polled) message {
	t.Helper()
	if p.code != http.StatusOK {
		t.Fatalf("long poll: status %d, want 200; body %s", p.code, p.body)
	}
	var m message
	if err := json.Unmarshal(p.body, &m); err != nil {
		t.Fatalf("long poll: decode %s: %v", p.body, err)
	}
	return m
}

// next runs a long poll in the test goroutine.
func (in *instance) next(phone, query string) polled {
	in.t.Helper()
	return await(in.t, in.goGet("/phones/v1/"+phone+"/messages/next?"+query), 30*time.Second)
}

func (in *instance) wantNext(phone, query, id string) message {
	in.t.Helper()
	p := in.next(phone, query)
	m := polledMessage(in.t, p)
	if m.ID != id {
		in.t.Fatalf("next?%s = %s (%q from %s), want %s", query, m.ID, m.Body, m.Sender, id)
	}
	return m
}

func (in *instance) wantNoNext(phone, query string, timeout time.Duration) {
	in.t.Helper()
	p := in.next(phone, query)
	if p.code != http.StatusNoContent || len(p.body) != 0 {
		in.t.Fatalf("next?%s: %d %s, want 204 and no body", query, p.code, p.body)
	}
	if p.took < timeout {
		in.t.Fatalf("next?%s answered 204 after %v, before its timeout %v", query, p.took, timeout)
	}
}

// sendUntilAnswered sends messages from sender to phone through in, one at
// a time, until the long poll ch answers; it answers the poll's answer and
// the ids sent. It is for a poll that waits for the next delivery after
// the call: the first message may reach the phone before the server has
// taken the call, so more are sent until one is seen.
func (in *instance) sendUntilAnswered(ch <-chan polled, sender, phone, body string) (polled, []string) {
	in.t.Helper()
	var sent []string
	for range 5 {
		sent = append(sent, in.gwSend(sender, phone, body))
		select {
		case p := <-ch:
			if p.err != nil {
				in.t.Fatalf("long poll failed: %v", p.err)
			}
			return p, sent
		case <-time.After(2 * time.Second):
		}
	}
	in.t.Fatalf("the long poll did not answer after %d deliveries", len(sent))
	return polled{}, nil
}

// onItsWay sends phone a message that stays on its way (its sender's
// delay is a thousand hours), so that a long poll on the paused clock
// waits instead of answering that nothing is on its way.
func (in *instance) onItsWay(phone string) string {
	in.t.Helper()
	in.patchFaults(`{"sender_delays":{"10009":{"model":"fixed","value":"1000h"}}}`)
	return in.gwSend("10009", phone, "on its way")
}

func TestLongPollNext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.onItsWay(phoneA)
	base := "/phones/v1/" + phoneA + "/messages/next?"

	// after=start on an empty inbox waits for the first delivery.
	ch := e.goGet(base + "after=start&timeout=20s")
	notYet(t, e.instance, ch, "after=start on an empty inbox")
	m1 := e.gwSend("95187", phoneA, "first 123456")
	got := polledMessage(t, await(t, ch, 20*time.Second))
	want := message{ID: m1, Phone: phoneA, Sender: "95187", Body: "first 123456", Code: "123456",
		Folder: "inbox", SentAt: t0, DeliveredAt: &t0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("next = %+v, want %+v", got, want)
	}

	m2 := e.gwSend("95187", phoneA, "second")
	// a blocked message is not in the inbox and is never answered
	e.patchFaults(`{"spam_block_rate":1}`)
	blocked := e.gwSend("95187", phoneA, "blocked")
	e.patchFaults(`{"spam_block_rate":0}`)
	m3 := e.gwSend("95187", phoneA, "third")

	// after=start answers the first inbox message at once, however long
	// the timeout.
	p := e.next(phoneA, "after=start&timeout=5m")
	if m := polledMessage(t, p); m.ID != m1 {
		t.Fatalf("after=start: %s, want %s", m.ID, m1)
	}
	if p.took > 10*time.Second {
		t.Fatalf("after=start took %v; it should answer at once", p.took)
	}
	e.wantNext(phoneA, "after=start", m1) // default timeout
	e.wantNext(phoneA, "after="+m1+"&timeout=10s", m2)
	e.wantNext(phoneA, "after="+m2+"&timeout=10s", m3) // skips the blocked one
	e.wantNoNext(phoneA, "after="+m3+"&timeout=300ms", 300*time.Millisecond)

	// after={id} waits for a later delivery; a message filed as blocked
	// meanwhile is not one.
	ch = e.goGet(base + "after=" + m3 + "&timeout=20s")
	notYet(t, e.instance, ch, "after the last message")
	e.patchFaults(`{"spam_block_rate":1}`)
	e.gwSend("95187", phoneA, "blocked while waiting")
	e.patchFaults(`{"spam_block_rate":0}`)
	notYet(t, e.instance, ch, "after a blocked delivery")
	m4 := e.gwSend("95187", phoneA, "fourth")
	if m := polledMessage(t, await(t, ch, 20*time.Second)); m.ID != m4 || m.Body != "fourth" {
		t.Fatalf("after=%s: %+v, want %s", m3, m, m4)
	}

	// Without after, only a delivery after the call counts: the messages
	// already in the inbox are not answered.
	ch = e.goGet(base + "timeout=20s")
	notYet(t, e.instance, ch, "no after")
	p, sent := e.sendUntilAnswered(ch, "95566", phoneA, "live")
	m := polledMessage(t, p)
	if !slices.Contains(sent, m.ID) || m.Sender != "95566" || m.Body != "live" || m.Folder != "inbox" {
		t.Fatalf("next without after = %+v, want one of %v", m, sent)
	}
	// nothing delivered during the timeout: 204
	e.wantNoNext(phoneA, "timeout=300ms", 300*time.Millisecond)

	// after a message that is not in the inbox: 404 naming after
	for _, a := range []string{"m_0000000000000000", "nope", blocked} {
		resp, b := rawRequest(t, "GET", e.url+base+"after="+a+"&timeout=1s", "", "", nil)
		wantProblem(t, "after="+a, resp, b, 404, "after")
		if !strings.Contains(problemOf(t, b).Detail, a) {
			t.Errorf("after=%s: detail %q does not name the id", a, problemOf(t, b).Detail)
		}
	}
}

// Under a retention a message's own key expires that long after its
// delivery, while its phone's folder, written to since, still holds it: an
// after naming it still places the poll and the websocket after it. Here
// the keys of two messages are gone, as their expiry leaves them, and the
// folders hold them still; an id neither folder holds is still a 404.
func TestAfterAMessageWhoseKeyExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m1 := e.gwSend("95187", phoneA, "first")
	e.patchFaults(`{"spam_block_rate":1}`)
	blocked := e.gwSend("95187", phoneA, "blocked")
	e.patchFaults(`{"spam_block_rate":0}`)
	m2 := e.gwSend("95187", phoneA, "second")
	ks := e.keys()
	if n, err := e.rdb.Del(t.Context(), ks.Message(m1), ks.Message(blocked)).Result(); err != nil || n != 2 {
		t.Fatalf("deleting the keys of %s and %s: %d, %v", m1, blocked, n, err)
	}
	code, _ := e.do("GET", "/gateway/v1/messages/"+m1, nil)
	if code != http.StatusNotFound {
		t.Fatalf("GET the message whose key expired: %d, want 404", code)
	}
	if got := e.wantNext(phoneA, "after="+m1+"&timeout=10s", m2); got.Body != "second" {
		t.Fatalf("next after %s = %+v, want %s", m1, got, m2)
	}
	c := e.dialAfter(phoneA, blocked)
	if m, _ := readFrame(t, c); m.ID != m2 || m.Folder != "inbox" {
		t.Fatalf("ws after %s sent %s/%s, want %s/inbox", blocked, m.ID, m.Folder, m2)
	}
	resp, b := rawRequest(t, "GET", e.url+"/phones/v1/"+phoneB+"/messages/next?after="+m1+"&timeout=1s", "", "", nil)
	wantProblem(t, "next of B after a message of A", resp, b, 404, `after: no message "`+m1+`" in the inbox of `+phoneB)
	resp, b = rawRequest(t, "GET", e.url+"/phones/v1/"+phoneA+"/messages/next?after="+blocked+"&timeout=1s", "", "", nil)
	wantProblem(t, "next after a blocked message", resp, b, 404, `after: no message "`+blocked+`" in the inbox of `+phoneA)
}

func TestLongPollFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.onItsWay(phoneA)
	m1 := e.gwSend("95187", phoneA, "hello world")            // not MIIT, no code
	m2 := e.gwSend(longMIIT, phoneA, "notice f_123456ab")     // MIIT, no code
	m3 := e.gwSend("95187", phoneA, "your code 112233")       // code, not MIIT
	m4 := e.gwSend("12381", phoneA, "code 445566 for filing") // MIIT, code
	m5 := e.gwSend("95566", phoneA, "bank: your balance")     // another sender
	m6 := e.gwSend(notMIITSender, phoneA, "fake 778899 x")    // not MIIT, code

	for _, c := range []struct{ query, want string }{
		{"after=start", m1},
		{"after=start&sender=95566", m5},
		{"after=start&sender=" + longMIIT, m2},
		{"after=start&from_miit=true", m2},
		{"after=start&from_miit=false", m1},
		{"after=start&has_code=true", m3},
		{"after=start&has_code=1", m3},
		{"after=start&from_miit=true&has_code=true", m4},
		{"after=" + m2 + "&from_miit=true", m4},
		{"after=" + m3 + "&has_code=true", m4},
		{"after=" + m4 + "&has_code=true", m6},
		{"after=start&match=" + url.QueryEscape("^code"), m4},
		{"after=start&match=" + url.QueryEscape("balance$"), m5},
		{"after=start&match=" + url.QueryEscape(`f_[0-9]+ab`), m2},
		{"after=start&sender=95187&has_code=true", m3},
		{"after=start&sender=95187&match=world", m1},
	} {
		e.wantNext(phoneA, c.query+"&timeout=10s", c.want)
	}
	// nothing matches: 204 at the timeout
	e.wantNoNext(phoneA, "after=start&sender=10000&timeout=300ms", 300*time.Millisecond)
	e.wantNoNext(phoneA, "after="+m4+"&from_miit=true&timeout=300ms", 300*time.Millisecond)
	e.wantNoNext(phoneA, "after=start&match=nomatch&timeout=300ms", 300*time.Millisecond)

	// A waiting poll skips live deliveries that do not match.
	base := "/phones/v1/" + phoneA + "/messages/next?timeout=20s&after=" + m6
	ch := e.goGet(base + "&from_miit=true&has_code=true")
	notYet(t, e.instance, ch, "filtered poll")
	e.gwSend("95187", phoneA, "not miit 121212")
	e.gwSend("12381", phoneA, "miit without a code")
	notYet(t, e.instance, ch, "filtered poll after non-matching deliveries")
	want := e.gwSend(longMIIT, phoneA, "your code 343434")
	m := polledMessage(t, await(t, ch, 20*time.Second))
	if m.ID != want || m.Code != "343434" || m.Sender != longMIIT {
		t.Fatalf("filtered poll = %+v, want %s", m, want)
	}
	// the same without after: only live deliveries
	ch = e.goGet("/phones/v1/" + phoneA + "/messages/next?timeout=20s&sender=95566&match=" + url.QueryEscape("^live"))
	notYet(t, e.instance, ch, "live filtered poll")
	e.gwSend("95187", phoneA, "live but another sender")
	e.gwSend("95566", phoneA, "not matching the body")
	p, sent := e.sendUntilAnswered(ch, "95566", phoneA, "live one")
	if m := polledMessage(t, p); !slices.Contains(sent, m.ID) || m.Body != "live one" {
		t.Fatalf("live filtered poll = %+v, want one of %v", m, sent)
	}
}

func TestLongPollBadParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.gwSend("95187", phoneA, "there is one")
	base := e.url + "/phones/v1/" + phoneA + "/messages/next?after=start&"
	for _, c := range []struct{ query, field string }{
		{"timeout=0s", "timeout"},
		{"timeout=0", "timeout"},
		{"timeout=-1s", "timeout"},
		{"timeout=6m", "timeout"},
		{"timeout=5m1s", "timeout"},
		{"timeout=abc", "timeout"},
		{"timeout=30", "timeout"},
		{"from_miit=yes", "from_miit"},
		{"from_miit=2", "from_miit"},
		{"has_code=maybe", "has_code"},
		{"match=" + url.QueryEscape("("), "match"},
		{"match=" + url.QueryEscape("a[z-a]"), "match"},
	} {
		start := time.Now()
		resp, b := rawRequest(t, "GET", base+c.query, "", "", nil)
		wantProblem(t, "next?"+c.query, resp, b, 400, c.field)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: a bad parameter answered after %v, not at once", c.query, d)
		}
	}
	resp, b := rawRequest(t, "GET", e.url+"/phones/v1/"+phoneA+"/messages/next?after=", "", "", nil)
	wantProblem(t, "next?after=", resp, b, 400, "after")
	// 5m is the longest timeout allowed
	e.wantNext(phoneA, "after=start&timeout=5m", e.inbox(phoneA)[0].ID)
}

func TestLongPollAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.onItsWay(phoneA)
	b := e.newInstance()
	// B waits for the next delivery; A delivers it.
	ch := b.goGet("/phones/v1/" + phoneA + "/messages/next?timeout=20s")
	notYet(t, b, ch, "poll on B")
	p, sent := e.sendUntilAnswered(ch, "12381", phoneA, "from A 135790")
	m := polledMessage(t, p)
	if !slices.Contains(sent, m.ID) || m.Code != "135790" || m.Phone != phoneA {
		t.Fatalf("poll on B = %+v, want one of %v", m, sent)
	}
	// and with after: B answers what A delivered later
	ch = b.goGet("/phones/v1/" + phoneA + "/messages/next?timeout=20s&after=" + sent[len(sent)-1])
	notYet(t, b, ch, "poll on B after the last")
	id := e.gwSend("95187", phoneA, "again from A")
	if m := polledMessage(t, await(t, ch, 20*time.Second)); m.ID != id {
		t.Fatalf("poll on B = %+v, want %s", m, id)
	}
	// and the other way round
	ch = e.goGet("/phones/v1/" + phoneA + "/messages/next?timeout=20s&after=" + id)
	notYet(t, e.instance, ch, "poll on A")
	id2 := b.gwSend("95187", phoneA, "from B")
	if m := polledMessage(t, await(t, ch, 20*time.Second)); m.ID != id2 {
		t.Fatalf("poll on A = %+v, want %s", m, id2)
	}
}

// wsURL is the websocket address of a phone on an instance.
// wsURL is the websocket of a phone; a browser cannot set headers, so the
// namespace goes in the query.
func (in *instance) wsURL(phone string) string {
	u := "ws" + strings.TrimPrefix(in.url, "http") + "/phones/v1/" + phone + "/ws"
	if in.ns != "" {
		u += "?namespace=" + in.ns
	}
	return u
}

func (in *instance) dial(phone string) *websocket.Conn {
	in.t.Helper()
	return in.dialURL(in.wsURL(phone))
}

// dialAfter opens a phone's socket that first catches up after message
// after.
func (in *instance) dialAfter(phone, after string) *websocket.Conn {
	in.t.Helper()
	u, err := url.Parse(in.wsURL(phone))
	if err != nil {
		in.t.Fatal(err)
	}
	q := u.Query()
	q.Set("after", after)
	u.RawQuery = q.Encode()
	return in.dialURL(u.String())
}

func (in *instance) dialURL(u string) *websocket.Conn {
	in.t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		in.t.Fatalf("dial %s: %v (status %d)", u, err, status)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		in.t.Fatalf("dial: status %d, want 101", resp.StatusCode)
	}
	in.t.Cleanup(func() { c.Close() })
	return c
}

// readFrame reads one frame: a JSON text frame holding one message.
func readFrame(t testing.TB, c *websocket.Conn) (message, []string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	mt, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if mt != websocket.TextMessage {
		t.Fatalf("frame type %d, want text (%d)", mt, websocket.TextMessage)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var m message
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	if dec.More() {
		t.Fatalf("frame %s holds more than one JSON value", b)
	}
	return m, jsonKeys(t, b)
}

func TestPhoneSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(phoneA)

	id1 := e.gwSend("95187", phoneA, "hello 123456")
	m, keys := readFrame(t, c)
	want := message{ID: id1, Phone: phoneA, Sender: "95187", Body: "hello 123456", Code: "123456",
		Folder: "inbox", SentAt: t0, DeliveredAt: &t0}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("frame = %+v, want %+v", m, want)
	}
	wantKeys := append(slices.Clone(phoneMsgKeys), "code")
	slices.Sort(wantKeys)
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Fatalf("frame keys %v, want %v", keys, wantKeys)
	}

	// a blocked message is sent too; one to another phone is not; a
	// failed delivery is not.
	e.gwSend("12381", phoneB, "to another phone 999999")
	e.putProfile(phoneA, `{"service":"suspended"}`)
	failed := e.gwSend("95187", phoneA, "failed to A")
	if m, _ := e.gwGet(failed); m.Status != "failed" {
		t.Fatalf("message to a suspended phone: %+v, want failed", m)
	}
	e.putProfile(phoneA, `{"spam_filter":true}`)
	e.advance("1m")
	at := t0.Add(time.Minute)
	id2 := e.gwSend("12381", phoneA, "code 654321")
	m, _ = readFrame(t, c)
	want = message{ID: id2, Phone: phoneA, Sender: "12381", Body: "code 654321", Code: "654321",
		Folder: "blocked", SentAt: at, DeliveredAt: &at}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("frame = %+v, want %+v (the blocked message, nothing of the other phone)", m, want)
	}
	// a delivery after a delay arrives when it is delivered
	e.patchFaults(`{"sms_delay":{"min":"5m","max":"5m"}}`)
	id3 := e.gwSend("95187", phoneA, "late")
	e.advance("5m")
	due := at.Add(5 * time.Minute)
	m, keys = readFrame(t, c)
	want = message{ID: id3, Phone: phoneA, Sender: "95187", Body: "late", Folder: "inbox", SentAt: at, DeliveredAt: &due}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("frame = %+v, want %+v", m, want)
	}
	wantKeys = slices.Clone(phoneMsgKeys)
	slices.Sort(wantKeys)
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Fatalf("frame keys %v, want %v (no code)", keys, wantKeys)
	}

	// the body arrives as it was sent, whatever it holds
	e.patchFaults(`{"sms_delay":{"min":"0s","max":"0s"}}`)
	for _, body := range []string{
		"【工信部】您的验证码为 246802，请勿泄露。",
		"quotes \" and \\ backslash, / slash, </script>, tab\t, newline\n, emoji 😀, nul-free \u00e9",
		"   leading and trailing spaces   ",
		"{\"json\": [1, 2, 3]}",
		strings.Repeat("长", 1000),
	} {
		id := e.gwSend("95187", phoneA, body)
		m, _ := readFrame(t, c)
		if m.ID != id || m.Body != body {
			t.Fatalf("frame = %+v, want %s with body %q", m, id, body)
		}
		if in, _ := e.gwGet(id); in.Body != body {
			t.Fatalf("stored body %q, want %q", in.Body, body)
		}
	}

	// two sockets on one phone both get it; a socket of phone B gets
	// only B's.
	c2 := e.dial(phoneA)
	e.putProfile(phoneB, `{}`)
	cb := e.dial(phoneB)
	e.patchFaults(`{"sms_delay":{"min":"0s","max":"0s"}}`)
	id4 := e.gwSend("95187", phoneA, "to both sockets")
	idB := e.gwSend("95187", phoneB, "to B")
	for _, conn := range []*websocket.Conn{c, c2} {
		if m, _ := readFrame(t, conn); m.ID != id4 {
			t.Fatalf("frame %+v, want %s", m, id4)
		}
	}
	if m, _ := readFrame(t, cb); m.ID != idB {
		t.Fatalf("socket of B: frame %+v, want %s", m, idB)
	}
}

// Both websockets drop what a client sends, binary or text; a text
// message that is not valid UTF-8 closes the connection with 1007.
func TestSocketsCloseOnBadUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	phone := e.dial(phoneA)
	events := e.dialURL("ws" + strings.TrimPrefix(e.url, "http") + "/ws/events")
	for _, c := range []*websocket.Conn{phone, events} {
		for _, f := range []struct {
			mt   int
			data string
		}{{websocket.TextMessage, "hello"}, {websocket.TextMessage, "李雷 😀"}, {websocket.BinaryMessage, "\xff\xfe"}, {websocket.TextMessage, ""}} {
			if err := c.WriteMessage(f.mt, []byte(f.data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	id := e.gwSend("95187", phoneA, "after the frames")
	if m, _ := readFrame(t, phone); m.ID != id {
		t.Fatalf("phone socket: frame %+v, want %s", m, id)
	}
	events.SetReadDeadline(time.Now().Add(10 * time.Second))
	var r core.Record
	if err := events.ReadJSON(&r); err != nil || r.Kind != "sms.sent" || !strings.Contains(string(r.Data), id) {
		t.Fatalf("event socket: %+v, %v; want the sms.sent of %s", r, err, id)
	}
	for name, c := range map[string]*websocket.Conn{"phone": phone, "event": events} {
		if err := c.WriteMessage(websocket.TextMessage, []byte("Li \xffLei")); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var err error
		for err == nil { // past the frames sent before the close
			_, _, err = c.ReadMessage()
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseInvalidFramePayloadData || ce.Text != "a text message that is not valid UTF-8" {
			t.Fatalf("%s socket: %v, want close 1007 \"a text message that is not valid UTF-8\"", name, err)
		}
	}
}

func TestPhoneSocketAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newInstance()
	c := b.dial(phoneA)
	e.gwSend("95187", phoneB, "another phone")
	id := e.gwSend("12381", phoneA, "via A 192837")
	m, _ := readFrame(t, c)
	want := message{ID: id, Phone: phoneA, Sender: "12381", Body: "via A 192837", Code: "192837",
		Folder: "inbox", SentAt: t0, DeliveredAt: &t0}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("frame on B = %+v, want %+v", m, want)
	}
	// a delivery that falls due in an advance made through A
	e.patchFaults(`{"sms_delay":{"min":"1h","max":"1h"}}`)
	id2 := b.gwSend("95187", phoneA, "queued through B")
	e.advance("1h")
	if m, _ := readFrame(t, c); m.ID != id2 || m.Folder != "inbox" {
		t.Fatalf("frame on B = %+v, want %s", m, id2)
	}
}

// A socket opened with ?after= first sends what the phone got after that
// message, both folders in delivery order, then goes on live; a socket
// that ends names the after to reconnect with.
func TestPhoneSocketCatchesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id1 := e.gwSend("95187", phoneA, "first")
	e.putProfile(phoneA, `{"spam_filter":true}`)
	id2 := e.gwSend("12381", phoneA, "blocked 135790")
	e.gwSend("95187", phoneB, "another phone")
	id3 := e.gwSend("95187", phoneA, "third")
	ids := func(c *websocket.Conn, n int) []string {
		t.Helper()
		var out []string
		for range n {
			m, _ := readFrame(t, c)
			out = append(out, m.ID+"/"+m.Folder)
		}
		return out
	}
	all := e.dialAfter(phoneA, "start")
	if got, want := ids(all, 3), []string{id1 + "/inbox", id2 + "/blocked", id3 + "/inbox"}; !slices.Equal(got, want) {
		t.Fatalf("after=start sent %v, want %v", got, want)
	}
	later := e.dialAfter(phoneA, id2)
	if got, want := ids(later, 1), []string{id3 + "/inbox"}; !slices.Equal(got, want) {
		t.Fatalf("after=%s sent %v, want %v", id2, got, want)
	}
	id4 := e.gwSend("95187", phoneA, "live")
	for name, c := range map[string]*websocket.Conn{"after=start": all, "after=" + id2: later} {
		if got, want := ids(c, 1), []string{id4 + "/inbox"}; !slices.Equal(got, want) {
			t.Fatalf("%s then live: %v, want %v", name, got, want)
		}
	}

	// an empty after is a 400, an id the phone does not hold a 404
	for _, c := range []struct {
		query  string
		status int
		detail string
	}{
		{"after=", 400, "after: empty"},
		{"after=m_0123456789abcdef", 404, `after: no message "m_0123456789abcdef" delivered to ` + phoneB},
		{"after=" + id1 + "&x=1", 0, ""},
	} {
		resp, b := rawRequest(t, "GET", e.url+"/phones/v1/"+phoneB+"/ws?"+c.query, "", "", http.Header{
			"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="},
		})
		if c.status == 0 { // id1 is phone A's, not B's
			wantProblem(t, "ws of B after a message of A", resp, b, 404, "after: no message")
			continue
		}
		wantProblem(t, "ws ?"+c.query, resp, b, c.status, c.detail)
	}

	// a process that stops closes its sockets with the after to come back with
	b := e.newInstance()
	c := b.dial(phoneA)
	id5 := e.gwSend("95187", phoneA, "before the stop")
	if m, _ := readFrame(t, c); m.ID != id5 {
		t.Fatalf("frame %+v, want %s", m, id5)
	}
	b.stop()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater || !strings.HasSuffix(ce.Text, "reconnect with ?after="+id5) {
		t.Fatalf("socket of a stopped process: %v, want close 1013 naming ?after=%s", err, id5)
	}
}

func TestPhoneSocketRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// not an upgrade: 426
	resp, b := rawRequest(t, "GET", e.url+"/phones/v1/"+phoneA+"/ws", "", "", nil)
	wantProblem(t, "GET ws without Upgrade", resp, b, http.StatusUpgradeRequired, "websocket")
	if got := resp.Header.Get("Upgrade"); !strings.EqualFold(got, "websocket") {
		t.Errorf("426 answer: Upgrade header %q, want websocket", got)
	}
	// a page of another site may not read a phone
	for _, origin := range []string{"http://evil.example", "https://evil.example:443", "null"} {
		c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(phoneA), http.Header{"Origin": {origin}})
		if err == nil {
			c.Close()
			t.Fatalf("Origin %s: the socket was opened", origin)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("Origin %s: %v %v, want 403", origin, err, resp)
		}
		// the refusal is an error answer like every other: a problem
		resp, b := rawRequest(t, "GET", e.url+"/phones/v1/"+phoneA+"/ws", "", "", http.Header{
			"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Origin": {origin},
		})
		wantProblem(t, "websocket from Origin "+origin, resp, b, http.StatusForbidden, "")
	}
	// a bad phone is a 400, upgrade or not
	_, resp, err := websocket.DefaultDialer.Dial(e.wsURL("12345"), nil)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("dial a bad phone: %v %v, want 400", err, resp)
	}
	// a page of this host may
	u, _ := url.Parse(e.url)
	c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(phoneA), http.Header{"Origin": {"http://" + u.Host}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("same origin refused: %v (status %d)", err, status)
	}
	defer c.Close()
	id := e.gwSend("95187", phoneA, "same origin")
	if m, _ := readFrame(t, c); m.ID != id {
		t.Fatalf("frame %+v, want %s", m, id)
	}
}

func TestPhoneNumberForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id1 := e.gwSend("95187", "+86"+phoneA, "plus form")
	id2 := e.gwSend("95187", "86"+phoneA, "86 form")
	id3 := e.gwSend("95187", phoneA, "plain form")
	for _, id := range []string{id1, id2, id3} {
		if m, _ := e.gwGet(id); m.Phone != phoneA {
			t.Fatalf("message %s went to %q, want %s", id, m.Phone, phoneA)
		}
	}
	forms := []string{phoneA, "+86" + phoneA, "86" + phoneA, "%2B86" + phoneA}
	for _, f := range forms {
		e.wantFolder(f, "inbox", id1, id2, id3)
		for _, m := range e.inbox(f) {
			if m.Phone != phoneA {
				t.Fatalf("inbox of %s lists %+v, want phone %s", f, m, phoneA)
			}
		}
		e.wantNext(f, "after=start&timeout=10s", id1)
		e.wantNext(f, "after="+id2+"&timeout=10s", id3)
	}
	// a profile set under one form is the profile of every form
	e.putProfile("+86"+phoneA, `{"spam_filter":true}`)
	for _, f := range forms {
		e.wantProfile(f, `{"spam_filter":true,"service":"active","reachable":true}`)
	}
	blocked := e.gwSend("12381", "86"+phoneA, "blocked 112233")
	e.wantFolder("+86"+phoneA, "blocked", blocked)
	// emptying under one form empties the phone
	if code, b := e.do("DELETE", "/phones/v1/+86"+phoneA+"/messages", nil); code != 204 {
		t.Fatalf("DELETE: %d %s", code, b)
	}
	e.wantFolder(phoneA, "inbox")
	e.wantFolder(phoneA, "blocked")

	// numbers that are not mainland mobiles: 400 naming phone
	for _, bad := range []string{"12345", "23800000001", "12800000001", "1380000000", "138000000012", "+8612345", "8623800000001", "abcdefghijk"} {
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/phones/v1/" + bad + "/messages", ""},
			{"GET", "/phones/v1/" + bad + "/messages?folder=blocked", ""},
			{"DELETE", "/phones/v1/" + bad + "/messages", ""},
			{"GET", "/phones/v1/" + bad + "/messages/next?after=start&timeout=1s", ""},
			{"GET", "/phones/v1/" + bad + "/profile", ""},
			{"PUT", "/phones/v1/" + bad + "/profile", `{"spam_filter":true}`},
			{"GET", "/phones/v1/" + bad + "/ws", ""},
		} {
			ct := ""
			if r.body != "" || r.method != "GET" {
				ct = "application/json"
			}
			resp, b := rawRequest(t, r.method, e.url+r.path, ct, r.body, nil)
			wantProblem(t, r.method+" "+r.path, resp, b, 400, "phone")
		}
		resp, b := rawRequest(t, "POST", e.url+"/gateway/v1/messages", "application/json",
			`{"from":"95187","to":"`+bad+`","body":"x"}`, nil)
		wantProblem(t, "send to "+bad, resp, b, 400, "to")
	}

	// a socket under the 86 form gets deliveries to the plain number
	c := e.dial("86" + phoneA)
	id4 := e.gwSend("95187", phoneA, "to the socket")
	m, _ := readFrame(t, c)
	if m.ID != id4 || m.Phone != phoneA {
		t.Fatalf("frame %+v, want %s to %s", m, id4, phoneA)
	}
}

// gauge reads the instance's gauge called name (0 when it has none).
func (in *instance) gauge(name string) float64 {
	in.t.Helper()
	mf := families(in.t, in.reg)[name]
	if mf == nil {
		return 0
	}
	return activity(mf)
}

// The 101 of a websocket carries the headers every answer does: the
// request's id and, of a namespaced route, its namespace.
func TestWebsocketUpgradeCarriesTheHeaders(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{e.in("team-ws").wsURL(phoneA), "ws" + strings.TrimPrefix(e.url, "http") + "/ws/events?namespace=team-ws"} {
		c, resp, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		c.Close()
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get(server.NamespaceHeader) != "team-ws" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: %d %v, want 101 with X-Smsim-Namespace team-ws and an X-Request-Id", u, resp.StatusCode, resp.Header)
		}
	}
}

// A long poll the simulator's stop ends answers 503, the server stopping,
// not a timeout that says nothing came; one whose client left is journaled
// with status 0, no answer.
func TestLongPollEndedByAStopOrByItsClient(t *testing.T) {
	e := newEnv(t)
	e.call("PUT", "/admin/v1/clock", `{"paused":false,"scale":1}`, 200, nil) // a paused clock answers nothing_on_its_way at once
	ctx, leave := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+"/phones/v1/"+phoneA+"/messages/next?timeout=30s", nil)
	if err != nil {
		t.Fatal(err)
	}
	left := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		left <- err
	}()
	waitValue(t, e.reg, "smsim_long_polls", nil, 1)
	leave()
	<-left
	waitValue(t, e.reg, "smsim_long_polls", nil, 0)
	var page struct {
		Requests []struct {
			Route  string `json:"route"`
			Status int    `json:"status"`
		} `json:"requests"`
	}
	testkit.WaitFor(t, "the poll in the journal", func() bool {
		e.call("GET", "/admin/v1/requests?route="+url.QueryEscape("GET /phones/v1/{phone}/messages/next"), nil, 200, &page)
		return len(page.Requests) == 1
	})
	if page.Requests[0].Status != 0 {
		t.Errorf("a poll whose client left is journaled with status %d, want 0", page.Requests[0].Status)
	}
	waitValue(t, e.reg, "smsim_http_requests_total", map[string]string{"route": "GET /phones/v1/{phone}/messages/next", "method": "GET", "code": "left"}, 1)

	poll := e.goGet("/phones/v1/" + phoneA + "/messages/next?timeout=30s")
	waitValue(t, e.reg, "smsim_long_polls", nil, 1)
	e.world.Stop()
	p := await(t, poll, 10*time.Second)
	if p.code != http.StatusServiceUnavailable || !strings.Contains(string(p.body), "stopping") {
		t.Fatalf("a poll ended by the stop: %d %q %s, want 503, the simulator stopping", p.code, p.wait, p.body)
	}
}

// A websocket client that leaves during its handshake, before its socket
// is watched, gets no answer, and the server counts it as left: not a 503
// of a server stopping, which it is not.
func TestSocketHandshakeLeftByItsClient(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/ws/events", "/phones/v1/" + phoneA + "/ws"} {
		ctx, leave := context.WithCancel(t.Context())
		leave()
		req := httptest.NewRequestWithContext(ctx, "GET", "http://127.0.0.1"+path, nil)
		for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		e.srv.Routes().ServeHTTP(rec, req)
		if rec.Body.Len() != 0 {
			t.Errorf("%s: a client gone during its handshake was answered %d %s", path, rec.Code, rec.Body)
		}
	}
	for _, route := range []string{"GET /ws/events", "GET /phones/v1/{phone}/ws"} {
		waitValue(t, e.reg, "smsim_http_requests_total", map[string]string{"route": route, "method": "GET", "code": "left"}, 1)
	}
}

// A message sent through one process after another moved the clock is sent
// at the clock as it stands, planned or sent step by step (a throttle); the
// schedule's now is the clock's too.
func TestSendAfterAnotherProcessMovedTheClock(t *testing.T) {
	e := newEnv(t)
	a, b := e.instance, e.newInstance()
	a.gwSend("95187", phoneA, "before") // a holds the clock as it stood
	b.advance("1h")
	m, _ := a.gwGet(a.gwSend("95187", phoneA, "planned"))
	if want := t0.Add(time.Hour); !m.SentAt.Equal(want) {
		t.Errorf("a message sent after the other process's advance: sent_at %s, want %s", m.SentAt, want)
	}
	a.patchFaults(`{"throttles":[{"sender":"95199","limit":100,"per":"1m","mode":"hold"}]}`)
	a.gwSend("95199", phoneA, "throttled, before")
	b.advance("1h")
	m, _ = a.gwGet(a.gwSend("95199", phoneA, "throttled"))
	if want := t0.Add(2 * time.Hour); !m.SentAt.Equal(want) {
		t.Errorf("a throttled message sent after the other process's advance: sent_at %s, want %s", m.SentAt, want)
	}
	b.advance("1h")
	var sched struct {
		Now time.Time `json:"now"`
	}
	a.call("GET", "/admin/v1/schedule", nil, 200, &sched)
	if want := t0.Add(3 * time.Hour); !sched.Now.Equal(want) {
		t.Errorf("the schedule's now after the other process's advance: %s, want %s", sched.Now, want)
	}
}

// A reset numbers the deliveries from 1 again: a phone's socket and a long
// poll open across it still get the messages delivered after it (the
// clock running from its start, so that the poll waits on).
func TestPhoneFeedsGoOnAcrossAReset(t *testing.T) {
	e := newEnv(t, withClockStart(core.ClockStart{At: t0, Scale: 1}))
	c := e.dial(phoneA)
	for _, body := range []string{"before 1", "before 2"} {
		e.gwSend("95187", phoneA, body)
		if m, _ := readFrame(t, c); m.Body != body {
			t.Fatalf("frame %q, want %q", m.Body, body)
		}
	}
	poll := e.goGet("/phones/v1/" + phoneA + "/messages/next?timeout=10s")
	waitValue(t, e.reg, "smsim_long_polls", nil, 1)
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	id := e.gwSend("95187", phoneA, "after the reset")
	if m, _ := readFrame(t, c); m.ID != id {
		t.Fatalf("the socket open across the reset got %+v, want %s", m, id)
	}
	if p := await(t, poll, 10*time.Second); p.code != http.StatusOK || polledMessage(t, p).ID != id {
		t.Fatalf("the poll waiting across the reset: %d %q %s, want %s", p.code, p.wait, p.body, id)
	}
}

// A long poll already waiting answers nothing_on_its_way as soon as nothing
// can come by itself any more: here the codes it waited for failed, the
// phone unreachable, in the advance that brought them.
func TestWaitingPollLearnsNothingIsOnItsWay(t *testing.T) {
	e := newEnv(t)
	const phone = "13800000031"
	e.putProfile(phone, `{"reachable":false}`)
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
	poll := e.goGet("/phones/v1/" + phone + "/messages/next?after=start&from_miit=true&timeout=20s")
	waitValue(t, e.reg, "smsim_long_polls", nil, 1) // the order not synced yet is a code on its way
	e.advance("1h")
	p := await(t, poll, 10*time.Second)
	if p.code != http.StatusNoContent || p.wait != server.WaitNothingOnItsWay || p.took > 10*time.Second {
		t.Fatalf("the poll after its codes failed: %d %q after %s, want 204 %s at once", p.code, p.wait, p.took, server.WaitNothingOnItsWay)
	}
}

// A long poll already waiting on a paused clock answers nothing_on_its_way
// within a second once nothing is on its way any more, also when no event
// says so: the last message on its way went to the blocked folder, or to
// the inbox but is not the one the poll waits for (both released by an
// outage's end), or the order whose code it waited for was canceled.
func TestWaitingPollLearnsNothingIsOnItsWayWithoutItsOwnEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	outage := `{"outages":[{"prefixes":["13800000041","13800000042"],"start":"2026-04-30T00:00:00Z","end":"2026-05-01T02:00:00Z","mode":"hold"}]}`
	e.putProfile("13800000042", `{"block_senders":["95187"]}`)
	for _, c := range []struct {
		name, phone, query string
		end                func(t *testing.T)
		within             time.Duration
	}{
		{"held message released to the inbox, not the one waited for", "13800000041", "after=start&from_miit=true",
			func(t *testing.T) { e.patchFaults(`{"outages":[]}`) }, 3 * time.Second},
		{"held message released to the blocked folder", "13800000042", "after=start",
			func(t *testing.T) { e.patchFaults(`{"outages":[]}`) }, 3 * time.Second},
		{"order canceled before its sync", "13800000043", "after=start&from_miit=true", nil, 3 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			var filing string
			if c.end == nil {
				filing = e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(c.phone)}).ID
				c.end = func(t *testing.T) {
					e.call("POST", "/provider/v1/filings/"+filing+"/cancel", struct{}{}, http.StatusOK, nil)
				}
			} else {
				e.patchFaults(outage)
				e.gwSend("95187", c.phone, "held by the outage")
			}
			poll := e.goGet("/phones/v1/" + c.phone + "/messages/next?" + c.query + "&timeout=20s")
			notYet(t, e.instance, poll, c.name)
			c.end(t)
			p := await(t, poll, 15*time.Second)
			if p.code != http.StatusNoContent || p.wait != server.WaitNothingOnItsWay || p.took > c.within+time.Second {
				t.Fatalf("%d %q after %s, want 204 %s within %s", p.code, p.wait, p.took, server.WaitNothingOnItsWay, c.within)
			}
		})
	}
}
