package server

import (
	"errors"
	"net/http"
	"regexp"
	"regexp/syntax"
	"strconv"
	"time"
	"unicode/utf8"

	"smsim/gateway"
	"smsim/simulator"
	"smsim/simulator/core"
)

func (s *Server) routePhones(mux *http.ServeMux) {
	s.handleNS(mux, "GET /phones/v1/{phone}/messages", s.messages)
	s.handleNS(mux, "DELETE /phones/v1/{phone}/messages", s.clearMessages)
	s.handleNS(mux, "GET /phones/v1/{phone}/messages/next", s.next)
	s.handleNS(mux, "GET /phones/v1/{phone}/profile", s.profile)
	s.handleNS(mux, "PUT /phones/v1/{phone}/profile", s.setProfile)
	s.handleNS(mux, "GET /phones/v1/{phone}/ws", s.phoneSocket)
	s.handleNS(mux, "GET /phones/v1/{phone}/script", s.script)
	s.handleNS(mux, "PUT /phones/v1/{phone}/script", s.setScript)
	s.handleNS(mux, "DELETE /phones/v1/{phone}/script", s.clearScript)
}

func phoneOf(r *http.Request) (string, error) {
	return gateway.NormalizePhone("phone", r.PathValue("phone"))
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	folder := gateway.FolderInbox
	if q := r.URL.Query(); q.Has("folder") {
		folder = q.Get("folder") // given empty, it is no folder
	}
	switch folder {
	case gateway.FolderInbox, gateway.FolderBlocked:
	case gateway.FolderFailed, gateway.FolderTravelling:
		s.undelivered(w, r, ns, phone, folder)
		return
	default:
		s.fail(w, r, core.Invalid("folder: must be %q, %q, %q or %q, got %q", gateway.FolderInbox, gateway.FolderBlocked,
			gateway.FolderFailed, gateway.FolderTravelling, folder))
		return
	}
	ms, err := ns.Gateway().Folder(r.Context(), phone, folder)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]gateway.PhoneMessage, len(ms))
	for i, m := range ms {
		out[i] = m.Phoned()
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"messages": out})
}

// undelivered answers the messages to phone that failed, or that are still
// on their way, as the gateway knows them: status, reason, trail.
func (s *Server) undelivered(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace, phone, folder string) {
	list := ns.Gateway().Failed
	if folder == gateway.FolderTravelling {
		list = ns.Gateway().Travelling
	}
	ms, err := list(r.Context(), phone)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"messages": ms})
}

// WaitHeader says why a long poll answered 204: WaitTimeout or
// WaitNothingOnItsWay.
const (
	WaitHeader          = "X-Smsim-Wait"
	WaitTimeout         = "timeout"            // the timeout passed
	WaitNothingOnItsWay = "nothing_on_its_way" // at once: the clock is paused and nothing is on its way to the phone
)

func (s *Server) clearMessages(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := ns.ClearMessages(r.Context(), phone); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Limits of a long poll.
const (
	DefaultNextTimeout = 30 * time.Second
	MaxNextTimeout     = 5 * time.Minute
	maxMatchLen        = 512 // characters
)

// The bounds of a long poll's match once compiled: its instructions, and
// the runes of the character classes they hold (\pL alone is over a
// thousand). A poll holds its program while it waits, so that a few
// characters (\pL{1000}) must not cost megabytes.
const (
	maxMatchInsts = 2000
	maxMatchRunes = 20000
)

// compileMatch compiles a long poll's match, refusing one that is no
// regular expression or too large once compiled.
func compileMatch(v string) (*regexp.Regexp, error) {
	parsed, err := syntax.Parse(v, syntax.Perl)
	if err != nil {
		return nil, core.Invalid("match: not a regular expression: %v", err)
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, core.Invalid("match: not a regular expression: %v", err)
	}
	runes := 0
	for _, in := range prog.Inst {
		runes += len(in.Rune)
	}
	if len(prog.Inst) > maxMatchInsts || runes > maxMatchRunes {
		return nil, core.Invalid("match: too large once compiled (%d instructions, %d runes of classes; at most %d and %d): use fewer or smaller repetitions and classes",
			len(prog.Inst), runes, maxMatchInsts, maxMatchRunes)
	}
	re, err := regexp.Compile(v)
	if err != nil {
		return nil, core.Invalid("match: not a regular expression: %v", err)
	}
	return re, nil
}

func (s *Server) next(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	timeout := DefaultNextTimeout
	if q.Has("timeout") {
		v := q.Get("timeout")
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > MaxNextTimeout {
			s.fail(w, r, core.Invalid("timeout: must be a duration more than 0 and at most %s, such as \"30s\"; got %q", MaxNextTimeout, v))
			return
		}
		timeout = d
	}
	var f gateway.Filter
	f.Sender = q.Get("sender")
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"from_miit", &f.FromMIIT}, {"has_code", &f.HasCode}} {
		if q.Has(b.name) {
			v := q.Get(b.name)
			x, err := strconv.ParseBool(v)
			if err != nil {
				s.fail(w, r, core.Invalid("%s: must be true or false, got %q", b.name, v))
				return
			}
			*b.dst = x
		}
	}
	if v := q.Get("match"); v != "" {
		if utf8.RuneCountInString(v) > maxMatchLen {
			s.fail(w, r, core.Invalid("match: longer than %d characters", maxMatchLen))
			return
		}
		re, err := compileMatch(v)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		f.Match = re
	}
	after, hasAfter := q.Get("after"), q.Has("after")
	if hasAfter && after == "" {
		s.fail(w, r, core.Invalid("after: empty; give a message id or %q", gateway.AfterStart))
		return
	}
	// No write deadline while it waits (net/http's would cut it off, and a
	// deadline set for the whole wait is a timer held all along: rechecks);
	// its answer is written within the write wait.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	m, ok, err := ns.Gateway().Next(r.Context(), phone, after, f, timeout)
	rc.SetWriteDeadline(time.Now().Add(s.cfg.SocketWriteWait))
	if err != nil && r.Context().Err() != nil {
		return // the client left: nothing to answer, and the journal says so
	}
	if errors.Is(err, gateway.ErrNothingOnItsWay) {
		w.Header().Set(WaitHeader, WaitNothingOnItsWay)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		w.Header().Set(WaitHeader, WaitTimeout)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.writeJSON(w, r, http.StatusOK, m.Phoned())
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := ns.Gateway().Profile(r.Context(), phone)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, p)
}

func (s *Server) setProfile(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := gateway.ParseProfile(b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := ns.SetPhoneProfile(r.Context(), phone, p); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, p)
}

func (s *Server) script(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sc, err := ns.Gateway().Script(r.Context(), phone)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, sc)
}

func (s *Server) setScript(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var sc gateway.Script
	if err := s.decode(w, r, &sc); err != nil {
		s.fail(w, r, err)
		return
	}
	sc, err = ns.Gateway().SetScript(r.Context(), phone, sc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, sc)
}

func (s *Server) clearScript(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	phone, err := phoneOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := ns.Gateway().SetScript(r.Context(), phone, gateway.Script{}); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
