package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"smsim/simulator/core"
)

// The guard keeps other sites and other hosts from driving the simulator:
// a page of another origin can make a browser send simple requests (a form,
// a no-cors fetch) and, through DNS rebinding, requests whose Host is a name
// of its own. Every request passes, in this order:
//
//   - Host: a loopback name or address, or one of Config.AllowedHosts,
//     else 421. The operations routes (/healthz, /readyz, /metrics), which
//     probes reach under any name, are exempt.
//   - Origin, when sent: its host is the request's Host or an allowed host,
//     else 403.
//   - Authorization: with Config.AdminToken set, the admin and phone-control
//     routes want "Bearer <token>", else 401 with WWW-Authenticate.
//   - Content-Type: a request that changes state (POST, PUT, PATCH,
//     DELETE), with a body or without, says it is JSON, else 415: a form or
//     a no-cors fetch cannot. The provider, MIIT and phone APIs answer it
//     in their handlers (handleNS), so that the request journal keeps it.

// operational are the routes any Host may read: probes and scrapers reach
// them under names of their own (a container's name, a pod's address).
var operational = map[string]bool{
	"GET /healthz": true,
	"GET /readyz":  true,
	"GET /metrics": true,
}

// controlPatterns are the phone-control routes the admin token guards,
// besides every /admin/ route.
var controlPatterns = map[string]bool{
	"GET /phones/v1":                     true, // it shows every phone's profile
	"DELETE /phones/v1/{phone}/messages": true,
	"GET /phones/v1/{phone}/profile":     true,
	"PUT /phones/v1/{phone}/profile":     true,
	"GET /phones/v1/{phone}/script":      true,
	"PUT /phones/v1/{phone}/script":      true,
	"DELETE /phones/v1/{phone}/script":   true,
}

// Guarded tells whether the route of pattern ("POST /admin/v1/reset")
// wants the admin token when the server has one.
func Guarded(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return strings.HasPrefix(path, "/admin/") || controlPatterns[pattern]
}

// changesState tells whether a request of method may change state.
func changesState(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// hosts is the set of Host names a server answers to besides loopback.
type hosts map[string]bool

func newHosts(names []string) hosts {
	h := hosts{}
	for _, n := range names {
		h[normalHost(n)] = true
	}
	return h
}

// normalHost lower-cases a host name and drops an IPv6 address's brackets
// and a name's final dot.
func normalHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(h, "]"), "["), "."))
	return h
}

// IsLoopbackHost tells whether host (without a port) is a loopback name
// (localhost, *.localhost) or address.
func IsLoopbackHost(host string) bool {
	h := normalHost(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// allows tells whether host (a Host header or an origin's host, with or
// without a port) is one the server answers to.
func (hs hosts) allows(host string) bool {
	name := hostOnly(host)
	if name == "" {
		return false
	}
	return IsLoopbackHost(name) || hs[normalHost(name)]
}

// wellFormedHost tells whether host[:port] is a host name (letters,
// digits, '-', '_' and dots) or an IP address, with no port or a port's
// number: net/http takes a Host of other characters (localhost:8080,x;
// evil,x.localhost), which names no server, nor a URL of one.
func wellFormedHost(host string) bool {
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, "" // no port
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n > 65535 || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if strings.HasPrefix(host, "[") { // an IPv6 address, which SplitHostPort gives without its brackets
		name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
		return net.ParseIP(name) != nil && strings.Contains(name, ":")
	}
	if net.ParseIP(name) != nil {
		return true
	}
	return name != "" && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == ""
}

// hostOnly drops the port of host[:port].
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// originAllowed tells whether r's Origin, if it sends one, is a page of
// this server: the origin's host and port are the request's Host, or its
// host is an allowed one (a loopback one among them: such a page runs on
// the machine smsim runs on).
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // "null" (a sandboxed page, a file), or not an origin
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return s.hosts[normalHost(u.Hostname())]
}

// tokenOK tells whether r carries the admin token, compared in constant
// time (of hashes, so that neither its content nor its length shows).
func (s *Server) tokenOK(r *http.Request) bool {
	if s.cfg.AdminToken == "" {
		return true
	}
	scheme, given, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		given = ""
	}
	a := sha256.Sum256([]byte(strings.TrimSpace(given)))
	b := sha256.Sum256([]byte(s.cfg.AdminToken))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// isJSONType tells whether a Content-Type is JSON (application/json, or
// a type ending in +json such as application/merge-patch+json).
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// guard answers a request another site or host may have sent (above), and
// hands the others to next. pattern is the route the request matched, ""
// for none.
func (s *Server) guard(w http.ResponseWriter, r *http.Request, pattern string) bool {
	if !operational[pattern] && !wellFormedHost(r.Host) {
		s.stats.refused.WithLabelValues("host").Inc()
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("Host: %q: not a host name or address with, if any, a port from 0 to 65535", r.Host))
		return false
	}
	if !operational[pattern] && !s.hosts.allows(r.Host) {
		s.stats.refused.WithLabelValues("host").Inc()
		writeProblem(w, http.StatusMisdirectedRequest, fmt.Sprintf(
			"Host: %q is not a name this server answers to: use a loopback name or address (127.0.0.1, localhost), or start smsim with --allowed-host %s",
			r.Host, hostOnly(r.Host)))
		return false
	}
	if !s.originAllowed(r) {
		s.stats.refused.WithLabelValues("origin").Inc()
		writeProblem(w, http.StatusForbidden, fmt.Sprintf(
			"Origin: %q is not this server (%s): a page of another site may not call smsim", r.Header.Get("Origin"), r.Host))
		return false
	}
	if pattern == "" {
		return true // the mux answers 404 or 405
	}
	if Guarded(pattern) && !s.tokenOK(r) {
		s.stats.refused.WithLabelValues("token").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="smsim"`)
		detail := "Authorization: this route wants the admin token (--admin-token) as Authorization: Bearer <token>"
		if r.Header.Get("Authorization") != "" {
			detail = "Authorization: not the admin token (--admin-token); send Authorization: Bearer <token>"
		}
		writeProblem(w, http.StatusUnauthorized, detail)
		return false
	}
	// the provider, MIIT and phone APIs refuse it themselves, to journal it
	// (handleNS)
	if !core.IsAPIRoute(pattern) && wrongType(r) {
		s.refuseType(w, r)
		return false
	}
	return true
}

// wrongType tells whether r changes state without saying application/json.
func wrongType(r *http.Request) bool {
	return changesState(r.Method) && !isJSONType(r.Header.Get("Content-Type"))
}

// refuseType answers 415 to a request of wrongType.
func (s *Server) refuseType(w http.ResponseWriter, r *http.Request) {
	s.stats.refused.WithLabelValues("content_type").Inc()
	ct := r.Header.Get("Content-Type")
	detail := fmt.Sprintf("Content-Type: a %s must say application/json, even without a body; got %q", r.Method, ct)
	if ct == "" {
		detail = fmt.Sprintf("Content-Type: a %s must say application/json, even without a body; none was given", r.Method)
	}
	writeProblem(w, http.StatusUnsupportedMediaType, detail)
}
