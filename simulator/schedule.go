package simulator

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
)

// ScheduledJob is something a namespace will do at a simulated time, as a
// test sees it: its kind, when it falls due, and the order, phone and
// message it concerns when its kind names them. A code's digits are never
// shown.
type ScheduledJob struct {
	Kind    string    `json:"kind"`
	Due     time.Time `json:"due"`
	Order   string    `json:"order,omitempty"`
	Phone   string    `json:"phone,omitempty"`
	Message string    `json:"message,omitempty"`
}

// Schedule is what a namespace has scheduled and not yet carried out, as
// GET /admin/v1/schedule answers it.
type Schedule struct {
	Now       time.Time      `json:"now"`       // the simulated time when it was read
	Scheduled []ScheduledJob `json:"scheduled"` // in due order
	More      bool           `json:"more"`      // more jobs match than were asked for
}

// JobFilter chooses scheduled jobs: of a kind, of an order, for a phone
// (an empty field chooses every job).
type JobFilter struct {
	Kind  string
	Order string
	Phone string
}

// jobKinds are the kinds of what a namespace schedules, each with what its
// arguments name (positions in Job.Args; -1: none).
var jobKinds = map[string]struct{ order, phone, message int }{
	miit.JobSync:       {0, -1, -1},
	miit.JobCode:       {0, 2, -1},
	miit.JobNotice:     {0, 1, -1},
	miit.JobExpire:     {0, -1, -1},
	miit.JobResult:     {0, -1, -1},
	miit.JobReview:     {0, -1, -1},
	miit.JobAutoResend: {0, -1, -1},
	gateway.JobDeliver: {-1, 1, 0},
}

// JobKinds lists the kinds of what a namespace schedules.
func JobKinds() []string {
	out := make([]string, 0, len(jobKinds))
	for k := range jobKinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// orderID matches the id of a filing order.
var orderID = regexp.MustCompile(`^f_[0-9a-f]{16}$`)

// CheckJobFilter checks a filter's fields, naming the one that is wrong,
// and answers it with its phone normalized (+86 dropped).
func CheckJobFilter(f JobFilter) (JobFilter, error) {
	if _, ok := jobKinds[f.Kind]; f.Kind != "" && !ok {
		return f, core.Invalid("kind: %q is not a kind of scheduled job: %s", f.Kind, strings.Join(JobKinds(), ", "))
	}
	if f.Order != "" && !orderID.MatchString(f.Order) {
		return f, core.Invalid("order: %q is not a filing order id such as f_85bbaf51479afbe4", f.Order)
	}
	if f.Phone != "" {
		p, err := gateway.NormalizePhone("phone", f.Phone)
		if err != nil {
			return f, err
		}
		f.Phone = p
	}
	return f, nil
}

// scheduledJob is how a test sees job.
func scheduledJob(job core.Job) ScheduledJob {
	out := ScheduledJob{Kind: job.Kind, Due: job.Due}
	at, ok := jobKinds[job.Kind]
	if !ok {
		return out
	}
	arg := func(i int) string {
		if i < 0 || i >= len(job.Args) {
			return ""
		}
		return job.Args[i]
	}
	out.Order, out.Phone, out.Message = arg(at.order), arg(at.phone), arg(at.message)
	return out
}

func (f JobFilter) keeps(j ScheduledJob) bool {
	return (f.Kind == "" || f.Kind == j.Kind) && (f.Order == "" || f.Order == j.Order) && (f.Phone == "" || f.Phone == j.Phone)
}

// Schedule answers the first limit jobs of the namespace that f chooses,
// not yet carried out, in due order (see core.Scheduler.Scheduled).
func (n *Namespace) Schedule(ctx context.Context, f JobFilter, limit int) ([]ScheduledJob, error) {
	jobs, err := n.sched.Scheduled(ctx, limit, func(j core.Job) bool { return f.keeps(scheduledJob(j)) })
	if err != nil {
		return nil, err
	}
	out := make([]ScheduledJob, len(jobs))
	for i, j := range jobs {
		out[i] = scheduledJob(j)
	}
	return out, nil
}

// AdvanceTo moves the clock forward to the simulated time to, carrying out
// everything that falls due on the way (Advance, by the time from the
// clock's now to to). A time before now is a 400 naming to; on a running
// clock, the clock lands past to by the time the request took. key is the
// advance's Idempotency-Key ("" for none: AdvanceOnce).
func (n *Namespace) AdvanceTo(ctx context.Context, to time.Time, key string) (core.ClockState, error) {
	if st, ok, err := n.sched.Replayed(ctx, key); ok || err != nil {
		return st, err // a retry: answered as it was, whatever the clock reads now
	}
	now, err := n.clock.Now(ctx)
	if err != nil {
		return core.ClockState{}, err
	}
	if to.Before(now) {
		return core.ClockState{}, core.Invalid("to: %s is before the clock's now, %s: the clock only moves forward",
			to.UTC().Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	if to.After(core.MaxTime()) {
		return core.ClockState{}, core.Invalid("to: %s is past %s, the latest simulated time",
			to.UTC().Format(time.RFC3339Nano), core.MaxTime().Format(time.RFC3339))
	}
	d := to.Sub(now)
	if d > core.MaxDuration {
		return core.ClockState{}, core.Invalid("to: %s is more than %s after the clock's now, %s: advance in steps",
			to.UTC().Format(time.RFC3339Nano), core.FormatDuration(core.MaxDuration), now.Format(time.RFC3339Nano))
	}
	return n.AdvanceOnce(ctx, d, key)
}

// AdvanceNext moves the clock forward to the due time of the next job f
// chooses, carrying it out with everything due before or with it (Advance),
// and answers the clock and that job. With nothing such scheduled it is a
// 409, and the clock stays. key is the advance's Idempotency-Key ("" for
// none: AdvanceOnce).
func (n *Namespace) AdvanceNext(ctx context.Context, f JobFilter, key string) (core.ClockState, ScheduledJob, error) {
	if st, ok, err := n.sched.Replayed(ctx, key); ok || err != nil {
		return st, ScheduledJob{}, err // a retry: answered as it was, its job carried out since
	}
	next, err := n.Schedule(ctx, f, 1)
	if err != nil {
		return core.ClockState{}, ScheduledJob{}, err
	}
	if len(next) == 0 {
		return core.ClockState{}, ScheduledJob{}, core.Conflict("next: nothing%s is scheduled", f.describe())
	}
	now, err := n.clock.Now(ctx)
	if err != nil {
		return core.ClockState{}, ScheduledJob{}, err
	}
	st, err := n.AdvanceOnce(ctx, max(0, next[0].Due.Sub(now)), key)
	return st, next[0], err
}

// describe says what f chooses, for a message: "" when it chooses all.
func (f JobFilter) describe() string {
	var parts []string
	if f.Kind != "" {
		parts = append(parts, "of kind "+f.Kind)
	}
	if f.Order != "" {
		parts = append(parts, "of order "+f.Order)
	}
	if f.Phone != "" {
		parts = append(parts, "for phone "+f.Phone)
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}
