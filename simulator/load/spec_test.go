package load_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"smsim/simulator/load"
	"smsim/simulator/people"
)

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{{"500/s", 500}, {"500", 500}, {" 30 / m ", 0.5}, {"7200/h", 2}, {"0.5/s", 0.5}, {"1/h", load.MinRate}} {
		if got, err := load.ParseRate(c.in); err != nil || got != c.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "fast", "0/s", "-5/s", "5/d", "5/", "NaN", "Inf", "1e-12", "0.5/h", "1/m/s"} {
		if _, err := load.ParseRate(in); !isInvalid(err, "rate") {
			t.Errorf("ParseRate(%q): %v, want an error of rate", in, err)
		}
	}
}

// A rate of 0 or less must be more than 0, and MaxRate bounds the rate a
// second, however it is written: 2e9/h is 555,556 a second.
func TestParseRateBounds(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{{"2e9/h", 2e9 / 3600}, {"6e10/m", 1e9}, {"3.6e12/h", load.MaxRate}, {"1e9", load.MaxRate}, {"1e9/s", load.MaxRate}} {
		if got, err := load.ParseRate(c.in); err != nil || got != c.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"0", `rate: must be more than 0, got "0"`},
		{"0/h", `rate: must be more than 0, got "0/h"`},
		{"-0", `rate: must be more than 0, got "-0"`},
		{"-5/s", `rate: must be more than 0, got "-5/s"`},
		{"-1e400", `rate: must be more than 0, got "-1e400"`},
		{"1.1e9", `rate: "1.1e9" is more than 1000000000 flows a second, the most an open loop takes`},
		{"6.1e10/m", `rate: "6.1e10/m" is more than 1000000000 flows a second, the most an open loop takes`},
		{"1e400/h", `rate: "1e400/h" is more than 1000000000 flows a second, the most an open loop takes`},
		{"1e-400", `rate: "1e-400" is less than one flow an hour`},
		{"Inf", `rate: "Inf" is not a rate of flows such as 500/s`},
	} {
		_, err := load.ParseRate(c.in)
		if !isInvalid(err, "rate") || err.Error() != c.want {
			t.Errorf("ParseRate(%q): %v, want %q", c.in, err, c.want)
		}
	}
	if err, want := (load.Config{Rate: 2e9}).Check(), "rate: must be at most 1000000000 flows a second, got 2e+09"; err == nil || err.Error() != want {
		t.Errorf("a Config of 2e9 flows a second: %v, want %q", err, want)
	}
	if err := (load.Config{Rate: load.MaxRate}).Check(); err != nil {
		t.Errorf("a Config of MaxRate flows a second: %v", err)
	}
}

func TestParseTypes(t *testing.T) {
	got, err := load.ParseTypes("first_filing/website=3, first_filing/app=1,add_provider, remove_provider=0")
	want := []people.Kind{{Type: "first_filing", Variant: "website", Weight: 3}, {Type: "first_filing", Variant: "app", Weight: 1},
		{Type: "add_provider", Weight: 1}, {Type: "remove_provider", Weight: 0}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseTypes = %+v, %v; want %+v", got, err, want)
	}
	for _, c := range []struct{ in, want string }{
		{"", "empty"},
		{"first_filing", `"first_filing" is not a kind of order`},
		{"first_filing/blog", `"first_filing/blog" is not a kind of order`},
		{"add_provider/website", `"add_provider/website" is not a kind of order`},
		{"modify/entity=x", `"modify/entity=x": the weight must be a whole number`},
		{"modify/entity=-1", `the weight must be a whole number, 0 or more`},
		{"modify/entity,modify/entity", "modify/entity is given twice"},
		{"modify/entity=0", "no kind weighs more than 0"},
		{"modify/entity=1000001", `"modify/entity=1000001": the weight must be at most 1000000`},
		{"add_provider=1,modify/entity=9223372036854775807,modify/service=9223372036854775807", `"modify/entity=9223372036854775807": the weight must be at most 1000000`},
	} {
		_, err := load.ParseTypes(c.in)
		if !isInvalid(err, "types") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTypes(%q): %v, want an error of types saying %q", c.in, err, c.want)
		}
	}
}

// A part of --types or --mix is quoted as written, less the spaces around
// it, whatever is wrong with it: a kind is named by the part, first_filing/
// no first_filing, add_provider/ no add_provider.
func TestParseWeightsQuoteThePart(t *testing.T) {
	for _, c := range []struct{ field, in, want string }{
		{"mix", "prompt=1, slow=-1", `mix: "slow=-1": the weight must be a whole number, 0 or more`},
		{"mix", "prompt=1, slow=x ", `mix: "slow=x": the weight must be a whole number, 0 or more`},
		{"mix", "prompt=1,  slow=1000001", `mix: "slow=1000001": the weight must be at most 1000000`},
		{"mix", "prompt=1, =3", `mix: "=3": a name is missing`},
		{"types", "first_filing/", `types: "first_filing/" is not a kind of order: TYPE/VARIANT such as first_filing/website, or add_provider and remove_provider alone`},
		{"types", "add_provider/ =2", `types: "add_provider/" is not a kind of order: TYPE/VARIANT such as first_filing/website, or add_provider and remove_provider alone`},
		{"types", " first_filing/website/app", `types: "first_filing/website/app" is not a kind of order: TYPE/VARIANT such as first_filing/website, or add_provider and remove_provider alone`},
		{"types", "add_provider, first_filing/blog=2", `types: "first_filing/blog" is not a kind of order: TYPE/VARIANT such as first_filing/website, or add_provider and remove_provider alone`},
		{"types", "add_provider, modify/entity=-1", `types: "modify/entity=-1": the weight must be a whole number, 0 or more`},
	} {
		var err error
		if c.field == "mix" {
			_, err = load.ParseMix(c.in)
		} else {
			_, err = load.ParseTypes(c.in)
		}
		if !isInvalid(err, c.field) || err.Error() != c.want {
			t.Errorf("--%s %q: %v, want %q", c.field, c.in, err, c.want)
		}
	}
}

func TestParseMix(t *testing.T) {
	got, err := load.ParseMix("prompt=80,typo=10,resender=5,never=5")
	want := map[people.Personality]int{people.Prompt: 80, people.Typo: 10, people.Resender: 5, people.Never: 5}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseMix = %v, %v; want %v", got, err, want)
	}
	if got, err := load.ParseMix("prompt=1000000,slow=1000000,typo=1000000,resender=1000000,never=1000000"); err != nil || got[people.Never] != load.MaxWeight {
		t.Fatalf("every personality at MaxWeight: %v, %v", got, err)
	}
	for _, c := range []struct{ in, want string }{
		{"lazy=1", `"lazy" is not a personality: prompt, slow, typo, resender, never`},
		{"prompt=1,prompt=2", "prompt is given twice"},
		{"prompt=0,never=0", "no personality weighs more than 0"},
		{"=3", "a name is missing"},
		{"prompt=1000001", `"prompt=1000001": the weight must be at most 1000000`},
		{"prompt=9223372036854775807,slow=1", `"prompt=9223372036854775807": the weight must be at most 1000000`},
		{"prompt=1,slow=9223372036854775807,typo=9223372036854775807,never=3", `"slow=9223372036854775807": the weight must be at most 1000000`},
		{"prompt=99999999999999999999", `"prompt=99999999999999999999": the weight must be at most 1000000`},
		{"prompt=-99999999999999999999", `"prompt=-99999999999999999999": the weight must be a whole number, 0 or more`},
	} {
		_, err := load.ParseMix(c.in)
		if !isInvalid(err, "mix") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseMix(%q): %v, want an error of mix saying %q", c.in, err, c.want)
		}
	}
}

func TestParseSLO(t *testing.T) {
	objs, err := load.ParseSLO("code_p99<50ms, errors < 0.1%,flows_per_s>100,view_p99.9<=1s,flow_max<2m,approved>=99%,flows>=10,submit_p999<1s,watch_mean<1ms")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.String())
	}
	if want := "code_p99<50ms errors<0.1% flows_per_s>100 view_p99.9<=1s flow_max<2m approved>=99% flows>=10 submit_p999<1s watch_mean<1ms"; strings.Join(got, " ") != want {
		t.Fatalf("objectives %q, want %q", strings.Join(got, " "), want)
	}
	for _, c := range []struct{ in, want string }{
		{"code_p99", "is not an objective"},
		{"code_p99<", "the threshold is missing"},
		{"code_p99<50", `"50" is not a duration such as 50ms`},
		{"code_p101<50ms", `"code_p101<50ms": "p101" is not a percentile: p and a number more than 0 and at most 100 in decimal digits, such as p50, p99, p99.9 (p999 is p99.9)`},
		{"code_p0<50ms", `"code_p0<50ms": "p0" is not a percentile`},
		{"code_pfast<50ms", `"code_pfast<50ms": "pfast" is not a statistic: pN (p50, p99, p99.9), min, mean or max`},
		{"sms_p99<50ms", `"sms" is not a latency`},
		{"errors<lots", `"lots" is not a number of flows`},
		{"flows_per_s>many", `"many" is not a number of flows a second`},
		{"latency<5ms", `"latency" is not a measure`},
		{"code_p99=50ms", `"code_p99=50ms": "=" is not a comparison: <, <=, > or >=`},
		{"errors>=NaN", `"NaN" is not a number of flows`},
		{"errors<Inf%", `"Inf%" is not a number of flows`},
		{"flows_per_s>NaN", `"NaN" is not a number of flows a second`},
		{"flows_per_s<+Inf", `"+Inf" is not a number of flows a second`},
		{"flows>=10%", `"flows>=10%": flows is a number of flows started, such as 1000, not a share`},
		{"flows>=many", `"flows>=many": "many" is not a number of flows started, such as 1000`},
		{"flows>=Inf", `"flows>=Inf": "Inf" is not a number of flows started, such as 1000`},
	} {
		_, err := load.ParseSLO(c.in)
		if !isInvalid(err, "slo") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSLO(%q): %v, want an error of slo saying %q", c.in, err, c.want)
		}
	}
}

// A comparison other than <, <=, > and >= is named as written, not taken
// for a part of the measure or of the threshold; an objective left empty
// by a stray comma is named by its place.
func TestParseSLOComparisonsAndEmptyObjectives(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"code_p99=<50ms", `slo: "code_p99=<50ms": "=<" is not a comparison: <, <=, > or >=`},
		{"code_p99=>50ms", `slo: "code_p99=>50ms": "=>" is not a comparison: <, <=, > or >=`},
		{"errors==0", `slo: "errors==0": "==" is not a comparison: <, <=, > or >=`},
		{"errors!=0", `slo: "errors!=0": "!=" is not a comparison: <, <=, > or >=`},
		{"code_p99<<50ms", `slo: "code_p99<<50ms": "<<" is not a comparison: <, <=, > or >=`},
		{"flows >= = 5", `slo: "flows>==5": ">==" is not a comparison: <, <=, > or >=`},
		{"code_p99 50ms", `slo: "code_p9950ms" is not an objective such as code_p99<50ms: a measure, <, <=, > or >=, and a threshold`},
		{"<50ms", `slo: "<50ms" is not an objective such as code_p99<50ms: a measure, <, <=, > or >=, and a threshold`},
		{"code_p99<50ms,,errors<1%", `slo: "code_p99<50ms,,errors<1%": objective 2 of 3 is empty; separate objectives with one comma`},
		{"code_p99<50ms,", `slo: "code_p99<50ms,": objective 2 of 2 is empty; separate objectives with one comma`},
		{",code_p99<50ms", `slo: ",code_p99<50ms": objective 1 of 2 is empty; separate objectives with one comma`},
		{"code_p99<50ms, ,errors<1%", `slo: "code_p99<50ms, ,errors<1%": objective 2 of 3 is empty; separate objectives with one comma`},
		{"", "slo: empty; give objectives such as code_p99<50ms, separated by commas"},
		{"  ", "slo: empty; give objectives such as code_p99<50ms, separated by commas"},
	} {
		_, err := load.ParseSLO(c.in)
		if !isInvalid(err, "slo") || err.Error() != c.want {
			t.Errorf("ParseSLO(%q): %v, want %q", c.in, err, c.want)
		}
	}
}

// A percentile is p and decimal digits, with an optional fraction: what
// else ParseFloat reads (an exponent, a hexadecimal number, a sign, NaN)
// is refused, naming the statistic; every documented form stands.
func TestParseSLOPercentiles(t *testing.T) {
	for _, stat := range []string{"p1e1", "p0x1p6", "p0x40", "p+50", "p-5", "p50.", "p.5", "p99.9.9", "pNaN", "pInf", "p"} {
		in := "code_" + stat + "<50ms"
		_, err := load.ParseSLO(in)
		want := fmt.Sprintf("slo: %q: %q is not a percentile: p and a number more than 0 and at most 100 in decimal digits, such as p50, p99, p99.9 (p999 is p99.9)", in, stat)
		if stat == "pNaN" || stat == "pInf" || stat == "p" {
			want = fmt.Sprintf("slo: %q: %q is not a statistic: pN (p50, p99, p99.9), min, mean or max", in, stat)
		}
		if !isInvalid(err, "slo") || err.Error() != want {
			t.Errorf("ParseSLO(%q): %v, want %q", in, err, want)
		}
	}
	for in, same := range map[string]string{
		"code_p50<1s":    "code_p50.0<2s",
		"code_p99<1s":    "code_p99.0<2s",
		"code_p99.9<1s":  "code_p999<2s",
		"code_p9999<1s":  "code_p99.99<2s",
		"code_p100<1s":   "code_p100.0<2s",
		"code_p0.1<1s":   "code_p0.10<2s",
		"code_p05<1s":    "code_p5<2s",
		"code_p99.99<1s": "code_delivery_p9999<2s",
	} {
		if _, err := load.ParseSLO(in); err != nil {
			t.Errorf("ParseSLO(%q): %v", in, err)
		}
		// the two bound one measure: the same percentile
		if _, err := load.ParseSLO(in + "," + same); !isInvalid(err, "slo") || !strings.Contains(err.Error(), "both bound") {
			t.Errorf("ParseSLO(%q): %v, want the two to bound one measure", in+","+same, err)
		}
	}
}

// A measure takes one bound from above and one from below: a second from
// the same side, or a range no value is in, is an error naming the
// measure and both objectives. The ways of writing one measure are one
// measure; a number and a share of an outcome are two.
func TestParseSLOBoundsOnce(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"code_p99<50ms,code_p99<50ms", `slo: "code_p99<50ms" is given twice`},
		{"code_p99<50ms, code_p99 < 50ms", `slo: "code_p99<50ms" is given twice`},
		{"code_p99<50ms,code_p99<40ms", `slo: "code_p99<50ms" and "code_p99<40ms" both bound code_p99 from above: give one`},
		{"code_p99<50ms,code_delivery_p99.0<=40ms", `slo: "code_p99<50ms" and "code_delivery_p99.0<=40ms" both bound code_p99 from above: give one`},
		{"view_p999<1s,provider_view_p99.9<2s", `slo: "view_p999<1s" and "provider_view_p99.9<2s" both bound view_p999 from above: give one`},
		{"errors<5,flows>1,error<=3", `slo: "errors<5" and "error<=3" both bound errors from above: give one`},
		{"approved>=99%,approved>90%", `slo: "approved>=99%" and "approved>90%" both bound approved from below: give one`},
		{"flows_per_s>100,flows_per_s>=50", `slo: "flows_per_s>100" and "flows_per_s>=50" both bound flows_per_s from below: give one`},
		{"code_p99>50ms,code_p99<10ms", `slo: "code_p99>50ms" and "code_p99<10ms": no value of code_p99 meets both`},
		{"errors<5,errors>=5", `slo: "errors<5" and "errors>=5": no value of errors meets both`},
		{"errors<=5%,errors>5%", `slo: "errors<=5%" and "errors>5%": no value of errors meets both`},
	} {
		_, err := load.ParseSLO(c.in)
		if !isInvalid(err, "slo") || err.Error() != c.want {
			t.Errorf("ParseSLO(%q): %v, want %q", c.in, err, c.want)
		}
	}
	for _, in := range []string{
		"flows_per_s>=95,flows_per_s<=105", // a range
		"flows>=100,flows<=100",            // a range of one value
		"errors>0,errors<5%",               // a number and a share: two measures
		"errors<5,errors<1%",
		"code_p99<50ms,code_p50<50ms,code_max<50ms,flow_p99<50ms,canceled<1,approved<1",
	} {
		if _, err := load.ParseSLO(in); err != nil {
			t.Errorf("ParseSLO(%q): %v, want no error", in, err)
		}
	}
}

// The settings of a Config are checked before anything runs, each error
// naming the flag that sets it.
func TestConfigCheck(t *testing.T) {
	for _, c := range []struct {
		cfg   load.Config
		field string
	}{
		{load.Config{Target: "ftp://example.com"}, "target"},
		{load.Config{Namespace: "no spaces"}, "namespace"},
		{load.Config{Rate: 10, Concurrency: 4}, "concurrency"},
		{load.Config{Rate: 1e-12}, "rate"},
		{load.Config{Ramp: 10}, "ramp"},
		{load.Config{Concurrency: -1}, "concurrency"},
		{load.Config{Flows: -1}, "flows"},
		{load.Config{Scale: 2_000_000}, "scale"},
		{load.Config{Listen: "pigeon"}, "listen"},
		{load.Config{Mix: map[people.Personality]int{"lazy": 1}}, "mix"},
		{load.Config{Types: []people.Kind{{Type: "first_filing", Weight: 1}}}, "types"},
		{load.Config{Mix: map[people.Personality]int{people.Prompt: math.MaxInt, people.Slow: 1}}, "mix"},
		{load.Config{Types: []people.Kind{{Type: "add_provider", Weight: load.MaxWeight + 1}}}, "types"},
	} {
		if err := c.cfg.Check(); !isInvalid(err, c.field) {
			t.Errorf("%+v: %v, want an error of %s", c.cfg, err, c.field)
		}
	}
	// weights that would add up past what an int holds
	heavy := load.Config{Mix: map[people.Personality]int{people.Prompt: math.MaxInt, people.Slow: 1}}
	if err, want := heavy.Check(), "mix: prompt: the weight must be 0 or more and at most 1000000, got 9223372036854775807"; err == nil || err.Error() != want {
		t.Errorf("a mix of %v: %v, want %q", heavy.Mix, err, want)
	}
	// the objectives of two --slo, joined, bound a measure once from each side
	first, second := mustSLO(t, "code_p99<50ms,errors<1%"), mustSLO(t, "errors>=0.1%, code_p99<50ms")
	joined := load.Config{SLO: slices.Concat(first, second)}
	if err, want := joined.Check(), `slo: "code_p99<50ms" is given twice`; !isInvalid(err, "slo") || err.Error() != want {
		t.Errorf("objectives %v: %v, want %q", joined.SLO, err, want)
	}
	joined.SLO = slices.Concat(first, mustSLO(t, "code_p99<40ms"))
	if err, want := joined.Check(), `slo: "code_p99<50ms" and "code_p99<40ms" both bound code_p99 from above: give one`; !isInvalid(err, "slo") || err.Error() != want {
		t.Errorf("objectives %v: %v, want %q", joined.SLO, err, want)
	}
	joined.SLO = slices.Concat(first, mustSLO(t, "errors>1%"))
	if err, want := joined.Check(), `slo: "errors<1%" and "errors>1%": no value of errors meets both`; !isInvalid(err, "slo") || err.Error() != want {
		t.Errorf("objectives %v: %v, want %q", joined.SLO, err, want)
	}
	joined.SLO = slices.Concat(first, mustSLO(t, "errors>=0.1%"))
	if err := joined.Check(); err != nil {
		t.Errorf("objectives %v: %v, want a range of errors to do", joined.SLO, err)
	}
	if err := (load.Config{}).Check(); err != nil {
		t.Errorf("the zero Config: %v, want its defaults to do", err)
	}
}

// MaxInFlight and Ramp are an open loop's: either without Rate is an
// error, as is a ramp longer than the Duration given, naming both, or,
// with neither Duration nor Flows, than the default run.
func TestConfigOpenLoopSettings(t *testing.T) {
	for _, c := range []struct {
		cfg  load.Config
		want string
	}{
		{load.Config{MaxInFlight: 5}, "max-in-flight: bounds an open loop's flows in flight; give --rate too (a closed loop runs --concurrency at once)"},
		{load.Config{MaxInFlight: 5, Concurrency: 4}, "max-in-flight: bounds an open loop's flows in flight; give --rate too (a closed loop runs --concurrency at once)"},
		{load.Config{Ramp: time.Second}, "ramp: ramps an open loop's rate up; give --rate too"},
		{load.Config{Rate: 10, Ramp: 2 * time.Minute, Duration: time.Minute},
			"ramp: 2m0s is longer than --duration 1m0s: the run would stop starting flows before the rate reached --rate"},
		{load.Config{Rate: 1, Ramp: time.Minute},
			"ramp: 1m0s is longer than the run, 30s when neither --duration nor --flows is given: the run would stop starting flows before the rate reached --rate; give --duration or --flows"},
	} {
		if err := c.cfg.Check(); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	for _, cfg := range []load.Config{
		{Rate: 10, MaxInFlight: 5},
		{Rate: 10, Ramp: time.Minute, Duration: time.Minute},
		{Rate: 10, Ramp: 2 * time.Minute, Flows: 100}, // no --duration: the ramp bounds nothing
		{Rate: 10, Ramp: load.DefaultDuration},        // as long as the default run
		{Rate: 10, Ramp: 2 * time.Minute, Flows: 100, Duration: 3 * time.Minute},
	} {
		if err := cfg.Check(); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// A run's scale is real time at the least, so that its clock does not all
// but stop, and at most what the server takes; 0 is the default.
func TestConfigScaleBounds(t *testing.T) {
	for _, scale := range []float64{0.5, 1e-9, 5e-324, -1, math.NaN(), math.Inf(1), load.MaxScale + 1} {
		want := fmt.Sprintf("scale: must be at least 1 (real time) and at most 1000000 simulated seconds per real second, got %v", scale)
		if err := (load.Config{Scale: scale}).Check(); !isInvalid(err, "scale") || err.Error() != want {
			t.Errorf("scale %v: %v, want %q", scale, err, want)
		}
	}
	for _, scale := range []float64{0, load.MinScale, 1.5, load.DefaultScale, load.MaxScale} {
		if err := (load.Config{Scale: scale}).Check(); err != nil {
			t.Errorf("scale %v: %v", scale, err)
		}
	}
}

func isInvalid(err error, field string) bool {
	var e *load.InvalidError
	return errors.As(err, &e) && e.Field == field && strings.HasPrefix(err.Error(), field+": ")
}
