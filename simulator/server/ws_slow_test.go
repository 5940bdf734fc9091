package server_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"smsim/simulator/core"
	"smsim/simulator/server"
)

// stalledDialer dials websockets whose kernel receive buffer is as small
// as the kernel allows: a client that does not read fills it at once.
var stalledDialer = &websocket.Dialer{NetDialContext: smallReceiveBuffer.DialContext}

// flood sends n messages of long bodies through the gateway: 2n events.
func flood(in *instance, from, n int) {
	body := strings.Repeat("x", 900)
	for i := range n {
		in.sendSMS("95187", "13800000411", fmt.Sprintf("%06d %s", from+i, body))
	}
}

// A watcher of the event log that does not read while events pour in is
// dropped — closed with 1008 and how to resume once it reads again —
// while one that reads gets every event, before and after.
func TestEventSocketDropsTheSlowKeepsTheReader(t *testing.T) {
	e := newEnv(t, withServer(server.Config{SocketWriteWait: 30 * time.Second, EventQueue: 128}))
	ws := "ws" + strings.TrimPrefix(e.url, "http") + "/ws/events"
	stalled, _, err := stalledDialer.Dial(ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	reader, _, err := websocket.DefaultDialer.Dial(ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var delivered atomic.Int64
	done := make(chan struct{})
	go func() { // the reader counts the deliveries it is sent
		defer close(done)
		for {
			reader.SetReadDeadline(time.Now().Add(10 * time.Second))
			var r core.Record
			if err := reader.ReadJSON(&r); err != nil {
				return
			}
			if r.Kind == "sms.delivered" {
				delivered.Add(1)
			}
		}
	}()

	// 660 events of a kilobyte: more than the socket's queue (128) and
	// buffers. They come as fast as a client that reads takes them, a few
	// at a time: the reader keeps within a few events of the log, and a
	// moment the machine gives the test's other goroutines (its collector)
	// does not put it 128 behind.
	const first, second = 300, 30
	for i := 0; i < first+second; i += 10 {
		flood(e.instance, i, 10)
		for deadline := time.Now().Add(10 * time.Second); delivered.Load() < int64(i) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}

	// the stalled client reads at last: what was under way, then the close
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	n := 0
	var last core.Record
	for {
		var r core.Record
		err := stalled.ReadJSON(&r)
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.ClosePolicyViolation || ce.Text != "too slow to keep up: reconnect with ?after="+last.ID {
				t.Fatalf("stalled socket closed with %d %q, want 1008 naming ?after=%s", ce.Code, ce.Text, last.ID)
			}
			break
		}
		if err != nil {
			t.Fatalf("stalled socket, after %d events: %v, want a close 1008", n, err)
		}
		n++
		last = r
	}
	if n >= 2*(first+second) {
		t.Fatalf("the stalled socket was sent all %d events", n)
	}
	// the reader's events may still be on their way, in real time, when the
	// stalled one is dropped
	for deadline := time.Now().Add(10 * time.Second); delivered.Load() < first+second && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	reader.Close()
	<-done
	if d := delivered.Load(); d != first+second {
		t.Fatalf("the reading socket got %d deliveries, want %d", d, first+second)
	}
	if v := metricValue(t, e.reg, "smsim_websocket_slow_drops_total"); v != 1 {
		t.Fatalf("smsim_websocket_slow_drops_total %v, want 1", v)
	}
}

// A client that reads nothing at all is dropped once a frame waits longer
// than the write wait: its connection is closed, within seconds.
func TestEventSocketDropsAClientThatNeverReads(t *testing.T) {
	e := newEnv(t, withServer(server.Config{SocketWriteWait: 300 * time.Millisecond}))
	stalled, _, err := stalledDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/ws/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	flood(e.instance, 0, 200)
	waitWithin(t, 5*time.Second, "the socket that reads nothing cut off", func() bool {
		return metricValue(t, e.reg, "smsim_websocket_connections") == 0
	})
	if v := metricValue(t, e.reg, "smsim_websocket_slow_drops_total"); v != 1 {
		t.Fatalf("smsim_websocket_slow_drops_total %v, want 1", v)
	}
}

// A phone's socket that does not read while messages pour in is closed
// with 1008 and the id of the last message it was sent, once it reads.
func TestPhoneSocketDropsTheSlow(t *testing.T) {
	e := newEnv(t, withServer(server.Config{SocketWriteWait: 30 * time.Second}))
	stalled, _, err := stalledDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/phones/v1/13800000411/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	const sent = 300 // 300 kilobytes: more than the socket's queue and buffers
	flood(e.instance, 0, sent)
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, last := 0, ""
	for {
		var m struct{ ID string }
		err := stalled.ReadJSON(&m)
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.ClosePolicyViolation || ce.Text != "too slow to keep up: reconnect with ?after="+last {
				t.Fatalf("stalled phone socket closed with %d %q, want 1008 naming ?after=%s", ce.Code, ce.Text, last)
			}
			break
		}
		if err != nil {
			t.Fatalf("stalled phone socket, after %d messages: %v, want a close 1008", n, err)
		}
		n++
		last = m.ID
	}
	if n >= sent {
		t.Fatalf("the stalled phone socket was sent all %d messages", n)
	}
}

// dialPinged opens a websocket that answers each ping the server sends
// (once something reads it) and tells of it on pings, unless pings is full.
// The test's end closes it.
func dialPinged(t *testing.T, url string, pings chan<- struct{}) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	return c
}

// The server pings every socket; a client that answers (gorilla's client
// does, while it reads) stays, and one that reads nothing, and so answers
// no ping, is closed once 10/9 of the ping period passed without a pong.
func TestSocketsArePingedAndTheSilentDropped(t *testing.T) {
	const period = 200 * time.Millisecond
	e := newEnv(t, withServer(server.Config{SocketPingPeriod: period}))
	ws := "ws" + strings.TrimPrefix(e.url, "http")
	pings := make(chan struct{}, 100)
	var live []*websocket.Conn
	for _, path := range []string{"/ws/events", "/phones/v1/13800000411/ws"} {
		c := dialPinged(t, ws+path, pings)
		go func() { // reads, and so answers pings, until the test closes it
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
		live = append(live, c)
	}
	opened := time.Now()
	silent, _, err := websocket.DefaultDialer.Dial(ws+"/ws/events", nil) // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 3 })
	for range 2 * len(live) { // each reading socket is pinged twice at least
		select {
		case <-pings:
		case <-time.After(10 * time.Second):
			t.Fatal("the reading sockets are not pinged")
		}
	}
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 2 })
	if d := time.Since(opened); d < period*10/9 {
		t.Fatalf("the silent socket was dropped %v after it opened, before the pong wait of %v", d, period*10/9)
	}
	for _, c := range live {
		c.Close()
	}
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 0 })
}

// deadlineListener remembers, for each connection it accepted, the read
// and write deadlines last set on it.
type deadlineListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*deadlineConn
}

func (l *deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	d := &deadlineConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns = append(l.conns, d)
	l.mu.Unlock()
	return d, nil
}

// armed answers how many connections have a read or write deadline set.
func (l *deadlineListener) armed() (n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		if !c.read.IsZero() || !c.write.IsZero() {
			n++
		}
	}
	return n
}

type deadlineConn struct {
	net.Conn
	l           *deadlineListener
	read, write time.Time // under l.mu
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.l.mu.Lock()
	c.read, c.write = t, t
	c.l.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.l.mu.Lock()
	c.read = t
	c.l.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.l.mu.Lock()
	c.write = t
	c.l.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

// SyscallConn keeps the kernel's measures of the connection within the
// server's reach, as on a connection of its own.
func (c *deadlineConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

// A socket that waits holds no deadline, and so no timer of the runtime's:
// the runtime looks through all of its timers each time one is reset to
// fall due soon (net/http does at the end of every request), so 10,000
// waiting sockets' deadlines made every request cost more. Its frames are
// still written within the write wait, and its client still dropped when
// it answers no ping (TestSocketsArePingedAndTheSilentDropped).
func TestWaitingSocketsHoldNoDeadline(t *testing.T) {
	ln := &deadlineListener{}
	e := newEnv(t, withServer(server.Config{SocketPingPeriod: 300 * time.Millisecond}),
		withListener(func(l net.Listener) net.Listener { ln.Listener = l; return ln }))
	ws := "ws" + strings.TrimPrefix(e.url, "http")
	pinged := make(chan struct{}, 100)
	var socks []*websocket.Conn
	for _, path := range []string{"/phones/v1/13800000411/ws", "/ws/events"} {
		socks = append(socks, dialPinged(t, ws+path, pinged))
	}
	type frame struct {
		sock int // of socks
		text string
	}
	frames := make(chan frame, 100)
	for i, c := range socks {
		go func() { // reads, and so answers pings, until the test closes it
			for {
				_, b, err := c.ReadMessage()
				if err != nil {
					return
				}
				frames <- frame{i, string(b)}
			}
		}()
	}
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 2 })
	e.sendSMS("95187", "13800000411", "hello")
	var got [2]int // frames naming the message, on the phone and on the event log
	for got[0] == 0 || got[1] == 0 {
		select {
		case f := <-frames:
			if strings.Contains(f.text, `"hello"`) {
				got[f.sock]++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("frames naming the message: %d on the phone, %d on the event log", got[0], got[1])
		}
	}
	for range 4 { // each socket pinged twice, at least, and answering
		select {
		case <-pinged:
		case <-time.After(10 * time.Second):
			t.Fatal("the sockets are not pinged")
		}
	}
	waitWithin(t, 5*time.Second, "every connection without a deadline", func() bool { return ln.armed() == 0 })
	if n := metricValue(t, e.reg, "smsim_websocket_connections"); n != 2 {
		t.Fatalf("smsim_websocket_connections %v, want the 2 that answer pings", n)
	}
}

// A long poll that waits holds no deadline either (net/http's write
// deadline would cut it off, and one set for its whole wait is a timer held
// all along); its answer is still written, and brings the message.
func TestWaitingPollHoldsNoDeadline(t *testing.T) {
	ln := &deadlineListener{}
	e := newEnv(t, withListener(func(l net.Listener) net.Listener { ln.Listener = l; return ln }))
	const phone = "13800000412"
	e.call("PUT", "/admin/v1/clock", `{"paused":false,"scale":1}`, 200, nil) // a paused clock answers nothing_on_its_way at once
	poll := e.goGet("/phones/v1/" + phone + "/messages/next?timeout=1m")
	waitValue(t, e.reg, "smsim_long_polls", nil, 1)
	if n := ln.armed(); n != 0 {
		t.Fatalf("%d connections hold a deadline while the poll waits, want none", n)
	}
	e.sendSMS("95187", phone, "woken")
	p := await(t, poll, 10*time.Second)
	if p.code != http.StatusOK || !strings.Contains(string(p.body), `"body":"woken"`) {
		t.Fatalf("the poll answered %d %s, want 200 and the message", p.code, p.body)
	}
}
