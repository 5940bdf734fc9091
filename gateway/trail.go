package gateway

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// A Decision is one thing that happened to a message on its way — a delay
// drawn, an outage that held it, a spam filter — so that a tester can
// explain every message.
type Decision struct {
	At     time.Time `json:"at"`
	Step   string    `json:"step"`
	Detail string    `json:"detail"`
}

// Steps of a trail.
const (
	StepSent       = "sent"
	StepDelay      = "delay"
	StepPhoneDelay = "phone_delay"
	StepReorder    = "reorder"
	StepThrottle   = "throttle"
	StepScript     = "script"
	StepDuplicate  = "duplicate"
	StepOutage     = "outage"
	StepFailed     = "failed"
	StepBlocked    = "blocked"
	StepDelivered  = "delivered"
)

// trail is a message's decisions, in order.
type trail []Decision

func (t *trail) add(at time.Time, step, format string, args ...any) {
	*t = append(*t, Decision{At: at.UTC(), Step: step, Detail: fmt.Sprintf(format, args...)})
}

// trailText is a trail a script takes as its JSON text (a JSON string
// holding the trail's JSON), written when the script's arguments are, not
// when the message is planned.
type trailText trail

// MarshalJSON writes the trail's JSON as a JSON string.
func (t trailText) MarshalJSON() ([]byte, error) {
	return appendJSONString(nil, trail(t).json()), nil
}

// json writes the trail as encoding/json would, byte for byte, without
// its reflection: every message planned or delivered writes one or two,
// on the hot path of a flow and of an advance.
func (t trail) json() string {
	if t == nil {
		return "null"
	}
	b := make([]byte, 0, 96*len(t)+2)
	b = append(b, '[')
	for i, d := range t {
		if i > 0 {
			b = append(b, ',')
		}
		b = d.appendJSON(b)
	}
	return string(append(b, ']'))
}

// appendJSON appends the decision as encoding/json writes it. A time
// outside the years 0–9999, which encoding/json refuses, never comes here:
// simulated time ends before then (core.MaxTime).
func (d Decision) appendJSON(b []byte) []byte {
	b = append(b, `{"at":"`...)
	b = d.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","step":`...)
	b = appendJSONString(b, d.Step)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, d.Detail)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string as encoding/json escapes it:
// quotes, backslashes and control characters; <, > and & for HTML; U+2028
// and U+2029; invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func trailOf(s string) trail {
	var t trail
	_ = json.Unmarshal([]byte(s), &t)
	return t
}
