package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
)

// The bare phone server stores a message sent to it and pushes its frame
// to the phone's socket, and no other.
func TestBareServerDeliversToThePhonesSocket(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	b := newBarePhones(rdb, "bare")
	b.work = "3"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.subscribe(ctx)
	for !b.ready.Load() {
		time.Sleep(time.Millisecond)
	}
	hs := httptest.NewServer(b.routes())
	defer hs.Close()
	ws := strings.Replace(hs.URL, "http://", "ws://", 1)
	conn, _, err := websocket.DefaultDialer.Dial(ws+"/phones/v1/13900000001/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	other, _, err := websocket.DefaultDialer.Dial(ws+"/phones/v1/13900000002/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for !b.has("13900000001") || !b.has("13900000002") {
		time.Sleep(time.Millisecond)
	}

	resp, err := http.Post(hs.URL+"/gateway/v1/messages", "application/json",
		strings.NewReader(`{"from":"95187","to":"13900000001","body":"bench"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("send: %s, want 202 Accepted", resp.Status)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, frame, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(frame, &m); err != nil {
		t.Fatal(err)
	}
	if m["id"] != "m1" || m["from"] != "95187" || m["to"] != "13900000001" || m["body"] != "bench" {
		t.Fatalf("frame %s: want message m1 from 95187 to 13900000001, bench", frame)
	}
	if got := mr.HGet("bare:msg:m1", "status"); got != "delivered" {
		t.Fatalf("the message's status in Redis: %q, want delivered", got)
	}
	other.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, frame, err := other.ReadMessage(); err == nil {
		t.Fatalf("the other phone was sent %s", frame)
	}
}

// The validation's script call is taken from smsim's client as smsim sent
// it, and answers as the endpoint did when sent again.
func TestTheValidationsScriptCallIsCapturedAsSent(t *testing.T) {
	ctx := context.Background()
	s, err := openStore(ctx, "embedded", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := submitValidationOrder(ctx, s); err != nil {
		t.Fatal(err)
	}
	call, err := captureValidation(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(call.keys, "smsim:{default}:who:"+validationPhone) {
		t.Fatalf("captured keys %q: want the index of %s", call.keys, validationPhone)
	}
	for range 2 {
		res, err := call.send(ctx, s.rdb).StringSlice()
		if err != nil || len(res) < 2 || res[0] != "not_found" || res[1] != "0" {
			t.Fatalf("the captured call sent again: %q, %v; want not_found, 0", res, err)
		}
	}
}
