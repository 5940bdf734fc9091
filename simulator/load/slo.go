package load

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Objective is a service-level objective of a run: a measure, a comparison
// and a threshold, such as code_p99<50ms. ParseSLO reads them; the report
// judges them (Report.SLO).
//
// The measures:
//   - LATENCY_STAT, a latency in milliseconds: LATENCY one of Latencies
//     (code for code_delivery, view for provider_view), STAT pN for the
//     Nth percentile (p50, p99, p99.9; p999 is p99.9; N in decimal
//     digits, more than 0 and at most 100), min, mean or max;
//     the threshold a duration: code_p99<50ms, flow_p50<=2s.
//   - errors, and each outcome (approved, returned, rejected, canceled,
//     unfinished): a number of flows (errors<5), or with % a share of the
//     flows started (errors<0.1%, approved>=99%).
//   - flows: the flows started (flows>=1000).
//   - flows_per_s: the flows completed a second (flows_per_s>100).
//
// The comparisons are <, <=, > and >=.
//
// A measure takes at most one bound from above (< or <=) and one from
// below (> or >=), which together make a range: flows_per_s>=95 and
// flows_per_s<=105. A second bound from the same side, or a range that no
// value is in (errors>5 and errors<2), is an error (checkSLO). A number
// of flows and a share of them (errors<5, errors<1%) are two measures.
type Objective struct {
	text   string
	kind   string // "latency", "count" or "rate"
	lat    string // the latency, for a latency
	stat   string // "p", "min", "mean" or "max"
	pct    float64
	count  string // the outcome, or "flows", for a count
	share  bool   // the threshold is a share of the flows started
	op     string
	thresh float64 // ms for a latency; a fraction for a share
}

// String is the objective as given, without spaces.
func (o Objective) String() string { return o.text }

// Verdict is the judgement of one objective.
type Verdict struct {
	Objective string  `json:"objective"` // as given, without spaces
	Met       bool    `json:"met"`
	Value     float64 `json:"value"` // what the run measured, in Unit
	Unit      string  `json:"unit"`  // "ms", "%", "flows" or "flows/s"
	// Note says why there is no value: "no samples" (a latency nothing
	// measured), "no flows" (a share of none). Such an objective is not
	// met.
	Note string `json:"note"`
}

// Shown is the measured value for a person: "12.3ms", "0.4%", "no samples".
func (v Verdict) Shown() string {
	switch {
	case v.Note != "":
		return v.Note
	case v.Unit == "ms":
		return ms(v.Value) + "ms"
	case v.Unit == "%":
		return strconv.FormatFloat(v.Value, 'g', 4, 64) + "%"
	case v.Unit == "flows":
		return fmt.Sprintf("%.0f flows", v.Value)
	}
	return fmt.Sprintf("%.1f %s", v.Value, v.Unit)
}

var latencyAliases = map[string]string{"code": LatCode, "view": LatProviderView}

// ParseSLO reads objectives separated by commas, such as
// "code_p99<50ms,errors<0.1%,flows_per_s>100" (see Objective).
func ParseSLO(s string) ([]Objective, error) {
	if strings.TrimSpace(s) == "" {
		return nil, invalid("slo", "empty; give objectives such as code_p99<50ms, separated by commas")
	}
	var out []Objective
	items := strings.Split(s, ",")
	for k, item := range items {
		text := strings.Join(strings.Fields(item), "")
		if text == "" {
			return nil, invalid("slo", "%q: objective %d of %d is empty; separate objectives with one comma", s, k+1, len(items))
		}
		o, err := parseObjective(text)
		if err != nil {
			return nil, invalid("slo", "%v", err)
		}
		out = append(out, o)
	}
	if err := checkSLO(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkSLO tells whether objectives can be judged together: each measure
// bounded at most once from above and once from below, and the two
// bounds of a range leaving a value between them. The error names the
// measure as the first objective on it wrote it, and both objectives as
// given.
func checkSLO(objs []Objective) error {
	for j, b := range objs {
		for _, a := range objs[:j] {
			if a.measure() != b.measure() {
				continue
			}
			if a.text == b.text {
				return invalid("slo", "%q is given twice", a.text)
			}
			if a.upper() == b.upper() {
				side := "below"
				if a.upper() {
					side = "above"
				}
				return invalid("slo", "%q and %q both bound %s from %s: give one", a.text, b.text, a.metric(), side)
			}
			lo, hi := a, b
			if lo.upper() {
				lo, hi = b, a
			}
			if lo.thresh > hi.thresh || lo.thresh == hi.thresh && (lo.op == ">" || hi.op == "<") {
				return invalid("slo", "%q and %q: no value of %s meets both", a.text, b.text, a.metric())
			}
		}
	}
	return nil
}

// measure names what o bounds, the same for every way of writing it:
// code_p99 and code_delivery_p99.0 are both code_delivery p99; errors<5
// and errors<1% bound two measures, a number and a share.
func (o Objective) measure() string {
	switch o.kind {
	case "latency":
		if o.stat == "p" {
			return o.lat + " p" + strconv.FormatFloat(o.pct, 'g', -1, 64)
		}
		return o.lat + " " + o.stat
	case "count":
		if o.share {
			return o.count + " %"
		}
		return o.count
	}
	return o.kind
}

// metric is o's measure as written: code_p99 of code_p99<50ms.
func (o Objective) metric() string {
	return o.text[:strings.IndexAny(o.text, "<>")]
}

// upper tells whether o bounds its measure from above: < or <=.
func (o Objective) upper() bool { return o.op[0] == '<' }

func parseObjective(s string) (Objective, error) {
	o := Objective{text: s}
	// the comparison: the characters of comparisons from the first on,
	// such as =< or ==, which is then named as written
	i := strings.IndexAny(s, comparing)
	if i <= 0 {
		return o, fmt.Errorf("%q is not an objective such as code_p99<50ms: a measure, <, <=, > or >=, and a threshold", s)
	}
	j := i
	for j < len(s) && strings.IndexByte(comparing, s[j]) >= 0 {
		j++
	}
	metric, value := s[:i], s[j:]
	o.op = s[i:j]
	switch o.op {
	case "<", "<=", ">", ">=":
	default:
		return o, fmt.Errorf("%q: %q is not a comparison: <, <=, > or >=", s, o.op)
	}
	if value == "" {
		return o, fmt.Errorf("%q: the threshold is missing", s)
	}

	outcome := metric
	if outcome == "errors" {
		outcome = OutError
	}
	switch {
	case slices.Contains(outcomeNames, outcome) || metric == "flows":
		o.kind, o.count = "count", outcome
		num := value
		if metric != "flows" {
			num, o.share = strings.CutSuffix(value, "%")
		}
		v, err := strconv.ParseFloat(num, 64)
		switch {
		case metric == "flows" && strings.HasSuffix(value, "%"):
			return o, fmt.Errorf("%q: flows is a number of flows started, such as 1000, not a share", s)
		case metric == "flows" && (err != nil || !finite(v)):
			return o, fmt.Errorf("%q: %q is not a number of flows started, such as 1000", s, value)
		}
		if err != nil || !finite(v) {
			return o, fmt.Errorf("%q: %q is not a number of flows, or a share of them such as 0.1%%", s, value)
		}
		if o.share {
			v /= 100
		}
		o.thresh = v
	case metric == "flows_per_s":
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || !finite(v) {
			return o, fmt.Errorf("%q: %q is not a number of flows a second", s, value)
		}
		o.kind, o.thresh = "rate", v
	default:
		j := strings.LastIndex(metric, "_")
		if j <= 0 {
			return o, fmt.Errorf("%q: %q is not a measure: LATENCY_STAT (such as code_p99), errors, an outcome, flows or flows_per_s", s, metric)
		}
		lat, stat := metric[:j], metric[j+1:]
		if a, ok := latencyAliases[lat]; ok {
			lat = a
		}
		if !slices.Contains(Latencies, lat) {
			return o, fmt.Errorf("%q: %q is not a latency: %s (or code, view)", s, lat, strings.Join(Latencies, ", "))
		}
		o.kind, o.lat = "latency", lat
		switch stat {
		case "min", "mean", "max":
			o.stat = stat
		default:
			pct, ok := percentile(stat)
			switch {
			case !ok && len(stat) > 1 && stat[0] == 'p' && !('a' <= stat[1] && stat[1] <= 'z' || 'A' <= stat[1] && stat[1] <= 'Z'):
				return o, fmt.Errorf("%q: %q is not a percentile: p and a number more than 0 and at most 100 in decimal digits, such as p50, p99, p99.9 (p999 is p99.9)", s, stat)
			case !ok:
				return o, fmt.Errorf("%q: %q is not a statistic: pN (p50, p99, p99.9), min, mean or max", s, stat)
			}
			o.stat, o.pct = "p", pct
		}
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return o, fmt.Errorf("%q: %q is not a duration such as 50ms", s, value)
		}
		o.thresh = float64(d) / float64(time.Millisecond)
	}
	return o, nil
}

// comparing holds the characters that make up comparisons, those taken
// and those written by mistake (=<, ==, !=).
const comparing = "<>=!"

// finite tells whether a threshold v is a number of 0 or more, not NaN nor
// an infinity (which ParseFloat reads), against which nothing compares
// usefully.
func finite(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// percentile reads pN, N decimal digits with an optional fraction, more
// than 0 and at most 100: p50, p99, p99.9; p999 and p9999 are p99.9 and
// p99.99. A sign, an exponent or a hexadecimal number (p+50, p1e1,
// p0x1p6) makes none.
func percentile(stat string) (float64, bool) {
	digits, ok := strings.CutPrefix(stat, "p")
	if !ok || !decimal.MatchString(digits) {
		return 0, false
	}
	if !strings.Contains(digits, ".") && len(digits) > 2 && strings.HasPrefix(digits, "99") {
		digits = "99." + digits[2:]
	}
	v, err := strconv.ParseFloat(digits, 64)
	if err != nil || !(v > 0 && v <= 100) {
		return 0, false
	}
	return v, true
}

// decimal is a number in decimal digits, with an optional fraction.
var decimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// judge judges o on the report rep and the histograms of the whole run.
func (o Objective) judge(rep *Report, hists map[string]*hdrhistogram.Histogram) Verdict {
	v := Verdict{Objective: o.text}
	thresh := o.thresh
	switch o.kind {
	case "latency":
		v.Unit = "ms"
		h := hists[o.lat]
		if h.TotalCount() == 0 {
			v.Note = "no samples"
			return v
		}
		us := map[string]func() float64{
			"p":    func() float64 { return float64(h.ValueAtQuantile(o.pct)) },
			"min":  func() float64 { return float64(h.Min()) },
			"mean": h.Mean,
			"max":  func() float64 { return float64(h.Max()) },
		}[o.stat]()
		v.Value = us / 1000
	case "count":
		n := rep.Flows.Started
		if o.count != "flows" {
			n = rep.Outcomes.Of(o.count)
		}
		v.Unit, v.Value = "flows", float64(n)
		if o.share {
			if rep.Flows.Started == 0 {
				v.Unit, v.Note = "%", "no flows"
				return v
			}
			v.Unit, v.Value = "%", 100*float64(n)/float64(rep.Flows.Started)
			thresh *= 100
		}
	case "rate":
		v.Unit, v.Value = "flows/s", rep.Flows.PerS
	}
	switch o.op {
	case "<":
		v.Met = v.Value < thresh
	case "<=":
		v.Met = v.Value <= thresh
	case ">":
		v.Met = v.Value > thresh
	case ">=":
		v.Met = v.Value >= thresh
	}
	return v
}
