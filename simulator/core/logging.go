package core

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Logging rules shared by every part: a line written while serving a request
// names the request, and no line above debug level shows a verification
// code.

type requestIDKey struct{}

// WithRequestID returns a context that carries the id of the HTTP request it
// serves.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID answers the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler wraps h so that a record logged with a context that carries a
// request id (WithRequestID) gets a request_id attribute: every part logs
// with the context it was given (InfoContext, WarnContext, …), and what it
// logs while serving a request names that request.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// String describes the job for logs and errors: kind, sequence number, due
// time and arguments, with every argument of exactly six digits — the shape
// of a verification code (the arguments of miit.code jobs hold one) —
// masked. Member is the stored form, unmasked: log it at debug level only.
func (e Job) String() string {
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		if codeShaped(a) {
			a = "******"
		}
		args[i] = a
	}
	seq := strings.TrimLeft(e.Seq, "0")
	return fmt.Sprintf("%s #%s due %s [%s]", e.Kind, seq, e.Due.Format(time.RFC3339Nano), strings.Join(args, " "))
}

func codeShaped(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Retrying follows the failures of a loop that tries again and again (while
// the store is away, say): Note says the first failure at warn, keeps
// quiet about those after it, and says at info when the loop works again
// and how many tries failed in between; Wait answers how long to wait
// before the next try, doubling from first up to most. The zero value is
// a loop that works.
type Retrying struct {
	failures int
}

// Note records the outcome of a try of what (err nil: it worked).
func (o *Retrying) Note(log *slog.Logger, what string, err error) {
	switch {
	case err == nil && o.failures > 0:
		log.Info(what+": working again", "failed_tries", o.failures)
		o.failures = 0
	case err != nil:
		o.failures++
		if o.failures == 1 {
			log.Warn(what, "err", err)
		}
	}
}

// Wait answers the wait before the next try after the failures so far.
func (o *Retrying) Wait(first, most time.Duration) time.Duration {
	d := first
	for i := 1; i < o.failures && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}
