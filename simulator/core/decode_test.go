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

// A value of the wrong type is named with what the field takes: a whole
// number where a fraction came, too.
func TestDecodeStrictNamesWhatAFieldTakes(t *testing.T) {
	for body, detail := range map[string]string{
		`{"limit":1.5}`:    "limit: expected a whole number, got a JSON number 1.5",
		`{"limit":"3"}`:    "limit: expected a whole number, got a JSON string",
		`{"rate":"x"}`:     "rate: expected a number, got a JSON string",
		`{"name":7}`:       "name: expected a string, got a JSON number",
		`{"on":"yes"}`:     "on: expected true or false, got a JSON string",
		`{"tags":{"a":1}}`: "tags: expected an array, got a JSON object",
		`{"inner":[1]}`:    "inner: expected an object, got a JSON array",
		`[]`:               "body: expected a JSON object",
	} {
		var v struct {
			Limit int             `json:"limit"`
			Rate  float64         `json:"rate"`
			Name  string          `json:"name"`
			On    bool            `json:"on"`
			Tags  []string        `json:"tags"`
			Inner struct{ A int } `json:"inner"`
		}
		err := core.DecodeStrict(strings.NewReader(body), &v)
		if e, ok := err.(*core.Error); !ok || e.Code != 400 || e.Detail != detail {
			t.Errorf("%s: %v, want a 400 %q", body, err, detail)
		}
	}
}
