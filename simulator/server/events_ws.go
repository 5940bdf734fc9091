package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"smsim/simulator"
	"smsim/simulator/core"
)

// catchUpPage is how many missed events a reconnecting page is sent at a
// time.
const catchUpPage = 1000

// eventSendBuffer is how many events a socket of the event log may fall
// behind the feed before it is dropped: pointers to events encoded once
// for every socket (core.Live.JSON). Twice a phone's: an advance hands a
// page a burst of events at once.
const eventSendBuffer = 128

// socket is what a websocket's goroutine keeps of the request that opened
// it: the context of its log lines (not its end) and its route.
type socket struct {
	ctx   context.Context
	route string
}

// openSocket counts a websocket taken over from r among the open ones, and
// answers what its goroutine keeps of r: a context of its own, with the
// request's id for the log (the request, and all it holds, are let go).
// The goroutine starts with readUntilClosed and ends with closeSocket.
func (s *Server) openSocket(r *http.Request) socket {
	s.stats.websockets.Inc()
	s.sockets.Add(1)
	return socket{ctx: core.WithRequestID(context.Background(), core.RequestID(r.Context())), route: r.Pattern}
}

// closeSocket ends a websocket's goroutine: its watcher, its connection,
// its reader.
func (s *Server) closeSocket(conn *websocket.Conn, watch *core.Watcher, done <-chan struct{}) {
	watch.Close()
	conn.Close()
	<-done
	s.stats.websockets.Dec()
	s.sockets.Done()
}

// Wait waits until every websocket has ended: they end when their client
// goes, or when the world stops (its feeds close their watchers).
func (s *Server) Wait() { s.sockets.Wait() }

// sendFrame writes one frame to conn within the write wait, and tells whether
// it could: a client that read nothing for that long is dropped, counted
// with those too slow to keep up.
func (s *Server) sendFrame(sock socket, conn *websocket.Conn, typ int, b []byte) bool {
	conn.SetWriteDeadline(time.Now().Add(s.cfg.SocketWriteWait))
	err := conn.WriteMessage(typ, b)
	if err == nil {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.stats.dropped.Inc()
		s.log.DebugContext(sock.ctx, "websocket client reads nothing: dropped", "route", sock.route, "wait", s.cfg.SocketWriteWait)
	}
	return false
}

// feedEnded closes a socket whose watcher the feed closed: with 1008 and
// how to resume when it fell behind (the client reconnects and catches up
// from resume, the id of the last event or message it was sent), with 1013
// when the server is stopping.
func (s *Server) feedEnded(conn *websocket.Conn, watch *core.Watcher, resume string) {
	code, why := websocket.CloseTryAgainLater, "the server is stopping"
	if watch.Slow() {
		code, why = websocket.ClosePolicyViolation, "too slow to keep up"
		s.stats.dropped.Inc()
	}
	reason := why + ": reconnect with ?after=" + resume
	if resume == "" {
		reason = why + ": reconnect"
	}
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(s.cfg.SocketWriteWait))
}

// eventSocket streams the event log: first every event after ?after=ID
// (a page that reconnects catches up on what it missed), then each new
// event live, one JSON text frame each. A page too slow to keep up is
// disconnected with 1008 (it reconnects and catches up), never waited for.
func (s *Server) eventSocket(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	after := r.URL.Query().Get("after")
	if after != "" && !eventID.MatchString(after) {
		s.fail(w, r, core.Invalid("after: %q is not an event id such as 1777593600000-0 (at most 15 digits each side)", after))
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		writeProblem(w, http.StatusUpgradeRequired, "this endpoint is a websocket: connect with an Upgrade: websocket request")
		return
	}
	watch, ok := ns.Feed().Watch(r.Context(), "", eventSendBuffer)
	if !ok {
		writeProblem(w, http.StatusServiceUnavailable, "the server is stopping")
		return
	}
	conn, err := s.upgrade(w, r)
	if err != nil {
		watch.Close()
		return
	}
	// The socket goes on in a goroutine of its own, and the handler returns:
	// net/http's goroutine, its buffers and the request are let go, and a
	// socket that waits costs only what it needs (the README's measure):
	// that goroutine is the writer, called directly, so that its stack,
	// while it waits, stays within the smallest a goroutine has.
	go s.streamEvents(s.openSocket(r), conn, ns.Feed(), watch, after)
}

// streamEvents is the writer of an event socket (eventSocket).
func (s *Server) streamEvents(sock socket, conn *websocket.Conn, feed *core.Feed, watch *core.Watcher, after string) {
	done := readUntilClosed(conn)
	defer s.closeSocket(conn, watch, done)
	last := after
	for after != "" { // catch up, a page at a time, until the log has no more
		missed, err := feed.CatchUp(sock.ctx, last, catchUpPage)
		if err != nil {
			s.log.WarnContext(sock.ctx, "catching a page up on events", "err", err)
			return
		}
		for _, rec := range missed {
			b, err := json.Marshal(rec)
			if err != nil {
				return
			}
			if !s.sendFrame(sock, conn, websocket.TextMessage, b) {
				return
			}
			last = rec.ID
		}
		if len(missed) < catchUpPage {
			break
		}
	}
	ping := time.NewTicker(wsPingPeriod)
	defer ping.Stop()
	for {
		select {
		case <-done:
			return
		case rec, ok := <-watch.C:
			if !ok {
				s.feedEnded(conn, watch, last)
				return
			}
			if last != "" && !core.Newer(rec.ID, last) {
				continue // sent in the catch-up
			}
			if !s.sendFrame(sock, conn, websocket.TextMessage, rec.JSON()) {
				return
			}
			last = rec.ID
		case <-ping.C:
			if !s.sendFrame(sock, conn, websocket.PingMessage, nil) {
				return
			}
		}
	}
}
