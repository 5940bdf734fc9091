package miit

import (
	"fmt"
	"time"
)

// Validation answers, byte for byte as MIIT's system shows them.
const (
	TextComplete         = "Dear ICP user: Your text message validation is complete. This request will be submitted to the communications administration for review."
	TextPartial          = "Dear ICP user: Your text message validation is complete. Please wait for other personnel to complete their text message validation."
	TextFailed           = "Dear ICP user: Your text message validation failed. Please try again."
	TextValidateNotFound = "Dear ICP user: The record cannot be found in the validation database or the validation is already complete."
)

// Resend answers. TextLimitReached is this simulator's: MIIT's guide gives
// no text for it.
const (
	TextResent         = "Dear ICP user: Your text message verification code has been resent successfully. Please check your mobile phone and complete the text message validation as soon as possible."
	TextNoPending      = "Dear ICP user: You have no pending ICP filing applications that require text message validation. You do not need to resend the text message."
	TextResendNotFound = "Dear ICP user: The record cannot be found in the validation database."
	TextLimitReached   = "Dear ICP user: The maximum number of resend attempts has been reached."
)

// Result words.
const (
	ResultComplete     = "complete"
	ResultPartial      = "partial"
	ResultFailed       = "failed"
	ResultNotFound     = "not_found"
	ResultResent       = "resent"
	ResultNoPending    = "no_pending"
	ResultLimitReached = "limit_reached"
)

var validateText = map[string]string{
	ResultComplete: TextComplete, ResultPartial: TextPartial,
	ResultFailed: TextFailed, ResultNotFound: TextValidateNotFound,
}

var resendText = map[string]string{
	ResultResent: TextResent, ResultNoPending: TextNoPending,
	ResultNotFound: TextResendNotFound, ResultLimitReached: TextLimitReached,
}

// CodeText is the body of MIIT's verification code message.
func CodeText(code string, window time.Duration) string {
	return fmt.Sprintf("[MIIT] Your ICP filing verification code is %s. Enter it with your mobile number and the last six characters of your certificate number at https://beian.miit.gov.cn within %s.", code, Span(window))
}

// NoticeText is the body of the provider's message to each required person
// when an order is submitted.
func NoticeText(filingID, miitSender string, window time.Duration) string {
	return fmt.Sprintf("[ICP Filing] Your ICP filing order %s has been submitted successfully. MIIT will send you a verification code from %s; complete the text message validation within %s of receiving it.", filingID, miitSender, Span(window))
}

// Span writes a window length as people read it: "24 hours", "90 minutes".
func Span(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d == time.Minute:
		return "1 minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
