package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"smsim/gateway"
	"smsim/simulator"
	"smsim/simulator/core"
)

// apiCall wraps h, the handler of a route of the provider, MIIT or phone
// API (core.APIRoutes): the fault profile's api_faults act on its calls —
// a latency, an error in place of its answer, a dropped connection — and
// the request journal keeps each call with the fault it got. It reads the
// profile from what the process holds (core.State): a route with no entry
// in api_faults costs no command; and it hands the journal's entry over
// in memory, for the world to write in the background.
func (s *Server) apiCall(route string, h nsHandler) nsHandler {
	return func(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
		start := time.Now()
		snap, err := ns.Snapshot(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		body := peekBody(r, s.cfg.MaxBody)
		phone := bodyPhone(body)
		dec, err := ns.APIFault(r.Context(), snap, route, phone)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rec := &teeWriter{respWriter: respWriter{ResponseWriter: w}}
		answered := true
		switch {
		case dec == nil:
			h(rec, r, ns)
		case !wait(r, dec.Latency):
			answered = false // the client left while it waited
		case dec.Drop:
			answered = false
			drop(w)
		case dec.Error.Status != 0:
			writeInjected(rec, route, dec)
		default:
			h(rec, r, ns)
		}
		if !ns.JournalOn() {
			return
		}
		status := rec.status
		if status == 0 && answered {
			status = http.StatusOK
		}
		e := core.JournalEntry{ID: core.RequestID(r.Context()), Method: r.Method, Route: route, Path: r.URL.Path,
			Query: r.URL.RawQuery, Status: status, At: snap.Now().Now, RealAt: start.UTC(),
			Took: core.FormatDuration(time.Since(start).Round(time.Microsecond))}
		var cut1, cut2 bool
		e.Body, cut1 = journalBody(body)
		e.Answer, cut2 = journalBody(rec.body.Bytes())
		e.Truncated = cut1 || cut2 || rec.cut
		e.Phones = phonesOf(r, body)
		e.Order = orderOf(r, rec.body.Bytes())
		if dec != nil && !dec.Applied.None() {
			e.Fault = &dec.Applied
		}
		ns.Journal(snap.Bounds(), e)
	}
}

// wait waits d, real time, unless the client leaves first: false then.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// drop closes the connection without an answer, as a server that crashed
// or a proxy that timed out would.
func drop(w http.ResponseWriter) {
	if rw, ok := w.(*respWriter); ok {
		rw.dropped = true
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: the stream is reset
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// injectedProblem is the problem type of an error api_faults put in place
// of a route's answer.
const injectedProblem = "urn:smsim:problem:injected-fault"

// writeInjected answers the error api_faults decided: its body, or a
// problem detail that names the fault; a Retry-After header when it has
// one.
func writeInjected(w http.ResponseWriter, route string, d *core.APIDecision) {
	e := d.Error
	if ra := e.RetryAfterHeader(); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	if e.Body != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		w.Write(append(append([]byte{}, e.Body...), '\n'))
		return
	}
	detail := fmt.Sprintf("injected by the fault profile's api_faults on %s (call %d)", route, d.Applied.Call)
	if d.Applied.Magic != "" {
		detail = fmt.Sprintf("injected on %s for the magic number %s, on its first call", route, d.Applied.Magic)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(Problem{Type: injectedProblem, Title: http.StatusText(e.Status), Status: e.Status, Detail: detail})
}

// peekBody reads the request's body, up to one byte more than the limit,
// and puts it back for the handler to read as it would have.
func peekBody(r *http.Request, limit int64) []byte {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, limit+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
	return b
}

// journalBody is a body as the journal keeps it: the JSON itself, or its
// text as a JSON string; cut at core.JournalBodyMax (true then).
func journalBody(b []byte) (json.RawMessage, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, false
	}
	if len(b) <= core.JournalBodyMax && json.Valid(b) {
		var c bytes.Buffer
		if json.Compact(&c, b) == nil {
			return c.Bytes(), false
		}
	}
	cut := len(b) > core.JournalBodyMax
	if cut {
		b = b[:core.JournalBodyMax]
	}
	s, _ := json.Marshal(strings.ToValidUTF8(string(b), "\uFFFD"))
	return s, cut
}

// bodyPhone is the number a JSON body names in its "phone" field.
func bodyPhone(body []byte) string {
	var v struct {
		Phone string `json:"phone"`
	}
	if json.Unmarshal(body, &v) != nil || v.Phone == "" {
		return ""
	}
	if p, err := gateway.NormalizePhone("phone", v.Phone); err == nil {
		return p
	}
	return v.Phone
}

// phonesOf answers the numbers a request names: in its path, in its body's
// "phone" fields (its own, then its persons' and its changes', by the name
// of the field that holds them).
func phonesOf(r *http.Request, body []byte) []string {
	var out []string
	add := func(p string) {
		if n, err := gateway.NormalizePhone("phone", p); err == nil {
			p = n
		}
		for _, x := range out {
			if x == p {
				return
			}
		}
		out = append(out, p)
	}
	if p := r.PathValue("phone"); p != "" {
		add(p)
	}
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return out
	}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		switch x := v.(type) {
		case map[string]any:
			if p, ok := x["phone"].(string); ok && p != "" {
				add(p)
			}
			if depth < 2 {
				for _, k := range slices.Sorted(maps.Keys(x)) { // in the same order every time
					if k != "phone" {
						walk(x[k], depth+1)
					}
				}
			}
		case []any:
			if depth < 2 {
				for _, y := range x {
					walk(y, depth+1)
				}
			}
		}
	}
	walk(doc, 0)
	return out
}

// orderOf answers the order a request names: in its path, or the id of
// the order its answer is.
func orderOf(r *http.Request, answer []byte) string {
	if id := r.PathValue("id"); id != "" {
		return id
	}
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(answer, &v) == nil && strings.HasPrefix(v.ID, "f_") {
		return v.ID
	}
	return ""
}

// teeWriter keeps the status (respWriter, which also hands the connection
// to a websocket and flushes) and the first core.JournalBodyMax bytes of
// an answer as it passes.
type teeWriter struct {
	respWriter
	body bytes.Buffer
	cut  bool
}

func (w *teeWriter) Write(b []byte) (int, error) {
	room := core.JournalBodyMax + 1 - w.body.Len()
	if room > 0 {
		w.body.Write(b[:min(room, len(b))])
	}
	if len(b) > room {
		w.cut = true
	}
	return w.respWriter.Write(b)
}
