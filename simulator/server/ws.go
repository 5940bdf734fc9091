package server

import (
	"encoding/json"
	"fmt"
	"io"
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
		ReadBufferSize:  256, // a client sends pongs and closes, read in pieces
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
	var missed []gateway.Message
	if hasAfter {
		if missed, err = gw.DeliveredAfter(r.Context(), phone, after); err != nil {
			watch.Close()
			s.fail(w, r, err)
			return
		}
	}
	conn, err := s.upgrade(w, r)
	if err != nil {
		watch.Close()
		return // the upgrader has answered
	}
	go s.streamPhone(s.openSocket(r), conn, watch, missed) // as eventSocket
}

// streamPhone is the writer of a phone's socket (phoneSocket): the missed
// messages, then each delivery.
func (s *Server) streamPhone(sock socket, conn *websocket.Conn, watch *core.Watcher, missed []gateway.Message) {
	done := readUntilClosed(conn)
	defer s.closeSocket(conn, watch, done)
	ping := time.NewTicker(wsPingPeriod)
	defer ping.Stop()
	var last gateway.Message // the last message sent
	send := func(m gateway.Message) bool {
		b, err := json.Marshal(m.Phoned())
		if err != nil || !s.sendFrame(sock, conn, websocket.TextMessage, b) {
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
			if !s.sendFrame(sock, conn, websocket.TextMessage, fr.JSON) {
				return
			}
			last = fr.Message
		case <-ping.C:
			if !s.sendFrame(sock, conn, websocket.PingMessage, nil) {
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
	conn.SetReadLimit(wsReadLimit)
	conn.SetReadDeadline(time.Now().Add(wsPongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wsPongWait)) })
	go readLoop(conn, done)
	return done
}

// readLoop reads conn until it ends, then closes done. It is the
// goroutine's whole stack while it waits, kept small: a reader costs each
// socket its stack (the README's measure).
func readLoop(conn *websocket.Conn, done chan<- struct{}) {
	for readOne(conn) {
	}
	close(done)
}

// readOne reads a message of conn, and tells whether to read on.
func readOne(conn *websocket.Conn) bool {
	mt, r, err := conn.NextReader()
	if err != nil {
		return false
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return false
	}
	if mt == websocket.TextMessage && !utf8.Valid(b) {
		conn.WriteControl(websocket.CloseMessage, // safe beside the writer's frames
			websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, "a text message that is not valid UTF-8"),
			time.Now().Add(DefaultSocketWriteWait))
		return false
	}
	return true
}
