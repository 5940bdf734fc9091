package gateway

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// SendRequest is a message handed to the gateway.
type SendRequest struct {
	ID   string // optional; a sender that may send twice (a retried event) names it
	From string // the sender number
	To   string // a normalized mobile number
	Body string
	At   time.Time // simulated time it is sent

	duplicateOf string
}

// ValidateSender checks a sender number: 1 to 21 digits.
func ValidateSender(field, s string) error {
	if s == "" || len(s) > MaxSenderLen {
		return core.Invalid("%s: must be a sender number of 1 to %d digits, got %q", field, MaxSenderLen, s)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return core.Invalid("%s: must be a sender number of 1 to %d digits, got %q", field, MaxSenderLen, s)
		}
	}
	return nil
}

var (
	//go:embed send.lua
	sendLua    string
	sendScript = core.NewScript[sendArgs](luaJobs, sendLua)

	//go:embed throttle.lua
	throttleLua    string
	throttleScript = core.NewScript[throttleArgs](throttleLua)
)

// sendArgs are the arguments of send.lua: the message, when it was sent and
// when it is due (ms).
type sendArgs struct {
	ID          string `json:"id"`
	Phone       string `json:"phone"`
	Sender      string `json:"sender"`
	Body        string `json:"body"`
	Code        string `json:"code"` // the code its body holds, or ""
	SentAt      int64  `json:"sent_at"`
	Due         int64  `json:"due"`
	Trail       string `json:"trail"`        // JSON
	Fate        string `json:"fate"`         // a refusal decided before its delivery, or ""
	DuplicateOf string `json:"duplicate_of"` // the message it is a second copy of, or ""
}

// Send queues a message. Its delivery time is drawn from the fault profile
// (the sender's delay model, the phone's own delay, reordering), held by
// throttles and the phone's fault script; with no delay at all it is
// delivered before Send returns. Each decision goes on the message's
// trail. It answers the message's id.
func (g *Gateway) Send(ctx context.Context, r SendRequest) (string, error) {
	if r.ID == "" {
		n, err := g.rdb.HIncrBy(ctx, g.ks.Seq(), "message", 1).Result()
		if err != nil {
			return "", fmt.Errorf("number message: %w", err)
		}
		r.ID = g.rand.ID("m", "message", strconv.FormatInt(n, 10))
	}
	p := g.rdb.Pipeline()
	fc := g.faults.GetCmd(ctx, p)
	pc := p.Get(ctx, g.ks.PhoneProfile(r.To))
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("queue message: %w", err)
	}
	f, err := g.faults.Of(fc)
	if err != nil {
		return "", err
	}
	prof, err := profileOf(r.To, pc, f.MagicNumbers)
	if err != nil {
		return "", err
	}

	var t trail
	if r.duplicateOf != "" {
		t.add(r.At, StepDuplicate, "a second copy of %s", r.duplicateOf)
	}
	t.add(r.At, StepSent, "sent by %s to %s", r.From, r.To)
	handoff, fate, err := g.throttle(ctx, r, f, &t)
	if err != nil {
		return "", err
	}
	var delay time.Duration
	if fate == "" {
		delay = g.delay(r, f, prof, handoff, &t)
	}
	due := handoff.Add(delay)
	if fate != "" {
		due = r.At
	}

	out, err := sendScript.Run(ctx, g.rdb,
		[]string{g.ks.Message(r.ID), g.ks.SchedDue(), g.ks.Seq(), g.ks.Phones(), g.ks.PhoneScript(r.To), g.ks.Events()},
		sendArgs{ID: r.ID, Phone: r.To, Sender: r.From, Body: r.Body, Code: CodeIn(r.Body), SentAt: r.At.UnixMilli(),
			Due: due.UnixMilli(), Trail: t.json(), Fate: fate, DuplicateOf: r.duplicateOf}).StringSlice()
	if err != nil {
		return "", fmt.Errorf("queue message: %w", err)
	}
	member, step := out[0], out[1]
	if member == "" {
		return r.ID, nil // sent before: a retried event
	}
	if r.duplicateOf == "" {
		g.countSent(r.From)
	}
	job, err := core.ParseJob(member)
	if err != nil {
		return "", err
	}
	if !job.Due.After(r.At) {
		if err := g.sched.RunNow(ctx, member); err != nil {
			return "", err
		}
	} else {
		g.sched.Kick()
	}
	if r.duplicateOf == "" && (step == ActionDuplicate ||
		g.rand.Chance(f.DuplicateRate, "duplicate", r.ID) || g.rand.Chance(prof.DuplicateRate, "phone_duplicate", r.ID)) {
		dup := r
		dup.ID, dup.duplicateOf = g.rand.DerivedID("m", r.ID, "duplicate"), r.ID
		if _, err := g.Send(ctx, dup); err != nil {
			return "", err
		}
	}
	return r.ID, nil
}

// throttleArgs are the arguments of throttle.lua.
type throttleArgs struct {
	Bucket   string `json:"bucket"`
	Now      int64  `json:"now"`      // ms
	Interval int64  `json:"interval"` // ms between messages at the limit
	Burst    int    `json:"burst"`
	Refuse   bool   `json:"refuse"` // refuse a message over the limit instead of holding it
}

// throttle applies the throttles that match a message: it answers when the
// carrier takes it (held until a throttle allows), or a fate of refusal.
func (g *Gateway) throttle(ctx context.Context, r SendRequest, f core.Faults, t *trail) (time.Time, string, error) {
	at := r.At
	for i, th := range f.Throttles {
		var bucket string
		switch {
		case th.Sender == "miit" && IsMIITSender(r.From), th.Sender != "" && th.Sender == r.From:
			bucket = "sender:" + th.Sender
		case th.Sender == "" && core.HasPrefix(r.To, th.Prefixes):
			bucket = fmt.Sprintf("carrier:%d:%s:%s", i, th.Carrier, strings.Join(th.Prefixes, ","))
		default:
			continue
		}
		interval := th.Per.Milliseconds() / int64(th.Limit)
		if interval < 1 {
			interval = 1
		}
		pass, err := throttleScript.Run(ctx, g.rdb, []string{g.ks.Throttles()}, throttleArgs{
			Bucket: bucket, Now: at.UnixMilli(), Interval: interval, Burst: th.Burst, Refuse: th.Mode == core.ModeRefuse,
		}).Int64()
		if err != nil {
			return at, "", fmt.Errorf("throttle: %w", err)
		}
		what := describeThrottle(th)
		if pass < 0 {
			t.add(at, StepThrottle, "refused: over the limit of %s", what)
			return at, ReasonThrottled, nil
		}
		if pass > at.UnixMilli() {
			held := time.UnixMilli(pass).UTC()
			t.add(at, StepThrottle, "held %s by the limit of %s", core.FormatDuration(held.Sub(at)), what)
			at = held
		}
	}
	return at, "", nil
}

func describeThrottle(th core.Throttle) string {
	who := th.Carrier
	if th.Sender != "" {
		who = "sender " + th.Sender
	}
	return fmt.Sprintf("%s per %s (burst %d) for %s", plural(th.Limit, "message"), core.FormatDuration(th.Per), th.Burst, who)
}

// delay draws how long a message takes once the carrier took it: the
// sender's delay model, the phone's own delay, a reordering.
func (g *Gateway) delay(r SendRequest, f core.Faults, prof Profile, handoff time.Time, t *trail) time.Duration {
	model := f.DelayFor(r.From, IsMIITSender(r.From))
	delay := model.Draw(g.rand, "sms_delay", r.ID)
	t.add(handoff, StepDelay, "the network holds it %s (drawn from %s)", core.FormatDuration(delay), model)
	if !prof.Delay.IsZero() {
		d := prof.Delay.Draw(g.rand, "phone_delay", r.ID)
		delay += d
		t.add(handoff, StepPhoneDelay, "the phone takes %s more (drawn from its own %s)", core.FormatDuration(d), prof.Delay)
	}
	if g.rand.Chance(f.ReorderRate, "reorder", r.ID) {
		d := g.rand.Between(0, f.ReorderMax, "reorder_by", r.ID)
		delay += d
		t.add(handoff, StepReorder, "held back %s more, out of order (reorder_rate %v)", core.FormatDuration(d), f.ReorderRate)
	}
	return delay
}

// plural writes n things: "1 message", "2 messages".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
