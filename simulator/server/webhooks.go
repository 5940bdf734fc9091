package server

import (
	"net/http"

	"smsim/simulator"
	"smsim/simulator/webhook"
)

func (s *Server) routeWebhooks(mux *http.ServeMux) {
	s.handleNS(mux, "POST /admin/v1/webhooks", s.registerWebhook)
	s.handleNS(mux, "GET /admin/v1/webhooks", s.listWebhooks)
	s.handleNS(mux, "GET /admin/v1/webhooks/{id}", s.getWebhook)
	s.handleNS(mux, "DELETE /admin/v1/webhooks/{id}", s.deleteWebhook)
	s.handleNS(mux, "GET /admin/v1/webhooks/{id}/deliveries", s.webhookDeliveries)
}

// webhookRequest is the body of POST /admin/v1/webhooks.
type webhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
}

func (s *Server) registerWebhook(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req webhookRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := ns.RegisterWebhook(r.Context(), webhook.Hook{URL: req.URL, Events: req.Events, Secret: req.Secret})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/admin/v1/webhooks/"+h.ID)
	s.writeJSON(w, r, http.StatusCreated, h)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	hs, err := ns.Webhooks().List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if hs == nil {
		hs = []webhook.Hook{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"webhooks": hs})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	h, err := ns.Webhooks().Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, h)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	if err := ns.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	limit, err := intParam(r, "limit", 100, 1, webhook.LogLen)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ds, err := ns.Webhooks().Deliveries(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ds == nil {
		ds = []webhook.Delivery{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"deliveries": ds})
}
