package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator"
)

// EventDeliver is the scheduler event that delivers a message.
const EventDeliver = "gateway.deliver"

// Limits of a message.
const (
	MaxBodyRunes = 1000
	MaxSenderLen = 21
)

// Config is what a Gateway is built from.
type Config struct {
	Redis     redis.UniversalClient
	Keyspace  simulator.Keyspace
	Scheduler *simulator.Scheduler
	Faults    *simulator.FaultStore
	Rand      *simulator.Source
	Log       *slog.Logger
	Metrics   prometheus.Registerer
}

// Gateway routes SMS to simulated phones.
type Gateway struct {
	rdb    redis.UniversalClient
	ks     simulator.Keyspace
	sched  *simulator.Scheduler
	faults *simulator.FaultStore
	rand   *simulator.Source
	log    *slog.Logger
	hub    *Hub
	feed   string // the Pub/Sub channel of deliveries
	sent   *prometheus.CounterVec
	stats  *gatewayMetrics
}

// New returns a gateway and registers its scheduler events.
func New(c Config) *Gateway {
	g := &Gateway{
		rdb: c.Redis, ks: c.Keyspace, sched: c.Scheduler, faults: c.Faults, rand: c.Rand,
		log:  c.Log.With("component", "gateway"),
		hub:  newHub(),
		feed: c.Keyspace.Prefix + ":deliveries",
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_messages_total",
			Help: "SMS messages by outcome (delivered, blocked, failed), sender kind (miit, other) and reason.",
		}, []string{"status", "sender_kind", "reason"}),
	}
	c.Metrics.MustRegister(g.sent)
	g.stats = newGatewayMetrics(c.Metrics)
	g.sched.HandleBatch(EventDeliver, g.onDeliver)
	return g
}

// SendRequest is a message handed to the gateway.
type SendRequest struct {
	ID   string // optional; a sender that may send twice (a retried event) names it
	From string // the sender number
	To   string // a normalized mobile number
	Body string
	At   time.Time // simulated time it is sent
}

// ValidateSender checks a sender number: 1 to 21 digits.
func ValidateSender(field, s string) error {
	if s == "" || len(s) > MaxSenderLen {
		return simulator.Invalid("%s: must be a sender number of 1 to %d digits, got %q", field, MaxSenderLen, s)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return simulator.Invalid("%s: must be a sender number of 1 to %d digits, got %q", field, MaxSenderLen, s)
		}
	}
	return nil
}

var sendScript = redis.NewScript(simulator.LuaSchedule + `
if redis.call('EXISTS', KEYS[1]) == 1 then return '' end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'phone', ARGV[2], 'sender', ARGV[3], 'body', ARGV[4],
  'code', ARGV[5], 'status', 'queued', 'sent_at', ARGV[6])
redis.call('SADD', KEYS[4], ARGV[2])
return schedule(KEYS[2], KEYS[3], ARGV[7], 'gateway.deliver', {ARGV[1], ARGV[2]})
`)

// Send queues a message for delivery after a delay drawn from the fault
// profile; with no delay it is delivered before Send returns. It answers the
// message's id.
func (g *Gateway) Send(ctx context.Context, r SendRequest) (string, error) {
	if r.ID == "" {
		n, err := g.rdb.HIncrBy(ctx, g.ks.Key("seq"), "message", 1).Result()
		if err != nil {
			return "", fmt.Errorf("number message: %w", err)
		}
		r.ID = g.rand.ID("m", "message", strconv.FormatInt(n, 10))
	}
	f, err := g.faults.Get(ctx)
	if err != nil {
		return "", err
	}
	delay := f.SMSDelay.Draw(g.rand, "sms_delay", r.ID)
	dueKey, seqKey := g.sched.Keys()
	member, err := sendScript.Run(ctx, g.rdb,
		[]string{g.msgKey(r.ID), dueKey, seqKey, g.ks.Key("phones")},
		r.ID, r.To, r.From, r.Body, CodeIn(r.Body), r.At.UnixMilli(), r.At.Add(delay).UnixMilli()).Text()
	if err != nil {
		return "", fmt.Errorf("queue message: %w", err)
	}
	if member != "" {
		g.countSent(r.From)
		if delay == 0 {
			if err := g.sched.RunNow(ctx, member); err != nil {
				return "", err
			}
		} else {
			g.sched.Kick()
		}
	}
	return r.ID, nil
}

func (g *Gateway) msgKey(id string) string { return g.ks.Key("msg", id) }

// Message reads a message by id.
func (g *Gateway) Message(ctx context.Context, id string) (Message, error) {
	v, err := g.rdb.HGetAll(ctx, g.msgKey(id)).Result()
	if err != nil {
		return Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	m, ok := messageOf(v)
	if !ok {
		return Message{}, simulator.NotFound("no message %q", id)
	}
	return m, nil
}

// deliverScript delivers queued messages in order. KEYS[1] is the
// sequence hash; then, for each message, its hash and the sorted set of the
// folder it goes to. ARGV[1] is the namespace, ARGV[2] the feed channel;
// then, for each message, its status, folder (empty: none, a failure),
// reason and delivery time. Each delivery to a folder is published on the
// feed for live watchers. It answers 1 for each message it delivered, 0 for
// one that was no longer queued.
var deliverScript = redis.NewScript(`
local out = {}
local n_msgs = (#KEYS - 1) / 2
for i = 1, n_msgs do
  local m, folder_key = KEYS[2 * i], KEYS[2 * i + 1]
  local status, folder, reason, at = ARGV[4 * i - 1], ARGV[4 * i], ARGV[4 * i + 1], ARGV[4 * i + 2]
  out[i] = 0
  if redis.call('HGET', m, 'status') == 'queued' then
    out[i] = 1
    redis.call('HSET', m, 'status', status)
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

// onDeliver delivers queued messages, in order: the phone's profile and
// the fault profile at the delivery time decide where each goes. Args of
// each event: message, phone.
func (g *Gateway) onDeliver(ctx context.Context, evs []simulator.Event) error {
	p := g.rdb.Pipeline()
	fc := g.faults.GetCmd(ctx, p)
	msgs := make([]*redis.SliceCmd, len(evs))
	profs := make([]*redis.MapStringStringCmd, len(evs))
	for i, ev := range evs {
		if len(ev.Args) != 2 {
			return fmt.Errorf("malformed event %q", ev.Member())
		}
		msgs[i] = p.HMGet(ctx, g.msgKey(ev.Args[0]), "status", "sender", "sent_at")
		profs[i] = p.HGetAll(ctx, g.profileKey(ev.Args[1]))
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
	var senders, statuses, reasons []string
	var delays []float64 // simulated seconds from sent_at to the delivery
	for i, ev := range evs {
		v := msgs[i].Val()
		if len(v) != 3 || v[0] != StatusQueued {
			continue // delivered already, or deleted by a reset
		}
		id, phone := ev.Args[0], ev.Args[1]
		sender, _ := v[1].(string)
		status, folder, reason := g.route(id, sender, profileOf(profs[i].Val()), f)
		folderKey := g.folderKey(phone, FolderInbox)
		if folder != "" {
			folderKey = g.folderKey(phone, folder)
		}
		keys = append(keys, g.msgKey(id), folderKey)
		argv = append(argv, status, folder, reason, ev.Due.UnixMilli())
		senders, statuses, reasons = append(senders, sender), append(statuses, status), append(reasons, reason)
		sentAt, _ := v[2].(string)
		delays = append(delays, ev.Due.Sub(msTime(sentAt)).Seconds())
	}
	if len(senders) == 0 {
		return nil
	}
	done, err := deliverScript.Run(ctx, g.rdb, keys, argv...).Int64Slice()
	if err != nil {
		return fmt.Errorf("deliver messages: %w", err)
	}
	for i, d := range done {
		if d == 1 {
			kind := "other"
			if IsMIITSender(senders[i]) {
				kind = "miit"
			}
			g.sent.WithLabelValues(statuses[i], kind, reasons[i]).Inc()
			if statuses[i] != StatusFailed {
				g.observeDelay(senders[i], delays[i])
			}
		}
	}
	return nil
}

// route decides what becomes of a message: the line first (suspended,
// unreachable), then the network (dropped), then the phone's spam filtering.
func (g *Gateway) route(id, sender string, prof Profile, f simulator.Faults) (status, folder, reason string) {
	switch {
	case prof.Service == ServiceSuspended:
		return StatusFailed, "", ReasonSuspended
	case !prof.Reachable:
		return StatusFailed, "", ReasonUnreachable
	case g.rand.Chance(f.DropRate, "drop", id):
		return StatusFailed, "", ReasonDropped
	case prof.SpamFilter && IsMIITSender(sender):
		return StatusBlocked, FolderBlocked, ""
	case g.rand.Chance(f.SpamBlockRate, "spam", id):
		return StatusBlocked, FolderBlocked, ""
	}
	return StatusDelivered, FolderInbox, ""
}

// Folder lists the messages of a phone's folder in delivery order.
func (g *Gateway) Folder(ctx context.Context, phone, folder string) ([]Message, error) {
	return g.folderAfter(ctx, phone, folder, 0)
}

// folderAfter lists the messages of a folder delivered after sequence
// number seq.
func (g *Gateway) folderAfter(ctx context.Context, phone, folder string, seq int64) ([]Message, error) {
	ids, err := g.rdb.ZRangeByScore(ctx, g.folderKey(phone, folder), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(seq, 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", folder, phone, err)
	}
	return g.messages(ctx, ids)
}

func (g *Gateway) messages(ctx context.Context, ids []string) ([]Message, error) {
	out := make([]Message, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	p := g.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = p.HGetAll(ctx, g.msgKey(id))
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	for _, c := range cmds {
		if m, ok := messageOf(c.Val()); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// Clear empties both folders of a phone.
func (g *Gateway) Clear(ctx context.Context, phone string) error {
	if err := g.rdb.Del(ctx, g.folderKey(phone, FolderInbox), g.folderKey(phone, FolderBlocked)).Err(); err != nil {
		return fmt.Errorf("empty folders of %s: %w", phone, err)
	}
	return nil
}

// delivery is what the Pub/Sub feed carries (written by deliverScript):
// times in Unix milliseconds, numbers as strings.
type delivery struct {
	Namespace   string `json:"ns"`
	Seq         string `json:"seq"`
	ID          string `json:"id"`
	Phone       string `json:"phone"`
	Sender      string `json:"sender"`
	Body        string `json:"body"`
	Code        string `json:"code"`
	Status      string `json:"status"`
	Folder      string `json:"folder"`
	SentAt      string `json:"sent_at"`
	DeliveredAt string `json:"delivered_at"`
}

func (d delivery) message() Message {
	m, _ := messageOf(map[string]string{
		"id": d.ID, "phone": d.Phone, "sender": d.Sender, "body": d.Body, "code": d.Code,
		"status": d.Status, "folder": d.Folder, "sent_at": d.SentAt, "delivered_at": d.DeliveredAt, "seq": d.Seq,
	})
	return m
}
