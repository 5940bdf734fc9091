package core

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// checkEntryJSON fails t where the journal's own encoding of e is not what
// encoding/json writes: the same bytes, or, where e's body or answer holds
// <, > or & (which encoding/json escapes inside them), the same entry once
// read back and written again by encoding/json, as the API answers it. An
// entry the encoding leaves to encoding/json must be one of those it
// names.
func checkEntryJSON(t *testing.T, e JournalEntry) {
	t.Helper()
	want, err := json.Marshal(e)
	got, ok := e.appendJSON(nil)
	if !ok {
		if e.Fault == nil && jsonYear(e.At) && jsonYear(e.RealAt) {
			t.Fatalf("%+v: left to encoding/json", e)
		}
		return
	}
	if err != nil {
		t.Fatalf("%+v: written (%s) where encoding/json refuses it: %v", e, got, err)
	}
	if !bytes.ContainsAny(e.Body, "<>&") && !bytes.ContainsAny(e.Answer, "<>&") {
		if !bytes.Equal(got, want) {
			t.Fatalf("wrote\n%s\nwant\n%s", got, want)
		}
		return
	}
	var a, b JournalEntry
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	json.Unmarshal(want, &b)
	// The API writes an entry read back with encoding/json, which escapes
	// them then: what a client is answered is the same.
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if !bytes.Equal(ga, gb) {
		t.Fatalf("read back and written again\n%s\nwant\n%s", ga, gb)
	}
}

func TestJournalEntryJSON(t *testing.T) {
	at := time.Date(2026, 5, 1, 0, 0, 0, 123456789, time.UTC)
	full := JournalEntry{ID: "req-1", Method: "POST", Route: "POST /miit/v1/validations", Path: "/miit/v1/validations",
		Query: "lang=zh&x=<1>", Body: json.RawMessage(`{"code":"123456","phone":"13800000001"}`), Status: 200,
		Answer: json.RawMessage(`{"result":"complete"}`), At: at, RealAt: at.Add(time.Hour), Took: "1.2ms",
		Phones: []string{"13800000001", "13800000002"}, Order: "f_1", Truncated: true}
	for _, e := range []JournalEntry{
		{},
		full,
		{ID: "a\"b\\c\n\u2028", Method: "GET", Path: "/phones/v1/1/messages", Status: 0, At: at, RealAt: at, Took: "0s"},
		{Body: json.RawMessage(`"<script>&amp;"`), Answer: json.RawMessage(`{"detail":"a <b> & c"}`), At: at},
		{Body: json.RawMessage("\"\xff\""), At: time.Unix(0, 0).UTC()},
		{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{At: at.In(time.FixedZone("CST", 8*3600))},
		{Fault: &AppliedFault{Call: 3, Status: 503}, At: at},
	} {
		checkEntryJSON(t, e)
	}
}

func FuzzJournalEntryJSON(f *testing.F) {
	f.Add("req-1", "POST /miit/v1/validations", "lang=zh", `{"phone":"13800000001"}`, 200, `{"result":"complete"}`,
		int64(1777593600000), "13800000001", "f_1", true)
	f.Add("", "", "", "", 0, "", int64(0), "", "", false)
	f.Fuzz(func(t *testing.T, id, route, query, body string, status int, answer string, ms int64, phone, order string, cut bool) {
		raw := func(s string) json.RawMessage {
			if s == "" {
				return nil
			}
			var c bytes.Buffer
			if json.Compact(&c, []byte(s)) == nil {
				return c.Bytes()
			}
			q, _ := json.Marshal(s) // as the journal keeps a body that is no JSON
			return q
		}
		at := time.UnixMilli(max(ms, 0) % MaxTime().UnixMilli()).UTC()
		e := JournalEntry{ID: id, Method: "POST", Route: route, Path: route, Query: query, Body: raw(body), Status: status,
			Answer: raw(answer), At: at, RealAt: at, Took: "1ms", Order: order, Truncated: cut}
		if phone != "" {
			e.Phones = []string{phone, phone + "0"}
		}
		checkEntryJSON(t, e)
	})
}
