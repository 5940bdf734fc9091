package core_test

import (
	"strings"
	"testing"

	"smsim/simulator/core"
)

// An unknown field is named as it is when it is a plain name, else quoted,
// so that the detail always names it: an empty key included.
func TestDecodeStrictNamesUnknownFields(t *testing.T) {
	for body, detail := range map[string]string{
		`{"priority":1}`:                        "priority: unknown field",
		`{"x-trace_id2":1}`:                     "x-trace_id2: unknown field",
		`{"":1}`:                                `"": unknown field`,
		`{"a b":1}`:                             `"a b": unknown field`,
		`{"say \"hi\"":1}`:                      `"say \"hi\"": unknown field`,
		`{"名字":1}`:                              `"名字": unknown field`,
		`{"by":"1h","x":{"nested":[1,2]}}`:      "x: unknown field",
		`{"by":"1h","by":"2h","then":"\u00e9"}`: "then: unknown field",
	} {
		var v struct {
			By string `json:"by"`
		}
		err := core.DecodeStrict(strings.NewReader(body), &v)
		if e, ok := err.(*core.Error); !ok || e.Code != 400 || e.Detail != detail {
			t.Errorf("%s: %v, want a 400 %q", body, err, detail)
		}
	}
}
