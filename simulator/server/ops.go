package server

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"smsim/dashboard"
)

//go:embed openapi.json
var openapi []byte

// OpenAPI is the OpenAPI 3.1 document of the HTTP API, as the repository
// holds it: its servers name the default address. GET /openapi.json serves
// it with the server a request reached instead (servedOpenAPI).
func OpenAPI() []byte { return openapi }

// servedOpenAPI is the document as GET /openapi.json serves it: the bytes
// before and after the value of its top-level "servers", around which each
// answer writes the server the request reached.
var servedOpenAPI = sync.OnceValues(func() (before, after []byte) {
	start, end, err := topLevelValue(openapi, "servers")
	if err != nil {
		panic("openapi.json: " + err.Error())
	}
	return openapi[:start], openapi[end:]
})

// topLevelValue finds the value of key in the JSON object doc: its first
// byte and the byte after its last.
func topLevelValue(doc []byte, key string) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return 0, 0, err
		}
		if t == key {
			end = int(dec.InputOffset())
			return end - len(v), end, nil
		}
	}
	return 0, 0, fmt.Errorf("no %q", key)
}

// servedServers is the servers entry of the document served for r: the
// server as r reached it, its scheme and Host (one the guard let through),
// in the layout of the file. Behind a proxy that says where the client
// reached it (X-Forwarded-Proto: http or https; X-Forwarded-Host: a host
// and port as Host takes; the first of each list), that is the server.
func servedServers(r *http.Request) []byte {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if p := firstForwarded(r, "X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	if h := firstForwarded(r, "X-Forwarded-Host"); h != "" && wellFormedHost(h) {
		host = h
	}
	url, _ := json.Marshal(scheme + "://" + host)
	var b bytes.Buffer
	b.WriteString("[\n    {\n      \"url\": ")
	b.Write(url)
	b.WriteString(",\n      \"description\": \"This server, as the request for this document reached it.\"\n    }\n  ]")
	return b.Bytes()
}

// firstForwarded answers the first value of the proxy's header name (a
// list of the proxies' values, the client's side first), trimmed.
func firstForwarded(r *http.Request, name string) string {
	v, _, _ := strings.Cut(r.Header.Get(name), ",")
	return strings.TrimSpace(v)
}

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
		before, after := servedOpenAPI()
		servers := servedServers(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(before)+len(servers)+len(after)))
		w.Write(before)
		w.Write(servers)
		w.Write(after)
	})
	s.handleH(mux, "GET /{$}", dashboard.Handler())
}
