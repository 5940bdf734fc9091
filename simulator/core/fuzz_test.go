package core_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// The fuzz targets of the ground's decoders and parsers. Each seed corpus,
// under testdata/fuzz/<target>, runs with every go test; go test -fuzz
// looks further.

func FuzzCheckUTF8(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		err := core.CheckUTF8(body)
		if err != nil {
			testkit.WantRefusal(t, err)
			if d := err.(*core.Error).Detail; !strings.Contains(d, "not valid UTF-8") {
				t.Fatalf("detail %q", d)
			}
			return
		}
		if !json.Valid(body) {
			return // the decoder's to refuse
		}
		if !utf8.Valid(body) {
			t.Fatalf("%q: bad UTF-8 in a JSON document passed", body)
		}
		// Nothing that passed turns into U+FFFD on decoding: every U+FFFD
		// decoded was written as one.
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return // deeper than the decoder goes
		}
		written := bytes.Count(body, []byte("\uFFFD")) + bytes.Count(bytes.ToLower(body), []byte(`\ufffd`))
		if got := strings.Count(string(mustMarshal(t, v)), "\uFFFD"); got > written {
			t.Fatalf("%q passed, and decodes to %d U+FFFD where %d were written", body, got, written)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return b
}

// wantSameFaults fails unless the profile reads back as itself from its
// own JSON, and writes that JSON again.
func wantSameFaults(t *testing.T, f core.Faults) {
	t.Helper()
	b := mustMarshal(t, f)
	g, err := core.ParseFaults(b)
	if err != nil {
		t.Fatalf("the profile's own JSON is refused: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(f, g) {
		t.Fatalf("the profile reads back as another:\n%+v\n%+v\nfrom %s", f, g, b)
	}
	if b2 := mustMarshal(t, g); !bytes.Equal(b, b2) {
		t.Fatalf("the profile writes another JSON the second time:\n%s\n%s", b, b2)
	}
}

func FuzzParseFaults(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		faults, err := core.ParseFaults(body)
		if err != nil {
			testkit.WantRefusal(t, err)
			return
		}
		wantSameFaults(t, faults)
	})
}

// stored is a profile other than the start value, as the store holds it.
const stored = `{"sync_lag":{"model":"fixed","value":"10m"},"sms_delay":{"model":"lognormal","median":"2s","p99":"1m"},` +
	`"sender_delays":{"95187":{"model":"uniform","min":"1s","max":"3s"}},"drop_rate":0.1,` +
	`"outages":[{"carrier":"china_mobile","start":"2026-05-01T08:00:00Z","end":"2026-05-01T09:00:00Z","mode":"hold"}],` +
	`"throttles":[{"sender":"miit","limit":2,"per":"1m","mode":"refuse"}],"validation_window":"48h"}`

func FuzzFaultsPatch(f *testing.F) {
	base, err := core.ParseFaults([]byte(stored))
	if err != nil {
		f.Fatal(err)
	}
	bases := []string{"", string(mustJSONOf(f, base))}
	f.Fuzz(func(t *testing.T, patch []byte) {
		p, err := core.DecodePatch(patch)
		if err != nil {
			testkit.WantRefusal(t, err)
			return
		}
		for _, raw := range bases {
			got, err := core.ApplyPatch(raw, p)
			if err != nil {
				testkit.WantRefusal(t, err)
				continue
			}
			wantSameFaults(t, got)
			// A merge patch applied again changes nothing more.
			again, err := core.ApplyPatch(string(mustMarshal(t, got)), p)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("the patch applied twice: %+v, %v; once: %+v", again, err, got)
			}
			// The whole profile as a patch of the start value makes it.
			whole, err := core.DecodePatch(mustMarshal(t, got))
			if err != nil {
				t.Fatal(err)
			}
			if same, err := core.ApplyPatch("", whole); err != nil || !reflect.DeepEqual(same, got) {
				t.Fatalf("the whole profile as a patch: %+v, %v; want %+v", same, err, got)
			}
		}
	})
}

func mustJSONOf(f *testing.F, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzParseDuration(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := core.ParseDuration("by", s)
		if err != nil {
			testkit.WantRefusal(t, err, "by")
			return
		}
		if d < 0 || d > core.MaxDuration {
			t.Fatalf("%q read as %v, outside 0 to %v", s, d, core.MaxDuration)
		}
		if back, err := core.ParseDuration("by", core.FormatDuration(d)); err != nil || back != d {
			t.Fatalf("%q read as %v, written %q, read back as %v, %v", s, d, core.FormatDuration(d), back, err)
		}
	})
}

func FuzzDelay(f *testing.F) {
	f.Fuzz(func(t *testing.T, model, value, min, max, median, p99 string, seed int64) {
		w := core.DelayJSON{Model: model, Value: value, Min: min, Max: max, Median: median, P99: p99}
		d, err := w.Parse("sms_delay")
		if err != nil {
			testkit.WantRefusal(t, err, "sms_delay")
			return
		}
		if back, err := d.JSON().Parse("sms_delay"); err != nil || back != d {
			t.Fatalf("%+v read as %+v, written %+v, read back as %+v, %v", w, d, d.JSON(), back, err)
		}
		src := core.NewSeededSource(seed)
		for i := range 3 {
			x := d.Draw(src, "fuzz", strconv.Itoa(i))
			if x < 0 || x > core.MaxDuration || x%time.Millisecond != 0 {
				t.Fatalf("%s drew %v: not whole milliseconds from 0 to %v", d, x, core.MaxDuration)
			}
			switch {
			case d.IsZero() && x != 0:
				t.Fatalf("%s is always 0, drew %v", d, x)
			case d.Model == core.ModelFixed && x != d.Value.Truncate(time.Millisecond):
				t.Fatalf("%s drew %v", d, x)
			case d.Model == core.ModelUniform && (x < d.Min.Truncate(time.Millisecond) || x > d.Max):
				t.Fatalf("%s drew %v", d, x)
			}
		}
	})
}

func FuzzParseScenario(f *testing.F) {
	starts := []time.Time{time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), core.MaxTime()}
	f.Fuzz(func(t *testing.T, body []byte) {
		sc, err := core.ParseScenario(body)
		if err != nil {
			testkit.WantRefusal(t, err)
			return
		}
		b := mustMarshal(t, sc)
		again, err := core.ParseScenario(b)
		if err != nil {
			t.Fatalf("the scenario's own JSON is refused: %v\n%s", err, b)
		}
		if b2 := mustMarshal(t, again); !bytes.Equal(b, b2) {
			t.Fatalf("the scenario reads back as another:\n%s\n%s", b, b2)
		}
		for _, at := range starts {
			faults, err := sc.FaultsAt(at)
			if err != nil {
				testkit.WantRefusal(t, err, "faults", "outages")
				continue
			}
			wantSameFaults(t, faults)
		}
	})
}

func FuzzParseJob(f *testing.F) {
	f.Fuzz(func(t *testing.T, member string) {
		j, err := core.ParseJob(member)
		if err != nil {
			return // a stored form no smsim writes: the scheduler drops it
		}
		if j.Member() != member {
			t.Fatalf("%q read as a job whose stored form is %q", member, j.Member())
		}
		due := strings.Split(member, "|")[1]
		if strconv.FormatInt(j.Due.UnixMilli(), 10) != due {
			return // a due written otherwise than NewJob writes it ("+1", "01")
		}
		seq, err := strconv.ParseInt(j.Seq, 10, 64)
		if err != nil || fmt.Sprintf("%012d", seq) != j.Seq {
			return // a seq NewJob does not write
		}
		nj, err := core.NewJob(seq, j.Due, j.Kind, j.Args...)
		if err != nil || nj.Member() != member {
			t.Fatalf("%q read as %+v, written again as %q, %v", member, j, nj.Member(), err)
		}
	})
}

// What NewJob writes, ParseJob reads as it was, for every time the
// simulator has.
func FuzzNewJob(f *testing.F) {
	lo, hi := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), core.MaxTime().Add(core.MaxDuration*10).UnixMilli()
	f.Fuzz(func(t *testing.T, seq, dueMs int64, kind, arg string, args uint8) {
		due := time.UnixMilli(lo + int64(uint64(dueMs)%uint64(hi-lo+1))).UTC()
		var as []string
		for i := range int(args % 4) {
			as = append(as, arg+strconv.Itoa(i))
		}
		j, err := core.NewJob(seq, due, kind, as...)
		if err != nil {
			if !strings.Contains(kind+strings.Join(as, ""), "|") {
				t.Fatalf("NewJob(%d, %s, %q, %q): %v", seq, due, kind, as, err)
			}
			return
		}
		p, err := core.ParseJob(j.Member())
		if err != nil || p.Seq != j.Seq || !p.Due.Equal(due) || p.Kind != kind || strings.Join(p.Args, "\x00") != strings.Join(as, "\x00") || len(p.Args) != len(as) {
			t.Fatalf("NewJob(%d, %s, %q, %q) wrote %q, read as %+v, %v", seq, due, kind, as, j.Member(), p, err)
		}
	})
}

// Fill writes a template as strings.Replacer would with the same pairs.
func FuzzFill(f *testing.F) {
	f.Fuzz(func(t *testing.T, template, p1, v1, p2, v2 string) {
		if p1 == "" || p2 == "" {
			return // a placeholder is never empty
		}
		want := strings.NewReplacer(p1, v1, p2, v2).Replace(template)
		if got := core.Fill(template, p1, v1, p2, v2); got != want {
			t.Fatalf("core.Fill(%q, %q, %q, %q, %q) = %q, strings.Replacer writes %q", template, p1, v1, p2, v2, got, want)
		}
	})
}
