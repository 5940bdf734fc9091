package server

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"

	"smsim/gateway"
	"smsim/simulator"
	"smsim/simulator/core"
)

// ndjson is the media type of the journal exported as JSON lines.
const ndjson = "application/x-ndjson"

// requests answers the request journal of the namespace (GET
// /admin/v1/requests), the entries its filters choose, in the order they
// came: {"requests": [...]}, or one entry a line with ?format=jsonl or
// Accept: application/x-ndjson. The entries this process holds are written
// first, so that a test sees its own requests.
func (s *Server) requests(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	f, lines, err := journalQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	entries, err := ns.Requests(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !lines {
		s.writeJSON(w, r, http.StatusOK, map[string]any{"requests": entries})
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", ndjson)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// journalQuery reads the filters of GET /admin/v1/requests, and whether
// the answer is JSON lines.
func journalQuery(r *http.Request) (core.JournalFilter, bool, error) {
	q := r.URL.Query()
	var f core.JournalFilter
	if f.Route = q.Get("route"); f.Route != "" {
		if err := core.CheckAPIRoute("route", f.Route); err != nil {
			return f, false, err
		}
	}
	if q.Has("phone") {
		if q.Get("phone") == "" {
			return f, false, core.Invalid("phone: empty; give a mainland mobile number such as \"13800000001\", or leave phone out")
		}
		phone, err := gateway.NormalizePhone("phone", q.Get("phone"))
		if err != nil {
			return f, false, err
		}
		f.Phone = phone
	}
	f.Order = q.Get("order")
	for _, t := range []struct {
		name string
		at   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := q.Get(t.name)
		if v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, false, core.Invalid("%s: %q is not an RFC 3339 time such as \"2026-05-01T08:00:00Z\"", t.name, v)
		}
		*t.at = at.UTC()
	}
	var lines bool
	switch format := q.Get("format"); {
	case format == "jsonl":
		lines = true
	case format == "json":
	case !q.Has("format"):
		for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(a)); err == nil && mt == ndjson {
				lines = true
			}
		}
	default:
		return f, false, core.Invalid("format: must be \"json\" or \"jsonl\", got %q", format)
	}
	return f, lines, nil
}
