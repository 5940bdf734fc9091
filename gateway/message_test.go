package gateway

import "testing"

func TestCodeIn(t *testing.T) {
	for body, want := range map[string]string{
		"Your code is 123456.":       "123456",
		"123456 is your code":        "123456",
		"code:654321":                "654321",
		"order f_123456ab submitted": "",
		"1234567 is seven digits":    "",
		"12345 is five":              "",
		"first 111111 then 222222":   "111111",
		"验证码：246810，请在24小时内完成":       "246810",
		"": "",
	} {
		if got := CodeIn(body); got != want {
			t.Errorf("CodeIn(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"13800000001": "13800000001", "+8613800000001": "13800000001", "8613800000001": "13800000001",
		"19912345678": "19912345678",
	} {
		if got, err := NormalizePhone("phone", in); err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1380000000", "138000000012", "12800000001", "23800000001", "+8612800000001", "1380000000a", "+85213800000001", " 13800000001"} {
		if _, err := NormalizePhone("phone", bad); err == nil {
			t.Errorf("NormalizePhone(%q): no error", bad)
		}
	}
}

func TestIsMIITSender(t *testing.T) {
	for s, want := range map[string]bool{
		"12381": true, "106123456789012381": true, "10612345678912381": false,
		"1061234567890123812": false, "95187": false, "12380": false, "206123456789012381": false,
		"106598051001": true, "10655113": true, "106575000130": true, "10655114": false, "1065980510010": false,
	} {
		if got := IsMIITSender(s); got != want {
			t.Errorf("IsMIITSender(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestFilter(t *testing.T) {
	m := Message{Sender: "12381", Body: "code 123456", Code: "123456"}
	if !(Filter{}).Matches(m) || !(Filter{FromMIIT: true, HasCode: true, Sender: "12381"}).Matches(m) {
		t.Error("filters that fit the message reject it")
	}
	if (Filter{Sender: "95187"}).Matches(m) || (Filter{HasCode: true}).Matches(Message{Body: "hi"}) ||
		(Filter{FromMIIT: true}).Matches(Message{Sender: "95187"}) {
		t.Error("filters that do not fit the message accept it")
	}
}
