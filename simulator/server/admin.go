package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"smsim/simulator"
	"smsim/simulator/core"
)

func (s *Server) routeAdmin(mux *http.ServeMux) {
	s.handleNS(mux, "GET /admin/v1/clock", s.getClock)
	s.handleNS(mux, "PUT /admin/v1/clock", s.setClock)
	s.handleNS(mux, "POST /admin/v1/clock/advance", s.advance)
	s.handleNS(mux, "GET /admin/v1/schedule", s.schedule)
	s.handleNS(mux, "GET /admin/v1/faults", s.getFaults)
	s.handleNS(mux, "PUT /admin/v1/faults", s.putFaults)
	s.handleNS(mux, "PATCH /admin/v1/faults", s.patchFaults)
	s.handleNS(mux, resetPattern, s.reset)
	s.handle(mux, "GET /admin/v1/scenarios", s.scenarios)
	s.handle(mux, "GET /admin/v1/namespaces", s.listNamespaces)
	s.handleNS(mux, "PUT /admin/v1/scenario", s.putScenario)
	s.handleNS(mux, "GET /admin/v1/events", s.listEvents)
	s.handleNS(mux, "GET /admin/v1/dead-jobs", s.listDeadJobs)
	s.handleNS(mux, "GET /admin/v1/requests", s.requests)
}

func (s *Server) getClock(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	st, err := ns.ClockState(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

type clockRequest struct {
	Scale  *float64 `json:"scale"`
	Paused *bool    `json:"paused"`
}

func (s *Server) setClock(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req clockRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Scale == nil && req.Paused == nil {
		s.fail(w, r, core.Invalid("body: give scale, paused or both"))
		return
	}
	st, err := ns.SetClock(r.Context(), req.Scale, req.Paused)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

type advanceRequest struct {
	By    string `json:"by"`
	To    string `json:"to"`
	Next  bool   `json:"next"`
	Kind  string `json:"kind"`
	Order string `json:"order"`
	Phone string `json:"phone"`
}

// advance moves the clock by a duration (by), to a moment (to), or to the
// next scheduled job that kind, order and phone choose (next): one of the
// three. The moment and the next job's due time become a duration from the
// clock's now, and the clock moves by it as by one given.
func (s *Server) advance(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	var req advanceRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := advanceBy(r, ns, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

func advanceBy(r *http.Request, ns *simulator.Namespace, req advanceRequest) (core.ClockState, error) {
	ctx := r.Context()
	switch {
	case req.Next && (req.By != "" || req.To != ""):
		return core.ClockState{}, core.Invalid("next: give next alone, or with kind, order and phone; not with by or to")
	case req.By != "" && req.To != "":
		return core.ClockState{}, core.Invalid("to: give by (a duration) or to (a moment), not both")
	case !req.Next && (req.Kind != "" || req.Order != "" || req.Phone != ""):
		field := "kind"
		if req.Kind == "" {
			field = "order"
			if req.Order == "" {
				field = "phone"
			}
		}
		return core.ClockState{}, core.Invalid("%s: chooses the job of next: true; give next too", field)
	case req.Next:
		f, err := simulator.CheckJobFilter(simulator.JobFilter{Kind: req.Kind, Order: req.Order, Phone: req.Phone})
		if err != nil {
			return core.ClockState{}, err
		}
		st, _, err := ns.AdvanceNext(ctx, f, r.Header.Get("Idempotency-Key"))
		return st, err
	case req.To != "":
		to, err := time.Parse(time.RFC3339Nano, req.To)
		if err != nil {
			return core.ClockState{}, core.Invalid("to: %q is not an RFC 3339 time such as 2026-05-01T12:00:00Z", req.To)
		}
		return ns.AdvanceTo(ctx, to, r.Header.Get("Idempotency-Key"))
	case req.By == "":
		return core.ClockState{}, core.Invalid(`by: missing; give by (a duration such as "45m"), to (an RFC 3339 time) or next: true`)
	}
	by, err := core.ParseDuration("by", req.By)
	if err != nil {
		return core.ClockState{}, err
	}
	return ns.AdvanceOnce(ctx, by, r.Header.Get("Idempotency-Key"))
}

// schedule lists the jobs the namespace has not carried out yet, in due
// order: of kind, order and phone when the query names them, the first
// limit (100, at most 1000).
func (s *Server) schedule(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f, err := simulator.CheckJobFilter(simulator.JobFilter{Kind: q.Get("kind"), Order: q.Get("order"), Phone: q.Get("phone")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := ns.ClockState(r.Context()) // as the store holds it: another process may have moved it
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := st.Now
	jobs, err := ns.Schedule(r.Context(), f, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := simulator.Schedule{Now: now, Scheduled: jobs, More: len(jobs) > limit}
	if out.More {
		out.Scheduled = jobs[:limit]
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) getFaults(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	f, err := ns.Faults().Get(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

func (s *Server) putFaults(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := ns.PutFaults(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

func (s *Server) patchFaults(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := ns.PatchFaults(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	// It takes no body: one that says something (another namespace, what
	// to keep) is a mistake of the caller's, refused before anything goes.
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var fields map[string]json.RawMessage
	if body := strings.TrimSpace(string(b)); body != "" && (body[0] != '{' || json.Unmarshal(b, &fields) != nil || len(fields) > 0) {
		s.fail(w, r, core.Invalid("body: a reset takes none (or {}): it forgets the namespace the request names "+
			"(X-Smsim-Namespace or ?namespace=, else %s), nothing else; got %.60q", core.DefaultNamespace, body))
		return
	}
	st, err := ns.Reset(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"reset": true, "clock": st})
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	limit, err := intParam(r, "limit", 1000, 1, 10000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after := r.URL.Query().Get("after")
	if after != "" && !eventID.MatchString(after) {
		s.fail(w, r, core.Invalid("after: %q is not an event id such as 1777593600000-0 (at most 15 digits each side)", after))
		return
	}
	evs, err := ns.Events().After(r.Context(), after, int64(limit))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	last, err := ns.Events().Last(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"events": evs, "last": last})
}

// listDeadJobs answers the jobs that failed for good (GET
// /admin/v1/dead-jobs), newest first.
func (s *Server) listDeadJobs(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, total, err := ns.DeadJobs(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"jobs": jobs, "total": total})
}

var eventID = regexp.MustCompile(`^[0-9]{1,15}(-[0-9]{1,15})?$`)

// intParam reads an optional whole-number query parameter within [min, max]:
// def when it is absent; given empty, it is no number.
func intParam(r *http.Request, name string, def, min, max int) (int, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return def, nil
	}
	v := q.Get(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, core.Invalid("%s: must be a whole number from %d to %d, got %q", name, min, max, v)
	}
	return n, nil
}
