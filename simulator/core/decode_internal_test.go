package core

import (
	"encoding/json"
	"testing"
)

// wholeOf decides on a number's digits whether it is a whole int64, never
// on a rounded value: a fraction too fine for a float, or an exponent
// that underflows one, is no whole number.
func TestWholeOf(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"5.0", "5"}, {"1e3", "1000"}, {"1E+3", "1000"}, {"-0.0", "0"}, {"0.1e1", "1"}, {"120e-1", "12"},
		{"1000000000000000000000.0e-3", "1000000000000000000"}, {"0e99999999999", "0"},
		{"9.223372036854775807e18", "9223372036854775807"}, {"-9.223372036854775808e18", "-9223372036854775808"},
		{"5", ""}, {"5.5", ""}, {"12e-1", ""}, {"5.00000000000000000000000000000000000000001", ""},
		{"4.99999999999999999999999999999999999999999", ""}, {"1e-700000000", ""}, {"-1e-700000000", ""},
		{"1e999999999", ""}, {"9.223372036854775808e18", ""}, {"1e99999999999999999999", ""},
	} {
		got, ok := wholeOf(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("wholeOf(%s) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

// wholeIntegers writes anew only the numbers read into integer fields that
// are whole and fit them; every other byte of the body stays as written.
func TestWholeIntegers(t *testing.T) {
	type inner struct {
		Small int8   `json:"small"`
		Count uint   `json:"count"`
		Ptr   *int64 `json:"ptr"`
	}
	type doc struct {
		N     int             `json:"n"`
		Rate  float64         `json:"rate"`
		Name  string          `json:"name"`
		Any   any             `json:"any"`
		Body  json.RawMessage `json:"body"`
		Inner []inner         `json:"inner"`
		ByKey map[string]int  `json:"by_key"`
	}
	for _, c := range []struct{ in, want string }{
		{`{"n": 5.0 , "rate":5.0}`, `{"n": 5 , "rate":5.0}`},
		{`{"n":-1e3,"name":"1.0e3","any":2.0,"body":{"n":3.0}}`, `{"n":-1000,"name":"1.0e3","any":2.0,"body":{"n":3.0}}`},
		{`{"inner":[{"small":1.27e2,"count":0.0,"ptr":9e0},{"small":1.28e2,"count":-1.0}]}`,
			`{"inner":[{"small":127,"count":0,"ptr":9},{"small":1.28e2,"count":-1.0}]}`},
		{`{"by_key":{"a":1e1,"b":1.5}}`, `{"by_key":{"a":10,"b":1.5}}`},
		{`{"unknown":{"n":5.0},"n":5.0}`, `{"unknown":{"n":5.0},"n":5}`},
		{`{"n":5.5,"rate":1e-3}`, `{"n":5.5,"rate":1e-3}`},
		{`{"n":5.0,}`, `{"n":5.0,}`}, // no JSON: its error's offset is the body's
		{`{"n":5.0} {"n":5.0}`, `{"n":5} {"n":5.0}`},
	} {
		if got := string(wholeIntegers([]byte(c.in), &doc{})); got != c.want {
			t.Errorf("wholeIntegers(%s) = %s; want %s", c.in, got, c.want)
		}
	}
}
