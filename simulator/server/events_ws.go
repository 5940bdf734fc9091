package server

import (
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"smsim/simulator"
	"smsim/simulator/core"
)

// catchUpPage is how many missed events a reconnecting page is sent at a
// time.
const catchUpPage = 1000

// eventSocket streams the event log: first every event after ?after=ID
// (a page that reconnects catches up on what it missed), then each new
// event live, one JSON text frame each. A page too slow to keep up is
// disconnected (it reconnects and catches up), never waited for.
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
	watch, ok := ns.Feed().Watch(r.Context(), "", 0)
	if !ok {
		writeProblem(w, http.StatusServiceUnavailable, "the server is stopping")
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
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
			conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := conn.WriteJSON(rec); err != nil {
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
			conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if !ok {
				conn.WriteMessage(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too slow to keep up, or the server is stopping: reconnect with ?after="+last))
				return
			}
			if last != "" && !core.Newer(rec.ID, last) {
				continue // sent in the catch-up
			}
			if err := conn.WriteMessage(websocket.TextMessage, rec.JSON()); err != nil {
				return
			}
			last = rec.ID
		case <-ping.C:
			conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}
