package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"smsim/miit"
	"smsim/simulator"
)

// texts are the exact texts of a language, written out here as the
// project's rules give them, so that a change to a constant cannot pass
// unnoticed.
type texts struct {
	notice, code                               string // with %[1]s the order id or the code, %[2]s the sender
	complete, partial, failed, validateMissing string
	resent, noPending, resendMissing, limit    string
}

var english = texts{
	notice:          "[ICP Filing] Your ICP filing order %[1]s has been submitted successfully. MIIT will send you a verification code from %[2]s; complete the text message validation within 24 hours of receiving it.",
	code:            "[MIIT] Your ICP filing verification code is %[1]s. Enter it with your mobile number and the last six characters of your certificate number at https://beian.miit.gov.cn within 24 hours.",
	complete:        "Dear ICP user: Your text message validation is complete. This request will be submitted to the communications administration for review.",
	partial:         "Dear ICP user: Your text message validation is complete. Please wait for other personnel to complete their text message validation.",
	failed:          "Dear ICP user: Your text message validation failed. Please try again.",
	validateMissing: "Dear ICP user: The record cannot be found in the validation database or the validation is already complete.",
	resent:          "Dear ICP user: Your text message verification code has been resent successfully. Please check your mobile phone and complete the text message validation as soon as possible.",
	noPending:       "Dear ICP user: You have no pending ICP filing applications that require text message validation. You do not need to resend the text message.",
	resendMissing:   "Dear ICP user: The record cannot be found in the validation database.",
	limit:           "Dear ICP user: The maximum number of resend attempts has been reached.",
}

var chinese = texts{
	notice:          "【ICP备案】您的ICP备案订单%[1]s已提交成功。工业和信息化部将通过%[2]s向您发送验证码,请在收到后24小时内完成短信核验。",
	code:            "【工业和信息化部】您的ICP备案短信核验验证码为%[1]s,请在24小时内登录ICP/IP地址/域名信息备案管理系统完成短信核验:https://beian.miit.gov.cn",
	complete:        "您的短信核验已全部完成,该请求将提交管局审核",
	partial:         "您的短信核验已完成,请等待其他核验人进行短信核验",
	failed:          "您的短信核验未通过,请重新核验",
	validateMissing: "该条验证库里找不到记录或已完成验证",
	resent:          "验证码已重新发送成功,请查看手机并尽快完成短信核验",
	noPending:       "您没有需要进行短信核验的备案申请,无需重新发送短信",
	resendMissing:   "该条验证库里找不到记录",
	limit:           "重新发送验证码的次数已达上限",
}

// languageFlow walks an order of two people through every answer of MIIT
// and checks each text and message of it against want.
func languageFlow(t *testing.T, e *env, want texts) {
	t.Helper()
	const a, b = "13800000101", "13800000102"
	v := e.submit(firstFilingWebsite(a, b))
	if got, w := e.inbox(a)[0].Body, fmt.Sprintf(want.notice, v.ID, "12381"); got != w {
		t.Fatalf("notice\n got %q\nwant %q", got, w)
	}
	wantResendText(t, e.resend(a, leaderCert), miit.ResultNoPending, want.noPending)
	e.advance("1h")
	in := e.inbox(a)
	if len(in) != 2 || in[1].Sender != "12381" || in[1].Code == "" {
		t.Fatalf("inbox after the sync: %+v", in)
	}
	if got, w := in[1].Body, fmt.Sprintf(want.code, in[1].Code); got != w {
		t.Fatalf("code message\n got %q\nwant %q", got, w)
	}
	wantText(t, e.validate(wrong(e.code(a)), a, leaderCert), miit.ResultFailed, want.failed)
	wantResendText(t, e.resend(a, leaderCert), miit.ResultResent, want.resent)
	wantResendText(t, e.resend(a, leaderCert), miit.ResultResent, want.resent)
	wantResendText(t, e.resend(a, leaderCert), miit.ResultLimitReached, want.limit)
	wantResendText(t, e.resend("13800000199", leaderCert), miit.ResultNotFound, want.resendMissing)
	wantText(t, e.validate(e.code(a), a, leaderCert), miit.ResultPartial, want.partial)
	wantText(t, e.validate(e.code(b), b, adminCert), miit.ResultComplete, want.complete)
	wantText(t, e.validate(e.code(b), b, adminCert), miit.ResultNotFound, want.validateMissing)
}

func wantText(t *testing.T, got miit.ValidationResult, result, msg string) {
	t.Helper()
	if got.Result != result || got.Message != msg {
		t.Fatalf("validation = %+v, want %s %q", got, result, msg)
	}
}

func wantResendText(t *testing.T, got miit.ResendResult, result, msg string) {
	t.Helper()
	if got.Result != result || got.Message != msg {
		t.Fatalf("resend = %+v, want %s %q", got, result, msg)
	}
}

// The fault profile's language chooses MIIT's answers and the messages;
// the result words stay the same. A profile that names none has the
// server's (--language), and null goes back to it.
func TestLanguages(t *testing.T) {
	t.Run("english by default", func(t *testing.T) {
		languageFlow(t, newEnv(t), english)
	})
	t.Run("chinese in the profile", func(t *testing.T) {
		e := newEnv(t)
		e.patchFaults(`{"language":"zh"}`)
		languageFlow(t, e, chinese)
	})
	t.Run("chinese by the server's default", func(t *testing.T) {
		e := newEnv(t, func(e *env) { e.hooks = func(c *simulator.Config) { c.Language = "zh" } })
		languageFlow(t, e, chinese)
	})
	t.Run("english in the profile over the server's chinese", func(t *testing.T) {
		e := newEnv(t, func(e *env) { e.hooks = func(c *simulator.Config) { c.Language = "zh" } })
		e.patchFaults(`{"language":"zh"}`)
		e.patchFaults(`{"language":"en"}`)
		languageFlow(t, e, english)
	})
	t.Run("chinese by a scenario", func(t *testing.T) {
		e := newEnv(t)
		e.call("PUT", "/admin/v1/scenario", `{"name":"chinese phones","faults":{"language":"zh","code_sender":"12381"}}`, 200, nil)
		languageFlow(t, e, chinese)
	})
	t.Run("null goes back to the server's", func(t *testing.T) {
		e := newEnv(t)
		e.patchFaults(`{"language":"zh"}`)
		var f map[string]any
		e.call("PATCH", "/admin/v1/faults", `{"language":null}`, 200, &f)
		if _, ok := f["language"]; ok {
			t.Fatalf("profile after null: %v", f)
		}
		languageFlow(t, e, english)
	})
}

// A namespace's own texts replace its language's, placeholders filled in;
// the code message still carries the code the phone shows.
func TestOwnTexts(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"language":"zh","texts":{"sms.code":"您的验证码是{code}({window}内有效)。","validation.failed":"验证码错误","sms.notice":"订单{order}:请留意{sender}的短信"}}`)
	const a = "13800000111"
	v := e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(a)})
	e.advance("1h")
	in := e.inbox(a)
	if len(in) != 2 {
		t.Fatalf("inbox %+v", in)
	}
	if got, want := in[0].Body, "订单"+v.ID+":请留意12381的短信"; got != want {
		t.Fatalf("notice %q, want %q", got, want)
	}
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(in[1].Code) || in[1].Body != "您的验证码是"+in[1].Code+"(24小时内有效)。" {
		t.Fatalf("code message %+v", in[1])
	}
	wantText(t, e.validate(wrong(in[1].Code), a, leaderCert), miit.ResultFailed, "验证码错误")
	wantText(t, e.validate(in[1].Code, a, leaderCert), miit.ResultComplete, chinese.complete) // not replaced: the language's
	// null gives one text back to the language
	e.patchFaults(`{"texts":{"validation.failed":null}}`)
	var f struct {
		Texts map[string]string `json:"texts"`
	}
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if len(f.Texts) != 2 || f.Texts["validation.failed"] != "" || f.Texts["sms.code"] == "" {
		t.Fatalf("texts after null: %v", f.Texts)
	}
}

// A text of an unknown id, with an unknown placeholder or without one it
// needs, a language or a sender the server does not know, is a 400 naming
// it; the profile stays as it was.
func TestTextsRefused(t *testing.T) {
	e := newEnv(t)
	e.patchFaults(`{"language":"zh"}`)
	for _, c := range []struct{ patch, detail string }{
		{`{"texts":{"sms.cod":"x {code}"}}`, `texts: "sms.cod" is not a text id; give one of resend.limit_reached, resend.no_pending, resend.not_found, resend.resent, sms.code, sms.notice, validation.complete, validation.failed, validation.not_found, validation.partial`},
		{`{"texts":{"sms.code":"your code"}}`, "texts.sms.code: missing placeholder {code}"},
		{`{"texts":{"sms.code":"{code} from {sender}"}}`, "texts.sms.code: unknown placeholder {sender}; this text takes {code}, {window}"},
		{`{"texts":{"validation.failed":"wrong {code}"}}`, "texts.validation.failed: unknown placeholder {code}; this text takes none"},
		{`{"texts":{"resend.resent":""}}`, "texts.resend.resent: empty; give the text, or null for the language's own"},
		{`{"texts":{"resend.resent":7}}`, "texts"},
		{`{"texts":{"resend.resent":"` + strings.Repeat("码", 1025) + `"}}`, "texts.resend.resent: longer than 1024 characters"},
		{`{"language":"fr"}`, `language: must be "en" or "zh", got "fr"`},
		{`{"code_sender":"95187"}`, `code_sender: must be "carrier", 12381, 106 followed by ten digits and 12381, or a carrier's sender (106575000130, 106598051001, 10655113); got "95187"`},
	} {
		code, b := e.do("PATCH", "/admin/v1/faults", c.patch)
		p := problemOf(t, b)
		if code != http.StatusBadRequest || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: %d %s, want 400 naming %q", c.patch, code, b, c.detail)
		}
	}
	code, b := e.do("PUT", "/admin/v1/faults", `{"texts":{"sms.notice":"{order} {unknown}"}}`)
	if p := problemOf(t, b); code != http.StatusBadRequest || p.Detail != "texts.sms.notice: unknown placeholder {unknown}; this text takes {order}, {sender}, {window}" {
		t.Errorf("PUT: %d %s", code, b)
	}
	var f map[string]any
	e.call("GET", "/admin/v1/faults", nil, 200, &f)
	if f["language"] != "zh" || f["texts"] != nil || f["code_sender"] != nil {
		t.Fatalf("profile after the refusals: %v", f)
	}
	// the bound counts characters, as the document's maxLength does: 1024
	// of them, 3072 bytes, are a text
	e.call("PATCH", "/admin/v1/faults", `{"texts":{"resend.resent":"`+strings.Repeat("码", 1024)+`"}}`, 200, nil)
}

// With code_sender "carrier", each phone's carrier picks the sender of
// MIIT's messages, and the notice names it; a virtual operator's numbers
// get a 106…12381 number that changes from message to message.
func TestCodeSenderByCarrier(t *testing.T) {
	e := newEnv(t, withSeed(3))
	e.patchFaults(`{"code_sender":"carrier","sync_lag":{"min":"0s","max":"0s"}}`)
	for _, c := range []struct{ phone, sender string }{
		{"13300000001", "106598051001"}, // China Telecom
		{"13000000001", "10655113"},     // China Unicom
		{"13800000001", "106575000130"}, // China Mobile
		{"19000000001", "12381"},        // no carrier it knows: the server's
	} {
		e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(c.phone)})
		in := e.inbox(c.phone)
		if len(in) != 2 || in[1].Sender != c.sender || in[1].Code == "" || !strings.Contains(in[0].Body, " from "+c.sender+";") {
			t.Errorf("%s: inbox %+v, want a notice naming %s and a code from it", c.phone, in, c.sender)
		}
	}
	const virtual = "17000000001"
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(virtual)})
	e.resend(virtual, leaderCert)
	in := e.inbox(virtual)
	long := regexp.MustCompile(`^106[0-9]{10}12381$`)
	if len(in) != 3 || !strings.Contains(in[0].Body, " from 12381;") || !long.MatchString(in[1].Sender) || !long.MatchString(in[2].Sender) || in[1].Sender == in[2].Sender {
		t.Fatalf("a virtual operator's inbox %+v, want a notice naming 12381 and two codes from two 106…12381 numbers", in)
	}
	// a number of MIIT's for every phone
	e.patchFaults(`{"code_sender":"106575000130"}`)
	e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader("13300000002")})
	if in := e.inbox("13300000002"); len(in) != 2 || in[1].Sender != "106575000130" {
		t.Fatalf("inbox %+v, want the code from 106575000130", in)
	}
	var f map[string]any
	e.call("PATCH", "/admin/v1/faults", `{"code_sender":null}`, 200, &f)
	if _, ok := f["code_sender"]; ok {
		t.Fatalf("profile after null: %v", f)
	}
	b, _ := json.Marshal(f)
	if strings.Contains(string(b), "code_sender") {
		t.Fatal(string(b))
	}
}
