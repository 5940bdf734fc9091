package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/webhook"
)

// Namespace is one world of the simulator: its own clock, scheduler, fault
// profile, event log, phones and orders, all under one Redis hash tag. The
// components hold no state of their own besides the store's, so a process
// builds them when a namespace is first asked for and may drop them again.
type Namespace struct {
	name    string
	ks      core.Keyspace
	rdb     redis.UniversalClient
	log     *slog.Logger
	clock   *core.Clock
	sched   *core.Scheduler
	faults  *core.FaultStore
	state   *core.State
	events  *core.EventLog
	feed    *core.Feed
	gw      *gateway.Gateway
	miit    *miit.Service
	hooks   *webhook.Dispatcher
	rnd     *core.Source
	jrnl    *journal      // the process's writer of the journals
	journal *core.Journal // the namespace's request journal

	made      atomic.Bool   // made in the store (World.make), or known to be
	touched   atomic.Int64  // real Unix ms at which this process last recorded a use in the registry
	used      atomic.Int64  // real Unix ms of this process's last request to it
	kept      atomic.Int64  // the used at which its long-lived keys were last kept until its last use, idle but not dropped
	webhooked string        // the process-wide set of the namespaces that have webhooks
	ttl       time.Duration // its keys' lifetime unwritten, core.Limits.NamespaceTTL (0: none)
	self      string        // the process's name in its words on core.ChangesChannel
	// slowResetSaid is the World's: when a reset last said it took long
	// to find its keys.
	slowResetSaid *atomic.Int64

	// gate is held (read) by the requests that write to the namespace
	// (Hold), and by the loop around its looks (core.Scheduler.SetGate);
	// a reset takes it whole, so that nothing this process has under way
	// writes into the namespace after the reset has emptied it.
	gate sync.RWMutex

	mu        sync.Mutex         // guards ctx and hooksStop
	ctx       context.Context    // the background work's; nil until start
	hooksStop context.CancelFunc // ends the webhook dispatcher; nil while it does not run
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

// build makes the components of namespace name; it writes nothing.
func (w *World) build(name string) (*Namespace, error) {
	ks := core.Keyspace{Prefix: w.cfg.KeyPrefix, Namespace: name}
	n := &Namespace{name: name, ks: ks, rdb: w.rdb, log: w.log, webhooked: w.webhookedKey(), ttl: w.cfg.Limits.NamespaceTTL, self: w.self,
		slowResetSaid: &w.slowResetSaid}
	n.clock = core.NewClock(w.rdb, ks, w.cfg.ClockStart, nil)
	n.sched = core.NewScheduler(w.rdb, ks, n.clock, w.log, w.reg, w.cfg.Scheduler)
	n.sched.SetGate(&n.gate)
	n.sched.OnTakeOver(func(ctx context.Context, st core.ClockState) {
		n.changed(ctx, false)
		n.advanced(ctx, st)
	})
	if n.ttl > 0 {
		// what the jobs wrote lives the TTL from now: the namespace's
		// long-lived keys too (at most every touchEvery), also when its
		// loop carries them out with no request (one kept running idle)
		n.sched.OnCarried(func(ctx context.Context) {
			if _, err := w.touch(ctx, n, false); err != nil {
				n.log.DebugContext(ctx, "recording the use of a namespace whose jobs were carried out", "namespace", n.name, "err", err)
			}
		})
	}
	n.faults = core.NewFaultStore(w.rdb, ks)
	n.state = core.NewState(n.clock, n.faults, w.cfg.Limits)
	n.sched.UseState(n.state)
	n.events = core.NewEventLog(w.rdb, ks)
	n.rnd, n.jrnl, n.journal = w.rnd, w.jrnl, core.NewJournal(w.rdb, ks)
	n.feed = core.NewFeed(n.events, w.sub, w.log, gateway.PhoneOf)
	n.gw = gateway.New(gateway.Config{Redis: w.rdb, Keyspace: ks, Scheduler: n.sched, Faults: n.faults, State: n.state,
		Events: n.events, Rand: w.rnd, Log: w.log, Metrics: w.reg, Feed: n.feed,
		Coming: func(ctx context.Context, phone string) (bool, error) { return n.miit.Coming(ctx, phone) }})
	m, err := miit.New(miit.Config{Redis: w.rdb, Keyspace: ks, Clock: n.clock, Scheduler: n.sched,
		Faults: n.faults, State: n.state, Rand: w.rnd, Gateway: n.gw, Events: n.events, Log: w.log, Metrics: w.reg,
		MIITSender: w.cfg.MIITSender, ProviderSender: w.cfg.ProviderSender, Language: w.cfg.Language})
	if err != nil {
		return nil, err
	}
	n.miit = m
	n.hooks = webhook.New(webhook.Config{Redis: w.rdb, Keyspace: ks, Network: w.hooks,
		Backoff: w.cfg.WebhookBackoff, MaxAttempts: w.cfg.WebhookAttempts, KeyTTL: w.cfg.Limits.NamespaceTTL, Log: w.log})
	return n, nil
}

// start lets n's feed serve watchers and its webhooks be dispatched (while
// it has some), until ctx ends or halt. The world's loop carries out its
// jobs.
func (n *Namespace) start(ctx context.Context) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ctx, n.stop = context.WithCancel(ctx)
	n.feed.Start(n.ctx)
}

// halt ends the background work of n and waits for it; the watchers of
// its feed (sockets, long polls) end too.
func (n *Namespace) halt() {
	n.mu.Lock()
	stop := n.stop
	n.ctx, n.stop, n.hooksStop = nil, nil, nil
	n.mu.Unlock()
	if stop != nil {
		stop()
		n.wg.Wait()
		n.feed.Stop()
	}
}

// dispatchWebhooks runs the webhook dispatcher of n while on (the
// namespace has webhooks), and stops it otherwise: a namespace without
// webhooks holds no goroutine for them.
func (n *Namespace) dispatchWebhooks(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case on && n.hooksStop == nil && n.ctx != nil:
		ctx, cancel := context.WithCancel(n.ctx)
		n.hooksStop = cancel
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.hooks.Run(ctx)
		}()
	case !on && n.hooksStop != nil:
		n.hooksStop()
		n.hooksStop = nil
	}
}

// webhooksOn tells whether the process runs the namespace's webhook
// dispatcher: the namespace has webhooks.
func (n *Namespace) webhooksOn() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hooksStop != nil
}

// RegisterWebhook adds a webhook to the namespace (webhook.Dispatcher.Register)
// and dispatches its events from then on.
func (n *Namespace) RegisterWebhook(ctx context.Context, h webhook.Hook) (webhook.Hook, error) {
	h, err := n.hooks.Register(ctx, h)
	if err != nil {
		return webhook.Hook{}, err
	}
	if err := n.rdb.SAdd(ctx, n.webhooked, n.name).Err(); err != nil {
		return webhook.Hook{}, fmt.Errorf("register webhook: %w", err)
	}
	n.dispatchWebhooks(true)
	return h, nil
}

// DeleteWebhook removes a webhook; with the last one, the dispatcher stops.
func (n *Namespace) DeleteWebhook(ctx context.Context, id string) error {
	if err := n.hooks.Delete(ctx, id); err != nil {
		return err
	}
	hooks, err := n.hooks.List(ctx)
	if err != nil {
		return err
	}
	if len(hooks) == 0 {
		return n.forgetWebhooks(ctx)
	}
	return nil
}

// forgetWebhooks notes that the namespace has no webhook left.
func (n *Namespace) forgetWebhooks(ctx context.Context) error {
	if err := n.rdb.SRem(ctx, n.webhooked, n.name).Err(); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	n.dispatchWebhooks(false)
	return nil
}

// Name is the namespace's name.
func (n *Namespace) Name() string { return n.name }

// Clock is the namespace's simulated clock.
func (n *Namespace) Clock() *core.Clock { return n.clock }

// Faults is the namespace's fault profile.
func (n *Namespace) Faults() *core.FaultStore { return n.faults }

// Events is the namespace's event log.
func (n *Namespace) Events() *core.EventLog { return n.events }

// Feed fans the namespace's event log out to this process's watchers.
func (n *Namespace) Feed() *core.Feed { return n.feed }

// Gateway is the namespace's SMS network and phones.
func (n *Namespace) Gateway() *gateway.Gateway { return n.gw }

// MIIT is the namespace's provider and MIIT.
func (n *Namespace) MIIT() *miit.Service { return n.miit }

// Webhooks are the namespace's webhooks.
func (n *Namespace) Webhooks() *webhook.Dispatcher { return n.hooks }

// Now reads the simulated time, from what this process holds of the clock
// (core.State): no round trip, unless the clock changed through this
// process since it last read it.
func (n *Namespace) Now(ctx context.Context) (time.Time, error) {
	snap, err := n.state.Snapshot(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return snap.Now().Now, nil
}

// Emit appends an event to the event log at simulated time at; the log is
// for watching, so a failure is only logged.
func (n *Namespace) Emit(ctx context.Context, at time.Time, kind string, data any) {
	// What it notes has happened: it is written even when the request that
	// did it is given up meanwhile.
	ctx = context.WithoutCancel(ctx)
	if err := n.events.Emit(ctx, at, kind, data); err != nil {
		n.log.WarnContext(ctx, "writing the event log", "kind", kind, "err", err)
	}
}

// EmitNow appends an event at the simulated now.
func (n *Namespace) EmitNow(ctx context.Context, kind string, data any) {
	now, err := n.clock.Now(ctx)
	if err != nil {
		n.log.WarnContext(ctx, "writing the event log", "kind", kind, "err", err)
		return
	}
	n.Emit(ctx, now, kind, data)
}

// SetClock changes the clock's scale and/or paused flag (nil leaves one as
// it is) and wakes the scheduler, which may have new work; the live codes'
// keys live afresh until their deadlines at the new scale.
func (n *Namespace) SetClock(ctx context.Context, scale *float64, paused *bool) (core.ClockState, error) {
	if _, err := n.sched.Clock(ctx); err != nil { // an advance cut short is finished first
		return core.ClockState{}, err
	}
	st, err := n.clock.Set(ctx, scale, paused)
	n.changed(ctx, false)
	if err != nil {
		return core.ClockState{}, err
	}
	n.sched.Kick()
	if err := n.miit.RetimeCodes(ctx); err != nil {
		n.log.WarnContext(ctx, "setting the lifetime of the codes", "err", err)
	}
	n.Emit(ctx, st.Now, core.KindClock, st)
	return st, nil
}

// Advance moves the clock forward by d and, before it answers, carries out
// everything that fell due on the way, in due order.
func (n *Namespace) Advance(ctx context.Context, d time.Duration) (core.ClockState, error) {
	return n.AdvanceOnce(ctx, d, "")
}

// AdvanceOnce is Advance under the Idempotency-Key key ("" for none): a
// retry of the namespace's latest advance with its key moves nothing and
// answers as that advance did (core.Scheduler.AdvanceOnce).
func (n *Namespace) AdvanceOnce(ctx context.Context, d time.Duration, key string) (core.ClockState, error) {
	st, replayed, err := n.sched.AdvanceOnce(ctx, d, key)
	n.changed(ctx, false)
	if errors.Is(err, core.ErrSuperseded) && key != "" {
		// another process took it over (this one stalled past its lease):
		// its answer, once it is done, is this one's; after a reset, none
		if kept, ok, rerr := n.sched.Replayed(ctx, key); ok || rerr != nil {
			return kept, rerr
		}
	}
	if err != nil {
		return core.ClockState{}, err
	}
	if replayed {
		return st, nil
	}
	n.advanced(ctx, st)
	return st, nil
}

// advanced does what follows an advance, this process's or one it took
// over from a process that died (core.Scheduler.OnTakeOver): the live
// codes' keys live until their deadlines, nearer now in real time, and
// the event log has the clock.
func (n *Namespace) advanced(ctx context.Context, st core.ClockState) {
	if !st.Paused {
		// the deadlines came nearer in real time (a paused clock's codes
		// are kept, whatever the time)
		if err := n.miit.RetimeCodes(ctx); err != nil {
			n.log.WarnContext(ctx, "setting the lifetime of the codes", "err", err)
		}
	}
	n.Emit(ctx, st.Now, core.KindClock, st)
}

// ClockState reads the clock as the namespace serves it: an advance whose
// process died before it finished is finished first
// (core.Scheduler.Clock).
func (n *Namespace) ClockState(ctx context.Context) (core.ClockState, error) {
	return n.sched.Clock(ctx)
}

// DeadJobs answers the newest limit jobs that failed for good, newest
// first, and how many the dead-letter set holds.
func (n *Namespace) DeadJobs(ctx context.Context, limit int) ([]core.DeadJob, int64, error) {
	return n.sched.DeadJobs(ctx, limit)
}

// PutFaults replaces the fault profile with the one in body (what it omits
// takes its start value).
func (n *Namespace) PutFaults(ctx context.Context, body []byte) (core.Faults, error) {
	f, old, err := n.faults.Put(ctx, body)
	n.changed(ctx, false)
	if err != nil {
		return core.Faults{}, err
	}
	if err := n.restartAPICalls(ctx); err != nil {
		return core.Faults{}, err
	}
	n.EmitNow(ctx, core.KindFaults, f)
	if err := n.faultsChanged(ctx, old, f); err != nil {
		return core.Faults{}, err
	}
	return f, nil
}

// PatchFaults changes the fault profile by a JSON merge patch.
func (n *Namespace) PatchFaults(ctx context.Context, body []byte) (core.Faults, error) {
	f, old, err := n.faults.Patch(ctx, body)
	n.changed(ctx, false)
	if err != nil {
		return core.Faults{}, err
	}
	if patchesAPIFaults(body) {
		if err := n.restartAPICalls(ctx); err != nil {
			return core.Faults{}, err
		}
	}
	n.EmitNow(ctx, core.KindFaults, f)
	if err := n.faultsChanged(ctx, old, f); err != nil {
		return core.Faults{}, err
	}
	return f, nil
}

// faultsChanged does what a change of the fault profile from old to f
// does besides: the throttles that f no longer has as they were forget
// what they counted (gateway.ForgetThrottles), and the messages held by an
// outage of old that f no longer has as it was (taken away, ended early or
// later, moved) are looked at again now, under f's outages
// (gateway.ReleaseHeld).
func (n *Namespace) faultsChanged(ctx context.Context, old, f core.Faults) error {
	if err := n.gw.ForgetThrottles(ctx, old.Throttles, f.Throttles); err != nil {
		return err
	}
	var gone []core.Outage
	for _, o := range old.Outages {
		if o.Mode == core.ModeHold && !slices.ContainsFunc(f.Outages, o.Equal) {
			gone = append(gone, o)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	now, err := n.clock.Now(ctx)
	if err != nil {
		return err
	}
	return n.gw.ReleaseHeld(ctx, gone, now)
}

// ClearMessages empties both folders of a phone and forgets the messages
// to it that failed (those on their way still come), and says so on the
// event log (phone.cleared), for the watchers that count its folders.
func (n *Namespace) ClearMessages(ctx context.Context, phone string) error {
	if err := n.gw.Clear(ctx, phone); err != nil {
		return err
	}
	n.EmitNow(ctx, core.KindPhoneCleared, map[string]any{"phone": phone})
	return nil
}

// SetPhoneProfile replaces a phone's profile.
func (n *Namespace) SetPhoneProfile(ctx context.Context, phone string, p gateway.Profile) error {
	if err := n.gw.SetProfile(ctx, phone, p); err != nil {
		return err
	}
	n.EmitNow(ctx, core.KindPhone, map[string]any{"phone": phone, "profile": p})
	return nil
}

// changed drops what this process holds of the namespace's clock and
// fault profile after it set them — and of its phones after a reset — and
// tells the other processes on the store to do the same
// (World.changedElsewhere): a change made through one process is seen by
// the others' next requests, those that only read them too. The word goes
// by Pub/Sub, within about a round trip; a write checks them in Redis
// besides (core.Snapshot).
func (n *Namespace) changed(ctx context.Context, reset bool) {
	n.forget(reset)
	kind := ""
	if reset {
		kind = resetWord
	}
	word := n.name + "\n" + kind + "\n" + n.self
	if err := n.rdb.Publish(context.WithoutCancel(ctx), core.ChangesChannel(n.ks.Prefix), word).Err(); err != nil {
		n.log.WarnContext(ctx, "telling the other processes of a change", "err", err)
	}
}

// resetWord marks the word of a reset on core.ChangesChannel.
const resetWord = "reset"

// forget drops what the process holds of the namespace's clock and fault
// profile, and after a reset of its phones.
func (n *Namespace) forget(reset bool) {
	n.state.Forget()
	if reset {
		n.gw.Forget()
	}
}

// Hold lets a request write to the namespace until leave: a reset waits
// for it (and it for a reset under way). A reset holds nothing of it.
func (n *Namespace) Hold() (leave func()) {
	n.gate.RLock()
	return n.gate.RUnlock
}

// Reset forgets every filing, message, phone profile and event of the
// namespace, and sets its clock and fault profile back to their start
// values. Other namespaces keep everything. It answers the clock. It waits
// for what this process has under way in the namespace — the requests
// that write to it (Hold), an advance, the loop's jobs — and lets none
// begin before it is done: nothing of before the reset is written after
// it. (What another process has under way at that moment is not waited
// for.)
func (n *Namespace) Reset(ctx context.Context) (core.ClockState, error) {
	n.gate.Lock()
	defer n.gate.Unlock()
	release := n.jrnl.drop(n.name) // the requests before the reset go with the rest
	defer release()
	start := time.Now()
	err := core.ScanKeys(ctx, n.rdb, n.ks.Pattern(), 500, func(ctx context.Context, c redis.Cmdable, keys []string) error {
		return c.Del(ctx, keys...).Err()
	})
	if err != nil {
		return core.ClockState{}, fmt.Errorf("reset: %w", err)
	}
	if took := time.Since(start); took > slowReset {
		n.saySlowReset(ctx, took)
	}
	// nothing is left of a store written before the live codes were
	// listed: noted so, no process reads the database to list them
	// (core.UpgradeStore, miit.Service.RetimeCodes)
	if err := n.rdb.HSet(ctx, n.ks.Seq(), core.CodesIndexed, "1").Err(); err != nil {
		return core.ClockState{}, fmt.Errorf("reset: %w", err)
	}
	err = n.clock.Reset(ctx)
	n.changed(ctx, true)
	if err != nil {
		return core.ClockState{}, err
	}
	if err := n.forgetWebhooks(ctx); err != nil {
		return core.ClockState{}, err
	}
	n.sched.Kick() // the clock may run again
	st, err := n.clock.State(ctx)
	if err != nil {
		return core.ClockState{}, err
	}
	n.Emit(ctx, st.Now, core.KindReset, map[string]any{})
	n.Emit(ctx, st.Now, core.KindClock, st)
	if n.ttl > 0 {
		// made again, the clock and the event log live as a namespace's
		// just used, not until the process next records a use
		p := n.rdb.Pipeline()
		for _, k := range n.ks.LongLived() {
			p.PExpire(ctx, k, n.ttl+lifetimeMargin)
		}
		if _, err := p.Exec(core.Repeatable(ctx)); err != nil {
			n.log.WarnContext(ctx, "the lifetime of the keys made again by a reset", "namespace", n.name, "err", err)
		}
	}
	return st, nil
}

// slowReset is how long a reset may take to find and delete its
// namespace's keys before the process says why (saySlowReset). A variable
// for the tests.
var slowReset = 250 * time.Millisecond

// saySlowReset logs, at most once an hour for the process, that a reset
// took long to find the namespace's keys, and what makes it quick: one
// Redis in its plain mode looks through every key it holds at each reset,
// a cluster (of one node, too) reads the namespace's slot alone.
func (n *Namespace) saySlowReset(ctx context.Context, took time.Duration) {
	now := time.Now().UnixMilli()
	last := n.slowResetSaid.Load()
	if now-last < time.Hour.Milliseconds() || !n.slowResetSaid.CompareAndSwap(last, now) {
		return
	}
	n.log.WarnContext(ctx, "a reset took long to find the namespace's keys: one Redis in its plain mode looks through every key it holds at each reset; "+
		"a Redis that many namespaces share resets in milliseconds run as a cluster, of one node too (cmd/smsim/README.md, On a Redis Cluster); said at most once an hour",
		"namespace", n.name, "took", took.Round(time.Millisecond))
}

// ScenarioResult is what applying a scenario set.
type ScenarioResult struct {
	Name   string                     `json:"name,omitempty"`
	Faults core.Faults                `json:"faults"`
	Phones map[string]gateway.Profile `json:"phones"`
}

// ApplyScenario sets the fault profile and the phone profiles of a
// scenario (core.ParseScenario), its outages counted from the simulated
// now. Nothing is set unless all of it is valid.
func (n *Namespace) ApplyScenario(ctx context.Context, body []byte) (ScenarioResult, error) {
	sc, err := core.ParseScenario(body)
	if err != nil {
		return ScenarioResult{}, err
	}
	now, err := n.clock.Now(ctx)
	if err != nil {
		return ScenarioResult{}, err
	}
	f, err := sc.FaultsAt(now)
	if err != nil {
		return ScenarioResult{}, err
	}
	res := ScenarioResult{Name: sc.Name, Faults: f, Phones: map[string]gateway.Profile{}}
	numbers := slices.Sorted(maps.Keys(sc.Phones)) // the first that is wrong is named, every time
	named := map[string]string{}                   // the numbers given, by phone
	for _, number := range numbers {
		raw := sc.Phones[number]
		phone, err := gateway.NormalizePhone("phones", number)
		if err != nil {
			return ScenarioResult{}, err
		}
		if other, ok := named[phone]; ok {
			return ScenarioResult{}, core.Invalid("phones: %q and %q are the same number, %s: give it once", other, number, phone)
		}
		named[phone] = number
		p, err := gateway.ParseProfile(raw)
		var bad *core.Error
		if errors.As(err, &bad) {
			return ScenarioResult{}, core.Invalid("phones.%s.%s", number, bad.Detail)
		}
		if err != nil {
			return ScenarioResult{}, err
		}
		res.Phones[phone] = p
	}
	old, err := n.faults.Set(ctx, f)
	n.changed(ctx, false)
	if err != nil {
		return ScenarioResult{}, err
	}
	if err := n.restartAPICalls(ctx); err != nil {
		return ScenarioResult{}, err
	}
	phones := make([]string, 0, len(res.Phones))
	for phone := range res.Phones {
		phones = append(phones, phone)
	}
	sort.Strings(phones)
	for _, phone := range phones {
		if err := n.gw.SetProfile(ctx, phone, res.Phones[phone]); err != nil {
			return ScenarioResult{}, err
		}
	}
	n.Emit(ctx, now, core.KindFaults, f)
	for _, phone := range phones {
		n.Emit(ctx, now, core.KindPhone, map[string]any{"phone": phone, "profile": res.Phones[phone]})
	}
	if err := n.faultsChanged(ctx, old, f); err != nil {
		return ScenarioResult{}, err
	}
	return res, nil
}
