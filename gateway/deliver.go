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

// deliverScript delivers queued messages in order. KEYS[1] is the
// sequence hash; then, for each message, its hash and the sorted set of
// the folder it goes to. ARGV[1] is the namespace, ARGV[2] the feed channel;
// then, for each message, its status, folder (empty: none, a failure),
// reason, delivery time, inbox limit (0: none), trail, and trail should
// the inbox be full. A message bound for a full inbox fails instead
// (inbox_full). Each delivery to a folder is
// published on the feed for live watchers. It answers, for each message,
// its status, or "" when it was no longer queued.
var deliverScript = redis.NewScript(`
local out = {}
local n_msgs = (#KEYS - 1) / 2
for i = 1, n_msgs do
  local m, folder_key = KEYS[2 * i], KEYS[2 * i + 1]
  local b = 7 * (i - 1) + 2
  local status, folder, reason, at, limit, trail = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], tonumber(ARGV[b + 5]), ARGV[b + 6]
  out[i] = ''
  if redis.call('HGET', m, 'status') == 'queued' then
    if folder == 'inbox' and limit > 0 and redis.call('ZCARD', folder_key) >= limit then
      status, folder, reason, trail = 'failed', '', 'inbox_full', ARGV[b + 7]
    end
    out[i] = status
    redis.call('HSET', m, 'status', status, 'trail', trail)
    if reason ~= '' then redis.call('HSET', m, 'reason', reason) end
    if folder ~= '' then
      local n = redis.call('HINCRBY', KEYS[1], 'delivery', 1)
      local id = redis.call('HGET', m, 'id')
      redis.call('ZADD', folder_key, n, id)
      redis.call('HSET', m, 'folder', folder, 'delivered_at', at, 'seq', n)
      local f = redis.call('HMGET', m, 'phone', 'sender', 'body', 'code', 'sent_at')
      redis.call('PUBLISH', ARGV[2], cjson.encode({
        ns = ARGV[1], seq = tostring(n), id = id, phone = f[1], sender = f[2], body = f[3], code = f[4],
        status = status, folder = folder, sent_at = f[5], delivered_at = at}))
    end
  end
end
return out
`)

// onDeliver delivers queued messages, in order: the faults in force at the
// delivery time decide where each goes — an outage of its carrier, the
// phone's fault script, its line, the network, its spam filtering. Args of
// each event: message, phone.
func (g *Gateway) onDeliver(ctx context.Context, jobs []core.Job) error {
	p := g.rdb.Pipeline()
	fc := g.faults.GetCmd(ctx, p)
	msgs := make([]*redis.SliceCmd, len(jobs))
	profs := make([]*redis.StringCmd, len(jobs))
	for i, job := range jobs {
		if err := job.Arity(2); err != nil {
			return err
		}
		msgs[i] = p.HMGet(ctx, g.msgKey(job.Args[0]), "status", "sender", "body", "fate", "step", "trail", "sent_at")
		profs[i] = p.Get(ctx, g.profileKey(job.Args[1]))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read messages: %w", err)
	}
	f, err := g.faults.Of(fc)
	if err != nil {
		return err
	}
	keys := []string{g.ks.Key("seq")}
	argv := []any{g.ks.Namespace, g.feed}
	var senders, reasons []string
	var delays []float64 // simulated seconds from sent_at to the delivery
	var outcomes []outcome
	for i, job := range jobs {
		v := msgs[i].Val()
		if len(v) != 7 || v[0] != StatusQueued {
			continue // delivered already, or deleted by a reset
		}
		m := queued{id: job.Args[0], phone: job.Args[1], sender: str(v[1]), body: str(v[2]), fate: str(v[3]), step: str(v[4]), trail: trailOf(str(v[5]))}
		prof, err := profileOf(m.phone, profs[i], f.MagicNumbers)
		if err != nil {
			return err
		}
		if o, ok := outageAt(f, m.phone, job); ok && o.Mode == core.ModeHold {
			m.trail.add(job.Due, StepOutage, "held by the %s outage until %s", o.Carrier, o.End.Format("2006-01-02T15:04:05Z07:00"))
			if err := g.hold(ctx, m, o); err != nil {
				return err
			}
			continue
		}
		status, folder, reason := g.route(job, &m, prof, f)
		folderKey := g.folderKey(m.phone, FolderInbox)
		if folder != "" {
			folderKey = g.folderKey(m.phone, folder)
		}
		full := m.trail // should the inbox be full: its last step, delivered, becomes a refusal
		if folder == FolderInbox {
			full = append(trail{}, m.trail[:len(m.trail)-1]...)
			full.add(job.Due, StepFailed, "refused: the inbox is full (%s)", plural(prof.InboxLimit, "message"))
		}
		keys = append(keys, g.msgKey(m.id), folderKey)
		argv = append(argv, status, folder, reason, job.Due.UnixMilli(), prof.InboxLimit, m.trail.json(), full.json())
		senders = append(senders, m.sender)
		reasons = append(reasons, reason)
		delays = append(delays, job.Due.Sub(msTime(str(v[6]))).Seconds())
		outcomes = append(outcomes, outcome{m: m, at: job.Due, sentAt: msTime(str(v[6])), folder: folder, full: full})
	}
	if len(senders) == 0 {
		return nil
	}
	done, err := deliverScript.Run(ctx, g.rdb, keys, argv...).StringSlice()
	if err != nil {
		return fmt.Errorf("deliver messages: %w", err)
	}
	events := g.rdb.Pipeline()
	for i, status := range done {
		if status == StatusFailed && reasons[i] == "" {
			reasons[i] = ReasonInboxFull
			outcomes[i].folder, outcomes[i].m.trail = "", outcomes[i].full
		}
		if status != "" {
			g.count(status, senders[i], reasons[i])
			g.events.EmitCmd(ctx, events, outcomes[i].at, "sms."+status, outcomes[i].event(status, reasons[i]))
		}
		if status == StatusDelivered || status == StatusBlocked {
			g.observeDelay(senders[i], delays[i])
		}
	}
	if _, err := events.Exec(ctx); err != nil && len(events.Cmds()) > 0 {
		g.log.WarnContext(ctx, "writing the event log", "err", err)
	}
	return nil
}

// outcome is what became of a message delivered in a batch.
type outcome struct {
	m          queued
	at, sentAt time.Time
	folder     string
	full       trail // its trail, should the inbox be full
}

// event is the event log's record of the outcome.
func (o outcome) event(status, reason string) map[string]any {
	delivered := ""
	if o.folder != "" {
		delivered = strconv.FormatInt(o.at.UnixMilli(), 10)
	}
	return map[string]any{"id": o.m.id, "phone": o.m.phone, "sender": o.m.sender, "body": o.m.body, "code": CodeIn(o.m.body),
		"status": status, "folder": o.folder, "reason": reason, "sent_at_ms": strconv.FormatInt(o.sentAt.UnixMilli(), 10),
		"delivered_at_ms": delivered, "trail": o.m.trail}
}

// queued is a message being delivered.
type queued struct {
	id, phone, sender, body, fate, step string
	trail                               trail
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func (g *Gateway) count(status, sender, reason string) {
	kind := "other"
	if IsMIITSender(sender) {
		kind = "miit"
	}
	g.sent.WithLabelValues(status, kind, reason).Inc()
}

// outageAt finds an outage of the phone's carrier in force at the event's
// time.
func outageAt(f core.Faults, phone string, job core.Job) (core.Outage, bool) {
	for _, o := range f.Outages {
		if !job.Due.Before(o.Start) && job.Due.Before(o.End) && core.HasPrefix(phone, o.Prefixes) {
			return o, true
		}
	}
	return core.Outage{}, false
}

// hold puts a message off until an outage ends.
func (g *Gateway) hold(ctx context.Context, m queued, o core.Outage) error {
	if err := g.rdb.HSet(ctx, g.msgKey(m.id), "trail", m.trail.json()).Err(); err != nil {
		return fmt.Errorf("hold message %s: %w", m.id, err)
	}
	_, err := g.sched.Schedule(ctx, o.End, JobDeliver, m.id, m.phone)
	return err
}

// route decides what becomes of a message at its delivery time, and notes
// why on its trail.
func (g *Gateway) route(job core.Job, m *queued, prof Profile, f core.Faults) (status, folder, reason string) {
	at := job.Due
	fail := func(reason, format string, args ...any) (string, string, string) {
		m.trail.add(at, StepFailed, format, args...)
		return StatusFailed, "", reason
	}
	block := func(format string, args ...any) (string, string, string) {
		m.trail.add(at, StepBlocked, format, args...)
		return StatusBlocked, FolderBlocked, ""
	}
	if st := stepOf(m.step); m.step != "" {
		m.trail.add(at, StepScript, "the phone's fault script: %s", describeStep(st))
	}
	if o, ok := outageAt(f, m.phone, job); ok {
		return fail(ReasonOutage, "refused by the %s outage (until %s)", o.Carrier, o.End.Format("2006-01-02T15:04:05Z07:00"))
	}
	switch {
	case m.fate == ReasonThrottled:
		return fail(ReasonThrottled, "refused by a throttle")
	case m.step == ActionFail:
		return fail(ReasonScripted, "failed by the phone's fault script")
	case prof.Service == ServiceSuspended:
		return fail(ReasonSuspended, "the line is suspended (overdue payment)")
	case !prof.Reachable:
		return fail(ReasonUnreachable, "the number is unavailable")
	case g.rand.Chance(f.DropRate, "drop", m.id):
		return fail(ReasonDropped, "lost by the network (drop_rate %v)", f.DropRate)
	case m.step == ActionBlock:
		return block("filed as spam by the phone's fault script")
	case prof.SpamFilter && IsMIITSender(m.sender):
		return block("the phone's spam filter files messages from MIIT's senders as spam")
	case contains(prof.BlockSenders, m.sender):
		return block("the phone's security app blocks sender %s", m.sender)
	}
	if k := keywordIn(prof.BlockKeywords, m.body); k != "" {
		return block("the phone's security app blocks the keyword %q", k)
	}
	if g.rand.Chance(f.SpamBlockRate, "spam", m.id) {
		return block("filed as spam (spam_block_rate %v)", f.SpamBlockRate)
	}
	m.trail.add(at, StepDelivered, "delivered to the inbox")
	return StatusDelivered, FolderInbox, ""
}

func describeStep(s Step) string {
	if s.Action == ActionDelay {
		return "delay " + s.By
	}
	return s.Action
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keywordIn(keywords []string, body string) string {
	for _, k := range keywords {
		if strings.Contains(body, k) {
			return k
		}
	}
	return ""
}
