package core

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
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
// written. A request's delay is read by readDelay, which refuses the fields
// of other models; Parse reads the fields of its model alone.
type DelayJSON struct {
	Model  string `json:"model,omitempty"`
	Value  string `json:"value,omitempty"`
	Min    string `json:"min,omitempty"`
	Max    string `json:"max,omitempty"`
	Median string `json:"median,omitempty"`
	P99    string `json:"p99,omitempty"`
	// where Min and Max came from when the request did not give them
	// (fromCurrent, fromStart; "": given, or absent), for a detail
	minFrom, maxFrom string
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
			p.err = Invalid("%s: min (%s) exceeds max (%s)", field, bound(w.Min, w.minFrom), bound(w.Max, w.maxFrom))
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

// delayFields are the fields of each model.
var delayFields = map[string][]string{
	ModelFixed:     {"value"},
	ModelUniform:   {"min", "max"},
	ModelLogNormal: {"median", "p99"},
}

// delayKeys are the fields of every model, in the order a detail looks at
// them.
var delayKeys = []string{"value", "min", "max", "median", "p99"}

// Where a field of a delay read from a request came from when the request
// did not give it.
const (
	fromCurrent = "stored"          // the delay the request changes
	fromStart   = "the start value" // the field's start value
)

// readDelay reads the delay object given at field of a request against
// cur, the delay it changes (nil: none, as for a PUT or a new entry), and
// start, the field's start value (nil: none). extra are keys of the object
// that are not the delay's (review's approve_ratio), left to the caller.
//
// Its model is the one it names; else the one named by the first of its
// fields that is not null, of value (fixed), median, p99 (lognormal), min,
// max (uniform); else cur's, or start's when there is no cur or it gives
// "model": null. A field of another model is an *Error unless it is null.
// A field of the model that it leaves out is cur's when cur has that
// model; one it leaves out or gives as null is otherwise start's when
// start has that model; else it is absent: 0s for a uniform bound, missing
// for the others.
//
// ok is false when given is not a delay object readable here (a key it
// does not know, a value that is not a string): decoding it names what is
// wrong.
func readDelay(field string, given, cur, start map[string]any, extra ...string) (d DelayJSON, ok bool, err error) {
	for k, v := range given {
		_, isString := v.(string)
		switch {
		case slices.Contains(extra, k):
		case k != "model" && !slices.Contains(delayKeys, k), v != nil && !isString:
			return DelayJSON{}, false, nil
		}
	}
	str := func(k string) (string, bool) { s, ok := given[k].(string); return s, ok }
	model, named := str("model")
	by := ""
	if !named {
		for _, k := range []string{"value", "median", "p99", "min", "max"} {
			if _, ok := str(k); ok {
				model, by = inferredModel(k), k
				break
			}
		}
	}
	if model == "" {
		_, null := given["model"]
		switch {
		case named:
			model = ModelUniform
		case cur != nil && !null:
			model = modelOf(cur)
		case start != nil:
			model = modelOf(start)
		default:
			model = ModelUniform
		}
	}
	fields, known := delayFields[model]
	if !known {
		return DelayJSON{Model: model}, true, nil // the parser names the model
	}
	for _, k := range delayKeys {
		if _, ok := str(k); ok && !slices.Contains(fields, k) {
			how := ""
			if by != "" {
				how = " (named by " + by + ")"
			}
			return DelayJSON{}, false, Invalid("%s.%s: the %s model%s takes %s, not %s", field, k, model, how, strings.Join(fields, " and "), k)
		}
	}
	d = DelayJSON{Model: model}
	for _, k := range fields {
		v, from := "", ""
		_, null := given[k]
		if s, ok := str(k); ok {
			v = s
		} else if s, ok := cur[k].(string); ok && !null && modelOf(cur) == model {
			v, from = s, fromCurrent
		} else if s, ok := start[k].(string); ok && modelOf(start) == model {
			v, from = s, fromStart
		}
		switch k {
		case "value":
			d.Value = v
		case "min":
			d.Min, d.minFrom = v, from
		case "max":
			d.Max, d.maxFrom = v, from
		case "median":
			d.Median = v
		case "p99":
			d.P99 = v
		}
	}
	return d, true, nil
}

// inferredModel is the model a field names.
func inferredModel(field string) string {
	for m, fs := range delayFields {
		if slices.Contains(fs, field) {
			return m
		}
	}
	return ""
}

// modelOf is the model of a delay object ("" and none: uniform).
func modelOf(obj map[string]any) string {
	if m, _ := obj["model"].(string); m != "" {
		return m
	}
	return ModelUniform
}

// wireObject is the wire form of d as a JSON object.
func (d Delay) wireObject() map[string]any {
	w := d.wire()
	obj := map[string]any{"model": w.Model}
	for k, v := range map[string]string{"value": w.Value, "min": w.Min, "max": w.Max, "median": w.Median, "p99": w.P99} {
		if v != "" {
			obj[k] = v
		}
	}
	return obj
}

// ReadDelay reads the delay object at key of a JSON object body, a request
// that replaces a whole object (a phone's profile), against start, the
// delay's start value (readDelay): it answers the delay, nil when the body
// gives none there to read, and the body to decode, with its whole numbers
// written out (wholeNumbers). A body that is not an object is answered as
// it is. The body is checked first (CheckUTF8): its strings are written
// anew, where bad UTF-8 would become U+FFFD.
func ReadDelay(body []byte, key string, start Delay) ([]byte, *DelayJSON, error) {
	var doc map[string]any
	if unmarshalExact(body, &doc) != nil || doc == nil {
		return body, nil, nil
	}
	if err := CheckUTF8(body); err != nil {
		return nil, nil, err
	}
	var d *DelayJSON
	if obj, ok := doc[key].(map[string]any); ok {
		r, ok, err := readDelay(key, obj, nil, start.wireObject())
		if err != nil {
			return nil, nil, err
		}
		if ok {
			d = &r
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return body, nil, nil
	}
	return b, d, nil
}

// bound is a bound of a uniform delay as a detail names it: as given, as
// taken from where it came from, or "0s, absent".
func bound(s, from string) string {
	switch {
	case s == "":
		return "0s, absent"
	case from != "":
		return s + ", " + from
	}
	return s
}
