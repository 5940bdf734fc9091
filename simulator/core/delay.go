package core

import (
	"encoding/json"
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

// DelayJSON is the wire form of a Delay: only the fields of its model are
// written; on reading, the fields of other models are ignored.
type DelayJSON struct {
	Model  string `json:"model,omitempty"`
	Value  string `json:"value,omitempty"`
	Min    string `json:"min,omitempty"`
	Max    string `json:"max,omitempty"`
	Median string `json:"median,omitempty"`
	P99    string `json:"p99,omitempty"`
}

// JSON is the wire form of d.
func (d Delay) JSON() DelayJSON { return d.wire() }

// Parse reads a delay named field from its wire form: an *Error names what
// is wrong.
func (w DelayJSON) Parse(field string) (Delay, error) {
	p := parser{}
	d := p.delay(field, w)
	return d, p.err
}

// IsZero tells whether the delay is always 0.
func (d Delay) IsZero() bool {
	switch d.Model {
	case ModelFixed:
		return d.Value == 0
	case ModelLogNormal:
		return false
	}
	return d.Max == 0
}

func (d Delay) wire() DelayJSON {
	switch d.Model {
	case ModelFixed:
		return DelayJSON{Model: ModelFixed, Value: FormatDuration(d.Value)}
	case ModelLogNormal:
		return DelayJSON{Model: ModelLogNormal, Median: FormatDuration(d.Median), P99: FormatDuration(d.P99)}
	}
	return DelayJSON{Model: ModelUniform, Min: FormatDuration(d.Min), Max: FormatDuration(d.Max)}
}

func (p *parser) delay(field string, w DelayJSON) Delay {
	if p.err != nil {
		return Delay{}
	}
	switch w.Model {
	case "", ModelUniform:
		d := Delay{Model: ModelUniform, Min: p.durOr(field+".min", w.Min), Max: p.durOr(field+".max", w.Max)}
		if p.err == nil && d.Min > d.Max {
			p.err = Invalid("%s: min (%s) exceeds max (%s)", field, givenOr0(w.Min), givenOr0(w.Max))
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

// inferModels gives a model to each delay object of doc at the given keys
// that names none, from the fields it gives: value → fixed, median or p99
// → lognormal, min or max → uniform. So a delay given without its model
// means what its fields say, whatever model it had before.
func inferModels(doc map[string]any, keys ...string) {
	for _, k := range keys {
		if obj, ok := doc[k].(map[string]any); ok {
			inferModel(obj)
		}
	}
}

func inferModel(obj map[string]any) {
	if _, ok := obj["model"]; ok {
		return
	}
	has := func(k string) bool { _, ok := obj[k]; return ok }
	switch {
	case has("value"):
		obj["model"] = ModelFixed
	case has("median") || has("p99"):
		obj["model"] = ModelLogNormal
	case has("min") || has("max"):
		obj["model"] = ModelUniform
	}
}

// InferDelayModel gives a model to the delay object at key of a JSON
// object body that names none (see inferModels); a body that is not an
// object is answered as it is. The body is checked first (CheckUTF8): its
// strings are written anew, where bad UTF-8 would become U+FFFD.
func InferDelayModel(body []byte, key string) ([]byte, error) {
	var doc map[string]any
	if unmarshalExact(body, &doc) != nil || doc == nil {
		return body, nil
	}
	if err := CheckUTF8(body); err != nil {
		return nil, err
	}
	inferModels(doc, key)
	b, err := json.Marshal(doc)
	if err != nil {
		return body, nil
	}
	return b, nil
}

// givenOr0 is a bound of a uniform delay as a detail names it: as given,
// or "0s, absent" when it was left out.
func givenOr0(s string) string {
	if s == "" {
		return "0s, absent"
	}
	return s
}
