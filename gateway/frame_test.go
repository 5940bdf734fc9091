package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"smsim/simulator/core"
)

// refDeliveredOf is deliveredOf as encoding/json reads the data: what
// deliveredOf must answer, whatever the data.
func refDeliveredOf(r core.Record) (Message, json.RawMessage, bool) {
	if r.Kind != core.KindSMSDelivered && r.Kind != core.KindSMSBlocked {
		return Message{}, nil, false
	}
	var d outcomeEvent
	if json.Unmarshal(r.Data, &d) != nil || d.ID == "" || d.Folder == "" {
		return Message{}, nil, false
	}
	m := Message{ID: d.ID, Phone: d.Phone, Sender: d.Sender, Body: d.Body, Code: d.Code, Status: d.Status,
		Folder: d.Folder, SentAt: msTime(d.SentAt)}
	at := msTime(d.DeliveredAt)
	m.DeliveredAt = &at
	m.Seq, _ = strconv.ParseInt(d.Seq, 10, 64)
	return m, d.Trail, true
}

// checkFrame fails t where what the feed makes of an event of kind with
// data differs from what encoding/json makes of it: the message and trail
// deliveredOf reads, the frame's JSON, its message in full, the key of the
// feed. What scanOutcome reads itself, encoding/json must read alike.
func checkFrame(t *testing.T, kind string, data []byte) {
	t.Helper()
	if d, ok := scanOutcome(data); ok {
		var want outcomeEvent
		if err := json.Unmarshal(data, &want); err != nil || !reflect.DeepEqual(d, want) {
			t.Fatalf("%q read as\n%#v\nencoding/json reads\n%#v, %v", data, d, want, err)
		}
	}
	r := core.Record{ID: "1-0", Kind: kind, Data: data}
	wm, wtrail, wok := refDeliveredOf(r)
	m, trail, ok := deliveredOf(r)
	if ok != wok || !reflect.DeepEqual(m, wm) || !bytes.Equal(trail, wtrail) {
		t.Fatalf("%s %q read as %v %#v, trail %q\nwant %v %#v, trail %q", kind, data, ok, m, trail, wok, wm, wtrail)
	}
	want, err := json.Marshal(wm.Phoned())
	wantFrame := wok && err == nil
	l := &core.Live{Record: r}
	fr, ok := PhoneFrame(l)
	if ok != wantFrame || ok && !bytes.Equal(fr.JSON, want) {
		t.Fatalf("%s %q: frame %v\n%s\nencoding/json writes %v\n%s", kind, data, ok, fr.JSON, wantFrame, want)
	}
	if ok && (!reflect.DeepEqual(fr.Message, wm) || !reflect.DeepEqual(fr.Full(), withTrail(wm, wtrail))) {
		t.Fatalf("%q: the frame's message %#v, in full %#v", data, fr.Message, fr.Full())
	}
	wantPhone := ""
	if wantFrame {
		wantPhone = wm.Phone
	} else if kind == core.KindSMSFailed {
		var e struct {
			Phone string `json:"phone"`
		}
		if json.Unmarshal(data, &e) == nil {
			wantPhone = e.Phone
		}
	}
	if got := PhoneOf(&core.Live{Record: r}); got != wantPhone {
		t.Fatalf("%s %q: PhoneOf %q, want %q", kind, data, got, wantPhone)
	}
}

// awkward is a message with what JSON and HTML escape, what is not UTF-8,
// and times encoding/json refuses to write.
type awkward struct {
	id, phone, sender, body, code, status, folder, reason string
	sent, delivered, seq                                  string
	trail                                                 string // JSON
}

func awkwardMessages() []awkward {
	plain := awkward{id: "m_2f2d30e02f9a9b00", phone: "13800000001", sender: "12381",
		body: "[MIIT] Your verification code is 123456. Enter it within 24 hours to validate ICP filing order f_a3da494e649ae0fa.",
		code: "123456", status: StatusDelivered, folder: FolderInbox, sent: "1796284232262", delivered: "1796284232300", seq: "7",
		trail: `[{"at":"2026-12-03T07:50:32.262Z","step":"sent","detail":"sent by 12381 to 13800000001"}]`}
	var long trail
	at := time.UnixMilli(1796284232262).UTC()
	for i := range 200 {
		long.add(at.Add(time.Duration(i)*time.Millisecond), StepDelay, "held <%d> & \"%d\" \u2028 \xff 验证码 😀", i, i)
	}
	with := func(f func(*awkward)) awkward {
		a := plain
		f(&a)
		return a
	}
	return []awkward{
		plain,
		with(func(a *awkward) { a.body = `say "hi" \ back\slash \\ \" \u0041 /path/ \/` }),
		with(func(a *awkward) { a.body = "ctl \x00\x01\x07\b\f\n\r\t\x1b\x1f\x7f end" }),
		with(func(a *awkward) { a.body, a.sender = "<script>alert('x')</script> & &amp; >", "<&>" }),
		with(func(a *awkward) { a.body = "line\u2028para\u2029 \u2027\u202a" }),
		with(func(a *awkward) { a.body = "bad \xff \xc3 \xe4\xb8 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf end\xe4" }),
		with(func(a *awkward) { a.body = "non-BMP 😀𝄞 \U0010ffff \ufffd \ufeff" }),
		with(func(a *awkward) {
			a.body, a.sender, a.code = "【工信部】验证码：246810，请在24小时内完成备案核验，详见 https://beian.miit.gov.cn/ 。", "106575000130", "246810"
		}),
		with(func(a *awkward) { a.code = "" }),
		with(func(a *awkward) { a.code, a.body = "", "" }),
		with(func(a *awkward) { a.status, a.folder = StatusBlocked, FolderBlocked }),
		with(func(a *awkward) { a.sender = "a\"b\\c\x01\xff\u2028<>&" }),
		with(func(a *awkward) { a.phone, a.id = "", "m_\"\\<>" }),
		with(func(a *awkward) { a.reason = "inbox_full \"<>\" \xff" }),
		with(func(a *awkward) { a.trail = long.json() }),
		with(func(a *awkward) { a.trail = `[]` }),
		with(func(a *awkward) { a.trail = `null` }),
		with(func(a *awkward) { a.trail = `"text \" \\ \u00e9"` }),
		with(func(a *awkward) { a.trail = `{"a":[1,-0,0.5,-1.25e+10,2E-3,true,false,null,{},[]],"b":{"c":""}}` }),
		with(func(a *awkward) { a.trail = `[{"at":"not a time","step":1,"detail":null}]` }),
		with(func(a *awkward) { a.trail = "[ 1 ,\t{ \"a\" :\r[ ]\n} , \"x\" , { } ]" }),
		with(func(a *awkward) { a.trail = `[0,-0,0.0,-0.0e-0,1E+2,123456789012345678901234567890,1e999]` }),
		with(func(a *awkward) { a.trail = strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) }),
		with(func(a *awkward) { a.trail = "" }), // none
		with(func(a *awkward) { a.sent, a.delivered, a.seq = "", "", "" }),
		with(func(a *awkward) { a.sent, a.delivered, a.seq = "-1", "0", "-7" }),
		with(func(a *awkward) { a.sent, a.delivered, a.seq = "x", "1.5", "7 " }),
		with(func(a *awkward) { a.seq = "99999999999999999999" }),
		with(func(a *awkward) { a.sent = "99999999999999999999" }),    // the year is past 9999: encoding/json writes no frame
		with(func(a *awkward) { a.delivered = "253402300800000" }),    // the year 10000
		with(func(a *awkward) { a.delivered = "253402300799999" }),    // the last moment of 9999
		with(func(a *awkward) { a.sent = "-62167219200000" }),         // the year 0
		with(func(a *awkward) { a.sent = "-62167219200001" }),         // the year -1
		with(func(a *awkward) { a.sent, a.delivered = "+5", "0005" }), // what strconv reads, and Lua never writes
		with(func(a *awkward) { a.id = "" }),
		with(func(a *awkward) { a.folder = "" }),
	}
}

// luaString writes s as Redis's cjson does: slashes and DEL escaped, the
// control characters as \b, \t, \n, \f, \r or \u00XX, and every other byte
// as it is, UTF-8 or not.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '/':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// escapedString writes s with every character but the letters and digits
// as \uXXXX (in capitals, a pair for one beyond the BMP), and each byte of
// invalid UTF-8 as it is.
func escapedString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteByte(s[i])
		case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04X\u%04X`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// field is one name and value (JSON) of an event's data.
type field struct{ name, value string }

func (a awkward) fields(str func(string) string) []field {
	fs := []field{{"id", str(a.id)}, {"phone", str(a.phone)}, {"sender", str(a.sender)}, {"body", str(a.body)},
		{"code", str(a.code)}, {"status", str(a.status)}, {"folder", str(a.folder)}, {"reason", str(a.reason)},
		{"sent_at_ms", str(a.sent)}, {"delivered_at_ms", str(a.delivered)}, {"seq", str(a.seq)}}
	if a.trail != "" {
		fs = append(fs, field{"trail", a.trail})
	}
	return fs
}

func object(fs []field, colon, comma string) []byte {
	var b strings.Builder
	b.WriteString("{")
	for i, f := range fs {
		if i > 0 {
			b.WriteString(comma)
		}
		b.WriteString(`"` + f.name + `"` + colon + f.value)
	}
	b.WriteString("}")
	return []byte(b.String())
}

// encodings answers the data of an event of a, written as the scripts
// write it and in other ways that are JSON all the same, or that are not.
// fast tells those that scanOutcome reads itself.
func (a awkward) encodings(rng *rand.Rand) (fast, other [][]byte) {
	lua := a.fields(luaString)
	goJSON := a.fields(func(s string) string { b, _ := json.Marshal(s); return string(b) })
	shuffled := append([]field(nil), lua...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	with := func(fs []field, more ...field) []field { return append(append([]field(nil), fs...), more...) }
	fast = [][]byte{
		object(lua, ":", ","),
		object(goJSON, ":", ","),
		object(shuffled, ":", ","),
		object(a.fields(escapedString), ":", ","),
		[]byte(" \t\r\n" + string(object(shuffled, " \n: \t", " ,\r\n ")) + "\n "),
		object(with([]field{{"id", `"first"`}, {"body", `"\u00e9"`}, {"trail", `[1]`}}, lua...), ":", ","), // the last of a name counts
		object(with(lua, field{"folder", `""`}), ":", ","),
		object(with(lua, field{"trail", `"\ud83d\ude00 \ud800 \udc00\ud800 \ud800\u0041"`}), ":", ","),
		[]byte(`{}`),
	}
	other = [][]byte{
		object(with(lua, field{"due_ms", `"5"`}, field{"x", `{"a":[1,2.5e3,true,null]}`}), ":", ","),
		object(with(lua, field{"seq", `7`}), ":", ","),
		object(with(lua, field{"sent_at_ms", `1796284232262`}), ":", ","),
		object(with(lua, field{"code", `null`}, field{"trail", `null`}), ":", ","),
		object(with(lua, field{"reason", `false`}), ":", ","),
		object(with(lua, field{"ID", `"upper"`}, field{"Folder", `"blocked"`}, field{"ſeq", `"9"`}), ":", ","),
		object(with(lua, field{`\u0069d`, `"escaped name"`}), ":", ","),
		object(with(lua, field{"trail", strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)}), ":", ","),
		object(with(lua, field{"trail", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)}), ":", ","),
		object(lua, ":", ",,"),
		append(object(lua, ":", ","), '}'),
		append(object(lua, ":", ","), "\x00"...),
		[]byte(`[` + string(object(lua, ":", ",")) + `]`),
		[]byte(`null`),
		[]byte(``),
		[]byte(`"{}"`),
	}
	for _, bad := range []string{`[01]`, `[-01]`, `[1.]`, `[.5]`, `[+1]`, `[-]`, `[1e]`, `[1e+]`, `[1e.5]`, `[1.5.2]`, `[0x1]`,
		`[tru]`, `[nul]`, `[True]`, `["\x"]`, `["\u12"]`, `["\u12g4"]`, "[\"\t\"]", `{"a" 1}`, `{a:1}`, `[1,]`, `{"a":1,}`,
		`[1 2]`, `[`, `{`, `{"a"`, `"`, `}`, `["\"]`, `[1]]`, `[]]`, `[{]`, `[,1]`, `{,}`, `{"a":}`, "[1\v]"} {
		other = append(other, object(with(lua, field{"trail", bad}), ":", ","))
	}
	return fast, other
}

// What the feed makes of an event is what encoding/json makes of it, for
// awkward messages written in every way, however the data is damaged; and
// the ways the scripts write it are read without encoding/json.
func TestFrameAsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i, a := range awkwardMessages() {
		fast, other := a.encodings(rng)
		for j, data := range append(fast, other...) {
			if _, ok := scanOutcome(data); ok != (j < len(fast)) {
				t.Errorf("message %d, encoding %d: read without encoding/json: %v\n%q", i, j, ok, data)
			}
			for _, kind := range []string{core.KindSMSDelivered, core.KindSMSBlocked, core.KindSMSFailed, core.KindSMSSent} {
				checkFrame(t, kind, data)
			}
		}
		if i == 0 || i == 1 || i == 5 {
			damage(t, fast[0])
			damage(t, fast[3])
		}
	}
}

// damage checks data damaged in every way by one byte, and cut short.
func damage(t *testing.T, data []byte) {
	t.Helper()
	for k := range data {
		checkFrame(t, core.KindSMSDelivered, data[:k])
		for _, c := range []byte{'"', '\\', '}', ']', ',', ':', ' ', 'u', '0', 0x01, 0xff} {
			d := bytes.Clone(data)
			d[k] = c
			checkFrame(t, core.KindSMSDelivered, d)
		}
	}
}

// The trail a frame keeps for Full is its part of the event's data, which
// an append to it cannot write over.
func TestFrameTrailIsData(t *testing.T) {
	data := []byte(deliveredData)
	m, trail, ok := deliveredOf(core.Record{Kind: core.KindSMSDelivered, Data: data})
	if !ok || m.ID != "m_2f2d30e02f9a9b00" || !bytes.HasPrefix(trail, []byte(`[{"at"`)) || cap(trail) != len(trail) ||
		&trail[0] != &data[bytes.Index(data, []byte(`[{"at"`))] {
		t.Fatalf("%v %q: the trail is not the data's (len %d, cap %d)", ok, trail, len(trail), cap(trail))
	}
}

func FuzzFrame(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, a := range awkwardMessages() {
		fast, other := a.encodings(rng)
		for _, data := range append(fast, other...) {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFrame(t, core.KindSMSDelivered, data)
	})
}

// A message as a phone shows it is written as encoding/json writes it, or
// left to it where encoding/json refuses a time.
func FuzzPhoneMessageJSON(f *testing.F) {
	f.Add("m_1", "13800000001", "12381", "code 123456 <&> \u2028 \xff \"\\", "123456", FolderInbox, int64(1796284232262), int64(38), int64(1796284232300), false)
	f.Add("", "", "", "", "", "", int64(0), int64(0), int64(0), true)
	f.Add("m_2", "1", "2", "😀", "", FolderBlocked, int64(253402300800000), int64(0), int64(-62167219200001), false)
	f.Fuzz(func(t *testing.T, id, phone, sender, body, code, folder string, sent, ns, delivered int64, none bool) {
		m := PhoneMessage{ID: id, Phone: phone, Sender: sender, Body: body, Code: code, Folder: folder,
			SentAt: time.UnixMilli(sent).Add(time.Duration(ns % 1e6)).UTC()}
		if !none {
			at := time.UnixMilli(delivered).UTC()
			m.DeliveredAt = &at
		}
		want, err := json.Marshal(m)
		got, ok := m.appendJSON(nil)
		if ok != (err == nil) || ok && !bytes.Equal(got, want) {
			t.Fatalf("%#v written %v\n%s\nencoding/json writes %v\n%s", m, ok, got, err, want)
		}
	})
}
