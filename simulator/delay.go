package simulator

import (
	"fmt"
	"math"
	"time"
)

// Delay models.
const (
	ModelFixed     = "fixed"     // always Value
	ModelUniform   = "uniform"   // uniform in [Min, Max]
	ModelLogNormal = "lognormal" // log-normal with the given Median and 99th percentile: SMS's long tail
)

// Delay is a distribution of durations: how long the network holds a
// message, how long a review takes.
type Delay struct {
	Model  string
	Value  time.Duration // fixed
	Min    time.Duration // uniform
	Max    time.Duration // uniform
	Median time.Duration // lognormal
	P99    time.Duration // lognormal
}

// Uniform is the uniform delay in [min, max].
func Uniform(min, max time.Duration) Delay { return Delay{Model: ModelUniform, Min: min, Max: max} }

// Fixed is the delay that is always d.
func Fixed(d time.Duration) Delay { return Delay{Model: ModelFixed, Value: d} }

// z99 is the 99th percentile of the standard normal distribution.
const z99 = 2.3263478740408408

// Draw draws a duration, in whole milliseconds, named by parts.
func (d Delay) Draw(src *Source, parts ...string) time.Duration {
	switch d.Model {
	case ModelFixed:
		return d.Value.Truncate(time.Millisecond)
	case ModelLogNormal:
		if d.Median <= 0 {
			return 0
		}
		u := src.Float64(parts...)
		if u <= 0 {
			u = 1.0 / (1 << 53)
		}
		z := math.Sqrt2 * math.Erfinv(2*u-1)
		sigma := (math.Log(float64(d.P99)) - math.Log(float64(d.Median))) / z99
		v := math.Exp(math.Log(float64(d.Median)) + sigma*z)
		if v > float64(MaxDuration) || math.IsNaN(v) {
			v = float64(MaxDuration)
		}
		return time.Duration(v).Truncate(time.Millisecond)
	}
	return src.Between(d.Min, d.Max, parts...)
}

// String describes the delay for people: "uniform 1m–5m".
func (d Delay) String() string {
	switch d.Model {
	case ModelFixed:
		return "fixed " + FormatDuration(d.Value)
	case ModelLogNormal:
		return fmt.Sprintf("lognormal median %s p99 %s", FormatDuration(d.Median), FormatDuration(d.P99))
	}
	return fmt.Sprintf("uniform %s–%s", FormatDuration(d.Min), FormatDuration(d.Max))
}

// delayJSON is the wire form of a Delay: only the fields of its model are
// written; on reading, the fields of other models are ignored.
type delayJSON struct {
	Model  string `json:"model,omitempty"`
	Value  string `json:"value,omitempty"`
	Min    string `json:"min,omitempty"`
	Max    string `json:"max,omitempty"`
	Median string `json:"median,omitempty"`
	P99    string `json:"p99,omitempty"`
}

func (d Delay) wire() delayJSON {
	switch d.Model {
	case ModelFixed:
		return delayJSON{Model: ModelFixed, Value: FormatDuration(d.Value)}
	case ModelLogNormal:
		return delayJSON{Model: ModelLogNormal, Median: FormatDuration(d.Median), P99: FormatDuration(d.P99)}
	}
	return delayJSON{Model: ModelUniform, Min: FormatDuration(d.Min), Max: FormatDuration(d.Max)}
}

func (p *parser) delay(field string, w delayJSON) Delay {
	if p.err != nil {
		return Delay{}
	}
	switch w.Model {
	case "", ModelUniform:
		d := Delay{Model: ModelUniform, Min: p.durOr(field+".min", w.Min), Max: p.durOr(field+".max", w.Max)}
		if p.err == nil && d.Min > d.Max {
			p.err = Invalid("%s: min (%s) exceeds max (%s)", field, w.Min, w.Max)
		}
		return d
	case ModelFixed:
		return Delay{Model: ModelFixed, Value: p.dur(field+".value", w.Value)}
	case ModelLogNormal:
		d := Delay{Model: ModelLogNormal, Median: p.dur(field+".median", w.Median), P99: p.dur(field+".p99", w.P99)}
		if p.err == nil && d.Median <= 0 {
			p.err = Invalid("%s.median: must be more than 0, got %q", field, w.Median)
		}
		if p.err == nil && d.P99 < d.Median {
			p.err = Invalid("%s.p99: must not be below the median (%s), got %q", field, w.Median, w.P99)
		}
		return d
	}
	p.err = Invalid("%s.model: must be %q, %q or %q, got %q", field, ModelFixed, ModelUniform, ModelLogNormal, w.Model)
	return Delay{}
}

// durOr reads an optional duration: empty is 0.
func (p *parser) durOr(field, s string) time.Duration {
	if s == "" {
		return 0
	}
	return p.dur(field, s)
}
