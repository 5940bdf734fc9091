package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"smsim/simulator/core"
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

// newTrail answers an empty trail with room for the decisions of most
// messages (sent, delayed, delivered), which add fills without growing it.
func newTrail() trail { return make(trail, 0, 4) }

func (t *trail) add(at time.Time, step, format string, args ...any) {
	*t = append(*t, Decision{At: at.UTC(), Step: step, Detail: fmt.Sprintf(format, args...)})
}

// trailText is a trail a script takes as its JSON text (a JSON string
// holding the trail's JSON), written when the script's arguments are, not
// when the message is planned.
type trailText trail

// MarshalText answers the trail's JSON, which encoding/json writes as a
// JSON string: as text, not as JSON of its own (MarshalJSON), which
// encoding/json would scan again to compact it.
func (t trailText) MarshalText() ([]byte, error) {
	return trail(t).appendJSON(nil), nil
}

// appendJSON appends the trail as encoding/json writes a trailText: its
// JSON as a JSON string.
func (t trailText) appendJSON(b []byte) []byte {
	var buf [512]byte
	return core.AppendJSONString(b, string(trail(t).appendJSON(buf[:0])))
}

// json answers the trail's JSON (appendJSON).
func (t trail) json() string {
	return string(t.appendJSON(nil))
}

// appendJSON appends the trail as encoding/json writes it, byte for byte,
// without its reflection: every message planned or delivered writes one or
// two, on the hot path of a flow and of an advance.
func (t trail) appendJSON(b []byte) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = slices.Grow(b, 96*len(t)+2)
	b = append(b, '[')
	for i, d := range t {
		if i > 0 {
			b = append(b, ',')
		}
		b = d.appendJSON(b)
	}
	return append(b, ']')
}

// appendJSON appends the decision as encoding/json writes it. A time
// outside the years 0–9999, which encoding/json refuses, never comes here:
// simulated time ends before then (core.MaxTime).
func (d Decision) appendJSON(b []byte) []byte {
	b = append(b, `{"at":"`...)
	b = d.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","step":`...)
	b = core.AppendJSONString(b, d.Step)
	b = append(b, `,"detail":`...)
	b = core.AppendJSONString(b, d.Detail)
	return append(b, '}')
}

func trailOf(s string) trail {
	var t trail
	_ = json.Unmarshal([]byte(s), &t)
	return t
}
