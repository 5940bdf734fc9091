package server

import (
	"net/http"

	"smsim/dashboard"
)

// routeDashboard serves the files the dashboard page loads: its scripts,
// style sheet and icon (the page itself is "GET /{$}").
func (s *Server) routeDashboard(mux *http.ServeMux) {
	files := dashboard.Handler()
	s.handle(mux, "GET "+dashboard.AssetPrefix+"{file...}", func(w http.ResponseWriter, r *http.Request) {
		if !dashboard.HasAsset(r.PathValue("file")) {
			writeProblem(w, http.StatusNotFound, "the dashboard has no file "+r.URL.Path)
			return
		}
		files.ServeHTTP(w, r)
	})
}
