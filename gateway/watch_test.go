package gateway

import (
	"reflect"
	"testing"
	"time"

	"smsim/simulator/core"
)

// deliveredData is the data of an sms.delivered event as the scripts write
// it.
const deliveredData = `{"sender":"12381","sent_at_ms":"1796284232262","code":"123456","id":"m_2f2d30e02f9a9b00",` +
	`"body":"[MIIT] Your verification code is 123456. Enter it within 24 hours to validate ICP filing order f_a3da494e649ae0fa.",` +
	`"folder":"inbox","seq":"7","status":"delivered","reason":"","delivered_at_ms":"1796284232300","phone":"13800000001",` +
	`"trail":[{"at":"2026-12-03T07:50:32.262Z","step":"sent","detail":"sent by 12381 to 13800000001"},` +
	`{"at":"2026-12-03T07:50:32.262Z","step":"delay","detail":"the network holds it 38ms (drawn from uniform 0s–1s)"},` +
	`{"at":"2026-12-03T07:50:32.300Z","step":"delivered","detail":"delivered to the inbox"}]}`

// An event that brought a message is keyed by its phone, and its frame is
// the message as the phone shows it (no trail), made once for every
// watcher; any other event has neither.
func TestPhoneOfAndFrame(t *testing.T) {
	l := &core.Live{Record: core.Record{ID: "1-0", Kind: core.KindSMSDelivered, Data: []byte(deliveredData)}}
	if got := PhoneOf(l); got != "13800000001" {
		t.Errorf("PhoneOf: %q, want 13800000001", got)
	}
	fr, ok := PhoneFrame(l)
	const want = `{"id":"m_2f2d30e02f9a9b00","phone":"13800000001","sender":"12381",` +
		`"body":"[MIIT] Your verification code is 123456. Enter it within 24 hours to validate ICP filing order f_a3da494e649ae0fa.",` +
		`"code":"123456","folder":"inbox","sent_at":"2026-12-03T07:50:32.262Z","delivered_at":"2026-12-03T07:50:32.3Z"}`
	if !ok || string(fr.JSON) != want {
		t.Fatalf("PhoneFrame: %v %s\nwant %s", ok, fr.JSON, want)
	}
	full := fr.Full()
	if fr.Message.Seq != 7 || full.Seq != 7 || len(full.Trail) != 3 || full.Trail[1].Step != "delay" ||
		full.Trail[2].At != time.Date(2026, 12, 3, 7, 50, 32, 300e6, time.UTC) {
		t.Errorf("the frame's message: seq %d, in full %d, trail %+v", fr.Message.Seq, full.Seq, full.Trail)
	}
	if m, ok := MessageOf(l.Record); !ok || !reflect.DeepEqual(m, full) {
		t.Errorf("MessageOf: %v %+v\nwant %+v", ok, m, full)
	}
	if again, _ := PhoneFrame(l); &again.JSON[0] != &fr.JSON[0] {
		t.Error("the frame was made again for a second watcher")
	}
	other := &core.Live{Record: core.Record{ID: "2-0", Kind: core.KindFilingSubmitted, Data: []byte(`{"id":"f_1"}`)}}
	if got := PhoneOf(other); got != "" {
		t.Errorf("PhoneOf of a filing.submitted: %q, want none", got)
	}
	if _, ok := PhoneFrame(other); ok {
		t.Error("a frame for a filing.submitted")
	}
}

// BenchmarkPhoneFeed is what the live feed and a phone's sockets make of
// one delivery: its key (PhoneOf), then its frame, which read the event's
// message once between them.
func BenchmarkPhoneFeed(b *testing.B) {
	benchmarkPhoneFeed(b, deliveredData)
}

// escapedData is the data of an sms.delivered event whose body is in
// Chinese and holds a link, as cjson writes it: its slashes escaped.
const escapedData = `{"sender":"106575000130","sent_at_ms":"1796284232262","code":"246810","id":"m_2f2d30e02f9a9b01",` +
	`"body":"【工信部】验证码：246810，请在24小时内完成备案核验，详见 https:\/\/beian.miit.gov.cn\/ 。",` +
	`"folder":"inbox","seq":"8","status":"delivered","reason":"","delivered_at_ms":"1796284232300","phone":"13800000001",` +
	`"trail":[{"at":"2026-12-03T07:50:32.262Z","step":"sent","detail":"sent by 106575000130 to 13800000001"},` +
	`{"at":"2026-12-03T07:50:32.300Z","step":"delivered","detail":"delivered to the inbox"}]}`

// BenchmarkPhoneFeedEscaped is BenchmarkPhoneFeed with a body that JSON
// escapes.
func BenchmarkPhoneFeedEscaped(b *testing.B) {
	benchmarkPhoneFeed(b, escapedData)
}

func benchmarkPhoneFeed(b *testing.B, data string) {
	r := core.Record{ID: "1-0", Kind: core.KindSMSDelivered, Data: []byte(data)}
	b.ReportAllocs()
	for b.Loop() {
		l := &core.Live{Record: r}
		if PhoneOf(l) == "" {
			b.Fatal("no phone")
		}
		if _, ok := PhoneFrame(l); !ok {
			b.Fatal("no frame")
		}
	}
}
