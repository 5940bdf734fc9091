package miit

import (
	"testing"
	"time"
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
