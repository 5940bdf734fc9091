package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"

	"smsim/simulator"
	"smsim/simulator/core"
)

// IdempotencyKeyHeader names a POST that may be sent again: a retry with
// the same key and the same request is answered what the first one was,
// without doing it again.
const IdempotencyKeyHeader = "Idempotency-Key"

// ReplayedHeader marks an answer given again for an Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// recordedHeaders are the headers of an answer that a replay gives again.
var recordedHeaders = []string{"Content-Type", "Location", "X-Content-Type-Options"}

// idempotent makes h, the handler of a POST, honour Idempotency-Key. A
// request without the header goes to h as it is, at no cost. With it, the
// namespace's record of the key (simulator.Namespace.ClaimAnswer) decides,
// in one round trip: a key never seen is claimed, h answers, and the
// answer is recorded (one more) before it is sent; a retry of the same
// request — same method, path, query and body — is answered the recorded
// answer again, marked Idempotent-Replayed; while the first is in
// progress, a retry is a 409 with a Retry-After; a key used for another
// request is a 422. An answer that may differ on a retry (forgotten) is
// not recorded: the key is freed, and a retry runs the request again —
// unless h failed (5xx) after sending the store a change that the store
// did not confirm (core.Outcome: a timeout, a cut connection): Redis may
// carry it out after all, so a retry is a 409 and never does it twice.
//
// A route that keeps its key itself (own: the clock's advance, whose key
// is kept with its target, across a crash) is not refused while a request
// with the key is in progress: the retry goes to h, which waits for the
// one under way, or finishes it when its process died, and answers as it
// did; its answer is then recorded.
func (s *Server) idempotent(h nsHandler, own bool) nsHandler {
	return func(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
		keys := r.Header.Values(IdempotencyKeyHeader)
		if len(keys) == 0 {
			h(w, r, ns)
			return
		}
		key := keys[0]
		if err := checkIdempotencyKey(keys); err != nil {
			s.fail(w, r, err)
			return
		}
		body, err := readAtMost(r.Body, r.ContentLength, s.cfg.MaxBody)
		if err != nil {
			s.fail(w, r, bodyError(err))
			return
		}
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body)) // h reads it all, and bounds it
		fp := fingerprint(r, body)
		held, err := ns.ClaimAnswer(r.Context(), key, fp)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch {
		case held != nil && held.Fingerprint != fp:
			s.fail(w, r, &core.Error{Code: http.StatusUnprocessableEntity, Detail: fmt.Sprintf(
				"%s: %q was given to another request (another method, path, query or body) within %s; give a new request a new key",
				IdempotencyKeyHeader, key, core.FormatDuration(ns.AnswerKept()))})
			return
		case held != nil && !held.Done && own:
			// h keeps the key itself: it is answered by h
		case held != nil && !held.Done:
			w.Header().Set("Retry-After", retryAfter)
			s.fail(w, r, &core.Error{Code: http.StatusConflict, Detail: fmt.Sprintf(
				"%s: a request with the key %q is in progress; try again once it has answered", IdempotencyKeyHeader, key)})
			return
		case held != nil && held.Unknown && !own:
			s.fail(w, r, &core.Error{Code: http.StatusConflict, Detail: fmt.Sprintf(
				"%s: the request with the key %q failed (a 503) after the store had been sent a change that it did not "+
					"confirm in time, and may have carried it out after all; see whether it did (read the order, the phone's "+
					"messages, …) before sending it again with a new key", IdempotencyKeyHeader, key)})
			return
		case held != nil:
			for name, v := range held.Header {
				w.Header().Set(name, v)
			}
			w.Header().Set(ReplayedHeader, "true")
			w.WriteHeader(held.Status)
			w.Write(held.Body)
			return
		}
		rec := &answerRecorder{header: http.Header{}}
		hctx, outcome := core.WithOutcome(r.Context())
		h(rec, r.WithContext(hctx), ns)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		// Recorded even when the client has gone: its retry is answered.
		ctx := context.WithoutCancel(r.Context())
		if rec.status >= 500 && outcome.Unknown() && !own {
			// Redis may carry the change out after all: a retry must not
			// carry it out a second time.
			if err := ns.RecordAnswer(ctx, key, simulator.Answer{Fingerprint: fp, Unknown: true}); err != nil {
				s.log.WarnContext(ctx, "recording that the outcome of an idempotency key is unknown; a retry is a 409 until its claim ends", "key", key, "err", err)
			}
		} else if forgotten(rec.status) {
			if err := ns.ForgetAnswer(ctx, key); err != nil {
				s.log.WarnContext(ctx, "freeing an idempotency key; it is freed when its claim ends", "key", key, "err", err)
			}
		} else {
			a := simulator.Answer{Fingerprint: fp, Status: rec.status, Body: rec.body.Bytes(), Header: map[string]string{}}
			for _, name := range recordedHeaders {
				if v := rec.header.Get(name); v != "" {
					a.Header[name] = v
				}
			}
			if err := ns.RecordAnswer(ctx, key, a); err != nil {
				s.log.WarnContext(ctx, "recording the answer of an idempotency key; a retry is a 409 until its claim ends", "key", key, "err", err)
			}
		}
		for name, v := range rec.header {
			w.Header()[name] = v
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
	}
}

// keepsItsOwnKey are the routes that keep their Idempotency-Key
// themselves, so that a retry after a crash is carried out at once.
var keepsItsOwnKey = map[string]bool{"POST /admin/v1/clock/advance": true}

// forgotten tells whether an answer of status is not recorded for a
// retry: a fault of smsim or its store (5xx), a body it did not read (413,
// 415), namespaces it holds too many of for now (429).
func forgotten(status int) bool {
	return status >= 500 || status == http.StatusRequestEntityTooLarge ||
		status == http.StatusUnsupportedMediaType || status == http.StatusTooManyRequests
}

// checkIdempotencyKey refuses a key that is empty, too long, not printable
// ASCII, or given more than once.
func checkIdempotencyKey(keys []string) error {
	if len(keys) > 1 {
		return core.Invalid("%s: given %d times; give one", IdempotencyKeyHeader, len(keys))
	}
	key := keys[0]
	ok := len(key) >= 1 && len(key) <= 255
	for i := 0; ok && i < len(key); i++ {
		ok = key[i] > ' ' && key[i] < 0x7f
	}
	if !ok {
		return core.Invalid("%s: must be 1 to 255 printable ASCII characters, no spaces, got %q", IdempotencyKeyHeader, key)
	}
	return nil
}

// fingerprint identifies a request for its idempotency key: its method,
// path, query and body.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s?%s\n", r.Method, r.URL.Path, r.URL.RawQuery)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// answerRecorder keeps an answer, to record it before it is sent.
type answerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answerRecorder) Header() http.Header { return a.header }

func (a *answerRecorder) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}
