package gateway

import (
	"context"
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

// sendScript stores a queued message and schedules its delivery at
// ARGV[7], later by the delay of the phone's next fault-script step, which
// it takes (KEYS[5]), and notes it on the event log (KEYS[6]). It answers
// the delivery event and the step taken.
var sendScript = redis.NewScript(core.LuaSchedule + `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'', ''} end
local step = ''
if ARGV[10] == '' then step = redis.call('LPOP', KEYS[5]) or '' end
local due = tonumber(ARGV[7])
if string.sub(step, 1, 6) == 'delay:' then due = due + tonumber(string.sub(step, 7)) end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'phone', ARGV[2], 'sender', ARGV[3], 'body', ARGV[4],
  'code', ARGV[5], 'status', 'queued', 'sent_at', ARGV[6], 'trail', ARGV[8], 'fate', ARGV[9],
  'step', step, 'duplicate_of', ARGV[10])
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', '` + strconv.Itoa(core.DefaultEventLogLen) + `', '*', 'at', ARGV[6], 'kind', 'sms.sent',
  'data', cjson.encode({id = ARGV[1], phone = ARGV[2], sender = ARGV[3], body = ARGV[4], code = ARGV[5], status = 'queued',
    sent_at_ms = ARGV[6], due_ms = tostring(due), duplicate_of = ARGV[10]}))
return {schedule(KEYS[2], KEYS[3], due, 'gateway.deliver', {ARGV[1], ARGV[2]}), step}
`)

// Send queues a message. Its delivery time is drawn from the fault profile
// (the sender's delay model, the phone's own delay, reordering), held by
// throttles and the phone's fault script; with no delay at all it is
// delivered before Send returns. Each decision goes on the message's
// trail. It answers the message's id.
func (g *Gateway) Send(ctx context.Context, r SendRequest) (string, error) {
	if r.ID == "" {
		n, err := g.rdb.HIncrBy(ctx, g.ks.Key("seq"), "message", 1).Result()
		if err != nil {
			return "", fmt.Errorf("number message: %w", err)
		}
		r.ID = g.rand.ID("m", "message", strconv.FormatInt(n, 10))
	}
	p := g.rdb.Pipeline()
	fc := g.faults.GetCmd(ctx, p)
	pc := p.Get(ctx, g.profileKey(r.To))
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

	dueKey, seqKey := g.sched.Keys()
	out, err := sendScript.Run(ctx, g.rdb,
		[]string{g.msgKey(r.ID), dueKey, seqKey, g.ks.Key("phones"), g.scriptKey(r.To), g.ks.Key("events")},
		r.ID, r.To, r.From, r.Body, CodeIn(r.Body), r.At.UnixMilli(), due.UnixMilli(), t.json(), fate, r.duplicateOf).StringSlice()
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

// throttleScript is a token bucket in the GCRA form: ARGV[1] names the
// bucket; a message at ARGV[2] (ms) passes at once when the bucket allows,
// else is held until it does (answering that time) or, with ARGV[5] =
// refuse, refused (answering -1). ARGV[3] is the interval between messages
// at the limit (ms), ARGV[4] the burst.
var throttleScript = redis.NewScript(`
local tat = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local now, interval, burst = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if tat < now then tat = now end
local pass_at = tat - (burst - 1) * interval
if pass_at > now and ARGV[5] == 'refuse' then return -1 end
if pass_at < now then pass_at = now end
redis.call('HSET', KEYS[1], ARGV[1], tat + interval)
return pass_at
`)

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
		pass, err := throttleScript.Run(ctx, g.rdb, []string{g.ks.Key("throttles")},
			bucket, at.UnixMilli(), interval, th.Burst, th.Mode).Int64()
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
