package server_test

import (
	"context"
	"github.com/gorilla/websocket"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// afterRead is a hook of a store's client that calls then, once, right
// after the first command — alone or in a pipeline — that reads key with
// ZRANGEBYSCORE: what another process does between that read and the
// next.
type afterRead struct {
	key  string
	once sync.Once
	then func()
}

func (h *afterRead) reads(cmd redis.Cmder) bool {
	args := cmd.Args()
	return strings.EqualFold(cmd.Name(), "zrangebyscore") && len(args) > 1 && args[1] == h.key
}

func (h *afterRead) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *afterRead) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if h.reads(cmd) {
			h.once.Do(h.then)
		}
		return err
	}
}

func (h *afterRead) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if slices.ContainsFunc(cmds, h.reads) {
			h.once.Do(h.then)
		}
		return err
	}
}

// A socket opened with ?after= catches up on the inbox and the blocked
// folder read at one moment. Deliveries that land while it reads — one
// message to each folder, here carried out by another process right after
// the socket's read of the inbox — reach it live, each once, in delivery
// order; read apart, the catch-up would hold the blocked one alone, and
// the socket would drop the inbox one as sent already.
func TestPhoneSocketCatchUpReadsBothFoldersAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	anchor := e.gwSend("95187", phoneA, "anchor")
	e.putProfile(phoneA, `{"block_keywords":["BLK"]}`)
	e.patchFaults(`{"sms_delay":{"model":"fixed","value":"1m"}}`)
	kept := e.gwSend("95187", phoneA, "to the inbox")
	blocked := e.gwSend("95187", phoneA, "BLK to the blocked folder")
	other := e.newInstance()
	ks := core.Keyspace{Prefix: e.redis.Prefix, Namespace: core.DefaultNamespace}
	e.rdb.AddHook(&afterRead{key: ks.PhoneInbox(phoneA), then: func() {
		if status, body := other.do("POST", "/admin/v1/clock/advance", map[string]string{"by": "1m"}); status != http.StatusOK {
			t.Errorf("advance: %d %s", status, body)
		}
	}})
	c := e.dialAfter(phoneA, anchor)
	var got []string
	for range 2 {
		m, _ := readFrame(t, c)
		got = append(got, m.ID+"/"+m.Folder)
	}
	if want := []string{kept + "/inbox", blocked + "/blocked"}; !slices.Equal(got, want) {
		t.Fatalf("the socket after %s got %v, want %v", anchor, got, want)
	}
}

// A socket opened with ?after= sends no delivery numbered up to that
// message, however late the feed brings it: on a cluster, a node's
// publication reaches another node's listeners a moment later, after a
// socket that opened since has read the folders. Here the anchor's
// delivery is published again once the socket is open, as it would come
// late; its next frame is the message delivered after it.
func TestPhoneSocketAfterSkipsALateDeliveryUpToIt(t *testing.T) {
	e := newEnv(t)
	anchor := e.gwSend("95187", phoneA, "anchor")
	late := e.loggedLive(t, deliveryOf(anchor))
	if len(late) != 1 {
		t.Fatalf("the deliveries of %s in the event log: %q, want one", anchor, late)
	}
	c := e.dialAfter(phoneA, anchor)
	e.publishLate(t, late...)
	next := e.gwSend("95187", phoneA, "after the anchor")
	if m, _ := readFrame(t, c); m.ID != next {
		t.Fatalf("the socket after %s sent %s (%q) first, want %s", anchor, m.ID, m.Body, next)
	}
}

// As TestPhoneSocketAfterSkipsALateDeliveryUpToIt, after a namespace reset:
// the reset and the anchor's delivery (numbered 1 again) were published
// before the socket opened and come late, in their order, as on a cluster.
// A late reset must not make the socket forget the ?after= number,
// or the anchor's late delivery, numbered 1 again, would be sent.
func TestPhoneSocketAfterSkipsALateResetAndDelivery(t *testing.T) {
	e := newEnv(t)
	e.gwSend("95187", phoneA, "before the reset")
	e.call("POST", "/admin/v1/reset", nil, 200, nil)
	anchor := e.gwSend("95187", phoneA, "anchor")
	isAnchor := deliveryOf(anchor)
	late := e.loggedLive(t, func(kind, data string) bool { return kind == core.KindReset || isAnchor(kind, data) })
	if len(late) != 2 || !strings.Contains(late[0], "\n"+core.KindReset+"\n") {
		t.Fatalf("want the reset then the anchor's delivery in the log, got %q", late)
	}
	c := e.dialAfter(phoneA, anchor)
	e.publishLate(t, late...)
	next := e.gwSend("95187", phoneA, "after the anchor")
	if m, _ := readFrame(t, c); m.ID != next {
		t.Fatalf("the socket after %s sent %s (%q) first, want %s", anchor, m.ID, m.Body, next)
	}
}

// A socket opened without ?after= sends what is delivered after it opened,
// none delivered before, however late the feed brings it: the delivery of
// a message sent before the dial, published again once the socket is
// open, as it would come late, is not sent.
func TestPhoneSocketWithoutAfterSkipsALateDeliveryBeforeIt(t *testing.T) {
	e := newEnv(t)
	before := e.gwSend("95187", phoneA, "before the socket")
	late := e.loggedLive(t, deliveryOf(before))
	if len(late) != 1 {
		t.Fatalf("the deliveries of %s in the event log: %q, want one", before, late)
	}
	c := e.dial(phoneA)
	e.publishLate(t, late...)
	after := e.gwSend("95187", phoneA, "after the socket opened")
	if m, _ := readFrame(t, c); m.ID != after {
		t.Fatalf("the socket sent %s (%q) first, want %s, delivered after it opened", m.ID, m.Body, after)
	}
}

// The event socket opened without ?after= sends what happens from then
// on, however late the live channel brings what happened before: an
// event of the log published again once the socket is open is not sent.
func TestEventSocketWithoutAfterSkipsALateEventBeforeIt(t *testing.T) {
	e := newEnv(t)
	e.gwSend("95187", phoneA, "before the socket")
	logged := e.loggedLive(t, func(string, string) bool { return true })
	if len(logged) == 0 {
		t.Fatal("nothing in the event log")
	}
	newest, _, _ := strings.Cut(logged[len(logged)-1], "\n")
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/ws/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	e.publishLate(t, logged[len(logged)-1])
	e.gwSend("95187", phoneA, "after the socket opened")
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var r core.Record
	if err := ws.ReadJSON(&r); err != nil {
		t.Fatal(err)
	}
	if !core.Newer(r.ID, newest) {
		t.Fatalf("the socket sent %s %s first, of before it opened (the newest then: %s)", r.ID, r.Kind, newest)
	}
}

// A reset emptied the log after the event socket opened, and the new log's
// ids begin before the newest event the socket had (they start again from
// the time of day, and a reset may come within the same millisecond): the
// socket sends the reset, not taken for one of before it opened, and what
// follows it. Here the log is emptied and the reset published by hand,
// numbered 1-1.
func TestEventSocketSendsANewResetNumberedBeforeItsLast(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.gwSend("95187", phoneA, "before the socket")
	ks := core.Keyspace{Prefix: e.redis.Prefix, Namespace: core.DefaultNamespace}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/ws/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := e.rdb.Del(ctx, ks.Events()).Err(); err != nil {
		t.Fatal(err)
	}
	e.publishLate(t, "1-1\n"+strconv.FormatInt(t0.UnixMilli(), 10)+"\n"+core.KindReset+"\n{}")
	e.gwSend("95187", phoneA, "after the reset")
	var got []string
	for range 2 {
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		var r core.Record
		if err := ws.ReadJSON(&r); err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, r.Kind)
	}
	if got[0] != core.KindReset || got[1] != core.KindSMSSent {
		t.Fatalf("the socket sent %v, want the reset then the message sent after it", got)
	}
}

// loggedLive answers the events of the log of e's default namespace that
// match (by kind and data), as its live channel carries each: id, at,
// kind and data, a line each; in the log's order.
func (e *env) loggedLive(t *testing.T, match func(kind, data string) bool) []string {
	t.Helper()
	ks := core.Keyspace{Prefix: e.redis.Prefix, Namespace: core.DefaultNamespace}
	entries, err := e.rdb.XRange(context.Background(), ks.Events(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range entries {
		kind, _ := x.Values["kind"].(string)
		data, _ := x.Values["data"].(string)
		if match(kind, data) {
			out = append(out, x.ID+"\n"+x.Values["at"].(string)+"\n"+kind+"\n"+data)
		}
	}
	return out
}

// deliveryOf matches the delivery of message id (loggedLive).
func deliveryOf(id string) func(kind, data string) bool {
	return func(kind, data string) bool {
		return kind == core.KindSMSDelivered && strings.Contains(data, `"id":"`+id+`"`)
	}
}

// publishLate publishes payloads on the live channel of e's default
// namespace, in order, as a publication of before would come late: from
// the node of the namespace's keys, as the scripts publish.
func (e *env) publishLate(t *testing.T, payloads ...string) {
	t.Helper()
	ks := core.Keyspace{Prefix: e.redis.Prefix, Namespace: core.DefaultNamespace}
	for _, p := range payloads {
		if err := e.rdb.Eval(context.Background(), "return redis.call('PUBLISH', KEYS[1], ARGV[1])", []string{ks.Live()}, p).Err(); err != nil {
			t.Fatal(err)
		}
	}
}
