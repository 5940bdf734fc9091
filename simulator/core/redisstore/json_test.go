package redisstore

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	luajson "github.com/alicebob/miniredis/v2/gopher-json"
	lua "github.com/yuin/gopher-lua"
)

// dump writes a Lua value with its tables' keys sorted, so that two
// values built in different orders compare equal.
func dump(v lua.LValue) string {
	t, ok := v.(*lua.LTable)
	if !ok {
		if n, ok := v.(lua.LNumber); ok {
			return fmt.Sprintf("%T(%v,%v)", v, n, math.Signbit(float64(n)))
		}
		return fmt.Sprintf("%T(%q)", v, v.String())
	}
	var fields []string
	t.ForEach(func(k, v lua.LValue) { fields = append(fields, dump(k)+"="+dump(v)) })
	slices.Sort(fields)
	return "{" + strings.Join(fields, ",") + "}"
}

// jsonSeeds are texts the scripts are passed, and the edges of JSON.
var jsonSeeds = []string{
	`{"bounds":{"live":604800000,"retain":86400000,"inbox":1000,"scale":1},"expect":{"sim":"1777593600000","real":"1","scale":"1","paused":"1","faults":""},"phone":"13800000001","orders":[{"id":"f_1","n":2}],"magic":false}`,
	`[1,"two",[],{},true,false,null,-0,0.5,1e21,1E-7,123456789012345678]`,
	`{"a":null}`, `{"a":1,"a":2}`, `{"a":{"b":{"c":[1,[2,[3]]]}}}`,
	`"plain"`, `"esc\"aped\\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800"`, "\"raw é \xff\"", `"<&>"`,
	`01`, `-`, `1.`, `1e`, `.5`, `+1`, `1e400`, `-1e-400`, `[1,]`, `{"a" 1}`, `{"a":1,}`, `{a:1}`, `nul`, `tru`,
	" \t\r\n[ 1 ,\n2 ] ", `[1] x`, ``, `{}`, `[]`, strings.Repeat("[", 100) + strings.Repeat("]", 100),
}

// The fast cjson decodes every text as gopher-json decodes it — the same
// value, or the same error — and encodes what it decoded the same way.
func FuzzJSONDecodeMatchesGopherJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	l := lua.NewState()
	defer l.Close()
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := decodeJSON(l, s)
		want, wantErr := luajson.Decode(l, []byte(s))
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("decode %q: error %v, gopher-json's %v", s, gotErr, wantErr)
		}
		if wantErr != nil {
			return
		}
		if dump(got) != dump(want) {
			t.Fatalf("decode %q:\n  %s\n  gopher-json: %s", s, dump(got), dump(want))
		}
		b, ok := appendJSON(nil, want, 0)
		wb, werr := luajson.Encode(want)
		if ok && (werr != nil || string(b) != string(wb)) {
			t.Fatalf("encode of %q: %s, gopher-json's %s (%v)", s, b, wb, werr)
		}
	})
}

// What the scripts decode and encode takes the fast path, not
// gopher-json's: their arguments, and strings with escapes (an order's
// people, written as JSON into a field) or beyond ASCII (a text's body).
func TestJSONFastPath(t *testing.T) {
	l := lua.NewState()
	defer l.Close()
	for _, s := range []string{
		jsonSeeds[0],
		`{"people":"{\"entity_leader\":{\"name\":\"李雷\"}}","body":"【ICP备案】验证码 123456 – \u00e9\n"}`,
	} {
		d := jsonDecoder{l: l, s: s}
		v, ok := d.value(0)
		if !ok || d.i != len(s) {
			t.Fatalf("%s: left the fast path at %d", s, d.i)
		}
		if want, _ := luajson.Decode(l, []byte(s)); dump(v) != dump(want) {
			t.Fatalf("%s: decoded %s, gopher-json %s", s, dump(v), dump(want))
		}
		b, ok := appendJSON(nil, v, 0)
		if !ok {
			t.Fatalf("%s: encoding it left the fast path", s)
		}
		if want, _ := luajson.Encode(v); string(b) != string(want) {
			t.Errorf("encoded %s, gopher-json %s", b, want)
		}
	}
}

// BenchmarkJSON decodes a script's arguments and encodes them again, with
// the fast cjson and with gopher-json, in the same run.
func BenchmarkJSON(b *testing.B) {
	l := lua.NewState()
	defer l.Close()
	s := jsonSeeds[0]
	b.Run("codec=fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, _ := decodeJSON(l, s)
			appendJSON(nil, v, 0)
		}
	})
	b.Run("codec=gopher-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, _ := luajson.Decode(l, []byte(s))
			luajson.Encode(v)
		}
	})
}
