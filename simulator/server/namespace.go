package server

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"smsim/simulator"
	"smsim/simulator/core"
)

// NamespaceHeader names the namespace of a request. Browsers, which cannot
// set headers on a websocket, may give ?namespace= instead.
const NamespaceHeader = "X-Smsim-Namespace"

// namespaceOf reads the namespace a request names: the X-Smsim-Namespace
// header, or ?namespace=, or the default when it gives neither.
func namespaceOf(r *http.Request) (string, error) {
	hs, qs := r.Header.Values(NamespaceHeader), r.URL.Query()["namespace"]
	switch {
	case len(hs) > 1:
		return "", core.Invalid("%s: given %d times; give one", NamespaceHeader, len(hs))
	case len(qs) > 1:
		return "", core.Invalid("namespace: given %d times in the query; give one", len(qs))
	}
	// a header or a parameter given empty is a bad name, not the default:
	// a client whose variable is unset would act in default unawares
	for _, n := range []struct {
		what   string
		values []string
	}{{NamespaceHeader, hs}, {"namespace", qs}} {
		if len(n.values) == 1 && !simulator.ValidNamespace(n.values[0]) {
			return "", simulator.InvalidNamespace(n.what, n.values[0])
		}
	}
	h, q := r.Header.Get(NamespaceHeader), r.URL.Query().Get("namespace")
	switch {
	case h != "" && q != "" && h != q:
		return "", core.Invalid("namespace: the %s header says %q and ?namespace= says %q: give one", NamespaceHeader, h, q)
	case h != "":
		return h, nil
	case q != "":
		return q, nil
	}
	return core.DefaultNamespace, nil
}

// queryOnce refuses a query that gives a parameter more than once
// (?status=a&status=b): the API declares no parameter a list, and reading
// one of the values would act on what the client may not have meant.
func queryOnce(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil // most calls: no query to parse
	}
	q := r.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if n := len(q[k]); n > 1 {
			return core.Invalid("%s: given %d times in the query; give one", k, n)
		}
	}
	return nil
}

// nsHandler is a handler of a route that belongs to a namespace.
type nsHandler func(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace)

// streaming are the routes that wait for what happens in a namespace.
var streaming = map[string]bool{
	"GET /phones/v1/{phone}/messages/next": true,
	"GET /phones/v1/{phone}/ws":            true,
	"GET /ws/events":                       true,
}

// handleNS routes pattern to h, with the namespace the request names: a
// request that changes it makes it when it is new; one that reads it or
// waits in it leaves it as it is (simulator.World.Peek and Watch). A POST
// honours Idempotency-Key (idempotent).
func (s *Server) handleNS(mux *http.ServeMux, pattern string, h nsHandler) {
	if strings.HasPrefix(pattern, "POST ") {
		h = s.idempotent(h, keepsItsOwnKey[pattern])
	}
	// A write makes the namespace when it is new, and has it in use once
	// the write is carried out (its confirm, below).
	open := s.world.Write
	read := func(f func(context.Context, string) (*simulator.Namespace, error)) func(context.Context, string) (*simulator.Namespace, func(context.Context, bool) error, error) {
		return func(ctx context.Context, name string) (*simulator.Namespace, func(context.Context, bool) error, error) {
			ns, err := f(ctx, name)
			return ns, nil, err
		}
	}
	switch {
	case streaming[pattern]:
		open = read(s.world.Watch)
	case strings.HasPrefix(pattern, "GET "):
		open = read(s.world.Peek)
	}
	api := core.IsAPIRoute(pattern)
	if api {
		h = s.apiCall(pattern, h)
	}
	stream := streaming[pattern]
	// a write holds the namespace, so that a reset waits for it (the reset
	// itself, which waits for them all, holds nothing; a call of the
	// provider, MIIT or phone API holds it in apiCall, after any latency
	// api_faults adds)
	holds := !stream && !api && !strings.HasPrefix(pattern, "GET ") && pattern != resetPattern
	s.handle(mux, pattern, func(w http.ResponseWriter, r *http.Request) {
		if api && wrongType(r) {
			s.refuseCall(w, r, pattern, s.refuseType) // as guard does the others', journaled
			return
		}
		if err := queryOnce(r); err != nil {
			// before the namespace is opened or a key claimed: it changes nothing
			if api {
				s.refuseCall(w, r, pattern, func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, err) })
			} else {
				s.fail(w, r, err)
			}
			return
		}
		name, err := namespaceOf(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set(NamespaceHeader, name) // on a refusal to open it too
		ns, settle, err := open(r.Context(), name)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if holds {
			leave := ns.Hold()
			defer leave()
		}
		if settle == nil {
			h(w, r, ns)
			return
		}
		sw := &respWriter{ResponseWriter: w}
		h(sw, r, ns)
		if err := settle(context.WithoutCancel(r.Context()), sw.status < http.StatusBadRequest); err != nil {
			s.log.Warn("recording a namespace in use", "namespace", name, "err", err)
		}
	})
}

// resetPattern is the route of a namespace's reset, which waits for the
// namespace's writes rather than holding it as they do (handleNS).
const resetPattern = "POST /admin/v1/reset"

// listNamespaces answers the namespaces in use (GET /admin/v1/namespaces),
// by name: those a request touched within the idle period, and default.
func (s *Server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	uses, err := s.world.Namespaces(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"namespaces": uses})
}
