package gateway

import (
	"encoding/json"
	"testing"
	"time"

	"smsim/simulator/core"
)

// The arguments of a message sent and delivered at once are written
// without encoding/json's reflection (core.Appender), and byte for byte as
// encoding/json writes them: what the script reads is the same.
func TestSendNowArgsAsEncodingJSONWritesThem(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 2, 3, 4e6, time.UTC)
	tr := newTrail()
	tr.add(at, StepSent, "sent by %s to %s", "12381", "13800000001")
	tr.add(at, StepDelay, "the network holds it 0s <&> \u2028 \"quoted\" \\ \x01")
	full := newDelivery(tr, at, StatusDelivered, FolderInbox, "", Profile{InboxLimit: 3})
	blocked := newDelivery(tr, at, StatusBlocked, FolderBlocked, "spam", Profile{})
	odd := "\xff\xfe invalid, 中文, \t\n\r\b\f, </script>"
	for name, a := range map[string]sendNowArgs{
		"zero": {},
		"no messages": {Expect: core.Expect{Sim: "1", Real: "2", Scale: "1", Paused: "0", Faults: "abc"},
			Bounds: core.Bounds{Retain: 1, Live: 2, InboxMax: 3, Scale: 86400, Unheard: true}, Messages: []Outgoing{}},
		"odd scales": {Bounds: core.Bounds{Scale: 1e-7}, Messages: []Outgoing{{}}},
		"big scale":  {Bounds: core.Bounds{Scale: 3.5e21}},
		"small":      {Bounds: core.Bounds{Scale: 0.5}},
		"messages": {Expect: core.Expect{Sim: odd}, Bounds: core.Bounds{Scale: 1},
			Messages: []Outgoing{
				{ID: "m_1", Phone: "13800000001", Sender: "12381", Body: "[MIIT] 123456 " + odd, Code: "123456", SentAt: 1796604127000,
					Due: 1796604127000, DuplicateOf: "m_0", Profile: `{"reachable":true}`, Deliver: &full,
					Keys: outKeys{Msg: 7, Profile: 8, Script: 9, Folder: 10, Travelling: 11, Failed: 12}},
				{ID: "m_2", Trail: trailText(tr), Held: true, Due: -5},
				{ID: "m_3", Deliver: &blocked},
				{ID: "m_4", Deliver: &delivery{}},
			}},
	} {
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
