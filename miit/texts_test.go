package miit

import (
	"testing"
	"time"

	"smsim/gateway"
	"smsim/simulator/core"
)

// The answers of MIIT's system, written out here as they are published, so
// that a change to a constant cannot pass unnoticed.
func TestTextsAreMIITsWordForWord(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{TextComplete, "Dear ICP user: Your text message validation is complete. This request will be submitted to the communications administration for review."},
		{TextPartial, "Dear ICP user: Your text message validation is complete. Please wait for other personnel to complete their text message validation."},
		{TextFailed, "Dear ICP user: Your text message validation failed. Please try again."},
		{TextValidateNotFound, "Dear ICP user: The record cannot be found in the validation database or the validation is already complete."},
		{TextResent, "Dear ICP user: Your text message verification code has been resent successfully. Please check your mobile phone and complete the text message validation as soon as possible."},
		{TextNoPending, "Dear ICP user: You have no pending ICP filing applications that require text message validation. You do not need to resend the text message."},
		{TextResendNotFound, "Dear ICP user: The record cannot be found in the validation database."},
		{TextLimitReached, "Dear ICP user: The maximum number of resend attempts has been reached."},
	} {
		if c.got != c.want {
			t.Errorf("text\n got %q\nwant %q", c.got, c.want)
		}
	}
}

func TestSMSBodies(t *testing.T) {
	if got, want := CodeText("123456", 24*time.Hour), "[MIIT] Your ICP filing verification code is 123456. Enter it with your mobile number and the last six characters of your certificate number at https://beian.miit.gov.cn within 24 hours."; got != want {
		t.Errorf("code text\n got %q\nwant %q", got, want)
	}
	if got, want := NoticeText("f_0123456789abcdef", "12381", 48*time.Hour), "[ICP Filing] Your ICP filing order f_0123456789abcdef has been submitted successfully. MIIT will send you a verification code from 12381; complete the text message validation within 48 hours of receiving it."; got != want {
		t.Errorf("notice text\n got %q\nwant %q", got, want)
	}
	for d, want := range map[time.Duration]string{time.Hour: "1 hour", 90 * time.Minute: "90 minutes", time.Minute: "1 minute", 90 * time.Second: "1m30s"} {
		if got := Span(d); got != want {
			t.Errorf("Span(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestNoonNextDayIsInChinaStandardTime(t *testing.T) {
	for _, c := range []struct{ at, want string }{
		{"2026-05-01T00:00:00Z", "2026-05-02T04:00:00Z"}, // 08:00 CST May 1 → noon CST May 2
		{"2026-05-01T17:00:00Z", "2026-05-03T04:00:00Z"}, // 01:00 CST May 2 → noon CST May 3
	} {
		at, _ := time.Parse(time.RFC3339, c.at)
		if got := NoonNextDay(at).Format(time.RFC3339); got != c.want {
			t.Errorf("NoonNextDay(%s) = %s, want %s", c.at, got, c.want)
		}
	}
}

// The Chinese texts, written out as the project's rules give them (the
// quoted facts) and as it decided the rest (miit/README.md).
func TestChineseTexts(t *testing.T) {
	w := WordingOf(core.Faults{Language: core.LanguageChinese}, core.LanguageEnglish)
	for _, c := range []struct{ got, want string }{
		{w.Validation(ResultComplete), "您的短信核验已全部完成,该请求将提交管局审核"},
		{w.Validation(ResultPartial), "您的短信核验已完成,请等待其他核验人进行短信核验"},
		{w.Validation(ResultFailed), "您的短信核验未通过,请重新核验"},
		{w.Validation(ResultNotFound), "该条验证库里找不到记录或已完成验证"},
		{w.Resend(ResultResent), "验证码已重新发送成功,请查看手机并尽快完成短信核验"},
		{w.Resend(ResultNoPending), "您没有需要进行短信核验的备案申请,无需重新发送短信"},
		{w.Resend(ResultNotFound), "该条验证库里找不到记录"},
		{w.Resend(ResultLimitReached), "重新发送验证码的次数已达上限"},
		{w.Code("123456", 48*time.Hour), "【工业和信息化部】您的ICP备案短信核验验证码为123456,请在48小时内登录ICP/IP地址/域名信息备案管理系统完成短信核验:https://beian.miit.gov.cn"},
		{w.Notice("f_0123456789abcdef", "10655113", 90*time.Minute), "【ICP备案】您的ICP备案订单f_0123456789abcdef已提交成功。工业和信息化部将通过10655113向您发送验证码,请在收到后90分钟内完成短信核验。"},
		{SpanZh(time.Hour), "1小时"}, {SpanZh(90 * time.Second), "1m30s"},
	} {
		if c.got != c.want {
			t.Errorf("text\n got %q\nwant %q", c.got, c.want)
		}
	}
	// the server's language when the profile names none; the profile's own texts over the language's
	if got := WordingOf(core.Faults{}, core.LanguageChinese).Validation(ResultFailed); got != "您的短信核验未通过,请重新核验" {
		t.Errorf("the server's language: %q", got)
	}
	own := WordingOf(core.Faults{Texts: map[string]string{core.TextSMSCode: "code {code} ({window})"}}, core.LanguageEnglish)
	if got := own.Code("654321", 24*time.Hour); got != "code 654321 (24 hours)" || own.Validation(ResultFailed) != TextFailed {
		t.Errorf("own texts: %q", got)
	}
	// every text of the registry has a text in each language
	for _, lang := range core.Languages() {
		for _, id := range core.TextIDs() {
			if (Wording{Language: lang}).Text(id) == "" {
				t.Errorf("%s has no text %s", lang, id)
			}
		}
	}
	// the code in a Chinese code message is found as in an English one
	if got := gateway.CodeIn(w.Code("012345", 24*time.Hour)); got != "012345" {
		t.Errorf("CodeIn of the Chinese code message: %q", got)
	}
}

// A later code candidate's messages go to the script as their code alone
// only where the script writes their body exactly: the first candidate's
// body with its code, which it holds once, in the new one's place.
func TestSameButLeavesOutOnlyABodyTheScriptWrites(t *testing.T) {
	first := []gateway.Outgoing{{Body: "code 111111, quick", Code: "111111"}}
	for _, c := range []struct {
		body, code string
		want       sameAsFirst
	}{
		{"code 222222, quick", "222222", sameAsFirst{Code: "222222"}},
		{"code 222222, slow", "222222", sameAsFirst{Body: "code 222222, slow", Code: "222222"}},
	} {
		if got := sameBut(first, []gateway.Outgoing{{Body: c.body, Code: c.code}}); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.body, got, c.want)
		}
	}
	twice := []gateway.Outgoing{{Body: "111111: code 111111", Code: "111111"}}
	if got := sameBut(twice, []gateway.Outgoing{{Body: "111111: code 222222", Code: "222222"}}); got.Body == "" {
		t.Errorf("a first body holding its code twice: %+v, want the body given", got)
	}
}
