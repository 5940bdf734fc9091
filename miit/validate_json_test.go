package miit

import (
	"encoding/json"
	"testing"

	"smsim/simulator/core"
)

// The arguments of a validation are written without encoding/json's
// reflection (core.Appender), and byte for byte as encoding/json writes
// them: what the script reads is the same.
func TestValidateArgsAsEncodingJSONWritesThem(t *testing.T) {
	odd := "\xff\xfe invalid, 中文, \t\n\r\b\f, </script> \u2028 \"quoted\" \\ \x01"
	for name, a := range map[string]validateArgs{
		"zero": {},
		"none of the number's": {Expect: core.Expect{Sim: "1", Real: "2", Scale: "1", Paused: "0", Faults: "abc", Mirrored: true},
			Bounds: core.Bounds{Retain: 1, Live: 2, InboxMax: 3, Scale: 86400, Unheard: true},
			Phone:  "13800000001", Last6: "12345X", Code: "123456", Now: 1796604127000, Orders: []validateOrder{}},
		"orders": {Expect: core.Expect{Sim: odd}, Bounds: core.Bounds{Scale: 1e-7}, Phone: odd, Last6: odd, Code: odd, Now: -5,
			Orders: []validateOrder{
				{ID: "f_1", ValidatedLag: 132209, UnderReviewLag: 174000, RejectedLag: 121805, ReviewTime: 723562710},
				{ID: odd, ValidatedLag: -1},
				{},
			},
			Spurious: true, Magic: true},
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
