package server

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"smsim/gateway"
	"smsim/simulator/core"
)

// The plain forms of what requestBody reads, a parse each: its journal
// copy, its "phone" as a handler decodes it, and the numbers it names
// (namedPhones of the body as it is decoded alone). requestBody must answer
// as they do, from one compaction and one decoding, and read the body only
// when what is asked can be in it.

func plainJournal(b []byte) (json.RawMessage, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, false
	}
	if len(b) <= core.JournalBodyMax && json.Valid(b) && core.CheckUTF8(b) == nil { // what a strict reader takes
		var c bytes.Buffer
		if json.Compact(&c, b) == nil {
			return c.Bytes(), false
		}
	}
	cut := len(b) > core.JournalBodyMax
	if cut {
		b = b[:core.JournalBodyMax]
	}
	s, _ := json.Marshal(strings.ToValidUTF8(string(b), "\uFFFD"))
	return s, cut
}

func plainPhone(body []byte) string {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	phone, _ := doc["phone"].(string) // the key exactly, as core.DecodeStrict reads it
	if phone == "" {
		return ""
	}
	if p, err := gateway.NormalizePhone("phone", phone); err == nil {
		return p
	}
	return phone
}

func plainPhones(pathPhone string, body []byte) []string {
	var out []string
	if pathPhone != "" {
		out = addPhone(out, pathPhone)
	}
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return out
	}
	return namedPhones(out, doc)
}

// checkRequestBody fails t where requestBody reads body otherwise than
// the plain forms, asked in the order given (each order decodes at a
// different moment).
func checkRequestBody(t *testing.T, pathPhone string, body []byte, phoneFirst bool) {
	t.Helper()
	b := readBody(body)
	var phone string
	if phoneFirst {
		phone = b.phone()
	}
	j, cut := b.journal()
	phones := b.phones(pathPhone)
	if !phoneFirst {
		phone = b.phone()
	}
	wantJ, wantCut := plainJournal(body)
	if !bytes.Equal(j, wantJ) || cut != wantCut {
		t.Errorf("%q: journal %s (cut %v), want %s (cut %v)", body, j, cut, wantJ, wantCut)
	}
	if want := plainPhone(body); phone != want {
		t.Errorf("%q: phone %q, want %q", body, phone, want)
	}
	if want := plainPhones(pathPhone, body); !slices.Equal(phones, want) {
		t.Errorf("%q: phones %q, want %q", body, phones, want)
	}
}

// nestedBodies are bodies whose numbers lie deeper than their own
// "phone", or are given twice, or hide among strings: read without decoding
// (scanPhones), each must name what the decoded body names.
var nestedBodies = []string{
	`{"b":{"phone":"13800000001"},"a":{"phone":"13800000002"}}`,
	`{"a":[{"phone":"13800000001"},{"phone":"13800000002"}],"phone":"13800000003"}`,
	`[[{"phone":"13800000001","x":{"phone":"13800000002"}}]]`,
	`{"a":{"b":[{"phone":"13800000001"}]}}`,
	`{"x":{"phone":"13800000001"},"x":{"phone":"13800000002"}}`,
	`{"phone":"13800000001","phone":5}`,
	`{"a":{"ph\u006fne":"13800000001"},"b":{"phone":"13800000001"}}`,
	`{"a":"\"phone\":\"13800000009\"","phone":"13800000001"}`,
	`{"a\"b":{"phone":"13800000001"},"a":[1,-2.5e3,true,null,"]}",{}]}`,
	`{"a":{},"b":[],"c":{"d":{}},"phone":"13800000001"}`,
}

func TestRequestBodyReadsAsThePlainForms(t *testing.T) {
	long := `{"phone":"13800000001","note":"` + strings.Repeat("x", core.JournalBodyMax) + `"}`
	cases := []string{
		``,
		`   `,
		`{"code":"123456","phone":"13800000001","certificate_last6":"071234"}`,
		` { "phone" : "+86 138-0000-0001" } `,
		`{"phone":"13800000001","phone":"13900000002"}`,
		`{"Phone":"13800000001"}`,
		`{"phone":"13800000001","PHONE":"13900000002"}`,
		`{"PHONE":"13900000002","phone":"13800000001"}`,
		`{"ph\u006fne":"13800000001"}`,
		`{"phone":12345}`,
		`{"phone":null}`,
		`{"phone":""}`,
		`{"type":"first_filing","entity_leader":{"name":"Li Lei","phone":"13800000001"},"website_admin":{"phone":"13800000002"}}`,
		`{"entity_leader":{"phone":"13800000001","new_phone":"13900000001"},"website_admin":{"phone":"13800000001"}}`,
		`[{"phone":"13800000001"},{"phone":"13800000002"}]`,
		`{"a":{"b":{"phone":"13800000001"}}}`,
		`not json "phone"`,
		`{"phone":"13800000001"`,
		`42`,
		`"phone"`,
		"{\"phone\":\"\xff\xfe\"}",
		long,
		long[:len(long)-1],
	}
	for _, body := range append(cases, nestedBodies...) {
		for _, first := range []bool{true, false} {
			checkRequestBody(t, "", []byte(body), first)
			checkRequestBody(t, "13700000001", []byte(body), first)
		}
	}
}

func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{
		`{"code":"123456","phone":"13800000001","certificate_last6":"071234"}`,
		`{"PHONE":"1","phone":"13800000001"}`,
		`{"entity_leader":{"phone":"13800000001"}}`,
		`[{"phone":"x"}]`,
		`{"ph\u006Fne":"13800000001"}`,
	} {
		f.Add(s, "", true)
	}
	for _, s := range nestedBodies {
		f.Add(s, "", true)
	}
	f.Fuzz(func(t *testing.T, body, pathPhone string, phoneFirst bool) {
		checkRequestBody(t, pathPhone, []byte(body), phoneFirst)
	})
}

// BenchmarkRequestBody is what apiCall reads of a request's body, for
// api_faults and the journal: once, as requestBody reads it, against the
// plain forms, a parse each.
func BenchmarkRequestBody(b *testing.B) {
	for _, c := range []struct{ name, body string }{
		{"validation", `{"code":"123456","phone":"13800000001","certificate_last6":"071234"}`},
		{"submission", `{"type":"first_filing","variant":"website","entity_leader":{"name":"Li Lei","phone":"13800000001","certificate_number":"110101199003071234"},"website_admin":{"name":"Han Meimei","phone":"13800000002","certificate_number":"110101199204151234"}}`},
		{"clock", `{"paused":true}`},
	} {
		body := []byte(c.body)
		b.Run(c.name+"/once", func(b *testing.B) {
			for b.Loop() {
				r := readBody(body)
				r.phone()
				r.journal()
				r.phones("")
			}
		})
		b.Run(c.name+"/plain", func(b *testing.B) {
			for b.Loop() {
				plainPhone(body)
				plainJournal(body)
				plainPhones("", body)
			}
		})
	}
}
