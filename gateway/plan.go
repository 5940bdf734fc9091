package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// Outgoing is a message planned in Go and sent inside a script (the Lua
// library's gw_send): what it stores, and — when the message is due at once
// — where it goes, so that the script that sends it also delivers it. The
// plan assumes the phone's profile as stored (Profile, "" when none) and no
// fault script; the script checks both before it writes anything
// (gw_stale_phone) and refuses a stale plan.
type Outgoing struct {
	ID          string    `json:"id"`
	Phone       string    `json:"phone"`
	Sender      string    `json:"sender"`
	Body        string    `json:"body"`
	Code        string    `json:"code"`
	SentAt      int64     `json:"sent_at"`         // simulated ms
	Due         int64     `json:"due"`             // simulated ms: when it is delivered, or held until
	Trail       trailText `json:"trail,omitempty"` // its trail as sent; none when delivered at once (Deliver's)
	DuplicateOf string    `json:"duplicate_of"`
	Profile     string    `json:"profile"`           // the stored profile the plan assumed
	Deliver     *delivery `json:"deliver,omitempty"` // due at once: its delivery
	Held        bool      `json:"held,omitempty"`    // held by an outage until Due (its job marked HeldMark)
	Keys        outKeys   `json:"k"`
	Texts       int       `json:"t,omitempty"` // where its texts made in Go start in TEXTS (WithTexts), or 0: none
	textTrail   trail     // its trail, as a text (WithTexts)
}

// outKeys are the positions in KEYS of a planned message's keys.
type outKeys struct {
	Msg     int `json:"msg"`
	Profile int `json:"profile"`
	Script  int `json:"script"`
	Folder  int `json:"folder"` // the folder it is delivered to (the inbox when it fails)
	// the phone's sets of the messages on their way and of those that failed
	Travelling int `json:"travelling"`
	Failed     int `json:"failed"`
}

// phoneState is what a process knows of a phone: its stored profile ("":
// none), and whether it has a fault script.
type phoneState struct {
	raw      string
	scripted bool
}

// maxKnownPhones bounds what a process remembers of phones; beyond, it
// starts again (a phone not known is assumed to have no stored profile and
// no script, which its scripts check).
const maxKnownPhones = 100_000

// phones is what the gateway knows of the phones it sent to.
type phones struct {
	mu    sync.Mutex
	known map[string]phoneState
}

func (p *phones) get(phone string) phoneState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.known[phone]
}

func (p *phones) set(phone string, st phoneState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known == nil || len(p.known) >= maxKnownPhones {
		p.known = map[string]phoneState{}
	}
	p.known[phone] = st
}

// forget forgets every phone.
func (p *phones) forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.known = nil
}

// Forget forgets what the process knows of the phones (their profiles,
// their fault scripts), after a reset deleted them: the next messages are
// planned as the first messages of a namespace are, so that a run after a
// reset is the run after a start.
func (g *Gateway) Forget() { g.phones.forget() }

// Relearn reads what the store holds of a phone — its profile, whether it
// has a fault script — after a script refused a plan of it as stale.
func (g *Gateway) Relearn(ctx context.Context, phone string) error {
	p := g.rdb.Pipeline()
	prof := p.Get(ctx, g.ks.PhoneProfile(phone))
	steps := p.LLen(ctx, g.ks.PhoneScript(phone))
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read phone %s: %w", phone, err)
	}
	g.phones.set(phone, phoneState{raw: prof.Val(), scripted: steps.Val() > 0})
	return nil
}

// StalePhone answers the phone a script refused a plan of (gw_stale_reply),
// or "".
func StalePhone(err error) string {
	if err == nil {
		return ""
	}
	phone, ok := strings.CutPrefix(err.Error(), "STALE phone ")
	if !ok {
		return ""
	}
	return phone
}

// PlanCandidates plans r with each of bodies in turn (a message whose
// body is not settled yet: a code message, whose script picks one of
// several candidate codes) as Plan would, and tells whether the plans
// after the first are the first's but for their Body and Code (alike).
// They are unless the phone's profile blocks keywords, the one thing of a
// plan that reads a body: then each is planned in full.
func (g *Gateway) PlanCandidates(f core.Faults, r SendRequest, bodies []string, keys *core.KeyList) (plans [][]Outgoing, alike, ok bool) {
	prof, raw, ok := g.planProfile(f, r)
	if !ok {
		return nil, false, false
	}
	alike = len(prof.BlockKeywords) == 0
	for i, body := range bodies {
		r.Body = body
		if i == 0 || !alike {
			plans = append(plans, g.plan(f, r, prof, raw, keys))
			continue
		}
		outs := slices.Clone(plans[0])
		for k := range outs {
			outs[k].Body, outs[k].Code = body, CodeIn(body)
		}
		plans = append(plans, outs)
	}
	return plans, alike, true
}

// Plan plans r — and the second copy the network makes of it, when it does
// — for a script that sends it (gw_send), with the namespace's fault
// profile and what this process knows of the phone; the message's keys go
// on keys. It answers false when the message cannot be sent that way: a
// throttle may hold it, or the phone has a fault script. Send it with Send
// then.
func (g *Gateway) Plan(f core.Faults, r SendRequest, keys *core.KeyList) ([]Outgoing, bool) {
	prof, raw, ok := g.planProfile(f, r)
	if !ok {
		return nil, false
	}
	return g.plan(f, r, prof, raw, keys), true
}

// planProfile answers the profile a plan of r assumes (and its stored
// form, "" when none), or false when r cannot be planned.
func (g *Gateway) planProfile(f core.Faults, r SendRequest) (Profile, string, bool) {
	ph := g.phones.get(r.To)
	if ph.scripted || g.throttled(r, f) {
		return Profile{}, "", false
	}
	if ph.raw != "" {
		p, err := ParseProfile([]byte(ph.raw))
		if err != nil {
			return Profile{}, "", false // Send reports it
		}
		return p, ph.raw, true
	}
	if m, ok := MagicProfile(r.To); ok && f.MagicNumbers {
		return m, "", true
	}
	return DefaultProfile(), "", true
}

// plan plans r, and its second copy when the network makes one, under prof.
func (g *Gateway) plan(f core.Faults, r SendRequest, prof Profile, raw string, keys *core.KeyList) []Outgoing {
	outs := []Outgoing{g.planOne(r, f, prof, raw, keys)}
	if g.rand.Chance(f.DuplicateRate, "duplicate", r.ID) || g.rand.Chance(prof.DuplicateRate, "phone_duplicate", r.ID) {
		dup := r
		dup.ID, dup.duplicateOf = g.rand.DerivedID("m", r.ID, "duplicate"), r.ID
		outs = append(outs, g.planOne(dup, f, prof, raw, keys))
	}
	return outs
}

// throttled tells whether a throttle applies to r.
func (g *Gateway) throttled(r SendRequest, f core.Faults) bool {
	for _, th := range f.Throttles {
		if (th.Sender == "miit" && IsMIITSender(r.From)) || (th.Sender != "" && th.Sender == r.From) ||
			(th.Sender == "" && core.HasPrefix(r.To, th.Prefixes)) {
			return true
		}
	}
	return false
}

// planOne plans one message, as Send and onDeliver would carry it out.
func (g *Gateway) planOne(r SendRequest, f core.Faults, prof Profile, raw string, keys *core.KeyList) Outgoing {
	t := newTrail()
	if r.duplicateOf != "" {
		t.add(r.At, StepDuplicate, "a second copy of %s", r.duplicateOf)
	}
	t.add(r.At, StepSent, "sent by %s to %s", r.From, r.To)
	due := r.At.Add(g.delay(r, f, prof, r.At, &t))
	out := Outgoing{ID: r.ID, Phone: r.To, Sender: r.From, Body: r.Body, Code: CodeIn(r.Body),
		SentAt: r.At.UnixMilli(), Due: due.UnixMilli(), DuplicateOf: r.duplicateOf, Profile: raw,
		Keys: outKeys{Msg: keys.Add(g.ks.Message(r.ID)), Profile: keys.Add(g.ks.PhoneProfile(r.To)),
			Script: keys.Add(g.ks.PhoneScript(r.To)), Folder: keys.Add(g.folderKey(r.To, FolderInbox)),
			Travelling: keys.Add(g.ks.PhoneTravelling(r.To)), Failed: keys.Add(g.ks.PhoneFailed(r.To))}}
	if due.After(r.At) {
		out.Trail = trailText(t) // delivered later, by its job
		return out
	}
	job := core.Job{Due: due}
	if o, ok := outageAt(f, r.To, job); ok && o.Mode == core.ModeHold {
		t.add(due, StepOutage, "held by %s until %s", outageName(o), o.End.Format("2006-01-02T15:04:05Z07:00"))
		out.Trail, out.Due, out.Held = trailText(t), o.End.UnixMilli(), true
		return out
	}
	// Delivered in its script, which stores the delivery's trail, not this.
	m := queued{id: r.ID, phone: r.To, sender: r.From, body: r.Body, trail: t}
	status, folder, reason := g.route(job, &m, prof, f)
	if folder == FolderBlocked {
		out.Keys.Folder = keys.Add(g.folderKey(r.To, FolderBlocked))
	}
	d := newDelivery(m.trail, due, status, folder, reason, prof)
	out.Deliver = &d
	return out
}

// Sent counts messages a script sent (Plan's), with the statuses of those
// it delivered at once ("" for none), as Send and onDeliver count theirs.
func (g *Gateway) Sent(outs []Outgoing, statuses []string) {
	for i, o := range outs {
		if o.DuplicateOf == "" {
			g.countSent(o.Sender)
		}
		if i >= len(statuses) || statuses[i] == "" || o.Deliver == nil {
			continue
		}
		reason := o.Deliver.Reason
		if statuses[i] == StatusFailed && reason == "" {
			reason = ReasonInboxFull
		}
		g.count(statuses[i], o.Sender, reason)
		if statuses[i] == StatusDelivered || statuses[i] == StatusBlocked {
			g.observeDelay(o.Sender, float64(o.Deliver.At-o.SentAt)/1000)
		}
	}
}

// AppendJSON appends a as encoding/json writes it (core.Appender): the
// arguments of every message sent and delivered at once.
func (a sendNowArgs) AppendJSON(b []byte) []byte {
	b = append(b, `{"expect":`...)
	b = a.Expect.AppendJSON(b)
	b = append(b, `,"bounds":`...)
	b = a.Bounds.AppendJSON(b)
	b = append(b, `,"real":`...)
	b = strconv.AppendInt(b, a.Real, 10)
	b = core.AppendJSONArray(append(b, `,"messages":`...), a.Messages, func(b []byte, o Outgoing) []byte { return o.appendJSON(b) })
	return append(b, '}')
}

// appendJSON appends o as encoding/json writes it.
func (o Outgoing) appendJSON(b []byte) []byte {
	b = o.appendWho(append(b, '{'))
	b = append(b, `,"sent_at":`...)
	b = strconv.AppendInt(b, o.SentAt, 10)
	b = append(b, `,"due":`...)
	b = strconv.AppendInt(b, o.Due, 10)
	if len(o.Trail) > 0 {
		b = append(b, `,"trail":`...)
		b = o.Trail.appendJSON(b)
	}
	b = append(b, `,"duplicate_of":`...)
	b = core.AppendJSONString(b, o.DuplicateOf)
	b = append(b, `,"profile":`...)
	b = core.AppendJSONString(b, o.Profile)
	if o.Deliver != nil {
		b = append(b, `,"deliver":`...)
		b = o.Deliver.appendJSON(b)
	}
	if o.Held {
		b = append(b, `,"held":true`...)
	}
	b = append(b, `,"k":{"msg":`...)
	b = strconv.AppendInt(b, int64(o.Keys.Msg), 10)
	b = append(b, `,"profile":`...)
	b = strconv.AppendInt(b, int64(o.Keys.Profile), 10)
	b = append(b, `,"script":`...)
	b = strconv.AppendInt(b, int64(o.Keys.Script), 10)
	b = append(b, `,"folder":`...)
	b = strconv.AppendInt(b, int64(o.Keys.Folder), 10)
	b = append(b, `,"travelling":`...)
	b = strconv.AppendInt(b, int64(o.Keys.Travelling), 10)
	b = append(b, `,"failed":`...)
	b = strconv.AppendInt(b, int64(o.Keys.Failed), 10)
	b = append(b, '}')
	if o.Texts != 0 {
		b = append(b, `,"t":`...)
		b = strconv.AppendInt(b, int64(o.Texts), 10)
	}
	return append(b, '}')
}

// appendWho appends the fields of o that name the message and say who
// sent what to whom — id, phone, sender, body, code — as encoding/json
// writes them, without the braces of an object.
func (o Outgoing) appendWho(b []byte) []byte {
	b = append(b, `"id":`...)
	b = core.AppendJSONString(b, o.ID)
	b = append(b, `,"phone":`...)
	b = core.AppendJSONString(b, o.Phone)
	b = append(b, `,"sender":`...)
	b = core.AppendJSONString(b, o.Sender)
	b = append(b, `,"body":`...)
	b = core.AppendJSONString(b, o.Body)
	b = append(b, `,"code":`...)
	return core.AppendJSONString(b, o.Code)
}

// appendWhere appends the fields of d that say where the message went —
// status, folder, reason — as encoding/json writes them, without the
// braces of an object.
func (d delivery) appendWhere(b []byte) []byte {
	b = append(b, `"status":`...)
	b = core.AppendJSONString(b, d.Status)
	b = append(b, `,"folder":`...)
	b = core.AppendJSONString(b, d.Folder)
	b = append(b, `,"reason":`...)
	return core.AppendJSONString(b, d.Reason)
}

// appendJSON appends d as encoding/json writes it.
func (d delivery) appendJSON(b []byte) []byte {
	b = d.appendWhere(append(b, '{'))
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, d.At, 10)
	b = append(b, `,"inbox_limit":`...)
	b = strconv.AppendInt(b, int64(d.InboxLimit), 10)
	if len(d.Trail) > 0 {
		b = append(b, `,"trail":`...)
		b = d.Trail.appendJSON(b)
	}
	if len(d.TrailIfFull) > 0 {
		b = append(b, `,"trail_if_full":`...)
		b = d.TrailIfFull.appendJSON(b)
	}
	return append(b, '}')
}
