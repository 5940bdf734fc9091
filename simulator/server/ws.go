package server

import (
	"context"
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
	// DefaultSocketPingPeriod is how often a websocket is pinged; a client
	// that answers no ping within 10/9 of it (60 s) is dropped
	// (Config.SocketPingPeriod).
	DefaultSocketPingPeriod = 54 * time.Second
	wsReadLimit             = 512
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
		// A client sends pongs and closes: the smallest buffer that holds a
		// control frame's payload (gorilla reads other messages in pieces).
		ReadBufferSize:  128,
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
	// the 101 carries the headers every answer does (gorilla writes it
	// itself, from these alone)
	h := http.Header{}
	for _, k := range []string{"X-Request-Id", NamespaceHeader} {
		if v := w.Header().Get(k); v != "" {
			h.Set(k, v)
		}
	}
	conn, err := s.upgrader.Upgrade(w, r, h)
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
	k := newSocket(s)
	watch, err := gw.Queue(r.Context(), phone, k.wake) // first, so that nothing falls between the catch-up and the feed
	if err != nil {
		if r.Context().Err() != nil {
			return // the client left during its handshake: no one to answer
		}
		s.fail(w, r, err)
		return
	}
	// What the feed brings of the log up to the moment the socket read the
	// store happened before it opened, or is in its catch-up, however late
	// it comes (a publication of another process, or on a cluster of
	// another node, reaches this one a moment later): it is not sent.
	stream := &phoneStream{holds: ns.Events().Holds}
	if hasAfter {
		c, err := gw.DeliveredAfter(r.Context(), phone, after)
		if err != nil {
			watch.Close()
			s.fail(w, r, err)
			return
		}
		stream.missed, stream.since = c.Messages, c.Log
		stream.last = gateway.Message{ID: after, Seq: c.Seq}
	} else if stream.since, err = ns.Events().Last(r.Context()); err != nil {
		watch.Close()
		s.fail(w, r, err)
		return
	}
	conn, err := s.upgrade(w, r)
	if err != nil {
		watch.Close()
		return // the upgrader has answered
	}
	k.serve(r, conn, watch, stream) // as eventSocket
}

// phoneStream is what a phone's socket sends (phoneSocket): the missed
// messages, then each delivery.
type phoneStream struct {
	missed []gateway.Message
	last   gateway.Message // the last message sent, or the one of ?after= (its id and number)
	since  string          // the newest event of the log as the socket opened: the feed's up to it are not sent
	holds  func(ctx context.Context, id string) (bool, error)
}

// resetSince tells whether the reset l, which is not numbered after the
// event since, came after it: the log it emptied held since (holds). A
// reset deletes the log, and the ids of the new one start again from the
// time of day: one in the millisecond of since may be numbered before it.
func resetSince(k *socket, holds func(ctx context.Context, id string) (bool, error), since string, l *core.Live) bool {
	ctx, cancel := context.WithTimeout(k.ctx, k.s.cfg.SocketWriteWait)
	defer cancel()
	held, err := holds(ctx, since)
	if err != nil {
		k.s.log.WarnContext(k.ctx, "telling a late reset from a new one: taken as new", "reset", l.ID, "err", err)
		return true
	}
	return !held
}

func (p *phoneStream) catchUp(k *socket) bool {
	for _, m := range p.missed {
		b, err := json.Marshal(m.Phoned())
		if err != nil || !k.sendFrame(websocket.TextMessage, b) {
			return false
		}
		p.last = m
	}
	p.missed = nil
	return true
}

func (p *phoneStream) send(k *socket, l *core.Live) bool {
	if p.since != "" && !core.Newer(l.ID, p.since) && (l.Kind != core.KindReset || !resetSince(k, p.holds, p.since, l)) {
		return true // before the socket opened, or in its catch-up
	}
	if l.Kind == core.KindReset {
		p.last = gateway.Message{} // the deliveries are numbered from 1 again
		p.since = ""               // and what comes now came after the socket opened
		return true
	}
	fr, ok := gateway.PhoneFrame(l)
	if !ok || fr.Message.Seq <= p.last.Seq {
		return true // sent in the catch-up
	}
	if !k.sendWire(wire(l, phoneWire, func() []byte { return fr.JSON })) {
		return false
	}
	p.last = fr.Message
	return true
}

func (p *phoneStream) resume() string {
	if p.last.ID == "" {
		return gateway.AfterStart
	}
	return p.last.ID
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
