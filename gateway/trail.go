package gateway

import (
	"encoding/json"
	"fmt"
	"time"
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

func (t trail) json() string {
	b, _ := json.Marshal(t)
	return string(b)
}

func trailOf(s string) trail {
	var t trail
	_ = json.Unmarshal([]byte(s), &t)
	return t
}
