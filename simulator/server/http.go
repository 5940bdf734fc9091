package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"smsim/simulator/core"
)

// Problem is an RFC 9457 problem detail, the body of every error answer.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

var problemTypes = map[int]string{
	400: "urn:smsim:problem:invalid-input",
	401: "urn:smsim:problem:unauthorized",
	421: "urn:smsim:problem:misdirected",
	404: "urn:smsim:problem:not-found",
	405: "urn:smsim:problem:method-not-allowed",
	409: "urn:smsim:problem:conflict",
	408: "urn:smsim:problem:request-timeout",
	413: "urn:smsim:problem:body-too-large",
	415: "urn:smsim:problem:unsupported-media-type",
	422: "urn:smsim:problem:idempotency-key-reused",
	426: "urn:smsim:problem:upgrade-required",
	429: "urn:smsim:problem:too-many-namespaces",
	403: "urn:smsim:problem:forbidden",
	500: "urn:smsim:problem:internal",
	503: "urn:smsim:problem:store-unavailable",
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	typ, ok := problemTypes[status]
	if !ok {
		typ = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail})
}

// retryAfter is the Retry-After of a 503: when the client may try again,
// in seconds.
const retryAfter = "1"

// unavailable answers 503 with a Retry-After: the store cannot serve the
// request for now.
func unavailable(w http.ResponseWriter, detail string) {
	w.Header().Set("Retry-After", retryAfter)
	writeProblem(w, http.StatusServiceUnavailable, detail)
}

// fail answers err: the status an *core.Error carries, 503 with a
// Retry-After when the store cannot serve for now (unreachable, out of
// time, loading, busy: core.StoreUnavailable), else 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *core.Error
	switch {
	case errors.As(err, &e):
		if e.Code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeProblem(w, e.Code, e.Detail)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// the client went away; nobody reads the answer
	case core.StoreUnavailable(err):
		s.log.WarnContext(r.Context(), "store unavailable", "route", r.Pattern, "err", err)
		unavailable(w, "the Redis store cannot serve the request for now ("+storeWhy(err)+"); try again")
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
		writeProblem(w, http.StatusInternalServerError, "internal error: "+err.Error())
	}
}

// storeWhy says in a few words why the store cannot serve: what a client
// may read, without the addresses an error of the network names.
func storeWhy(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "LOADING"):
		return "it is loading its dataset"
	case strings.Contains(s, "BUSY"):
		return "it is busy running a script"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(s, "timeout"):
		return "it did not answer in time"
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) {
		return "it cannot be reached"
	}
	return "it is unavailable"
}

// writeJSON answers v as JSON with status. It encodes v before it writes
// anything: a value that cannot be encoded (a time past year 9999, a NaN)
// is a 500, logged, never a status with an empty or cut-off body.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		s.log.ErrorContext(r.Context(), "answer cannot be encoded", "method", r.Method, "route", r.Pattern, "err", err)
		writeProblem(w, http.StatusInternalServerError, "internal error: the answer cannot be written as JSON: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// readBody reads a JSON request body: 415 for a Content-Type other than
// JSON, 413 over the size limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &core.Error{Code: http.StatusUnsupportedMediaType,
				Detail: fmt.Sprintf("Content-Type: the body must be JSON (application/json), got %q", ct)}
		}
	}
	if p, ok := r.Body.(*peeked); ok && p.whole && int64(len(p.b)) <= s.cfg.MaxBody {
		return p.b, nil // read whole already
	}
	if n := r.ContentLength; n >= 0 && n <= s.cfg.MaxBody {
		b, err := readAtMost(r.Body, n, s.cfg.MaxBody)
		if err != nil {
			return nil, bodyError(err)
		}
		return b, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &core.Error{Code: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("body: larger than the limit of %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return nil, bodyError(err)
	}
	return b, nil
}

// readAtMost reads body to its end, or to limit+1 bytes (a caller tells a
// body over the limit by its length), into a buffer of the length the
// request announced (announced, its Content-Length; -1 when it announced
// none) when that is at most readAtOnce: a body of a known, usual length
// is read in one allocation of its size, where io.ReadAll starts at 512
// bytes and grows by copies. A longer one is read as it comes, so that a
// client that announces a long body and sends none costs no buffer of
// that length. On an error it answers what it read before it, as
// io.ReadAll does.
func readAtMost(body io.Reader, announced, limit int64) ([]byte, error) {
	if announced < 0 || announced > limit || announced > readAtOnce {
		return io.ReadAll(io.LimitReader(body, limit+1))
	}
	b := make([]byte, announced)
	n, err := io.ReadFull(body, b)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // nothing came of what it announced
	}
	return b[:n], err // as io.ReadAll, what was read before an error too
}

// readAtOnce is the longest body readAtMost reads into a buffer of its
// announced length, made before the body comes: the API's bodies are a
// few hundred bytes.
const readAtOnce = 4 << 10

// bodyError is the answer to a body that could not be read: a 408 when it
// did not arrive within ReadTimeout, else a 400; neither names the
// connection's addresses.
func bodyError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &core.Error{Code: http.StatusRequestTimeout, Detail: fmt.Sprintf(
			"body: did not arrive within %s, the time for a whole request: send it at once", core.FormatDuration(ReadTimeout))}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return core.Invalid("body: ended before the length it announced (Content-Length)")
	}
	return core.Invalid("body: cannot be read: the connection failed while it was sent")
}

// decode reads a JSON request body into v (core.DecodeStrict).
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	return core.DecodeStrictBytes(b, v)
}

// problemsForMux answers unknown paths and methods with problem details
// instead of the mux's plain text, once the guard let the request in. A
// path the mux would redirect — to its cleaned form (//, . or ..
// segments), or to one with a trailing slash — is a path the API does not
// have: a 404 too, for a client that follows a redirect would send a POST
// again.
func (s *Server) problemsForMux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if _, ok := h.(route); !ok {
			pattern = "" // the mux's own answer: it names the route it would redirect to
		}
		if !s.guard(w, r, pattern) {
			return
		}
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeProblem(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, rec.header.Get("Allow")))
		default: // not found, or a redirect
			writeProblem(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s; see /openapi.json", r.Method, r.URL.Path))
		}
	})
}

// statusRecorder keeps what a handler answers without sending it.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: core.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"})),
		duration: core.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "smsim_http_request_duration_seconds", Help: "HTTP request durations by route pattern (real seconds).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"})),
	}
	return m
}

// respWriter records the status of an answer.
type respWriter struct {
	http.ResponseWriter
	status  int
	dropped bool // api_faults closed the connection without an answer
}

func (w *respWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection to a websocket.
func (w *respWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the connection cannot be taken over")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// Flush sends what is buffered.
func (w *respWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument gives each request an id (X-Request-Id, kept when the client
// sends one), counts and times it by route, and logs it.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(core.WithRequestID(r.Context(), id))
		start := time.Now()
		rw := &respWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		code := "dropped"
		switch {
		case rw.dropped:
			rw.status = 0
		case rw.status == 0 && r.Context().Err() != nil:
			code = "left" // the client went before any answer
		case rw.status == 0:
			rw.status = http.StatusOK
			fallthrough
		default:
			code = strconv.Itoa(rw.status)
		}
		d := time.Since(start)
		s.http.requests.WithLabelValues(route, r.Method, code).Inc()
		s.http.duration.WithLabelValues(route).Observe(d.Seconds())
		s.logRequest(r, route, rw.Header().Get(NamespaceHeader), rw.status, d)
	})
}
