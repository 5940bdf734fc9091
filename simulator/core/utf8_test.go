package core_test

import (
	"strings"
	"testing"

	"smsim/simulator/core"
)

func TestCheckUTF8NamesTheFirstBadString(t *testing.T) {
	for _, c := range []struct {
		body   string
		detail string // "": accepted
	}{
		{`{"entity_leader":{"name":"Li Lei","phone":"13800000001"}}`, ""},
		{`{"name":"李雷 \u674e\u96f7 \ud83d\ude00 😀 \\ud800 \"\ud800"}`, `name: not valid UTF-8: \ud800 is half a surrogate pair`},
		{`{"name":"\\ud800 and \\udc00"}`, ""},         // escaped backslashes: no escape
		{`{"name":"\ufffd and ` + "\uFFFD" + `"}`, ""}, // U+FFFD itself is a character
		{`{"entity_leader":{"name":"Li ` + "\xff" + `Lei"}}`, "entity_leader.name: not valid UTF-8"},
		{`{"type":"first_filing","entity_leader":{"name":"ok","phone":"1380` + "\xc3" + `"}}`, "entity_leader.phone: not valid UTF-8"},
		{`{"steps":[{"action":"fail"},{"action":"d` + "\xe4\xb8" + `"}]}`, "steps[1].action: not valid UTF-8"},
		{`{"outages":[[["` + "\x80" + `"]]]}`, "outages[0][0][0]: not valid UTF-8"},
		{`{"sender_delays":{"95187":{"min":"1` + "\xed\xa0\x80" + `s"}}}`, "sender_delays.95187.min: not valid UTF-8"}, // a surrogate written in UTF-8
		{`{"a":"` + "\xf4\x90\x80\x80" + `"}`, "a: not valid UTF-8"},                                                   // past U+10FFFF
		{`{"a":"` + "\xc0\xaf" + `"}`, "a: not valid UTF-8"},                                                           // overlong
		{`{"a":"\udc00"}`, `a: not valid UTF-8: \udc00 is half a surrogate pair`},
		{`{"a":"\uD800\u0041"}`, `a: not valid UTF-8: \uD800 is half a surrogate pair`},
		{`{"a":"x\ud800"}`, `a: not valid UTF-8: \ud800 is half a surrogate pair`},
		{`{"a":"\ud800\udbff"}`, `a: not valid UTF-8: \ud800 is half a surrogate pair`},
		{`{"a":[1,true,null,{"b":-1.5e3}],"c":"` + "\xff" + `"}`, "c: not valid UTF-8"},
		{`{"na` + "\xff" + `me":"Li Lei"}`, "body: holds a key that is not valid UTF-8"},
		{`{"entity_leader":{"\udfff":1}}`, `entity_leader: holds a key that is not valid UTF-8: \udfff is half a surrogate pair`},
		{`{"":{"":["` + "\xff" + `"]}}`, ".[0]: not valid UTF-8"},
		{`["` + "\xff" + `"]`, "[0]: not valid UTF-8"},
		{`"` + "\xff" + `"`, "body: not valid UTF-8"},
		{`{"a":"` + "\xff", "a: not valid UTF-8"}, // unfinished, but bad before that
		// not JSON before the bad string: left to the decoder
		{`{"a" "` + "\xff" + `"}`, ""},
		{`{"a":"x` + "\n\xff" + `"}`, ""},
		{`{"a":1 "` + "\xff" + `"}`, ""},
		{"\xff", ""},
		{strings.Repeat("[", 20000) + `"` + "\xff" + `"`, ""}, // deeper than the decoder goes
	} {
		err := core.CheckUTF8([]byte(c.body))
		if c.detail == "" {
			if err != nil {
				t.Errorf("%q: %v, want nil", c.body, err)
			}
			continue
		}
		e, ok := err.(*core.Error)
		if !ok || e.Code != 400 || e.Detail != c.detail {
			t.Errorf("%q: %v, want a 400 %q", c.body, err, c.detail)
		}
	}
}

// DecodeStrict refuses a body with bad UTF-8 in a string instead of
// decoding U+FFFD; ParseFaults and ParseProfile, which write a body anew
// before they decode it, refuse it too.
func TestDecodersRefuseBadUTF8(t *testing.T) {
	var v struct {
		Name string `json:"name"`
	}
	err := core.DecodeStrict(strings.NewReader(`{"name":"Li `+"\xff"+`Lei"}`), &v)
	if e, ok := err.(*core.Error); !ok || e.Detail != "name: not valid UTF-8" || v.Name != "" {
		t.Errorf("DecodeStrict: %v, name %q", err, v.Name)
	}
	_, err = core.ParseFaults([]byte(`{"sync_lag":{"min":"1` + "\xff" + `m"}}`))
	if e, ok := err.(*core.Error); !ok || e.Detail != "sync_lag.min: not valid UTF-8" {
		t.Errorf("ParseFaults: %v", err)
	}
	_, err = core.ParseFaults([]byte(`{"outages":[{"carrier":"\udc01"}]}`))
	if e, ok := err.(*core.Error); !ok || e.Detail != `outages[0].carrier: not valid UTF-8: \udc01 is half a surrogate pair` {
		t.Errorf("ParseFaults: %v", err)
	}
	_, err = core.ParseScenario([]byte(`{"phones":{"13800000001":{"block_keywords":["` + "\xfe" + `"]}}}`))
	if e, ok := err.(*core.Error); !ok || e.Detail != "phones.13800000001.block_keywords[0]: not valid UTF-8" {
		t.Errorf("ParseScenario: %v", err)
	}
}
