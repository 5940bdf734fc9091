package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"smsim/simulator/core"
)

// Payload is the body of a post.
type Payload struct {
	ID      string      `json:"id"` // the delivery id, the same in every attempt
	HookID  string      `json:"hook_id"`
	Attempt int         `json:"attempt"` // 1-based
	Event   core.Record `json:"event"`
}

// Statuses of an attempt.
const (
	StatusDelivered = "delivered" // the target answered 2xx
	StatusRetrying  = "retrying"  // it failed; another attempt is scheduled
	StatusFailed    = "failed"    // it failed, and it was the last attempt
)

// Delivery is one attempt to post an event to a hook, as its log keeps it.
type Delivery struct {
	ID            string     `json:"id"` // the delivery id: one per event and hook, the same in every attempt
	HookID        string     `json:"hook_id"`
	EventID       string     `json:"event_id"`
	Kind          string     `json:"kind"`
	Attempt       int        `json:"attempt"`               // 1-based
	Status        string     `json:"status"`                // StatusDelivered, StatusRetrying or StatusFailed
	StatusCode    int        `json:"status_code,omitempty"` // the target's HTTP status, when it answered
	Error         string     `json:"error,omitempty"`       // why the attempt failed: "status 500", a connection error
	At            time.Time  `json:"at"`                    // real time of the attempt
	DurationMS    int64      `json:"duration_ms"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"` // real time of the next attempt, when one is scheduled
}

// Deliveries answers the newest entries of the log of hook id, newest
// first: up to limit (≤ 0: all it keeps, the newest LogLen).
func (d *Dispatcher) Deliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	if limit <= 0 || limit > LogLen {
		limit = LogLen
	}
	p := d.rdb.Pipeline()
	ex := p.Exists(ctx, d.ks.Webhook(id))
	lr := p.LRange(ctx, d.ks.WebhookLog(id), 0, int64(limit-1))
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read deliveries of webhook %s: %w", id, err)
	}
	if ex.Val() == 0 {
		return nil, core.NotFound("no webhook %q", id)
	}
	out := make([]Delivery, len(lr.Val()))
	for i, s := range lr.Val() {
		if err := json.Unmarshal([]byte(s), &out[i]); err != nil {
			return nil, fmt.Errorf("read deliveries of webhook %s: %w", id, err)
		}
	}
	return out, nil
}
