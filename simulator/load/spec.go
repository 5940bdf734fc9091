package load

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"smsim/simulator/client"
	"smsim/simulator/people"
)

// MinRate is the lowest rate of an open loop, in flows a second: one an
// hour.
const MinRate = 1.0 / 3600

// MaxRate is the highest rate of an open loop, in flows a second, however
// it is written: 1e9/s, or 3.6e12/h.
const MaxRate = 1e9

// ParseRate reads a rate of flows: "500/s", "500" (a second), "30/m",
// "100/h", at least MinRate and at most MaxRate. It answers flows a
// second.
func ParseRate(s string) (float64, error) {
	num, per, found := strings.Cut(strings.TrimSpace(s), "/")
	num = strings.TrimSpace(num)
	n, err := strconv.ParseFloat(num, 64)
	// ParseFloat reads a number too large for a float64 as ±Inf, with
	// ErrRange, and one too small as 0: a rate past MaxRate, and one under
	// MinRate, its digits not all 0. NaN and Inf as written are no rate.
	tooLarge := errors.Is(err, strconv.ErrRange)
	mantissa, _, _ := strings.Cut(strings.ToLower(num), "e")
	zero := n == 0 && !strings.ContainsAny(mantissa, "123456789")
	if err != nil && !tooLarge || math.IsNaN(n) || math.IsInf(n, 0) && !tooLarge {
		return 0, invalid("rate", "%q is not a rate of flows such as 500/s", s)
	}
	if found {
		switch strings.TrimSpace(per) {
		case "s":
		case "m":
			n /= 60
		case "h":
			n /= 3600
		default:
			return 0, invalid("rate", "%q is not a rate of flows such as 500/s (per s, m or h)", s)
		}
	}
	switch {
	case math.Signbit(n) || zero:
		return 0, invalid("rate", "must be more than 0, got %q", s)
	case n > MaxRate:
		return 0, invalid("rate", "%q is more than %.0f flows a second, the most an open loop takes", s, float64(MaxRate))
	case n < MinRate*(1-1e-9):
		return 0, invalid("rate", "%q is less than one flow an hour", s)
	}
	return n, nil
}

// MaxWeight is the most a kind of order or a personality weighs in a mix:
// the weights of a mix then add up to no more than an int holds.
const MaxWeight = 1_000_000

// ParseTypes reads a mix of order kinds: "TYPE/VARIANT=WEIGHT,…", such as
// "first_filing/website=3,first_filing/app=1,add_provider=1" (the types
// without variants alone, without a slash: add_provider/ is none). A
// kind without a weight weighs 1; none weighs more than MaxWeight. An
// error quotes the part it is about as written, less the spaces around it.
func ParseTypes(s string) ([]people.Kind, error) {
	var out []people.Kind
	err := parseWeights("types", s, func(name string, w int) error {
		typ, variant, _ := strings.Cut(name, "/")
		k := people.Kind{Type: typ, Variant: variant, Weight: w}
		// named as written: first_filing/ is no first_filing, add_provider/
		// no add_provider
		if _, ok := client.Required(typ, variant); !ok || kindName(k) != name {
			return fmt.Errorf("%q is not a kind of order: %s", name, kindsHint)
		}
		if slices.ContainsFunc(out, func(o people.Kind) bool { return o.Type == k.Type && o.Variant == k.Variant }) {
			return fmt.Errorf("%s is given twice", name)
		}
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, checkTypes(out)
}

// ParseMix reads a mix of personalities: "NAME=WEIGHT,…", such as
// "prompt=80,typo=10,resender=5,never=5", each weight at most MaxWeight.
// The personalities not named weigh 0.
func ParseMix(s string) (map[people.Personality]int, error) {
	out := map[people.Personality]int{}
	err := parseWeights("mix", s, func(name string, w int) error {
		p := people.Personality(name)
		if _, ok := out[p]; ok {
			return fmt.Errorf("%s is given twice", name)
		}
		out[p] = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, checkMix(out)
}

// parseWeights reads "NAME=WEIGHT,…" (a missing weight is 1, and none is
// more than MaxWeight), handing each pair to add.
func parseWeights(field, s string, add func(name string, weight int) error) error {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "empty; give NAME=WEIGHT pairs separated by commas")
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item) // as messages quote it
		name, ws, hasWeight := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		w := 1
		if hasWeight {
			var err error
			w, err = strconv.Atoi(strings.TrimSpace(ws))
			if errors.Is(err, strconv.ErrRange) && w > 0 || err == nil && w > MaxWeight {
				return invalid(field, "%q: the weight must be at most %d", item, MaxWeight)
			}
			if err != nil || w < 0 {
				return invalid(field, "%q: the weight must be a whole number, 0 or more", item)
			}
		}
		if name == "" {
			return invalid(field, "%q: a name is missing", item)
		}
		if err := add(name, w); err != nil {
			return invalid(field, "%v", err)
		}
	}
	return nil
}

// kindsHint says what a kind of order is.
const kindsHint = "TYPE/VARIANT such as first_filing/website, or add_provider and remove_provider alone"

func checkTypes(kinds []people.Kind) error {
	total := 0
	for _, k := range kinds {
		if _, ok := client.Required(k.Type, k.Variant); !ok {
			return invalid("types", "%s is not a kind of order: %s", kindName(k), kindsHint)
		}
		if k.Weight < 0 || k.Weight > MaxWeight {
			return invalid("types", "%s: the weight must be 0 or more and at most %d, got %d", kindName(k), MaxWeight, k.Weight)
		}
		total += k.Weight
	}
	if total <= 0 {
		return invalid("types", "no kind weighs more than 0")
	}
	return nil
}

func checkMix(mix map[people.Personality]int) error {
	total := 0
	for p, w := range mix {
		if !slices.Contains(people.Personalities, p) {
			return invalid("mix", "%q is not a personality: %s", p, personalityNames())
		}
		if w < 0 || w > MaxWeight {
			return invalid("mix", "%s: the weight must be 0 or more and at most %d, got %d", p, MaxWeight, w)
		}
		total += w
	}
	if total <= 0 {
		return invalid("mix", "no personality weighs more than 0")
	}
	return nil
}

func personalityNames() string {
	var names []string
	for _, p := range people.Personalities {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// kindName names a kind of order as the flags do: first_filing/website,
// add_provider.
func kindName(k people.Kind) string {
	if k.Variant == "" {
		return k.Type
	}
	return k.Type + "/" + k.Variant
}
