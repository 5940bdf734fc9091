package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/people"
)

// phoneSpace is how many phone numbers a run draws from: 13 and nine
// digits, none of them a magic number (199…).
const phoneSpace = 1_000_000_000

// flow is one customer, their order and its people.
type flow struct {
	r           *runner
	kind        people.Kind
	personality people.Personality
	people      []*person
	// intended is when an open loop's schedule has it start (zero in a
	// closed loop): its latencies count from there (coordinated omission).
	intended time.Time
	start    time.Time     // when the driver began it, on the Config's Now
	sent     time.Time     // when its submit was sent
	late     time.Duration // in an open loop, how much later than intended its submit was sent
}

// person is one of a flow's people.
type person struct {
	client.Person
	role  string
	mind  *people.Mind
	rnd   *rand.Rand
	coded bool // their first code came
}

// code is a code read off a person's phone.
type code struct {
	who int // the person's index
	msg client.Message
	at  time.Time // when it was read, on the Config's Now
}

// failure is why a flow could not go on: an API call that failed.
type failure struct {
	call string // LatSubmit, …, or the phone's feed
	err  error
}

// flow runs flow n, due at intended in an open loop (zero in a closed
// one), and records how it ended; begun, when not nil, is called once it
// counts as started.
func (r *runner) flow(ctx context.Context, n int, intended time.Time, begun func()) {
	f := r.newFlow(n, intended)
	r.rec.start()
	if begun != nil {
		begun()
	}
	outcome, fail := f.run(ctx)
	if ctx.Err() != nil && outcome == OutError {
		outcome = OutUnfinished // abandoned, not failed
	}
	var kind, msg string
	if outcome == OutError {
		kind, msg = errKind(fail.call, fail.err), strings.TrimPrefix(fail.err.Error(), "smsim: ")
	}
	r.rec.end(f, outcome, kind, msg)
}

// newFlow draws flow n: its kind of order, its personality, and its people
// with their numbers, certificates and minds. Its draws depend on the seed
// and n alone.
func (r *runner) newFlow(n int, intended time.Time) *flow {
	rnd := rand.New(rand.NewPCG(*r.cfg.Seed, uint64(n)))
	f := &flow{r: r, intended: intended, start: r.cfg.Now(),
		kind: r.kinds.pick(rnd.IntN), personality: r.mix.pick(rnd.IntN)}
	roles, _ := client.Required(f.kind.Type, f.kind.Variant)
	for _, role := range roles {
		i := uint64(n) * 2
		name := "Li Lei"
		if role == client.WebsiteAdmin {
			i++
			name = "Han Meimei"
		}
		f.people = append(f.people, &person{
			Person: client.Person{Name: name, Phone: fmt.Sprintf("13%09d", (r.phoneBase+i)%phoneSpace),
				CertificateNumber: fmt.Sprintf("110101%012d", i%1_000_000_000_000)},
			role: role, mind: people.NewMind(f.personality),
			rnd: rand.New(rand.NewPCG(*r.cfg.Seed, 1<<63|i)),
		})
	}
	return f
}

// run runs the flow: its phones listen, its customer submits, its people
// act on their codes as their minds say, until the order ends. It answers
// the outcome, and the failure of an OutError.
func (f *flow) run(ctx context.Context) (string, failure) {
	r := f.r
	phones, hangUp := context.WithCancel(ctx)
	codes := make(chan code, 2*len(f.people))
	lost := make(chan failure, len(f.people)) // a phone's feed broke
	var listening []func()                    // wait for each listener to end
	defer func() {
		hangUp()
		for _, wait := range listening {
			wait()
		}
	}()
	for i, p := range f.people {
		wait, fail := f.listen(phones, i, p, codes, lost)
		if fail.err != nil {
			return OutError, fail
		}
		listening = append(listening, wait)
	}

	req := client.SubmitRequest{Type: f.kind.Type, Variant: f.kind.Variant}
	for _, p := range f.people {
		if p.role == client.EntityLeader {
			req.EntityLeader = &p.Person
		} else {
			req.WebsiteAdmin = &p.Person
		}
	}
	f.sent = r.cfg.Now()
	if !f.intended.IsZero() {
		// late by its start, and by its phones' handshakes: the customer
		// clicked at the intended time
		f.late = max(f.sent.Sub(f.intended), 0)
	}
	var order client.ProviderView
	if fail := f.call(ctx, LatSubmit, f.late, func(ctx context.Context) (err error) {
		order, err = r.api.Submit(ctx, req)
		return err
	}); fail.err != nil {
		return OutError, fail
	}
	w := r.ends.wait(order.ID)
	defer r.ends.forget(order.ID)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		f.arm(timer)
		select {
		case <-ctx.Done():
			return OutUnfinished, failure{}
		case c := <-codes:
			p := f.people[c.who]
			if !p.coded {
				p.coded = true
				r.rec.latency(LatCode, c.at.Sub(f.sent)+f.late)
			}
			at := r.clock.now()
			if c.msg.DeliveredAt != nil {
				at = *c.msg.DeliveredAt
			}
			p.mind.Code(c.msg.Code, at, p.draw)
		case fail := <-lost:
			return OutError, fail
		case status := <-w.end:
			return f.end(ctx, order.ID, status)
		case <-w.recheck:
			select { // a slot: at most recheckAtOnce flows read at once
			case r.ends.slots <- struct{}{}:
			case status := <-w.end:
				return f.end(ctx, order.ID, status)
			case <-ctx.Done():
				return OutUnfinished, failure{}
			}
			status, fail := f.read(ctx, order.ID)
			<-r.ends.slots
			if fail.err != nil || ended(status) {
				return f.ended(status, fail)
			}
		case <-timer.C:
			if fail := f.act(ctx); fail.err != nil {
				return OutError, fail
			}
		}
	}
}

// end: the log said the order ended with status. The customer reads the
// order, which must say the same.
func (f *flow) end(ctx context.Context, id, status string) (string, failure) {
	read, fail := f.read(ctx, id)
	if fail.err == nil && read != status {
		fail = failure{LatProviderView, fmt.Errorf("%w: order %s is %s, the event log said %s", errMismatch, id, read, status)}
	}
	return f.ended(status, fail)
}

// read reads the order's status as the customer sees it.
func (f *flow) read(ctx context.Context, id string) (string, failure) {
	var v client.ProviderView
	fail := f.call(ctx, LatProviderView, 0, func(ctx context.Context) (err error) {
		v, err = f.r.api.Filing(ctx, id)
		return err
	})
	return v.Status, fail
}

// ended answers the outcome of a flow whose order ended with status, or
// the failure that stopped it, and records the flow's latency.
func (f *flow) ended(status string, fail failure) (string, failure) {
	if fail.err != nil {
		return OutError, fail
	}
	from := f.start
	if !f.intended.IsZero() && f.intended.Before(from) {
		from = f.intended
	}
	f.r.rec.latency(LatFlow, f.r.cfg.Now().Sub(from))
	return status, failure{}
}

var errMismatch = errors.New("the provider's view disagrees with the event log")

// arm sets timer for the earliest action the people planned, at most a
// clock read away (so that a change of the clock is seen); stopped when
// none is planned.
func (f *flow) arm(timer *time.Timer) {
	var next time.Time
	for _, p := range f.people {
		if _, at, ok := p.mind.Plan(); ok && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	if next.IsZero() {
		timer.Stop()
		return
	}
	timer.Reset(min(f.r.clock.until(next), clockEvery))
}

// act carries out every action that fell due.
func (f *flow) act(ctx context.Context) failure {
	r := f.r
	for _, p := range f.people {
		if _, at, ok := p.mind.Plan(); !ok || at.After(r.clock.now()) {
			continue
		}
		action, _ := p.mind.Take()
		last6 := client.Last6(p.CertificateNumber)
		switch action {
		case people.ActResend:
			var res client.ResendResult
			if fail := f.call(ctx, LatResend, 0, func(ctx context.Context) (err error) {
				res, err = r.api.Resend(ctx, client.ResendRequest{Phone: p.Phone, CertificateLast6: last6})
				return err
			}); fail.err != nil {
				return fail
			}
			p.mind.Resent(res.Result)
		case people.ActValidate:
			typed := p.mind.Typed(p.rnd.Uint64)
			var res client.ValidationResult
			if fail := f.call(ctx, LatValidate, 0, func(ctx context.Context) (err error) {
				res, err = r.api.Validate(ctx, client.ValidateRequest{Code: typed, Phone: p.Phone, CertificateLast6: last6})
				return err
			}); fail.err != nil {
				return fail
			}
			p.mind.Validated(res.Result, res.Rejected, r.clock.now(), p.draw)
		}
	}
	return failure{}
}

// call makes one API call within CallTimeout and records its latency,
// plus extra, when it succeeds.
func (f *flow) call(ctx context.Context, name string, extra time.Duration, do func(context.Context) error) failure {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	t := f.r.cfg.Now()
	if err := do(cctx); err != nil {
		return failure{name, err}
	}
	f.r.rec.latency(name, f.r.cfg.Now().Sub(t)+extra)
	return failure{}
}

// draw is the person's people.Draw: uniform, from their own source.
func (p *person) draw(lo, hi time.Duration, _ ...string) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(p.rnd.Int64N(int64(hi-lo)+1))
}

// errKind names the kind of an error of call: its HTTP status, or what
// became of the connection.
func errKind(call string, err error) string {
	var e *client.Error
	var ne net.Error
	switch {
	case errors.As(err, &e):
		return fmt.Sprintf("%s: %d %s", call, e.Status, e.Title)
	case errors.Is(err, errMismatch):
		return call + ": mismatch"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s: no answer within %s", call, callTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return call + ": connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return call + ": connection reset"
	case errors.As(err, &ne) && ne.Timeout():
		return call + ": timeout"
	case strings.Contains(err.Error(), "the server closed the feed"):
		return call + ": closed by the server"
	}
	return call + ": connection lost"
}
