package load

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// ReportSchema is the version of Report's JSON form. Fields may be added
// to it; none is renamed, removed or given another meaning without a new
// version.
const ReportSchema = 1

// Report is what a run did. Its JSON form, for CI, is stable (ReportSchema);
// every key is always present. Times are real times; latencies are in
// milliseconds.
type Report struct {
	Schema    int       `json:"schema"` // ReportSchema
	Run       RunInfo   `json:"run"`
	StartedAt time.Time `json:"started_at"` // when the run began starting flows, on the Config's Now
	// ElapsedS is the run's length in seconds: from StartedAt until the
	// last flow ended (or was abandoned).
	ElapsedS float64 `json:"elapsed_s"`
	// Interrupted is true when the run was stopped (SIGINT) before it
	// ended: the flows in flight then are unfinished.
	Interrupted bool       `json:"interrupted"`
	Flows       FlowCounts `json:"flows"`
	Outcomes    Outcomes   `json:"outcomes"`
	// ByPersonality and ByType break the outcomes down by the flow's
	// personality and its kind of order (first_filing/website,
	// add_provider): every one the run's mix weighs.
	ByPersonality map[string]Outcomes `json:"by_personality"`
	ByType        map[string]Outcomes `json:"by_type"`
	// Errors counts the flows that ended in error, by kind, most first.
	Errors []ErrorCount `json:"errors"`
	// Latency has every one of Latencies, measured or not (count 0).
	Latency map[string]Latency `json:"latency_ms"`
	// SLO is the verdict on each objective of the run, in the order given;
	// SLOMet is true when every one is met (and when there are none).
	SLO    []Verdict `json:"slo"`
	SLOMet bool      `json:"slo_met"`
}

// RunInfo is how the run was set up.
type RunInfo struct {
	Target      string         `json:"target"`
	InProcess   bool           `json:"in_process"` // an smsim started for the run, in the driver's process
	Namespace   string         `json:"namespace"`
	Loop        string         `json:"loop"`          // LoopClosed or LoopOpen
	Rate        float64        `json:"rate"`          // flows a second, of an open loop; 0 for a closed one
	RampS       float64        `json:"ramp_s"`        // seconds
	MaxInFlight int            `json:"max_in_flight"` // of an open loop; 0 for a closed one
	Concurrency int            `json:"concurrency"`   // of a closed loop; 0 for an open one
	DurationS   float64        `json:"duration_s"`    // how long flows started for; 0: not bounded by time
	Flows       int            `json:"flows"`         // how many were to start; 0: not bounded by number
	DrainS      float64        `json:"drain_s"`
	Listen      string         `json:"listen"` // ListenWS or ListenPoll
	Scale       float64        `json:"scale"`
	Scenario    string         `json:"scenario"` // its name; "" for the profile Faults
	Types       map[string]int `json:"types"`    // weights of the kinds of orders
	Mix         map[string]int `json:"mix"`      // weights of the personalities
	Seed        uint64         `json:"seed"`
}

// FlowCounts counts the flows.
type FlowCounts struct {
	Started int `json:"started"`
	// Completed are the flows whose order ended: approved, returned,
	// rejected or canceled.
	Completed int `json:"completed"`
	// PerS is the completed flows a second of the run's elapsed time.
	PerS float64 `json:"per_s"`
	// NotStarted are the flows an open loop's schedule had due that never
	// started: every MaxInFlight slot stayed busy until the drain ended,
	// or the run was interrupted. Always 0 in a closed loop.
	NotStarted int `json:"not_started"`
}

// Outcomes counts flows by how they ended.
type Outcomes struct {
	Approved   int `json:"approved"`
	Returned   int `json:"returned"`
	Rejected   int `json:"rejected"`
	Canceled   int `json:"canceled"`
	Error      int `json:"error"`      // an API call failed
	Unfinished int `json:"unfinished"` // still going when the run stopped
}

// Of answers the count of an outcome (OutApproved, …).
func (o *Outcomes) Of(outcome string) int { return *o.field(outcome) }

func (o *Outcomes) add(outcome string) { *o.field(outcome)++ }

// Total counts every flow.
func (o Outcomes) Total() int {
	return o.Approved + o.Returned + o.Rejected + o.Canceled + o.Error + o.Unfinished
}

func (o *Outcomes) field(outcome string) *int {
	switch outcome {
	case OutApproved:
		return &o.Approved
	case OutReturned:
		return &o.Returned
	case OutRejected:
		return &o.Rejected
	case OutCanceled:
		return &o.Canceled
	case OutError:
		return &o.Error
	}
	return &o.Unfinished
}

// outcomeNames lists the outcomes in the order of the report.
var outcomeNames = []string{OutApproved, OutReturned, OutRejected, OutCanceled, OutError, OutUnfinished}

// completed tells whether outcome is an end of the order.
func completed(outcome string) bool { return outcome != OutError && outcome != OutUnfinished }

// ErrorCount is a kind of error, such as "submit: 503 Service Unavailable"
// or "validate: connection refused": how many flows ended with it, and the
// first one's message.
type ErrorCount struct {
	Kind    string `json:"kind"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// Latency is a latency's distribution, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{Count: h.TotalCount(), Min: ms(h.Min()), Mean: math.Round(h.Mean()) / 1000,
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max())}
}

// report answers the run's report, its objectives judged.
func (r *runner) report(interrupted bool) *Report {
	c := r.cfg
	rep := &Report{Schema: ReportSchema, StartedAt: r.startAt, Interrupted: interrupted,
		ElapsedS: r.endAt.Sub(r.startAt).Seconds(),
		Run: RunInfo{Target: c.Target, InProcess: c.InProcess, Namespace: c.Namespace, Loop: c.loop(),
			Rate: c.Rate, RampS: c.Ramp.Seconds(), Concurrency: c.Concurrency,
			DurationS: c.Duration.Seconds(), Flows: c.Flows, DrainS: c.Drain.Seconds(),
			Listen: c.Listen, Scale: c.Scale, Types: map[string]int{}, Mix: map[string]int{}, Seed: *c.Seed},
		ByPersonality: map[string]Outcomes{}, ByType: map[string]Outcomes{}, Errors: []ErrorCount{},
		Latency: map[string]Latency{}, SLO: []Verdict{}}
	if c.loop() == LoopOpen {
		rep.Run.MaxInFlight = c.MaxInFlight
	}
	if c.Scenario != nil {
		rep.Run.Scenario = c.Scenario.Name
	}
	for _, k := range c.Types {
		if k.Weight > 0 {
			rep.Run.Types[kindName(k)] = k.Weight
			rep.ByType[kindName(k)] = Outcomes{}
		}
	}
	for p, w := range c.Mix {
		if w > 0 {
			rep.Run.Mix[string(p)] = w
			rep.ByPersonality[string(p)] = Outcomes{}
		}
	}

	m := r.rec
	m.mu.Lock()
	defer m.mu.Unlock()
	rep.Outcomes = m.total
	rep.Flows.Started = m.started
	rep.Flows.NotStarted = m.unstarted
	rep.Flows.Completed = m.total.Approved + m.total.Returned + m.total.Rejected + m.total.Canceled
	if rep.ElapsedS > 0 {
		rep.Flows.PerS = float64(rep.Flows.Completed) / rep.ElapsedS
	}
	for p, o := range m.byPers {
		rep.ByPersonality[string(p)] = *o
	}
	for k, o := range m.byType {
		rep.ByType[k] = *o
	}
	for _, k := range m.errKeys {
		rep.Errors = append(rep.Errors, *m.errs[k])
	}
	slices.SortStableFunc(rep.Errors, func(a, b ErrorCount) int { return b.Count - a.Count })
	for _, name := range Latencies {
		rep.Latency[name] = latencyOf(m.whole[name])
	}
	rep.SLOMet = true
	for _, o := range c.SLO {
		v := o.judge(rep, m.whole)
		rep.SLO = append(rep.SLO, v)
		rep.SLOMet = rep.SLOMet && v.Met
	}
	return rep
}

// Breached lists the objectives the run did not meet.
func (r *Report) Breached() []Verdict {
	var out []Verdict
	for _, v := range r.SLO {
		if !v.Met {
			out = append(out, v)
		}
	}
	return out
}

// WriteTable writes the report as tables, for a person to read.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	run := r.Run
	where := run.Target
	if run.InProcess {
		where += " (in-process)"
	}
	fmt.Fprintf(&b, "smsim load: %s against %s, namespace %s", seconds(r.ElapsedS), where, run.Namespace)
	if r.Interrupted {
		b.WriteString(" (interrupted)")
	}
	b.WriteString("\n")
	loop := fmt.Sprintf("closed loop of %d workers", run.Concurrency)
	if run.Loop == LoopOpen {
		loop = fmt.Sprintf("open loop at %s flows/s", num(run.Rate))
		if run.RampS > 0 {
			loop += fmt.Sprintf(" after a %s ramp", seconds(run.RampS))
		}
	}
	profile := "the load profile"
	if run.Scenario != "" {
		profile = "scenario " + run.Scenario
	}
	fmt.Fprintf(&b, "%s; phones listen over %s; clock at %s×; %s; seed %d\n\n", loop, run.Listen, num(run.Scale), profile, run.Seed)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	if run.Loop == LoopOpen {
		fmt.Fprintf(tw, "flows\tstarted\tcompleted\tper second\tdue, not started\n")
		fmt.Fprintf(tw, "\t%d\t%d\t%.1f\t%d\n\n", r.Flows.Started, r.Flows.Completed, r.Flows.PerS, r.Flows.NotStarted)
	} else {
		fmt.Fprintf(tw, "flows\tstarted\tcompleted\tper second\n")
		fmt.Fprintf(tw, "\t%d\t%d\t%.1f\n\n", r.Flows.Started, r.Flows.Completed, r.Flows.PerS)
	}
	fmt.Fprintf(tw, "outcome\tflows\tshare\n")
	for _, name := range outcomeNames {
		n := r.Outcomes.Of(name)
		fmt.Fprintf(tw, "%s\t%d\t%s\n", name, n, share(n, r.Flows.Started))
	}
	tw.Flush()
	for _, by := range []struct {
		title string
		m     map[string]Outcomes
	}{{"personality", r.ByPersonality}, {"type", r.ByType}} {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tflows\t%s\n", by.title, strings.Join(outcomeNames, "\t"))
		for _, k := range sortedKeys(by.m) {
			o := by.m[k]
			fmt.Fprintf(tw, "%s\t%d", k, o.Total())
			for _, name := range outcomeNames {
				fmt.Fprintf(tw, "\t%d", o.Of(name))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}

	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "latency (ms)\tcount\tmean\tp50\tp90\tp99\tp99.9\tmax\t\n")
	for _, name := range Latencies {
		l := r.Latency[name]
		if l.Count == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t-\t-\t-\t\n", name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, l.Count, ms(l.Mean), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max))
	}
	tw.Flush()

	b.WriteString("\nerrors")
	if len(r.Errors) == 0 {
		b.WriteString(": none\n")
	} else {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, e := range r.Errors {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", e.Kind, e.Count, e.Example)
		}
		tw.Flush()
	}
	if len(r.SLO) > 0 {
		b.WriteString("\nobjectives\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, v := range r.SLO {
			verdict := "met"
			if !v.Met {
				verdict = "BREACHED"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Objective, verdict, v.Shown())
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// progress writes a line of live progress at each tick until ctx ends:
// the flows so far and a second's rate, the flows in flight, the outcomes
// so far, and the p50/p99 of each latency over the last tick.
func (r *runner) progress(ctx context.Context) {
	ticks := r.cfg.Ticks
	if ticks == nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		ticks = t.C
	}
	last := r.cfg.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			now := r.cfg.Now()
			fmt.Fprintln(r.cfg.Progress, r.progressLine(now, now.Sub(last)))
			last = now
		}
	}
}

// progressLine answers a line of progress, and starts a new window.
func (r *runner) progressLine(now time.Time, window time.Duration) string {
	m := r.rec
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	rate := 0.0
	if window > 0 {
		rate = float64(m.windowDone) / window.Seconds()
	}
	elapsed := time.Duration(0)
	if !r.startAt.IsZero() {
		elapsed = now.Sub(r.startAt).Truncate(time.Second)
	}
	fmt.Fprintf(&b, "%6s  flows %d (%.0f/s)  in flight %d ", elapsed, m.started, rate, m.started-m.total.Total())
	for _, name := range outcomeNames[:5] {
		fmt.Fprintf(&b, " %s %d", name, m.total.Of(name))
	}
	b.WriteString("  p50/p99 ms:")
	for _, name := range Latencies {
		h := m.window[name]
		short := strings.TrimSuffix(strings.TrimPrefix(name, "provider_"), "_delivery")
		if h.TotalCount() == 0 {
			fmt.Fprintf(&b, " %s -", short)
		} else {
			fmt.Fprintf(&b, " %s %s/%s", short, ms(float64(h.ValueAtQuantile(50))/1000), ms(float64(h.ValueAtQuantile(99))/1000))
		}
		h.Reset()
	}
	m.windowDone = 0
	return b.String()
}

func sortedKeys(m map[string]Outcomes) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ms writes milliseconds with three significant digits, at most three
// decimals: 0.123, 1.23, 12.3, 123, 1234.
func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func num(v float64) string { return fmt.Sprintf("%g", v) }

func seconds(s float64) string { return fmt.Sprintf("%.1fs", s) }

func share(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
