package server

import (
	_ "embed"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"smsim/dashboard"
)

//go:embed openapi.json
var openapi []byte

// OpenAPI is the OpenAPI 3.1 document of the HTTP API.
func OpenAPI() []byte { return openapi }

func (s *Server) routeOps(mux *http.ServeMux) {
	s.handle(mux, "GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.handle(mux, "GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ok, why := s.world.Ready(); !ok {
			unavailable(w, "the Redis store is unavailable: "+why)
			return
		}
		s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.handleH(mux, "GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	s.handle(mux, "GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapi)
	})
	s.handleH(mux, "GET /{$}", dashboard.Handler())
}
