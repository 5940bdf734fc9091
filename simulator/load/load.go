// Package load drives an smsim with many filing flows at once and measures
// how it holds up: the load driver behind `smsim load`, for a client team to
// run against smsim, or against its own system with smsim behind it.
//
// # Flows
//
// A flow is one customer and the people of their order. The customer
// submits an order of a kind drawn from Config.Types; each person the
// order needs (client.Required) has a phone that listens for the code
// (over the phone's websocket, or the long poll), and acts on it as a
// person of the flow's personality does, drawn from Config.Mix: the
// people.Mind of simulator/people, the same as the demo's crowd. A flow
// ends when the provider shows its order approved, returned, rejected or
// canceled: the driver follows the namespace's event log (one websocket for
// every flow) and then reads the order as the customer would, once. A flow
// whose API call fails ends there, as an error of that call; one still
// going when the run stops is unfinished.
//
// # Time
//
// Each run works in a namespace of its own, on its simulated clock: a
// person who reads their code twenty simulated minutes after it arrived
// does so twenty simulated minutes later. The driver runs that clock at
// Config.Scale (DefaultScale: a simulated day per real second) and sets
// the fault profile Faults — no lags, a review of seconds — unless a
// scenario is given. At the default scale a prompt flow ends in real
// milliseconds, a slow one within half a second, and one whose people
// never validate is canceled a real second after its codes went out (the
// 24-hour window).
//
// # Loops
//
// In a closed loop, Config.Concurrency workers each run one flow after
// another. In an open loop, flows start on a schedule, Config.Rate a
// second (reached over Config.Ramp), whatever the server's pace, each on
// a goroutine of its own, at most Config.MaxInFlight at once. A closed loop
// stops starting flows after Config.Duration or Config.Flows flows,
// whichever comes first; an open loop's schedule holds the flows due
// within Config.Duration, at most Config.Flows, and each of them starts,
// late if every slot is busy. Then the flows in flight have up to
// Config.Drain to end; the flows of the schedule that never found a slot
// by then are counted as not started.
//
// # Measures
//
// Latencies go into HDR histograms (microseconds, three significant
// digits): code delivery (the submit sent → the code read off the phone,
// for each person's first code), each API call (submit, validate, resend,
// provider view, and the phone websocket's handshake), and the whole flow
// (its start → the end learnt from the log and read back). An open loop
// corrects for coordinated omission by counting from the intended start:
// a flow whose submit the driver sent late — all its MaxInFlight slots
// busy, the machine behind, or its phones slow to connect — has its
// lateness added to its submit and code delivery latencies, and its flow
// latency runs from the intended start. Validations and resends are not on a schedule (a person
// makes them when their Mind says) and count as plain service times.
//
// Run answers a Report: outcomes by kind, personality and order type,
// errors by kind, latency percentiles, and the verdict of each objective
// of Config.SLO. Its JSON form is stable (Report documents it).
package load

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/people"
)

// Loops: how flows start.
const (
	LoopClosed = "closed" // Concurrency workers, one flow after another
	LoopOpen   = "open"   // Rate flows a second, on a schedule
)

// How phones listen for their codes.
const (
	ListenWS   = "ws"   // the phone's websocket (client.Watch)
	ListenPoll = "poll" // the long poll (client.Next)
)

// Defaults of a Config.
const (
	DefaultScale       = 86400            // a simulated day per real second
	DefaultConcurrency = 16               // of a closed loop
	DefaultDuration    = 30 * time.Second // when neither Duration nor Flows is set
	DefaultDrain       = time.Minute
	DefaultMaxInFlight = 10000
)

// The bounds of a run's scale, in simulated seconds per real second.
const (
	// MinScale is real time. Slower, a run's people would take longer than
	// people do (a prompt one minutes to validate, the review seconds), and
	// far enough down the clock, which counts whole milliseconds, would not
	// move in a whole run.
	MinScale = 1
	// MaxScale is the most the server takes (core.MaxScale).
	MaxScale = 1_000_000
)

// CheckScale tells whether scale is a run's: from MinScale to MaxScale.
// Config.Check takes 0 for DefaultScale.
func CheckScale(scale float64) error {
	if !(scale >= MinScale && scale <= MaxScale) {
		return invalid("scale", "must be at least %d (real time) and at most %d simulated seconds per real second, got %v", MinScale, MaxScale, scale)
	}
	return nil
}

// CallTimeout bounds each API call of a flow, and each of the namespace's
// set-up, on its own: a server that hangs makes errors, not a driver that
// hangs.
const CallTimeout = 30 * time.Second

// clockEvery is how often the driver reads the simulated clock again,
// waking the namespace's scheduler as it does (simClock): a job a server
// script scheduled for later (a review) waits at most this long to be
// noticed.
const clockEvery = 100 * time.Millisecond

// Config is what a run is made of. Its zero value, with a Target, is a
// 30-second closed loop of 16 workers on the default mixes.
type Config struct {
	// Target is the base URL of the smsim to drive, such as
	// http://127.0.0.1:8080.
	Target string
	// InProcess tells the report that the target is an smsim started for
	// the run, in the driver's own process.
	InProcess bool
	// Namespace is the namespace the run works in; empty: a new one,
	// DefaultNamespace. Its fault profile and clock are set for the run.
	Namespace string
	// Token is the target's admin token (smsim --admin-token), sent on
	// every request; empty: none.
	Token string

	// Rate, when more than 0, makes an open loop of Rate flows a second,
	// reached from 0 over Ramp (no longer than Duration, when that is
	// set). MaxInFlight bounds the flows in flight (default
	// DefaultMaxInFlight): a flow due while all are busy starts late.
	// Ramp and MaxInFlight are an open loop's: with Rate 0, they are 0.
	Rate        float64
	Ramp        time.Duration
	MaxInFlight int
	// Concurrency is the number of workers of a closed loop (default
	// DefaultConcurrency). Rate and Concurrency cannot both be set.
	Concurrency int

	// Duration is how long flows start (an open loop: the flows due within
	// it start, late if they must); Flows how many start. The run stops
	// starting at the first of the two that is set; neither:
	// DefaultDuration.
	Duration time.Duration
	Flows    int
	// Drain is how long, at most, the run waits for the flows in flight
	// once no more are to start (default DefaultDrain); those still going
	// then are unfinished.
	Drain time.Duration

	// Types weighs the kinds of orders; nil: people.Kinds(), the demo
	// crowd's. Mix weighs the personalities of the flows (all the people
	// of one flow share theirs); nil: people.DefaultMix. Every weight is
	// 0 to MaxWeight.
	Types []people.Kind
	Mix   map[people.Personality]int
	// Listen is how phones listen: ListenWS (default) or ListenPoll.
	Listen string
	// Scale is the simulated clock's scale for the run, MinScale to
	// MaxScale (default DefaultScale).
	Scale float64
	// Scenario, when not nil, is applied to the namespace instead of the
	// fault profile Faults.
	Scenario *client.Scenario
	// Seed makes the flows' draws (kinds, personalities, people's delays
	// and typos) reproducible; nil: a random one, which the report gives.
	Seed *uint64
	// SLO are the objectives the report judges the run by: those of
	// ParseSLO, of one call or several joined, each measure bounded at most
	// once from above and once from below (see Objective).
	SLO []Objective

	// Ready, when not nil, is called once the namespace is set up, before
	// the first flow starts.
	Ready func()
	// Progress receives a line of live progress at each tick; nil: none.
	Progress io.Writer
	// Ticks ticks the progress lines; nil: once a second.
	Ticks <-chan time.Time
	// Now is the clock the driver measures with: latencies, the run's
	// elapsed time and rates. nil: time.Now. The driver's timers (pacing,
	// duration, drain, a person's wait) run on real time whatever it is,
	// so a test that gives one runs a closed loop.
	Now func() time.Time
}

// InvalidError is a setting of a Config that cannot be; Field is named as
// the flag of `smsim load` that sets it.
type InvalidError struct {
	Field   string
	Problem string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Problem }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// DefaultNamespace names a run's namespace: load-, the UTC time and four
// random hex digits, such as load-20260501-120000-3f9a.
func DefaultNamespace(now time.Time) string {
	var b [2]byte
	rand.Read(b[:])
	return fmt.Sprintf("load-%s-%02x%02x", now.UTC().Format("20060102-150405"), b[0], b[1])
}

func randomUint64() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

// Faults is the fault profile of a run without a scenario: orders sync at
// once, results reach the provider at once, MIIT sends codes at once and
// the network delivers them at once, no message is lost, and the review
// takes 1 to 5 simulated seconds and approves every order. What a flow
// waits for is then the server and its people.
func Faults() client.Faults {
	f := client.DefaultFaults()
	f.SyncLag, f.ResultSyncLag, f.SMSDelay, f.MIITSendDelay = client.Fixed(0), client.Fixed(0), client.Fixed(0), client.Fixed(0)
	f.Review = client.Review{Time: client.Uniform(time.Second, 5*time.Second), ApproveRatio: 1}
	return f
}

// withDefaults answers c with its defaults filled in, or the first setting
// that cannot be.
func (c Config) withDefaults() (Config, error) {
	if _, err := client.New(c.Target); err != nil && c.Target != "" {
		return c, invalid("target", "%q is not an http:// or https:// URL of a server", c.Target)
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace(time.Now())
	}
	if !client.ValidNamespace(c.Namespace) {
		return c, invalid("namespace", "%q is not a namespace: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit", c.Namespace)
	}
	switch {
	case c.Rate < 0 || math.IsNaN(c.Rate) || c.Rate > 0 && c.Rate < MinRate:
		return c, invalid("rate", "must be at least one flow an hour (%v a second), got %v", MinRate, c.Rate)
	case c.Rate > MaxRate:
		return c, invalid("rate", "must be at most %.0f flows a second, got %v", float64(MaxRate), c.Rate)
	case c.Rate > 0 && c.Concurrency != 0:
		return c, invalid("concurrency", "a closed loop's; an open loop (--rate) has none")
	case c.Concurrency < 0:
		return c, invalid("concurrency", "must be at least 1, got %d", c.Concurrency)
	case c.Ramp < 0:
		return c, invalid("ramp", "must not be negative, got %v", c.Ramp)
	case c.Ramp > 0 && c.Rate == 0:
		return c, invalid("ramp", "ramps an open loop's rate up; give --rate too")
	case c.Duration > 0 && c.Ramp > c.Duration:
		return c, invalid("ramp", "%v is longer than --duration %v: the run would stop starting flows before the rate reached --rate", c.Ramp, c.Duration)
	case c.Duration == 0 && c.Flows == 0 && c.Ramp > DefaultDuration:
		return c, invalid("ramp", "%v is longer than the run, %v when neither --duration nor --flows is given: the run would stop starting flows before the rate reached --rate; give --duration or --flows", c.Ramp, DefaultDuration)
	case c.MaxInFlight < 0:
		return c, invalid("max-in-flight", "must be at least 1, got %d", c.MaxInFlight)
	case c.MaxInFlight > 0 && c.Rate == 0:
		return c, invalid("max-in-flight", "bounds an open loop's flows in flight; give --rate too (a closed loop runs --concurrency at once)")
	case c.Duration < 0:
		return c, invalid("duration", "must be more than 0, got %v", c.Duration)
	case c.Flows < 0:
		return c, invalid("flows", "must be at least 1, got %d", c.Flows)
	case c.Drain < 0:
		return c, invalid("drain", "must not be negative, got %v", c.Drain)
	}
	if c.Scale != 0 {
		if err := CheckScale(c.Scale); err != nil {
			return c, err
		}
	}
	if c.Rate == 0 && c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Duration == 0 && c.Flows == 0 {
		c.Duration = DefaultDuration
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.Scale == 0 {
		c.Scale = DefaultScale
	}
	switch c.Listen {
	case "":
		c.Listen = ListenWS
	case ListenWS, ListenPoll:
	default:
		return c, invalid("listen", "%q is not %s or %s", c.Listen, ListenWS, ListenPoll)
	}
	if c.Types == nil {
		c.Types = people.Kinds()
	}
	if err := checkTypes(c.Types); err != nil {
		return c, err
	}
	if c.Mix == nil {
		c.Mix = people.DefaultMix
	}
	if err := checkMix(c.Mix); err != nil {
		return c, err
	}
	if err := checkSLO(c.SLO); err != nil {
		return c, err
	}
	if c.Seed == nil {
		s := randomUint64()
		c.Seed = &s
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Check tells whether the settings can be, as Run would find them
// (a Config without a Target may be checked before its server starts).
func (c Config) Check() error {
	_, err := c.withDefaults()
	return err
}

// loop answers the run's loop: LoopOpen or LoopClosed.
func (c Config) loop() string {
	if c.Rate > 0 {
		return LoopOpen
	}
	return LoopClosed
}

// Run sets up the namespace (fault profile or scenario, clock scale),
// drives flows until the run stops, waits for those in flight, and answers
// what happened. When ctx ends (SIGINT), the flows in flight are abandoned
// as unfinished and the report of what ran is answered all the same, with
// Interrupted set. The error is a Config that cannot be (an
// *InvalidError), or a namespace that could not be set up: nothing ran.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Target == "" {
		return nil, invalid("target", "missing: give the URL of the smsim to drive")
	}
	// Connections kept for reuse: a flow has a call or two under way, and
	// with --listen poll a long poll for each of its people.
	inFlight := cfg.Concurrency
	if cfg.loop() == LoopOpen {
		inFlight = cfg.MaxInFlight
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0 // no limit: MaxIdleConnsPerHost bounds it
	tr.MaxIdleConnsPerHost = 3*inFlight + 16
	hc := &http.Client{Transport: tr}
	defer hc.CloseIdleConnections()
	opts := []client.Option{client.WithNamespace(cfg.Namespace), client.WithHTTPClient(hc)}
	if cfg.Token != "" {
		opts = append(opts, client.WithToken(cfg.Token))
	}
	api, err := client.New(cfg.Target, opts...)
	if err != nil {
		return nil, invalid("target", "%v", err)
	}
	r := newRunner(cfg, api)
	// The clock's reader, the log's follower and the progress lines run
	// on bg until the flows are done, and are waited for.
	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopBG()
		wg.Wait()
	}()
	if err := r.setup(ctx, bg); err != nil {
		return nil, err
	}
	if cfg.Ready != nil {
		cfg.Ready()
	}
	r.startAt = cfg.Now()
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.clock.run(bg, clockEvery)
	}()
	go func() {
		defer wg.Done()
		r.ends.run(bg)
	}()
	if cfg.Progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.progress(bg)
		}()
	}
	r.drive(ctx)
	return r.report(ctx.Err() != nil), nil
}

// setup makes the namespace ready for the run: its fault profile (or the
// scenario), its clock running at the run's scale, the log's follower
// connected, for as long as bg lasts, before the first flow starts. Each
// call has CallTimeout of its own, as a flow's do; the log's websocket
// has, at most, client.HandshakeTimeout for its handshake. A call that
// does not answer in time is a *TimeoutError.
func (r *runner) setup(ctx, bg context.Context) error {
	if r.cfg.Scenario != nil {
		err := bounded(ctx, "PUT /admin/v1/scenario", func(ctx context.Context) error {
			_, err := r.api.ApplyScenario(ctx, *r.cfg.Scenario)
			return err
		})
		if err != nil {
			var e *client.Error
			if errors.As(err, &e) && e.Status == http.StatusBadRequest {
				return invalid("scenario", "%s", e.Detail)
			}
			return fmt.Errorf("load: applying the scenario in namespace %s: %w", r.cfg.Namespace, err)
		}
	} else if err := bounded(ctx, "PUT /admin/v1/faults", func(ctx context.Context) error {
		_, err := r.api.PutFaults(ctx, Faults())
		return err
	}); err != nil {
		return fmt.Errorf("load: setting the fault profile of namespace %s: %w", r.cfg.Namespace, err)
	}
	if err := bounded(ctx, "PUT /admin/v1/clock", r.clock.start); err != nil {
		return fmt.Errorf("load: running the clock of namespace %s at %v×: %w", r.cfg.Namespace, r.cfg.Scale, err)
	}
	if err := r.ends.connect(bg, callTimeout); err != nil {
		return fmt.Errorf("load: following the event log of namespace %s: %w", r.cfg.Namespace, err)
	}
	return nil
}

// callTimeout is CallTimeout, but in the package's tests, which shorten
// it.
var callTimeout = CallTimeout

// TimeoutError is a call setting up the namespace that did not answer in
// time. It is a context.DeadlineExceeded (errors.Is).
type TimeoutError struct {
	Call   string        // such as PUT /admin/v1/clock
	Within time.Duration // the call's bound
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: no answer within %s", e.Call, e.Within)
}

// Is tells that a TimeoutError is a context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// bounded makes call within callTimeout of its own: a *TimeoutError when
// it takes longer (and ctx has not ended), else what do answers.
func bounded(ctx context.Context, call string, do func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := do(cctx)
	if err != nil && ctx.Err() == nil && cctx.Err() != nil {
		return &TimeoutError{Call: call, Within: callTimeout}
	}
	return err
}
