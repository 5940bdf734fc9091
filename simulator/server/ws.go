package server

import (
	"fmt"
	"net/http"
	"net/url"
	"smsim/gateway"
	"smsim/simulator"
	"smsim/simulator/core"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// Websocket timing, as in the gorilla chat example.
const (
	wsWriteWait  = 10 * time.Second
	wsPongWait   = 60 * time.Second
	wsPingPeriod = wsPongWait * 9 / 10
	wsReadLimit  = 512
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	// A write buffer is taken only while a frame is written: an idle socket
	// holds none.
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     sameOrigin,
	Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
		detail := "websocket handshake: " + reason.Error()
		if status == http.StatusForbidden {
			detail = fmt.Sprintf("websocket: origin %q is not this server (%s); connect from a page served here or without an Origin", r.Header.Get("Origin"), r.Host)
		}
		writeProblem(w, status, detail)
	},
}

// sameOrigin lets in clients that send no Origin (programs) and pages
// served by this host; a page of another site may not read a phone.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// phoneSocket pushes each message delivered to a phone (either folder) as
// one JSON text frame. With ?after=ID (a message id, or "start") it first
// sends the messages delivered to the phone after that one, from the
// store: a client that reconnects misses nothing. A client too slow to keep
// up is disconnected, never waited for.
func (s *Server) phoneSocket(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		writeProblem(w, http.StatusUpgradeRequired, "this endpoint is a websocket: connect with an Upgrade: websocket request")
		return
	}
	after, hasAfter := r.URL.Query().Get("after"), r.URL.Query().Has("after")
	if hasAfter && after == "" {
		s.fail(w, r, core.Invalid("after: empty; give a message id or %q", gateway.AfterStart))
		return
	}
	gw := ns.Gateway()
	watch, err := gw.Watch(r.Context(), phone) // first, so that nothing falls between the catch-up and the feed
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer func() { watch.Close() }()
	var missed []gateway.Message
	if hasAfter {
		if missed, err = gw.DeliveredAfter(r.Context(), phone, after); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	s.stats.websockets.Inc()
	defer s.stats.websockets.Dec()
	done := readUntilClosed(conn)
	// writer: this goroutine
	ping := time.NewTicker(wsPingPeriod)
	defer func() {
		ping.Stop()
		conn.Close()
		<-done
	}()
	var last gateway.Message // the last message sent
	send := func(m gateway.Message) bool {
		conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
		if err := conn.WriteJSON(m.Phoned()); err != nil {
			return false
		}
		last = m
		return true
	}
	for _, m := range missed {
		if !send(m) {
			return
		}
	}
	for {
		select {
		case <-done:
			return
		case rec, ok := <-watch.C:
			if !ok {
				reason := "too slow to keep up, or the server is stopping: reconnect with ?after=start"
				if last.ID != "" {
					reason = "too slow to keep up, or the server is stopping: reconnect with ?after=" + last.ID
				}
				conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
				conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, reason))
				return
			}
			fr, ok := gateway.PhoneFrame(rec)
			if !ok || fr.Message.Seq <= last.Seq {
				continue // sent in the catch-up
			}
			conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := conn.WriteMessage(websocket.TextMessage, fr.JSON); err != nil {
				return
			}
			last = fr.Message
		case <-ping.C:
			conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

// readUntilClosed runs a websocket's reader, as the gorilla chat example
// does: it answers pongs, drops what the client sends, and closes the
// channel it answers when the connection ends or stops answering pings. A
// text message that is not valid UTF-8 ends the connection with close code
// 1007 (RFC 6455, section 8.1).
func readUntilClosed(conn *websocket.Conn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn.SetReadLimit(wsReadLimit)
		conn.SetReadDeadline(time.Now().Add(wsPongWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wsPongWait)) })
		for {
			mt, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if mt == websocket.TextMessage && !utf8.Valid(b) {
				conn.WriteControl(websocket.CloseMessage, // safe beside the writer's frames
					websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, "a text message that is not valid UTF-8"),
					time.Now().Add(wsWriteWait))
				return
			}
		}
	}()
	return done
}
