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
	"unicode/utf8"

	"smsim/gateway"
	"smsim/miit"
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
		body := readBody(peekBody(r, s.cfg.MaxBody))
		dec, err := ns.APIFault(r.Context(), snap, route, body.phone())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rec := &teeWriter{respWriter: respWriter{ResponseWriter: w}}
		answered := true
		serve := func() {
			if changesState(r.Method) {
				defer ns.Hold()() // as handleNS holds the other writes: after a latency, not during it
			}
			h(rec, r, ns)
		}
		switch {
		case dec == nil:
			serve()
		case !wait(r, dec.Latency):
			answered = false // the client left while it waited
		case dec.Drop:
			answered = false
			// after the journal has the call (the deferred calls run last): a
			// client that sees its connection dropped finds the call there
			defer drop(w)
		case dec.Error.Status != 0:
			writeInjected(rec, route, dec)
		default:
			serve()
		}
		if !ns.JournalOn() {
			return
		}
		if rec.status == 0 && r.Context().Err() != nil {
			answered = false // the client left before the answer
		}
		status := rec.status
		if status == 0 && answered {
			status = http.StatusOK
		}
		e := journalEntry(r, route, snap, start, body, rec, status)
		if dec != nil && !dec.Applied.None() {
			e.Fault = &dec.Applied
		}
		ns.Journal(snap.Bounds(), e)
	}
}

// refuseCall answers a call of route with refuse — a 415 to one that does
// not say application/json (refuseType), a 400 to one that gives a query
// parameter twice — and has the namespace's journal keep it, when the
// namespace is made: what a client sent wrong is where it looks first. The
// refusal makes no namespace and counts as no call of api_faults.
func (s *Server) refuseCall(w http.ResponseWriter, r *http.Request, route string, refuse http.HandlerFunc) {
	start := time.Now()
	rec := &teeWriter{respWriter: respWriter{ResponseWriter: w}}
	refuse(rec, r)
	name, err := namespaceOf(r)
	if err != nil {
		return
	}
	ns, err := s.world.Peek(r.Context(), name)
	if err != nil || !ns.JournalOn() {
		return
	}
	snap, err := ns.Snapshot(r.Context())
	if err != nil {
		return
	}
	body := readBody(peekBody(r, s.cfg.MaxBody))
	ns.Journal(snap.Bounds(), journalEntry(r, route, snap, start, body, rec, rec.status))
}

// cutText answers s cut to at most max bytes, on a character's boundary,
// and whether it was cut.
func cutText(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max-- // not within a character
	}
	return s[:max], true
}

// journalEntry is the journal's entry of a call of route that came in at
// start and was answered status through rec.
func journalEntry(r *http.Request, route string, snap core.Snapshot, start time.Time, body *requestBody, rec *teeWriter, status int) core.JournalEntry {
	path, cut3 := cutText(r.URL.Path, core.JournalURLMax)
	query, cut4 := cutText(r.URL.RawQuery, core.JournalURLMax)
	e := core.JournalEntry{ID: core.RequestID(r.Context()), Method: r.Method, Route: route, Path: path,
		Query: query, Status: status, At: snap.Now().Now, RealAt: start.UTC(),
		Took: core.FormatDuration(time.Since(start).Round(time.Microsecond))}
	var cut1, cut2 bool
	e.Body, cut1 = body.journal()
	e.Answer, cut2 = readBody(rec.body.Bytes()).journal()
	e.Truncated = cut1 || cut2 || cut3 || cut4 || rec.cut
	e.Phones = body.phones(r.PathValue("phone"))
	e.Order = orderOf(r, rec.body.Bytes())
	return e
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
// and puts it back for the handler to read as it would have (a peeked).
func peekBody(r *http.Request, limit int64) []byte {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, err := readAtMost(r.Body, r.ContentLength, limit)
	r.Body = &peeked{Reader: io.MultiReader(bytes.NewReader(b), r.Body), Closer: r.Body,
		whole: err == nil && int64(len(b)) <= limit, b: b}
	return b
}

// peeked is a body peekBody read, put back: read again, it is what was
// read, then the rest. The server's readBody takes a whole one (read to
// its end within the limit) as it is, rather than copy it again. Neither
// the handlers nor the journal change the bytes they are given.
type peeked struct {
	io.Reader
	io.Closer
	whole bool
	b     []byte
}

// requestBody is a body as apiCall reads it, for api_faults (its "phone")
// and for the journal (its copy, the numbers it names): compacted once and
// decoded once, when first asked, and only when what is asked can be in it.
type requestBody struct {
	raw       []byte // as it came, spaces trimmed
	compacted bool
	compact   []byte // raw compacted; nil when it is no JSON, has a string of bad UTF-8, or is too long for the journal
	badUTF8   bool   // a string of raw is not valid UTF-8 or escapes half a surrogate pair
	decoded   bool
	doc       any // raw decoded; nil when it is no JSON
	scanned   bool
	own       string   // the "phone" of the body's object, as it is written (scanPhones)
	named     []string // the numbers the body names, as namedPhones walks it, as written
}

// readBody returns the body b, unread.
func readBody(b []byte) *requestBody {
	return &requestBody{raw: bytes.TrimSpace(b)}
}

// compactJSON answers the body compacted, when it is JSON no longer than
// core.JournalBodyMax whose strings are all valid UTF-8 and escape no half
// of a surrogate pair (core.CheckUTF8): nil else. Such a body, which the
// handlers refuse, is no JSON to a client that reads the journal.
func (b *requestBody) compactJSON() []byte {
	if !b.compacted {
		b.compacted = true
		b.badUTF8 = core.CheckUTF8(b.raw) != nil
		if len(b.raw) > 0 && len(b.raw) <= core.JournalBodyMax && !b.badUTF8 {
			var c bytes.Buffer
			if json.Compact(&c, b.raw) == nil {
				b.compact = c.Bytes()
			}
		}
	}
	return b.compact
}

// document answers the body decoded, nil when it is no JSON.
func (b *requestBody) document() any {
	if !b.decoded {
		b.decoded = true
		src := b.raw
		if c := b.compactJSON(); c != nil {
			src = c
		} else if len(b.raw) <= core.JournalBodyMax && !b.badUTF8 {
			return nil // compacting found it no JSON
		}
		if json.Unmarshal(src, &b.doc) != nil {
			b.doc = nil
		}
	}
	return b.doc
}

// mayName tells whether the body may hold a field named name: it does
// when it holds the name in quotes, or an escape that could spell it.
func (b *requestBody) mayName(name string) bool {
	return bytes.Contains(b.raw, []byte(`"`+name+`"`)) || bytes.Contains(b.raw, []byte(`\u`))
}

// journal is the body as the journal keeps it: the JSON compacted, or its
// text as a JSON string; cut at core.JournalBodyMax (true then).
func (b *requestBody) journal() (json.RawMessage, bool) {
	if len(b.raw) == 0 {
		return nil, false
	}
	if c := b.compactJSON(); c != nil {
		return c, false
	}
	text := b.raw
	cut := len(text) > core.JournalBodyMax
	if cut {
		text = text[:core.JournalBodyMax]
	}
	s, _ := json.Marshal(strings.ToValidUTF8(string(text), "\uFFFD"))
	return s, cut
}

// phone is the number the body's "phone" field names, normalised when it
// is one; "" for none. Its key is "phone" exactly, as the handlers read it
// (core.DecodeStrict).
func (b *requestBody) phone() string {
	if !b.mayName("phone") {
		return ""
	}
	b.scan()
	if b.own == "" {
		return ""
	}
	if n, err := gateway.NormalizePhone("phone", b.own); err == nil {
		return n
	}
	return b.own
}

// phones answers the numbers a request names: pathPhone (its path's, or
// ""), then those of its body (namedPhones), each once.
func (b *requestBody) phones(pathPhone string) []string {
	var out []string
	if pathPhone != "" {
		out = addPhone(out, pathPhone)
	}
	if !b.mayName("phone") {
		return out
	}
	b.scan()
	for _, p := range b.named {
		out = addPhone(out, p)
	}
	return out
}

// scan reads the numbers of the body, once: from its compacted JSON as it
// is (scanPhones), where it has one — not decoded into maps and values,
// which cost a request about 3 µs —, or from the body decoded (a body too
// long for the journal, or with bad UTF-8).
func (b *requestBody) scan() {
	if b.scanned {
		return
	}
	b.scanned = true
	if c := b.compactJSON(); c != nil {
		b.own, b.named = scanPhones(c)
		return
	}
	doc := b.document()
	if m, ok := doc.(map[string]any); ok {
		b.own, _ = m["phone"].(string)
	}
	b.named = namedPhones(nil, doc)
}

// scanPhones reads the JSON value src, compact and valid (as
// requestBody.compactJSON makes it), as namedPhones reads it decoded: own
// is the "phone" of src's object (a string; "" else), named the non-empty
// "phone" strings namedPhones finds, in its order — of a key given twice,
// the last value, as decoding keeps it. Each as written, not normalised.
func scanPhones(src []byte) (own string, named []string) {
	var walk func(v []byte, depth int)
	walk = func(v []byte, depth int) {
		switch v[0] {
		case '{':
			ms := lastOfEachKey(jsonMembers(v))
			for _, m := range ms {
				if m.key == "phone" && m.v[0] == '"' {
					if p := jsonText(m.v); p != "" {
						if depth == 0 {
							own = p
						}
						named = append(named, p)
					}
				}
			}
			if depth < 2 {
				slices.SortFunc(ms, func(a, b jsonMember) int { return strings.Compare(a.key, b.key) })
				for _, m := range ms {
					if m.key != "phone" {
						walk(m.v, depth+1)
					}
				}
			}
		case '[':
			if depth < 2 {
				for _, e := range jsonElements(v) {
					walk(e, depth+1)
				}
			}
		}
	}
	walk(src, 0)
	return own, named
}

// jsonMember is a member of a JSON object: its key decoded, its value as
// written.
type jsonMember struct {
	key string
	v   []byte
}

// jsonMembers answers the members of the compact JSON object v, in order.
func jsonMembers(v []byte) []jsonMember {
	var out []jsonMember
	for i := 1; i < len(v) && v[i] != '}'; {
		k := jsonEnd(v, i)
		key := jsonText(v[i:k])
		e := jsonEnd(v, k+1) // after the ':'
		out = append(out, jsonMember{key, v[k+1 : e]})
		i = e
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return out
}

// jsonElements answers the elements of the compact JSON array v, in order.
func jsonElements(v []byte) [][]byte {
	var out [][]byte
	for i := 1; i < len(v) && v[i] != ']'; {
		e := jsonEnd(v, i)
		out = append(out, v[i:e])
		i = e
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return out
}

// lastOfEachKey answers ms without the members whose key a later one
// gives again.
func lastOfEachKey(ms []jsonMember) []jsonMember {
	out := ms[:0:0]
	for i, m := range ms {
		if !slices.ContainsFunc(ms[i+1:], func(n jsonMember) bool { return n.key == m.key }) {
			out = append(out, m)
		}
	}
	return out
}

// jsonEnd answers where the value of the compact JSON s that begins at i
// ends.
func jsonEnd(s []byte, i int) int {
	switch s[i] {
	case '"':
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(s)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = jsonEnd(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	default: // a number, true, false, null
		j := i
		for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' {
			j++
		}
		return j
	}
}

// jsonText decodes the JSON string raw (its quotes included).
func jsonText(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var t string
	if json.Unmarshal(raw, &t) != nil {
		return ""
	}
	return t
}

// namedPhones adds to out the numbers the decoded body doc names in its
// "phone" fields: its own, then its persons' and its changes', by the name
// of the field that holds them (addPhone).
func namedPhones(out []string, doc any) []string {
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		switch x := v.(type) {
		case map[string]any:
			if p, ok := x["phone"].(string); ok && p != "" {
				out = addPhone(out, p)
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

// addPhone adds p to out, normalised when it is a number, unless out holds
// it.
func addPhone(out []string, p string) []string {
	if n, err := gateway.NormalizePhone("phone", p); err == nil {
		p = n
	}
	if slices.Contains(out, p) {
		return out
	}
	return append(out, p)
}

// orderOf answers the order a request names: in its path, or the id of
// the order its answer is; "" for none. A path's id that is no filing id
// (a message's, a typo) names no order.
func orderOf(r *http.Request, answer []byte) string {
	if id := r.PathValue("id"); id != "" {
		if miit.IsFilingID(id) {
			return id
		}
		return ""
	}
	if !bytes.Contains(answer, []byte(`"f_`)) {
		return "" // the server writes an order's id as it is
	}
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(answer, &v) == nil && miit.IsFilingID(v.ID) {
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
