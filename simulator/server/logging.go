package server

import (
	"log/slog"
	"net/http"
	"time"
)

// logRequest writes the line of a request at info level: method, route
// pattern, the namespace it spoke for (none for the routes of no
// namespace), status and duration, with the request_id of its context. The
// path, which holds phone numbers and whatever a client puts in it, only at
// debug level.
func (s *Server) logRequest(r *http.Request, route, namespace string, status int, d time.Duration) {
	if !s.log.Enabled(r.Context(), slog.LevelInfo) {
		return // nothing built for a line nobody writes
	}
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route)}
	if namespace != "" {
		attrs = append(attrs, slog.String("namespace", namespace))
	}
	attrs = append(attrs, slog.Int("status", status), slog.Duration("duration", d))
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		attrs = append(attrs, slog.String("path", r.URL.Path))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}
