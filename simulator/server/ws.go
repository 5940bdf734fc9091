package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"smsim/gateway"
	"smsim/simulator"
	"smsim/simulator/core"

	"github.com/gorilla/websocket"
)

// Websocket timing, as in the gorilla chat example.
const (
	// DefaultSocketWriteWait bounds the writing of one frame: a client that
	// reads nothing for that long is dropped (Config.SocketWriteWait).
	DefaultSocketWriteWait = 5 * time.Second
	wsPongWait             = 60 * time.Second
	wsPingPeriod           = wsPongWait * 9 / 10
	wsReadLimit            = 512
	// wsSendBuffer is how many frames a socket may fall behind the feed
	// before it is dropped: pointers to frames encoded once and shared by
	// every socket (core.Live).
	wsSendBuffer = 64
	// wsKernelBuffer is the kernel's send buffer of a socket's connection:
	// a client that stops reading stops the writer soon, and costs the
	// machine no more than this.
	wsKernelBuffer = 64 << 10
)

// newUpgrader answers the server's websocket upgrader: its CheckOrigin lets
// in clients that send no Origin (programs) and the pages of this server
// (originAllowed); a page of another site may not read a phone.
func (s *Server) newUpgrader() websocket.Upgrader {
	return websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		// A write buffer is taken only while a frame is written: an idle socket
		// holds none.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     s.originAllowed,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			detail := "websocket handshake: " + reason.Error()
			if status == http.StatusForbidden {
				detail = fmt.Sprintf("websocket: origin %q is not this server (%s); connect from a page served here or without an Origin", r.Header.Get("Origin"), r.Host)
			}
			writeProblem(w, status, detail)
		},
	}
}

// upgrade takes r's connection over as a websocket, its kernel send buffer
// made small (wsKernelBuffer).
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.NetConn().(interface{ SetWriteBuffer(int) error }); ok {
		tc.SetWriteBuffer(wsKernelBuffer)
	}
	return conn, nil
}

// phoneSocket pushes each message delivered to a phone (either folder) as
// one JSON text frame. With ?after=ID (a message id, or "start") it first
// sends the messages delivered to the phone after that one, from the
// store: a client that reconnects misses nothing. A client too slow to keep
// up is disconnected with 1008, never waited for.
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
	conn, err := s.upgrade(w, r)
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
		b, err := json.Marshal(m.Phoned())
		if err != nil || !s.sendFrame(r, conn, websocket.TextMessage, b) {
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
				resume := gateway.AfterStart
				if last.ID != "" {
					resume = last.ID
				}
				s.feedEnded(conn, watch, resume)
				return
			}
			fr, ok := gateway.PhoneFrame(rec)
			if !ok || fr.Message.Seq <= last.Seq {
				continue // sent in the catch-up
			}
			if !s.sendFrame(r, conn, websocket.TextMessage, fr.JSON) {
				return
			}
			last = fr.Message
		case <-ping.C:
			if !s.sendFrame(r, conn, websocket.PingMessage, nil) {
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
					time.Now().Add(DefaultSocketWriteWait))
				return
			}
		}
	}()
	return done
}
