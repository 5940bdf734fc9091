package webhook

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

const (
	readBatch      = 100                    // events read at once
	retryWorkers   = 32                     // retries a dispatcher posts at once, at most
	retriesPerHook = 8                      // retries of one hook claimed at once, at most, by every dispatcher
	retryScan      = 1024                   // how deep a claim looks among the due retries for hooks below their share
	attemptTimeout = 30 * time.Second       // bounds a post whatever the client
	lease          = 2 * time.Minute        // how long a claimed retry is kept from others
	idleWait       = time.Second            // Run's pause while no hook is registered
	reloadEvery    = time.Second            // how long Step posts with the hooks it read before it reads them again
	pollWait       = 100 * time.Millisecond // Run's pause when it found nothing to do
	recordTimeout  = 5 * time.Second        // bounds the recording of a post made
	maxAnswerRead  = 64 << 10               // bytes of an answer read before closing it
)

var (
	//go:embed ensure_group.lua
	ensureGroupLua    string
	ensureGroupScript = core.NewScript[ensureGroupArgs](ensureGroupLua)

	//go:embed claim_retries.lua
	claimLua    string
	claimScript = core.NewScript[claimArgs](claimLua)

	//go:embed finish.lua
	finishLua    string
	finishScript = core.NewScript[finishArgs](finishLua)
)

type ensureGroupArgs struct {
	Group string `json:"group"`
}

type claimArgs struct {
	Now        int64 `json:"now"`         // real ms
	LeaseUntil int64 `json:"lease_until"` // real ms
	Limit      int   `json:"limit"`
	PerHook    int   `json:"per_hook"`
	Scan       int   `json:"scan"`
}

type finishArgs struct {
	Bounds  core.Bounds `json:"bounds"`
	Claimed string      `json:"claimed"`  // the claimed retry; "" for a first attempt
	StandIn string      `json:"stand_in"` // a first attempt's stand-in retry (goOnWithout), or ""
	Entry   string      `json:"entry"`    // the log entry, Delivery JSON
	LogLen  int         `json:"log_len"`
	Next    string      `json:"next"`     // the next attempt's retry, or ""
	NextDue int64       `json:"next_due"` // real ms
}

// job is one attempt to post an event to a hook.
type job struct {
	delivery string
	attempt  int
	event    core.Record
	member   string        // the claimed retry; "" for a first attempt
	first    *firstAttempt // a first attempt's; nil for a retry
}

// firstAttempt is what Step and a first attempt it may go on without
// (goOnWithout) share: whether the attempt recorded its outcome, and the
// stand-in retry Step scheduled, which the attempt removes as it does.
type firstAttempt struct {
	mu       sync.Mutex
	recorded bool
	standIn  string
}

// recording marks the attempt recorded, and answers the stand-in to remove
// with its record ("" for none).
func (f *firstAttempt) recording() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recorded = true
	return f.standIn
}

// standInMargin is how long after its attempt must have ended a stand-in
// retry falls due.
const standInMargin = 5 * time.Second

// Step reads the events appended to the log and not yet read by any
// dispatcher of the namespace, waiting up to block for one to come (≤ 0:
// not at all), and posts each to the hooks that receive its kind and were
// registered before it: their first attempt, a failure of which schedules
// a retry. It acknowledges each event once its posts are done. Before
// reading, it takes over the events that another dispatcher read and has
// not acknowledged for Config.ReclaimAfter, taking that one for dead. It
// answers the number of events handled.
func (d *Dispatcher) Step(ctx context.Context, block time.Duration) (int, error) {
	msgs, err := d.read(ctx, block)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	hooks, err := d.load(ctx) // after the read: every hook registered before the events is there
	if err != nil {
		return 0, err
	}
	loaded := time.Now()
	n := 0
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			d.handBack(ctx, msgs[i:]) // stopping: the events left are read again, by this process or another
			return n, err
		}
		if time.Since(loaded) > reloadEvery {
			// a hook deleted by another process meanwhile gets no more
			if hooks, err = d.load(ctx); err != nil {
				return n, err
			}
			loaded = time.Now()
		}
		rec := d.record(m)
		if err := d.dispatch(ctx, hooks, rec); err != nil {
			return n, err
		}
		if err := d.ack(ctx, m.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// handBack hands the events msgs, read and not begun, back to the group as
// if long idle: the next dispatcher to read, in this process or another,
// takes them over at once instead of waiting out ReclaimAfter as it does
// for a dispatcher that died. Best effort: when it fails, they wait so.
func (d *Dispatcher) handBack(ctx context.Context, msgs []redis.XMessage) {
	ctx, cancel := recordContext(ctx)
	defer cancel()
	args := []any{"XCLAIM", d.eventsKey, Group, d.consumer, 0}
	for _, m := range msgs {
		args = append(args, m.ID)
	}
	args = append(args, "IDLE", (2 * d.reclaim).Milliseconds(), "JUSTID")
	if err := d.rdb.Do(ctx, args...).Err(); err != nil {
		d.log.Warn("handing back the events not posted at the stop: another dispatcher takes them over once idle", "events", len(msgs), "err", err)
	}
}

// ack acknowledges an event whose posts are made, even when ctx has
// ended meanwhile: what was posted is not posted again.
func (d *Dispatcher) ack(ctx context.Context, id string) error {
	ctx, cancel := recordContext(ctx)
	defer cancel()
	if err := d.rdb.XAck(ctx, d.eventsKey, Group, id).Err(); err != nil {
		return fmt.Errorf("acknowledge event %s: %w", id, err)
	}
	return nil
}

// recordContext is the context of recording what was done: not ended
// with ctx, so that a post made is recorded when the dispatcher stops.
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

// read answers the events this dispatcher is to handle: those it takes over
// from a dead one, else new ones.
func (d *Dispatcher) read(ctx context.Context, block time.Duration) ([]redis.XMessage, error) {
	msgs, _, err := d.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: d.eventsKey, Group: Group, Consumer: d.consumer,
		MinIdle: d.reclaim, Start: "0-0", Count: readBatch,
	}).Result()
	if isNoGroup(err) {
		return nil, d.ensureGroup(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("reclaim events: %w", err)
	}
	if len(msgs) > 0 {
		d.log.InfoContext(ctx, "took over events of a dispatcher that did not acknowledge them", "events", len(msgs))
		return msgs, nil
	}
	if block <= 0 {
		block = -1 // no BLOCK: BLOCK 0 would wait forever
	} else {
		block = max(block, time.Millisecond)
	}
	res, err := d.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: Group, Consumer: d.consumer, Streams: []string{d.eventsKey, ">"},
		Count: readBatch, Block: block,
	}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case isNoGroup(err):
		return nil, d.ensureGroup(ctx)
	case err != nil:
		return nil, fmt.Errorf("read events: %w", err)
	}
	for _, s := range res {
		msgs = append(msgs, s.Messages...)
	}
	return msgs, nil
}

func isNoGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOGROUP")
}

func (d *Dispatcher) ensureGroup(ctx context.Context) error {
	if err := ensureGroupScript.Run(ctx, d.rdb, []string{d.hooksKey, d.eventsKey}, ensureGroupArgs{Group: Group}).Err(); err != nil {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

// record reads an event of the log, as core.EventLog does.
func (d *Dispatcher) record(m redis.XMessage) core.Record {
	at, _ := strconv.ParseInt(fmt.Sprint(m.Values["at"]), 10, 64)
	data, _ := m.Values["data"].(string)
	kind, _ := m.Values["kind"].(string)
	if data == "" {
		data = "{}"
	}
	return core.Record{ID: m.ID, At: time.UnixMilli(at).UTC(), Kind: kind, Namespace: d.ks.Namespace, Data: json.RawMessage(data)}
}

// dispatch makes the first attempts of posting rec, to its hooks at once,
// and waits for them up to the dispatcher's first wait: it goes on
// without those still under way then (goOnWithout), which finish on their
// own.
func (d *Dispatcher) dispatch(ctx context.Context, hooks []stored, rec core.Record) error {
	type running struct {
		hook string
		j    job
		done chan error
	}
	var all []running
	for _, h := range hooks {
		if !slices.Contains(h.Events, rec.Kind) || !idAfter(rec.ID, h.since) || d.isDeleted(h.ID) {
			continue
		}
		a := running{hook: h.ID, done: make(chan error, 1),
			j: job{delivery: deliveryID(h.ID, rec.ID), attempt: 1, event: rec, first: &firstAttempt{}}}
		d.slow.Go(func() { a.done <- d.attempt(ctx, h.Hook, a.j) })
		all = append(all, a)
	}
	wait := time.NewTimer(d.firstWait)
	defer wait.Stop()
	late := wait.C
	var errs []error
	for _, a := range all {
		var err error
		select {
		case err = <-a.done:
		case <-late:
			late = closedChan // the wait is over for every attempt left
			select {
			case err = <-a.done:
			default:
				err = d.goOnWithout(ctx, a.hook, a.j)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Wait waits for the attempts Step and RetryDue went on without (a slow
// target) to end: within the timeout of a post and its recording.
func (d *Dispatcher) Wait() { d.slow.Wait() }

// closedChan is a channel closed from the start.
var closedChan = func() chan time.Time { c := make(chan time.Time); close(c); return c }()

// goOnWithout lets the first attempt j to hook, still under way, finish on
// its own: it schedules a stand-in retry due once the attempt must have
// ended (its post's timeout and its recording's), which the attempt
// removes as it records its outcome. Should the process die before, the
// stand-in posts the event again, so that it is not lost.
func (d *Dispatcher) goOnWithout(ctx context.Context, hook string, j job) error {
	m, err := retryMember(hook, job{delivery: j.delivery, attempt: 1, event: j.event})
	if err != nil {
		return fmt.Errorf("webhook %s: %w", hook, err)
	}
	j.first.mu.Lock()
	defer j.first.mu.Unlock()
	if j.first.recorded {
		return nil // it ended meanwhile
	}
	rctx, cancel := recordContext(ctx)
	defer cancel()
	due := d.now().Add(attemptTimeout + recordTimeout + standInMargin)
	if err := d.rdb.ZAdd(rctx, d.retryKey, redis.Z{Score: float64(due.UnixMilli()), Member: m}).Err(); err != nil {
		return fmt.Errorf("webhook %s: stand in for delivery %s: %w", hook, j.delivery, err)
	}
	j.first.standIn = m
	d.log.InfoContext(ctx, "going on while a webhook target is slow to answer", "hook", hook, "delivery", j.delivery, "waited", d.firstWait)
	return nil
}

// isDeleted tells whether hook id was deleted through this dispatcher.
func (d *Dispatcher) isDeleted(id string) bool {
	_, ok := d.deleted.Load(id)
	return ok
}

// deliveryID names the posts of event to hook: the same in every attempt,
// and when an event taken over from a dead dispatcher is posted again.
func deliveryID(hook, event string) string {
	return core.NewSource().DerivedID("whd", hook, event)
}

// idAfter tells whether stream id a comes after b ("ms-seq"; a b that does
// not parse counts as 0-0).
func idAfter(a, b string) bool {
	am, as := parseID(a)
	bm, bs := parseID(b)
	return am > bm || am == bm && as > bs
}

func parseID(id string) (ms, seq uint64) {
	l, r, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(l, 10, 64)
	seq, _ = strconv.ParseUint(r, 10, 64)
	return ms, seq
}

// RetryDue makes the attempts whose due time (by Config.Now) has come, up
// to retryWorkers at once, and answers how many it began. Each is claimed
// atomically, so that with several dispatchers each is made once; one
// whose dispatcher died after claiming it is made again when its lease
// ends.
//
// A hook has at most retriesPerHook retries under way at once, so that a
// target slow to answer holds up its own retries, not the others': the
// claim passes over the retries of a hook at its share. RetryDue waits for
// the attempts it began up to the dispatcher's first wait, and goes on
// without those still under way then (a slow target), which finish on
// their own, claimed meanwhile (Wait waits for them).
func (d *Dispatcher) RetryDue(ctx context.Context) (int, error) {
	n := 0
	for {
		free := retryWorkers - int(d.retrying.Load())
		if free <= 0 {
			return n, nil
		}
		now := d.now()
		ms, err := claimScript.Run(ctx, d.rdb, []string{d.retryKey, d.flightKey},
			claimArgs{Now: now.UnixMilli(), LeaseUntil: now.Add(lease).UnixMilli(), Limit: free,
				PerHook: retriesPerHook, Scan: retryScan}).StringSlice()
		if err != nil {
			return n, fmt.Errorf("claim retries: %w", err)
		}
		if len(ms) == 0 {
			return n, nil
		}
		hooks, err := d.load(ctx)
		if err != nil {
			d.release(ctx, ms)
			return n, err
		}
		byID := make(map[string]Hook, len(hooks))
		for _, h := range hooks {
			byID[h.ID] = h.Hook
		}
		w := &retryWait{done: make(chan error, len(ms)), log: d.log}
		for i, m := range ms {
			if ctx.Err() != nil {
				// stopping: the claimed retries not begun go back, due at
				// once, for this process or another
				d.release(ctx, ms[i:])
				break
			}
			hookID, j, err := parseRetry(m)
			h, ok := byID[hookID]
			ok = ok && !d.isDeleted(hookID)
			if err != nil || !ok { // malformed, or its hook was deleted: drop it
				if err != nil {
					d.log.ErrorContext(ctx, "dropping malformed retry", "err", err)
				}
				if err := d.rdb.ZRem(ctx, d.flightKey, m).Err(); err != nil {
					w.wait(0) // those begun go on on their own
					return n, fmt.Errorf("drop retry: %w", err)
				}
				continue
			}
			n++
			w.begun++
			d.retrying.Add(1)
			d.slow.Go(func() {
				defer d.retrying.Add(-1)
				w.end(ctx, d.attempt(ctx, h, j))
			})
		}
		if err := w.wait(d.firstWait); err != nil {
			return n, err
		}
	}
}

// retryWait is RetryDue's wait for the attempts of a claim: those that end
// within the wait answer to it, the rest log their failure themselves.
type retryWait struct {
	begun int
	done  chan error
	log   *slog.Logger

	mu   sync.Mutex
	gone bool // the wait is over
}

// end reports an attempt's outcome.
func (w *retryWait) end(ctx context.Context, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.gone {
		w.done <- err
	} else if err != nil {
		w.log.WarnContext(ctx, "webhook retry", "err", err)
	}
}

// wait waits up to d for the attempts begun, and answers the failures of
// those that ended by then.
func (w *retryWait) wait(d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	var errs []error
	for range w.begun {
		select {
		case err := <-w.done:
			errs = append(errs, err)
			continue
		case <-timer.C:
		}
		break
	}
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	for {
		select {
		case err := <-w.done: // ended as the wait did
			errs = append(errs, err)
		default:
			return errors.Join(errs...)
		}
	}
}

// release puts claimed retries back among those due, due now (their
// attempt was not begun), even when ctx has ended.
func (d *Dispatcher) release(ctx context.Context, ms []string) {
	ctx, cancel := recordContext(ctx)
	defer cancel()
	now := float64(d.now().UnixMilli())
	_, err := d.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range ms {
			p.ZRem(ctx, d.flightKey, m)
			p.ZAdd(ctx, d.retryKey, redis.Z{Score: now, Member: m})
		}
		return nil
	})
	if err != nil {
		d.log.WarnContext(ctx, "putting back claimed retries", "err", err) // their lease ends in time
	}
}

// retryMember is the stored form of a retry: "<hook id>|<delivery
// id>|<attempt>|<event JSON>".
func retryMember(hook string, j job) (string, error) {
	ev, err := json.Marshal(j.event)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", j.event.ID, err)
	}
	return hook + "|" + j.delivery + "|" + strconv.Itoa(j.attempt) + "|" + string(ev), nil
}

func parseRetry(m string) (hook string, j job, err error) {
	f := strings.SplitN(m, "|", 4)
	if len(f) < 4 {
		return "", job{}, fmt.Errorf("retry %.40q: fewer than 4 fields", m)
	}
	j = job{delivery: f[1], member: m}
	if j.attempt, err = strconv.Atoi(f[2]); err != nil {
		return "", job{}, fmt.Errorf("retry %.40q: attempt: %w", m, err)
	}
	if err := json.Unmarshal([]byte(f[3]), &j.event); err != nil {
		return "", job{}, fmt.Errorf("retry %.40q: event: %w", m, err)
	}
	return f[0], j, nil
}

// attempt posts j's event to h, logs the attempt and, when it failed and
// attempts are left, schedules the next, its wait counted from the end of
// this one. A failed post is not an error; a failure to record it is. A
// post under way when ctx ends (the process stops) is finished and
// recorded, within the target's timeout, so that it is not made again.
func (d *Dispatcher) attempt(ctx context.Context, h Hook, j job) error {
	body, err := json.Marshal(Payload{ID: j.delivery, HookID: h.ID, Attempt: j.attempt, Event: j.event})
	if err != nil {
		return fmt.Errorf("webhook %s: event %s: %w", h.ID, j.event.ID, err)
	}
	at := d.now().UTC()
	start := time.Now()
	code, failure := d.post(context.WithoutCancel(ctx), h, j, body, strconv.FormatInt(at.Unix(), 10))
	e := Delivery{
		ID: j.delivery, HookID: h.ID, EventID: j.event.ID, Kind: j.event.Kind, Attempt: j.attempt,
		StatusCode: code, Error: failure, At: at, DurationMS: time.Since(start).Milliseconds(),
	}
	var next string
	var due time.Time
	switch {
	case failure == "":
		e.Status = StatusDelivered
	case j.attempt < d.max:
		e.Status = StatusRetrying
		due = d.now().UTC().Add(d.backoff(j.attempt))
		e.NextAttemptAt = &due
		if next, err = retryMember(h.ID, job{delivery: j.delivery, attempt: j.attempt + 1, event: j.event}); err != nil {
			return fmt.Errorf("webhook %s: %w", h.ID, err)
		}
	default:
		e.Status = StatusFailed
	}
	entry, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("webhook %s: log: %w", h.ID, err)
	}
	ctx, cancel := recordContext(ctx)
	defer cancel()
	var standIn string
	if j.first != nil {
		standIn = j.first.recording()
	}
	err = finishScript.Run(ctx, d.rdb, []string{d.ks.Webhook(h.ID), d.ks.WebhookLog(h.ID), d.retryKey, d.flightKey},
		finishArgs{Bounds: d.bounds(), Claimed: j.member, StandIn: standIn, Entry: string(entry), LogLen: LogLen, Next: next, NextDue: due.UnixMilli()}).Err()
	if err != nil {
		return fmt.Errorf("webhook %s: record attempt %d of %s: %w", h.ID, j.attempt, j.delivery, err)
	}
	if failure != "" {
		d.log.WarnContext(ctx, "webhook attempt failed", "hook", h.ID, "delivery", j.delivery,
			"kind", j.event.Kind, "attempt", j.attempt, "status", e.Status, "err", failure)
	}
	return nil
}

// post sends body to h and answers the target's status code (0 when it did
// not answer) and, for a failure, what went wrong.
func (d *Dispatcher) post(ctx context.Context, h Hook, j job, body []byte, ts string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "smsim-webhook")
	req.Header.Set(HeaderEvent, j.event.Kind)
	req.Header.Set(HeaderDelivery, j.delivery)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(h.Secret, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err.Error()
	}
	defer resp.Body.Close()
	// Read so that the connection is kept for the next post; what the
	// answer says does not matter, and an error reading it is no failure.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerRead))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return c, ""
	case c >= 300 && c < 400:
		return c, fmt.Sprintf("status %d: redirects are not followed", c)
	default:
		return c, fmt.Sprintf("status %d", c)
	}
}

// Run dispatches until ctx ends: it reads events (Step) and makes the due
// retries (RetryDue), in turn, pausing pollWait when neither found
// anything. It never blocks in Redis, so that the dispatchers of many
// namespaces do not hold the client's connections. While the namespace has
// no hook it only checks, once a second, whether one came. On its way out
// it leaves the consumer group unless it holds events it read and did not
// acknowledge.
func (d *Dispatcher) Run(ctx context.Context) {
	defer d.leave(ctx)
	defer d.Wait() // the first attempts it went on without, within their timeout
	// The retries are made beside the first attempts, so that a target
	// that does not answer holds up the others' first attempts only for
	// its own first attempts, not for its retries too.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { d.runRetries(ctx) })
	for ctx.Err() == nil {
		n, err := d.rdb.Exists(ctx, d.hooksKey).Result()
		if err != nil || n == 0 {
			if err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "cannot read webhooks", "err", err)
			}
			pause(ctx, idleWait)
			continue
		}
		read, err := d.Step(ctx, 0)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.WarnContext(ctx, "webhook dispatch", "err", err)
			pause(ctx, idleWait)
		case read == 0:
			pause(ctx, pollWait)
		}
	}
}

// runRetries makes the due retries (RetryDue) until ctx ends, pausing
// pollWait when there were none.
func (d *Dispatcher) runRetries(ctx context.Context) {
	for ctx.Err() == nil {
		retried, err := d.RetryDue(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.WarnContext(ctx, "webhook retries", "err", err)
			pause(ctx, idleWait)
		case retried == 0:
			pause(ctx, pollWait)
		}
	}
}

// leave removes this dispatcher's consumer from the group, unless it holds
// events read and not acknowledged (another dispatcher takes them over).
func (d *Dispatcher) leave(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	p, err := d.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: d.eventsKey, Group: Group, Start: "-", End: "+", Count: 1, Consumer: d.consumer,
	}).Result()
	if err != nil || len(p) > 0 {
		return
	}
	if err := d.rdb.XGroupDelConsumer(ctx, d.eventsKey, Group, d.consumer).Err(); err != nil && !isNoGroup(err) {
		d.log.DebugContext(ctx, "leave consumer group", "err", err)
	}
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
