package core

import "testing"

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
