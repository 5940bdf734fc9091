package core_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

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
		// the index of an array on the way is named
		`{"list":[{"n":1},{"n":"2"}]}`:                    "list[1].n: expected a whole number, got a JSON string",
		`{"inner":{"list":[{"n":1}],"deep":[[1],["x"]]}}`: "inner.deep[1][0]: expected a whole number, got a JSON string",
		`{"tags":["a",2]}`:                                "tags[1]: expected a string, got a JSON number",
		`{"name":"x","list":[{"n":true}]}`:                "list[0].n: expected a whole number, got a JSON bool",
	} {
		var v struct {
			Limit int      `json:"limit"`
			Rate  float64  `json:"rate"`
			Name  string   `json:"name"`
			On    bool     `json:"on"`
			Tags  []string `json:"tags"`
			Inner struct {
				A    int               `json:"a"`
				List []struct{ N int } `json:"list"`
				Deep [][]int           `json:"deep"`
			} `json:"inner"`
			List []struct {
				N int `json:"n"`
			} `json:"list"`
		}
		err := core.DecodeStrict(strings.NewReader(body), &v)
		if e, ok := err.(*core.Error); !ok || e.Code != 400 || e.Detail != detail {
			t.Errorf("%s: %v, want a 400 %q", body, err, detail)
		}
	}
}

// A key is a field's name exactly: one that names it but for its case is
// refused (encoding/json would take it, the last of two winning), and an
// unknown key inside an object is named by its path. The keys of a map are
// free.
func TestDecodeStrictKeysAreExactAndNamedByPath(t *testing.T) {
	type person struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
	}
	type request struct {
		To     string            `json:"to"`
		Leader *person           `json:"entity_leader"`
		People []person          `json:"people"`
		Texts  map[string]string `json:"texts"`
		At     time.Time         `json:"at"`
	}
	for body, detail := range map[string]string{
		`{"To":"13800000001"}`:                        "To: unknown field; the field is to",
		`{"to":"13800000001","To":"13900000002"}`:     "To: unknown field; the field is to",
		`{"entity_leader":{"Phone":"13800000001"}}`:   "entity_leader.Phone: unknown field; the field is phone",
		`{"entity_leader":{"phon":"13800000001"}}`:    "entity_leader.phon: unknown field",
		`{"people":[{"name":"a"},{"nmae":"b"}]}`:      "people[1].nmae: unknown field",
		`{"people":[{"name":"a"},{"N\u0061me":"b"}]}`: "people[1].Name: unknown field; the field is name",
		`{"texts":{"SMS":"x"},"Texts":{}}`:            "Texts: unknown field; the field is texts",
	} {
		var v request
		err := core.DecodeStrict(strings.NewReader(body), &v)
		if e, ok := err.(*core.Error); !ok || e.Code != 400 || e.Detail != detail {
			t.Errorf("%s: %v, want a 400 %q", body, err, detail)
		}
	}
	var v request
	body := `{"to":"13800000001","entity_leader":{"name":"Li Lei","phone":"13800000001"},"texts":{"SMS_CODE":"x","Aa":"y"},"at":"2026-05-01T00:00:00Z"}`
	if err := core.DecodeStrict(strings.NewReader(body), &v); err != nil || v.Texts["SMS_CODE"] != "x" || v.Leader.Name != "Li Lei" {
		t.Errorf("%s: %v, %+v", body, err, v)
	}
}

// A whole number past a field's range is refused as out of range, however
// large its exponent, without making the number whole: the refusal of a
// 30-byte body costs no hundreds of megabytes.
func TestDecodeStrictRefusesAHugeExponentCheaply(t *testing.T) {
	var v struct {
		N int64 `json:"n"`
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := core.DecodeStrictBytes([]byte(`{"n":1e600000000}`), &v)
	runtime.ReadMemStats(&after)
	const want = "n: 1e600000000 is out of range; expected a whole number from -9223372036854775808 to 9223372036854775807"
	if e, ok := err.(*core.Error); !ok || e.Detail != want {
		t.Fatalf("decode: %v, want %q", err, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("refusing the number allocated %d MB", alloc>>20)
	}
}

// A body nested deep, with a number written 5.0 where a whole number is
// due, costs memory in proportion to its size: deeper than the decoder
// reads, it is refused as it is; within that, reading where its numbers go
// keeps no text of each level's path. The refusal of one 64 KiB body once
// allocated gigabytes.
func TestDecodeStrictReadsADeepBodyCheaply(t *testing.T) {
	var v struct {
		Count int `json:"count"`
	}
	deeper := (`{"count":1.0,"x":` + strings.Repeat("[", 70_000))[:64<<10]
	within := `{"count":1.0,"x":` + strings.Repeat("[", 9_999) + strings.Repeat("]", 9_999) + `}`
	deepAfter := `{"count":5.0}` + strings.Repeat("[", 10_001)
	for _, c := range []struct{ name, body, want string }{
		{"deep after its value", deepAfter, "body: holds more than one JSON value"},
		{"deeper than the decoder reads", deeper, "body: not valid JSON at byte 10017: invalid character '[' exceeded max depth"},
		{"within it", within, "x: unknown field"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := core.DecodeStrictBytes([]byte(c.body), &v)
		runtime.ReadMemStats(&after)
		if e, ok := err.(*core.Error); !ok || e.Detail != c.want {
			t.Errorf("%s: decode: %v, want %q", c.name, err, c.want)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("%s: decoding %d KiB allocated %d MB", c.name, len(c.body)>>10, alloc>>20)
		}
	}
}
