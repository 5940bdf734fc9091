package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// The fuzz targets of the gateway's parsers. Each seed corpus, under
// testdata/fuzz/<target>, runs with every go test; go test -fuzz looks
// further.

var normalized = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

func FuzzNormalizePhone(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p, err := NormalizePhone("to", s)
		if err != nil {
			testkit.WantRefusal(t, err, "to")
			return
		}
		if !normalized.MatchString(p) || !strings.HasSuffix(s, p) || len(s)-len(p) > 3 {
			t.Fatalf("%q read as %q", s, p)
		}
		for _, again := range []string{p, "+86" + p, "86" + p} {
			if q, err := NormalizePhone("to", again); err != nil || q != p {
				t.Fatalf("%q read as %q, and %q as %q, %v", s, p, again, q, err)
			}
		}
	})
}

func FuzzParseProfile(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseProfile(body)
		if err != nil {
			testkit.WantRefusal(t, err)
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal %+v: %v", p, err)
		}
		again, err := ParseProfile(b)
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("%s read as %+v, written %s, read back as %+v, %v", body, p, b, again, err)
		}
	})
}

// A fault script as PUT /phones/v1/{phone}/script reads it: what is
// accepted is stored one item a message, and reads back as steps that
// store the same items.
func FuzzScript(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var sc Script
		if err := core.DecodeStrict(bytes.NewReader(body), &sc); err != nil {
			testkit.WantRefusal(t, err)
			return
		}
		items, err := sc.items()
		if err != nil {
			testkit.WantRefusal(t, err, "steps")
			return
		}
		if len(items) > MaxScriptMessages {
			t.Fatalf("%s: %d messages", body, len(items))
		}
		back := scriptOf(items)
		n := 0
		for _, st := range back.Steps {
			n += st.Count
		}
		again, err := back.items()
		if err != nil || !slices.Equal(again, items) || n != len(items) {
			t.Fatalf("%s stored as %q, read back as %+v (%d messages), stored again as %q, %v", body, items, back, n, again, err)
		}
	})
}

// A trail is written as encoding/json writes it, byte for byte, whatever
// its steps and details hold; given to a script, as a JSON string of that.
func FuzzTrailJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, ms int64, step, detail string) {
		ms %= core.MaxTime().UnixMilli() // a simulated time: from 1970 to core.MaxTime
		if ms < 0 {
			ms = -ms
		}
		at := time.UnixMilli(ms).UTC()
		for _, tr := range []trail{nil, {}, {{At: at, Step: step, Detail: detail}, {At: at.Add(time.Second), Step: detail, Detail: step}}} {
			want, err := json.Marshal(tr)
			if err != nil {
				t.Fatalf("encoding/json refuses %v: %v", tr, err)
			}
			if got := tr.json(); got != string(want) {
				t.Fatalf("trail %#v written\n%s\nencoding/json writes\n%s", tr, got, want)
			}
			text, _ := json.Marshal(string(want))
			if got, err := json.Marshal(trailText(tr)); err != nil || !bytes.Equal(got, text) {
				t.Fatalf("trail %#v as a script's argument\n%s, %v\nwant\n%s", tr, got, err, text)
			}
		}
	})
}

// The code in a body is what the regular expression of its definition
// finds: the first run of exactly six digits that stands as a word.
func FuzzCodeIn(f *testing.F) {
	def := regexp.MustCompile(`(^|[^0-9A-Za-z_])([0-9]{6})([^0-9A-Za-z_]|$)`)
	f.Fuzz(func(t *testing.T, body string) {
		want := ""
		if m := def.FindStringSubmatch(body); m != nil {
			want = m[2]
		}
		if got := CodeIn(body); got != want {
			t.Fatalf("CodeIn(%q) = %q, want %q", body, got, want)
		}
	})
}
