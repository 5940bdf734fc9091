package gateway

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

var (
	//go:embed deliver.lua
	deliverLua    string
	deliverScript = core.NewScript[deliverArgs](LuaLib, deliverLua)
)

// deliverArgs are the arguments of deliver.lua: the messages, in the order
// of their keys.
type deliverArgs struct {
	Bounds   core.Bounds `json:"bounds"`
	Messages []delivery  `json:"messages"`
}

// delivery is what becomes of a message, as onDeliver decided.
type delivery struct {
	Status      string    `json:"status"`
	Folder      string    `json:"folder"` // "" for none: a failure
	Reason      string    `json:"reason"`
	At          int64     `json:"at"`                      // simulated ms
	InboxLimit  int       `json:"inbox_limit"`             // 0: none
	Trail       trailText `json:"trail,omitempty"`         // none when it goes as a text (Texts)
	TrailIfFull trailText `json:"trail_if_full,omitempty"` // the trail should the inbox be full; none when it has no limit
}

// newDelivery is the delivery of a message whose trail, t, ends with where
// route sent it (status, folder, reason) at due, under the phone's profile
// prof. Bound for an inbox with a limit, it carries the trail of the
// refusal should the inbox be full: its last step becomes a failure.
func newDelivery(t trail, due time.Time, status, folder, reason string, prof Profile) delivery {
	d := delivery{Status: status, Folder: folder, Reason: reason, At: due.UnixMilli(), InboxLimit: prof.InboxLimit, Trail: trailText(t)}
	if folder == FolderInbox && prof.InboxLimit > 0 {
		full := append(trail{}, t[:len(t)-1]...)
		full.add(due, StepFailed, "refused: the inbox is full (%s)", plural(prof.InboxLimit, "message"))
		d.TrailIfFull = trailText(full)
	}
	return d
}

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
		if err := deliveryArity(job); err != nil {
			return err
		}
		msgs[i] = p.HMGet(ctx, g.ks.Message(job.Args[0]), "status", "sender", "body", "fate", "step", "trail", "sent_at")
		profs[i] = p.Get(ctx, g.ks.PhoneProfile(job.Args[1]))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read messages: %w", err)
	}
	f, err := g.faults.Of(fc)
	if err != nil {
		return err
	}
	keys := []string{g.ks.Seq(), g.ks.Events(), g.ks.Phones()}
	args := deliverArgs{Bounds: g.state.Limits().BoundsOf(f)}
	var senders, reasons []string
	var delays []float64 // simulated seconds from sent_at to the delivery
	for i, job := range jobs {
		v := msgs[i].Val()
		if len(v) != 7 || v[0] != StatusQueued {
			continue // delivered already, or deleted by a reset
		}
		m := queued{id: job.Args[0], phone: job.Args[1], sender: str(v[1]), body: str(v[2]), fate: str(v[3]), step: str(v[4]), trail: trailOf(str(v[5]))}
		if len(job.Args) == 3 && job.Args[2] == releasedMark {
			m.trail.add(job.Due, StepOutage, "the outages changed: looked at again")
		}
		prof, err := profileOf(m.phone, profs[i], f.MagicNumbers)
		if err != nil {
			return err
		}
		if o, ok := outageAt(f, m.phone, job); ok && o.Mode == core.ModeHold {
			m.trail.add(job.Due, StepOutage, "held by %s until %s", outageName(o), o.End.Format("2006-01-02T15:04:05Z07:00"))
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
		keys = append(keys, g.ks.Message(m.id), folderKey, g.ks.PhoneTravelling(m.phone), g.ks.PhoneFailed(m.phone))
		args.Messages = append(args.Messages, newDelivery(m.trail, job.Due, status, folder, reason, prof))
		senders = append(senders, m.sender)
		reasons = append(reasons, reason)
		delays = append(delays, job.Due.Sub(msTime(str(v[6]))).Seconds())
	}
	if len(senders) == 0 {
		return nil
	}
	done, err := deliverScript.Run(ctx, g.rdb, keys, args).StringSlice()
	if err != nil {
		return fmt.Errorf("deliver messages: %w", err)
	}
	for i, status := range done {
		if status == StatusFailed && reasons[i] == "" {
			reasons[i] = ReasonInboxFull
		}
		if status != "" {
			g.count(status, senders[i], reasons[i])
		}
		if status == StatusDelivered || status == StatusBlocked {
			g.observeDelay(senders[i], delays[i])
		}
	}
	return nil
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

// The third argument of a delivery job, when it has one: HeldMark for a
// message an outage holds, due at the outage's end; releasedMark for one
// ReleaseHeld made due again.
const (
	HeldMark     = "outage"
	releasedMark = "released"
)

// deliveryArity checks the arguments of a delivery job: message, phone,
// and a mark or none.
func deliveryArity(job core.Job) error {
	if len(job.Args) == 3 && (job.Args[2] == HeldMark || job.Args[2] == releasedMark) {
		return nil
	}
	return job.Arity(2)
}

// hold puts a message off until an outage ends.
func (g *Gateway) hold(ctx context.Context, m queued, o core.Outage) error {
	p := g.rdb.Pipeline()
	p.HSet(ctx, g.ks.Message(m.id), "trail", m.trail.json())
	g.keep(ctx, p, g.ks.Message(m.id))
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("hold message %s: %w", m.id, err)
	}
	_, err := g.sched.Schedule(ctx, o.End, JobDeliver, m.id, m.phone, HeldMark)
	return err
}

var (
	//go:embed release_held.lua
	releaseHeldLua    string
	releaseHeldScript = core.NewScript[releaseHeldArgs](luaJobs, releaseHeldLua)
)

// releaseHeldArgs are the arguments of release_held.lua.
type releaseHeldArgs struct {
	Gone []heldBy `json:"gone"`
	Now  int64    `json:"now"` // simulated ms
	Held string   `json:"held"`
	Mark string   `json:"mark"`
}

// heldBy is an outage that held messages: its end (simulated ms), when
// they were due, and the prefixes of the numbers it covered.
type heldBy struct {
	End      int64    `json:"end"`
	Prefixes []string `json:"prefixes"`
}

// ReleaseHeld looks again, at now, at the messages held by the outages
// gone, those of the fault profile that a change took away or changed: a
// change of the outages applies to the messages they hold as to those
// still on their way. Each is due at now, and delivered, held again or
// refused by the outages as they now stand, before ReleaseHeld answers. A
// message held by another outage, ending at the same time, is left as it
// is.
func (g *Gateway) ReleaseHeld(ctx context.Context, gone []core.Outage, now time.Time) error {
	if len(gone) == 0 {
		return nil
	}
	args := releaseHeldArgs{Now: now.UnixMilli(), Held: HeldMark, Mark: releasedMark}
	for _, o := range gone {
		args.Gone = append(args.Gone, heldBy{End: o.End.UnixMilli(), Prefixes: o.Prefixes})
	}
	due, err := releaseHeldScript.Run(ctx, g.rdb, []string{g.ks.SchedDue(), g.ks.Seq()}, args).StringSlice()
	if err != nil {
		return fmt.Errorf("release held messages: %w", err)
	}
	if len(due) == 0 {
		return nil
	}
	return g.sched.RunNow(ctx, due...)
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
		return fail(ReasonOutage, "refused by %s (until %s)", outageName(o), o.End.Format("2006-01-02T15:04:05Z07:00"))
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

// outageName names outage o in a trail: by its carrier ("the china_mobile
// outage"), or by the numbers it covers when given only as prefixes ("the
// outage of 134…, 135…").
func outageName(o core.Outage) string {
	if o.Carrier != "" {
		return "the " + o.Carrier + " outage"
	}
	return "the outage of " + strings.Join(o.Prefixes, "…, ") + "…"
}
