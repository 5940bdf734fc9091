// Package people plays the people around a filing: customers who submit
// orders, and the people named in them, who read the text messages on their
// phones and validate — promptly, slowly, with a typo, after asking for a
// new code, or never. They drive a running smsim through its HTTP API, as
// real clients do, and act on its simulated clock: a person who reads an
// SMS two hours after it arrived does so two simulated hours later, however
// fast or slow the clock runs, and on a paused clock only when it is
// advanced.
//
// A Crowd is what `smsim --demo` runs so that the dashboard comes alive;
// tests drive one step by step (Step) on a paused clock.
package people

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"smsim/simulator/client"
)

// Personality is how a person deals with the code texted to them.
type Personality string

// The personalities.
const (
	Prompt   Personality = "prompt"   // reads the code within minutes and types it right
	Slow     Personality = "slow"     // reads it hours later, still within the day
	Typo     Personality = "typo"     // mistypes one digit, notices, and types it again
	Resender Personality = "resender" // cannot find the code, asks MIIT to send it again, then uses the new one
	Never    Personality = "never"    // never validates: the order is canceled after the window
)

// Personalities lists every personality.
var Personalities = []Personality{Prompt, Slow, Typo, Resender, Never}

// DefaultMix is how common each personality is in a crowd: weights.
var DefaultMix = map[Personality]int{Prompt: 45, Slow: 15, Typo: 20, Resender: 10, Never: 10}

// How long each personality takes, in simulated time, from the delivery of
// a code to acting on it.
var delays = map[Personality][2]time.Duration{
	Prompt:   {20 * time.Second, 3 * time.Minute},
	Slow:     {time.Hour, 12 * time.Hour},
	Typo:     {30 * time.Second, 4 * time.Minute},
	Resender: {20 * time.Minute, 2 * time.Hour}, // before asking for a new code
}

// After a failed or unanswered attempt, how long until the next one.
var retryDelay = [2]time.Duration{time.Minute, 5 * time.Minute}

// DemoFaults is the fault profile patch of a demo: orders reach MIIT in
// minutes rather than an hour, codes arrive in seconds with a long tail, a
// few messages are filed as spam or lost, and the review takes hours rather
// than days, so that a clock at 60× shows every stage within minutes.
const DemoFaults = `{
  "sync_lag": {"model": "uniform", "min": "1m", "max": "4m"},
  "result_sync_lag": {"model": "uniform", "min": "20s", "max": "2m"},
  "sms_delay": {"model": "lognormal", "median": "5s", "p99": "3m"},
  "spam_block_rate": 0.02,
  "drop_rate": 0.01,
  "review": {"model": "uniform", "min": "1h", "max": "8h", "approve_ratio": 0.9}
}`

// Config is what a Crowd is built from.
type Config struct {
	// API is the client of the smsim to drive.
	API *client.Client
	// Seed makes every draw (arrivals, orders, names, numbers,
	// personalities, delays, typos) reproducible; nil: crypto/rand.
	Seed *int64
	// Log receives what the crowd does at debug level and its failures at
	// warn level; nil: discard.
	Log *slog.Logger
	// Arrival is the mean simulated time between two customers' orders; 0:
	// no customers of the crowd's own (only Submit).
	Arrival time.Duration
	// MaxOpen bounds the crowd's orders whose people still have something
	// to do: no customer arrives while that many are open. Default 100.
	MaxOpen int
	// Tick is the real time between two steps of Run. Default 200 ms.
	Tick time.Duration
	// Mix weighs the personalities of the people of arriving orders; nil:
	// DefaultMix.
	Mix map[Personality]int
	// Faults, when not empty, is a fault profile patch (a JSON merge
	// patch, such as DemoFaults) that Run applies before its first step.
	Faults string
}

// Entry is one thing a person did and what MIIT answered.
type Entry struct {
	At          time.Time   // simulated time
	Order       string      // the filing id
	Phone       string      //
	Personality Personality //
	Action      string      // "validate" or "resend"
	Result      string      // MIIT's result word
}

// Order is a filing order a customer submits: who must validate, with
// their personalities.
type Order struct {
	Type, Variant string
	EntityLeader  *Person
	WebsiteAdmin  *Person
}

// Person is someone named in an order.
type Person struct {
	Name              string
	Phone             string
	CertificateNumber string
	Personality       Personality
}

// Crowd is the customers and people of a demo. Run, Step and Submit are
// for one goroutine at a time; Journal may be read from any.
type Crowd struct {
	cfg Config
	api *client.Client
	rnd *draws
	log *slog.Logger

	mu      sync.Mutex // guards journal
	journal []Entry

	started  bool
	last     string // the last event read
	now      time.Time
	arrivals int       // customers so far
	next     time.Time // when the next customer arrives
	orders   map[string]*order
	byPhone  map[string]*person // people still waiting for or acting on a code
	phones   map[string]bool    // every number handed out
	due      []*person          // people with something to do, by due time
}

type order struct {
	id        string
	people    []*person
	submitted time.Time
}

type person struct {
	Person
	order *order
	n     int   // the person's number in the crowd, for named draws
	mind  *Mind // what they do next, and when
}

// New returns a crowd; nothing happens until Run or Step.
func New(cfg Config) *Crowd {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = 100
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 200 * time.Millisecond
	}
	if cfg.Mix == nil {
		cfg.Mix = DefaultMix
	}
	return &Crowd{cfg: cfg, api: cfg.API, rnd: newDraws(cfg.Seed),
		log: cfg.Log.With("component", "people"), orders: map[string]*order{}, byPhone: map[string]*person{},
		phones: map[string]bool{}}
}

// Run steps the crowd every Tick until ctx ends; it returns nil then. A
// step that fails (the server is away) is logged and tried again at the
// next tick.
func (c *Crowd) Run(ctx context.Context) error {
	if c.cfg.Faults != "" {
		if _, err := c.api.PatchFaults(ctx, json.RawMessage(c.cfg.Faults)); err != nil && ctx.Err() == nil {
			return fmt.Errorf("people: applying the demo fault profile: %w", err)
		}
	}
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	var failing bool
	for {
		err := c.Step(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !failing:
			c.log.Warn("the people cannot reach smsim; trying again", "err", err)
		case err == nil && failing:
			c.log.Info("the people reach smsim again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step does what is due: it reads the clock and the events since the last
// step (codes that arrived, orders that ended), lets customers arrive, and
// lets every person whose time has come act.
func (c *Crowd) Step(ctx context.Context) error {
	if !c.started {
		log, err := c.api.Events(ctx, client.EventOptions{Limit: 1})
		if err != nil {
			return err
		}
		c.last = log.Last
		c.started = true
	}
	if err := c.readEvents(ctx); err != nil {
		return err
	}
	clock, err := c.api.Clock(ctx)
	if err != nil {
		return err
	}
	c.now = clock.Now
	if err := c.arrive(ctx); err != nil {
		return err
	}
	for len(c.due) > 0 && !c.due[0].mind.at.After(c.now) {
		p := c.due[0]
		c.due = c.due[1:]
		action, ok := p.mind.Take()
		if !ok {
			continue
		}
		if err := c.act(ctx, p, action); err != nil {
			p.mind.Again(action, c.now) // try again at the next step
			c.schedule(p)
			return err
		}
	}
	return nil
}

// Journal answers what the people did so far, in order.
func (c *Crowd) Journal() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Entry(nil), c.journal...)
}

// Submit has a customer submit an order now; it answers the filing id.
func (c *Crowd) Submit(ctx context.Context, o Order) (string, error) {
	req := client.SubmitRequest{Type: o.Type, Variant: o.Variant}
	ord := &order{}
	for _, x := range []struct {
		p   *Person
		dst **client.Person
	}{{o.EntityLeader, &req.EntityLeader}, {o.WebsiteAdmin, &req.WebsiteAdmin}} {
		if x.p == nil {
			continue
		}
		*x.dst = &client.Person{Name: x.p.Name, Phone: x.p.Phone, CertificateNumber: x.p.CertificateNumber}
	}
	v, err := c.api.Submit(ctx, req)
	if err != nil {
		return "", err
	}
	ord.id, ord.submitted = v.ID, v.SubmittedAt
	for _, role := range v.Required {
		src := o.EntityLeader
		if role == "website_admin" {
			src = o.WebsiteAdmin
		}
		if src == nil || c.byPhone[src.Phone] != nil {
			continue // someone already plays this number
		}
		p := &person{Person: *src, order: ord, n: len(c.phones), mind: NewMind(src.Personality)}
		c.phones[src.Phone] = true
		ord.people = append(ord.people, p)
		c.byPhone[p.Phone] = p
	}
	c.orders[ord.id] = ord
	c.log.Debug("order submitted", "order", ord.id, "type", o.Type, "variant", o.Variant, "people", len(ord.people))
	return ord.id, nil
}

// readEvents reads the events since the last step: codes delivered to the
// crowd's people, and the end of their orders.
func (c *Crowd) readEvents(ctx context.Context) error {
	const page = 1000
	for {
		after := c.last
		if after == "0" {
			after = ""
		}
		out, err := c.api.Events(ctx, client.EventOptions{After: after, Limit: page})
		if err != nil {
			return err
		}
		for _, r := range out.Events {
			c.last = r.ID
			c.onEvent(r)
		}
		if len(out.Events) < page {
			return nil
		}
	}
}

func (c *Crowd) onEvent(r client.Event) {
	switch r.Kind {
	case client.KindSMSDelivered:
		var m struct {
			Phone, Sender, Code, Folder string
			DeliveredAt                 string `json:"delivered_at_ms"`
		}
		if json.Unmarshal(r.Data, &m) != nil || m.Code == "" || m.Folder != client.FolderInbox || !client.IsMIITSender(m.Sender) {
			return
		}
		p := c.byPhone[m.Phone]
		if p == nil || p.mind.Done() {
			return
		}
		at := r.At
		if ms, err := strconv.ParseInt(m.DeliveredAt, 10, 64); err == nil {
			at = time.UnixMilli(ms).UTC()
		}
		c.onCode(p, m.Code, at)
	case client.KindFilingStatus:
		var s struct{ ID, View, Status string }
		if json.Unmarshal(r.Data, &s) != nil || s.View != "miit" {
			return
		}
		switch s.Status {
		case client.FilingUnderReview, client.FilingApproved, client.FilingReturned, client.FilingRejected, client.FilingCanceled:
			c.end(s.ID)
		}
	case client.KindReset:
		c.orders, c.byPhone, c.due = map[string]*order{}, map[string]*person{}, nil
	}
}

// onCode: a code reached a person's inbox at simulated time at.
func (c *Crowd) onCode(p *person, code string, at time.Time) {
	if p.mind.Code(code, at, c.draws(p)) {
		c.schedule(p)
	}
}

// act carries out a person's action.
func (c *Crowd) act(ctx context.Context, p *person, action Action) error {
	last6 := client.Last6(p.CertificateNumber)
	switch action {
	case ActResend:
		r, err := c.api.Resend(ctx, client.ResendRequest{Phone: p.Phone, CertificateLast6: last6})
		if err != nil {
			return err
		}
		c.note(p, string(action), r.Result)
		p.mind.Resent(r.Result) // the new code arrives as an event, and onCode plans its use
	case ActValidate:
		code := p.mind.Typed(func() uint64 { return c.rnd.Uint64("people", "typo", strconv.Itoa(p.n)) })
		r, err := c.api.Validate(ctx, client.ValidateRequest{Code: code, Phone: p.Phone, CertificateLast6: last6})
		if err != nil {
			return err
		}
		c.note(p, string(action), r.Result)
		if p.mind.Validated(r.Result, r.Rejected, c.now, c.draws(p)) {
			c.schedule(p)
		}
	}
	return nil
}

func (c *Crowd) note(p *person, action, result string) {
	c.log.Debug("person acted", "order", p.order.id, "phone", p.Phone, "personality", p.Personality, "action", action, "result", result)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.journal = append(c.journal, Entry{At: c.now, Order: p.order.id, Phone: p.Phone, Personality: p.Personality, Action: action, Result: result})
}

// end forgets an order that MIIT finished with (and its people).
func (c *Crowd) end(id string) {
	o := c.orders[id]
	if o == nil {
		return
	}
	delete(c.orders, id)
	for _, p := range o.people {
		p.mind.End()
		if c.byPhone[p.Phone] == p {
			delete(c.byPhone, p.Phone)
		}
	}
}

// open counts the orders whose people still have something to do.
func (c *Crowd) open() int {
	n := 0
	for _, o := range c.orders {
		for _, p := range o.people {
			if !p.mind.Done() {
				n++
				break
			}
		}
	}
	return n
}

// schedule puts a person in the queue of due actions, in due order (then
// in the order they were put there).
func (c *Crowd) schedule(p *person) {
	i := sort.Search(len(c.due), func(i int) bool { return c.due[i].mind.at.After(p.mind.at) })
	c.due = append(c.due, nil)
	copy(c.due[i+1:], c.due[i:])
	c.due[i] = p
}

// draws is how person p's draws are made: named after the crowd and the
// person's number.
func (c *Crowd) draws(p *person) Draw {
	return func(min, max time.Duration, parts ...string) time.Duration {
		return c.rnd.Between(min, max, append([]string{"people", strconv.Itoa(p.n)}, parts...)...)
	}
}

// typo changes one digit of a code.
func typo(code string, r uint64) string {
	if len(code) == 0 {
		return "000000"
	}
	b := []byte(code)
	i := int(r % uint64(len(b)))
	b[i] = '0' + byte((int(b[i]-'0')+1+int((r>>8)%9))%10)
	return string(b)
}
