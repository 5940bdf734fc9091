package server

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"smsim/gateway"
	"smsim/simulator"
	"smsim/simulator/core"
)

func (s *Server) routeGateway(mux *http.ServeMux) {
	s.handleNS(mux, "POST /gateway/v1/messages", s.send)
	s.handleNS(mux, "GET /gateway/v1/messages/{id}", s.message)
}

type sendRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	Body string `json:"body"`
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req sendRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := gateway.ValidateSender("from", req.From); err != nil {
		s.fail(w, r, err)
		return
	}
	to, err := gateway.NormalizePhone("to", req.To)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Body) == "" {
		s.fail(w, r, core.Invalid("body: missing; give the text of the message"))
		return
	}
	if n := utf8.RuneCountInString(req.Body); n > gateway.MaxBodyRunes {
		s.fail(w, r, core.Invalid("body: %d characters, more than the limit of %d", n, gateway.MaxBodyRunes))
		return
	}
	// sent at the clock's now as the store holds it, which another process
	// may have moved
	id, err := ns.Gateway().Send(r.Context(), gateway.SendRequest{From: req.From, To: to, Body: req.Body})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/gateway/v1/messages/"+id)
	s.writeJSON(w, r, http.StatusAccepted, sendAnswer{ID: id, Status: gateway.StatusQueued})
}

// sendAnswer is the answer to a message sent: its id, and its status as it
// is stored (queued).
type sendAnswer struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	m, err := ns.Gateway().Message(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, m)
}
