package server

import (
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
// for every socket (core.Live.JSON). Larger than a phone's: an advance
// hands out a burst of events at once.
const eventSendBuffer = 256

// sendFrame writes one frame to conn within the write wait, and tells whether
// it could: a client that read nothing for that long is dropped, counted
// with those too slow to keep up.
func (s *Server) sendFrame(r *http.Request, conn *websocket.Conn, typ int, b []byte) bool {
	conn.SetWriteDeadline(time.Now().Add(s.cfg.SocketWriteWait))
	err := conn.WriteMessage(typ, b)
	if err == nil {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.stats.dropped.Inc()
		s.log.DebugContext(r.Context(), "websocket client reads nothing: dropped", "route", r.Pattern, "wait", s.cfg.SocketWriteWait)
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
	s.stats.websockets.Inc()
	defer s.stats.websockets.Dec()
	done := readUntilClosed(conn)
	defer func() {
		watch.Close()
		conn.Close()
		<-done
	}()
	last := after
	for after != "" { // catch up, a page at a time, until the log has no more
		missed, err := ns.Feed().CatchUp(r.Context(), last, catchUpPage)
		if err != nil {
			s.log.WarnContext(r.Context(), "catching a page up on events", "err", err)
			return
		}
		for _, rec := range missed {
			b, err := json.Marshal(rec)
			if err != nil {
				return
			}
			if !s.sendFrame(r, conn, websocket.TextMessage, b) {
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
			if !s.sendFrame(r, conn, websocket.TextMessage, rec.JSON()) {
				return
			}
			last = rec.ID
		case <-ping.C:
			if !s.sendFrame(r, conn, websocket.PingMessage, nil) {
				return
			}
		}
	}
}
