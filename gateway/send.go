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
	At   time.Time // simulated time it is sent; zero: the clock's now, as it stands when it is sent

	duplicateOf string
	handoff     time.Time // a second copy's: when the carrier took the first
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
	Bounds      core.Bounds `json:"bounds"`
	ID          string      `json:"id"`
	Phone       string      `json:"phone"`
	Sender      string      `json:"sender"`
	Body        string      `json:"body"`
	Code        string      `json:"code"` // the code its body holds, or ""
	SentAt      int64       `json:"sent_at"`
	Due         int64       `json:"due"`
	Trail       string      `json:"trail"`        // JSON
	Fate        string      `json:"fate"`         // a refusal decided before its delivery, or ""
	DuplicateOf string      `json:"duplicate_of"` // the message it is a second copy of, or ""
}

// Send queues a message. Its delivery time is drawn from the fault profile
// (the sender's delay model, the phone's own delay, reordering), held by
// throttles and the phone's fault script; with no delay at all it is
// delivered before Send returns. Each decision goes on the message's
// trail. It answers the message's id.
//
// A message no throttle holds, to a phone without a fault script, is
// planned here and sent — and delivered, when due at once — in one script
// (Plan, send_now.lua); the others take the steps one by one.
func (g *Gateway) Send(ctx context.Context, r SendRequest) (string, error) {
	if r.ID == "" {
		id, err := g.newID(ctx)
		if err != nil {
			return "", err
		}
		r.ID = id
	}
	now := r.At.IsZero()
	for range maxStale {
		snap, err := g.state.Snapshot(ctx)
		if err != nil {
			return "", err
		}
		if now {
			r.At = snap.Now().Now // a plan refused as stale takes the clock read afresh
		}
		keys := core.NewKeyList(g.lib...)
		outs, ok := g.Plan(snap.Faults, r, keys)
		if !ok {
			if now {
				// the steps one by one check no clock: read it from the store
				g.state.Forget()
				if snap, err = g.state.Snapshot(ctx); err != nil {
					return "", err
				}
				r.At = snap.Now().Now
			}
			return g.sendSteps(ctx, r)
		}
		WithTexts(outs, 2)
		statuses, err := sendNowScript.Run(ctx, g.rdb, keys.Keys(),
			sendNowArgs{Expect: snap.Expect, Bounds: snap.Bounds(), Real: time.Now().UnixMilli(), Messages: outs}).StringSlice()
		if retry, err := g.Retry(ctx, err); retry {
			continue
		} else if err != nil {
			return "", fmt.Errorf("queue message: %w", err)
		}
		g.Sent(outs, statuses)
		g.Later(snap, outs)
		return r.ID, nil
	}
	return "", fmt.Errorf("queue message: %w", ErrKeptChanging)
}

// maxStale bounds how often a request plans again because what it planned
// with changed under it.
const maxStale = 10

// ErrKeptChanging is the error of a request whose plan kept going stale.
var ErrKeptChanging = errors.New("the fault profile, the clock or a phone kept changing")

// Retry answers, for the error of a script that sent planned messages,
// whether to plan again: the script refused a stale plan, and what it was
// planned with is read again (the namespace's snapshot is forgotten, or the
// phone's state read). It answers err when it is another error.
func (g *Gateway) Retry(ctx context.Context, err error) (bool, error) {
	if phone := StalePhone(err); phone != "" {
		if err := g.Relearn(ctx, phone); err != nil {
			return false, err
		}
		return true, nil
	}
	if core.Stale(err) {
		g.state.Forget()
		return true, nil
	}
	return false, err
}

// Later has the scheduler's loop look when the first of outs that is
// delivered later falls due.
func (g *Gateway) Later(snap core.Snapshot, outs []Outgoing) {
	var first int64
	for _, o := range outs {
		if o.Deliver == nil && (first == 0 || o.Due < first) {
			first = o.Due
		}
	}
	if first != 0 {
		if at, ok := snap.RealAt(time.UnixMilli(first).UTC()); ok {
			g.sched.KickAt(at)
		}
	}
}

// newID names a message sent without an id: at random, or, with a seeded
// source, from the namespace's count of messages, so that a seeded run
// names its messages alike every time.
func (g *Gateway) newID(ctx context.Context) (string, error) {
	if !g.rand.Seeded() {
		return g.rand.ID("m", "message"), nil
	}
	n, err := g.rdb.HIncrBy(ctx, g.ks.Seq(), "message", 1).Result()
	if err != nil {
		return "", fmt.Errorf("number message: %w", err)
	}
	return g.rand.ID("m", "message", strconv.FormatInt(n, 10)), nil
}

var (
	//go:embed send_now.lua
	sendNowLua    string
	sendNowScript = core.NewScript[sendNowArgs](LuaLib, sendNowLua)
)

// sendNowKeys are the fixed keys of send_now.lua in ks, its KEYS[1] to
// KEYS[6]: the clock, the fault profile, the scheduler's due set, the
// sequence hash, the event log, the set of phones.
func sendNowKeys(ks core.Keyspace) []string {
	return []string{ks.Clock(), ks.Faults(), ks.SchedDue(), ks.Seq(), ks.Events(), ks.Phones()}
}

// sendNowArgs are the arguments of send_now.lua: the messages planned, and
// the clock and fault profile they were planned with.
type sendNowArgs struct {
	Expect   core.Expect `json:"expect"`
	Bounds   core.Bounds `json:"bounds"`
	Real     int64       `json:"real"` // the real time (Unix ms) the numbers are known at (the prelude's know_phone)
	Messages []Outgoing  `json:"messages"`
}

// sendSteps queues a message step by step: the fault profile and the
// phone's profile read, the throttles applied, the message stored with the
// phone's next fault-script step, then delivered — at once when due.
func (g *Gateway) sendSteps(ctx context.Context, r SendRequest) (string, error) {

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

	t := newTrail()
	if r.duplicateOf != "" {
		t.add(r.At, StepDuplicate, "a second copy of %s", r.duplicateOf)
	}
	t.add(r.At, StepSent, "sent by %s to %s", r.From, r.To)
	// The network copies a message the carrier took: the second copy
	// counts against no throttle, and travels from when the first was
	// taken.
	handoff, fate := r.handoff, ""
	if r.duplicateOf == "" {
		if handoff, fate, err = g.throttle(ctx, r, f, &t); err != nil {
			return "", err
		}
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
		[]string{g.ks.Message(r.ID), g.ks.SchedDue(), g.ks.Seq(), g.ks.Phones(), g.ks.PhoneScript(r.To), g.ks.Events(), g.ks.PhoneTravelling(r.To)},
		sendArgs{Bounds: g.state.Limits().BoundsOf(f), ID: r.ID, Phone: r.To, Sender: r.From, Body: r.Body, Code: CodeIn(r.Body), SentAt: r.At.UnixMilli(),
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
		g.sched.KickFor(ctx, job.Due)
	}
	if r.duplicateOf == "" && fate == "" && (step == ActionDuplicate ||
		g.rand.Chance(f.DuplicateRate, "duplicate", r.ID) || g.rand.Chance(prof.DuplicateRate, "phone_duplicate", r.ID)) {
		dup := r
		dup.ID, dup.duplicateOf, dup.handoff = g.rand.DerivedID("m", r.ID, "duplicate"), r.ID, handoff
		if _, err := g.sendSteps(ctx, dup); err != nil {
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
	Refuse   bool   `json:"refuse"`   // refuse a message over the limit instead of holding it
	MaxHold  int64  `json:"max_hold"` // ms: a message held longer is refused
}

// throttle applies the throttles that match a message: it answers when the
// carrier takes it (held until a throttle allows), or a fate of refusal.
func (g *Gateway) throttle(ctx context.Context, r SendRequest, f core.Faults, t *trail) (time.Time, string, error) {
	at := r.At
	for i, th := range f.Throttles {
		switch {
		case th.Sender == "miit" && IsMIITSender(r.From), th.Sender != "" && th.Sender == r.From:
		case th.Sender == "" && core.HasPrefix(r.To, th.Prefixes):
		default:
			continue
		}
		bucket := throttleBucket(i, th)
		interval := th.Per.Milliseconds() / int64(th.Limit)
		if interval < 1 {
			interval = 1
		}
		pass, err := throttleScript.Run(ctx, g.rdb, []string{g.ks.Throttles()}, throttleArgs{
			Bucket: bucket, Now: at.UnixMilli(), Interval: interval, Burst: th.Burst, Refuse: th.Mode == core.ModeRefuse,
			MaxHold: core.MaxDuration.Milliseconds(),
		}).Int64()
		if err != nil {
			return at, "", fmt.Errorf("throttle: %w", err)
		}
		what := describeThrottle(th)
		switch pass {
		case -1:
			t.add(at, StepThrottle, "refused: over the limit of %s", what)
			return at, ReasonThrottled, nil
		case -2:
			// as no delay is longer, so that what is scheduled stays
			// within the times smsim can write
			t.add(at, StepThrottle, "refused: the limit of %s would hold it more than %s", what, core.FormatDuration(core.MaxDuration))
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

// throttleBucket names the bucket of the i-th throttle th by all it is: a
// throttle changed, or put at another place in the list, starts with a
// bucket of its own, full, and nothing of one before it holds a message
// back.
func throttleBucket(i int, th core.Throttle) string {
	who := "sender:" + th.Sender
	if th.Sender == "" {
		who = "carrier:" + th.Carrier + ":" + strings.Join(th.Prefixes, ",")
	}
	return fmt.Sprintf("%d|%s|%d/%d/%d/%s", i, who, th.Limit, th.Per.Milliseconds(), th.Burst, th.Mode)
}

// ForgetThrottles empties the buckets of the throttles of old that now,
// the throttles as they stand, no longer has: a throttle taken away, or
// changed, forgets what it counted.
func (g *Gateway) ForgetThrottles(ctx context.Context, old, now []core.Throttle) error {
	keep := map[string]bool{}
	for i, th := range now {
		keep[throttleBucket(i, th)] = true
	}
	var gone []string
	for i, th := range old {
		if b := throttleBucket(i, th); !keep[b] {
			gone = append(gone, b)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := g.rdb.HDel(ctx, g.ks.Throttles(), gone...).Err(); err != nil {
		return fmt.Errorf("forget throttles: %w", err)
	}
	return nil
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
