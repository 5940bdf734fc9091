package client

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// The kinds of what a namespace schedules (ScheduledJob.Kind, JobFilter.Kind).
const (
	JobSync       = "miit.sync"       // the order reaches MIIT
	JobCode       = "miit.code"       // MIIT texts a code to a person of the order
	JobNotice     = "provider.notice" // the provider texts that the order was submitted
	JobExpire     = "miit.expire"     // the validation window ends
	JobResult     = "miit.result"     // MIIT's outcome reaches the provider
	JobReview     = "miit.review"     // the communications administration decides
	JobAutoResend = "miit.autoresend" // MIIT re-sends the current codes at noon
	JobDeliver    = "gateway.deliver" // a message reaches its phone, or fails to
)

// ScheduledJob is something a namespace will do at a simulated time: its
// kind, when it falls due, and the order, phone and message it concerns
// when its kind names them (a delivery names its phone and message, not
// the order). A code's digits are never shown.
type ScheduledJob struct {
	Kind    string    `json:"kind"`
	Due     time.Time `json:"due"`
	Order   string    `json:"order,omitempty"`
	Phone   string    `json:"phone,omitempty"`
	Message string    `json:"message,omitempty"`
}

// JobFilter chooses scheduled jobs: of a kind (JobSync, …), of an order,
// for a phone. An empty field chooses every job.
type JobFilter struct {
	Kind  string
	Order string
	Phone string
}

// Schedule is what a namespace has scheduled and not yet carried out.
type Schedule struct {
	Now       time.Time      `json:"now"`       // the simulated time when it was read
	Scheduled []ScheduledJob `json:"scheduled"` // in due order
	More      bool           `json:"more"`      // more jobs match than the limit
}

// Schedule lists the first limit jobs (0: the server's default, 100; at
// most 1000) that f chooses, in due order (GET /admin/v1/schedule).
func (c *Client) Schedule(ctx context.Context, f JobFilter, limit int) (Schedule, error) {
	q := url.Values{}
	for k, v := range map[string]string{"kind": f.Kind, "order": f.Order, "phone": f.Phone} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out Schedule
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/schedule", query: q}, &out)
	return out, err
}

// AdvanceTo moves the clock forward to the simulated time t (POST
// /admin/v1/clock/advance {"to": …}), carrying out everything that falls
// due on the way, as Advance does. A time before the clock's now is a 400.
// To land a millisecond before an order's deadline:
// AdvanceTo(ctx, view.Deadline.Add(-time.Millisecond)).
func (c *Client) AdvanceTo(ctx context.Context, t time.Time) (ClockState, error) {
	var st ClockState
	_, err := c.do(ctx, request{method: "POST", path: "/admin/v1/clock/advance",
		body: map[string]string{"to": t.Format(time.RFC3339Nano)}}, &st)
	return st, err
}

// AdvanceNext moves the clock forward to the due time of the next job f
// chooses (the first Schedule lists), carrying it out with everything due
// before or with it (POST /admin/v1/clock/advance {"next": true, …}). With
// nothing such scheduled it is an *Error with status 409, and the clock
// stays.
func (c *Client) AdvanceNext(ctx context.Context, f JobFilter) (ClockState, error) {
	body := map[string]any{"next": true}
	for k, v := range map[string]string{"kind": f.Kind, "order": f.Order, "phone": f.Phone} {
		if v != "" {
			body[k] = v
		}
	}
	var st ClockState
	_, err := c.do(ctx, request{method: "POST", path: "/admin/v1/clock/advance", body: body}, &st)
	return st, err
}
