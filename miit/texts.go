package miit

import (
	"fmt"
	"time"

	"smsim/simulator/core"
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

// Validation answers in Chinese. TextZhComplete and TextZhValidateNotFound
// are as Chinese provider guides quote MIIT's page; the others are this
// simulator's (miit/README.md says which part of each is decided).
const (
	TextZhComplete         = "您的短信核验已全部完成,该请求将提交管局审核"
	TextZhPartial          = "您的短信核验已完成,请等待其他核验人进行短信核验"
	TextZhFailed           = "您的短信核验未通过,请重新核验"
	TextZhValidateNotFound = "该条验证库里找不到记录或已完成验证"
)

// Resend answers in Chinese, all this simulator's: no guide quotes them.
const (
	TextZhResent         = "验证码已重新发送成功,请查看手机并尽快完成短信核验"
	TextZhNoPending      = "您没有需要进行短信核验的备案申请,无需重新发送短信"
	TextZhResendNotFound = "该条验证库里找不到记录"
	TextZhLimitReached   = "重新发送验证码的次数已达上限"
)

// The templates of the messages, with their placeholders (core.TextSMSCode,
// core.TextSMSNotice).
const (
	CodeTemplate     = "[MIIT] Your ICP filing verification code is {code}. Enter it with your mobile number and the last six characters of your certificate number at https://beian.miit.gov.cn within {window}."
	NoticeTemplate   = "[ICP Filing] Your ICP filing order {order} has been submitted successfully. MIIT will send you a verification code from {sender}; complete the text message validation within {window} of receiving it."
	CodeTemplateZh   = "【工业和信息化部】您的ICP备案短信核验验证码为{code},请在{window}内登录ICP/IP地址/域名信息备案管理系统完成短信核验:https://beian.miit.gov.cn"
	NoticeTemplateZh = "【ICP备案】您的ICP备案订单{order}已提交成功。工业和信息化部将通过{sender}向您发送验证码,请在收到后{window}内完成短信核验。"
)

// texts are the texts of each language by id (core.TextIDs).
var texts = map[string]map[core.TextID]string{
	core.LanguageEnglish: {
		core.TextValidationComplete: TextComplete, core.TextValidationPartial: TextPartial,
		core.TextValidationFailed: TextFailed, core.TextValidationNotFound: TextValidateNotFound,
		core.TextResendResent: TextResent, core.TextResendNoPending: TextNoPending,
		core.TextResendNotFound: TextResendNotFound, core.TextResendLimitReached: TextLimitReached,
		core.TextSMSCode: CodeTemplate, core.TextSMSNotice: NoticeTemplate,
	},
	core.LanguageChinese: {
		core.TextValidationComplete: TextZhComplete, core.TextValidationPartial: TextZhPartial,
		core.TextValidationFailed: TextZhFailed, core.TextValidationNotFound: TextZhValidateNotFound,
		core.TextResendResent: TextZhResent, core.TextResendNoPending: TextZhNoPending,
		core.TextResendNotFound: TextZhResendNotFound, core.TextResendLimitReached: TextZhLimitReached,
		core.TextSMSCode: CodeTemplateZh, core.TextSMSNotice: NoticeTemplateZh,
	},
}

// validationTextID and resendTextID are the text ids of the result words.
var validationTextID = map[string]core.TextID{
	ResultComplete: core.TextValidationComplete, ResultPartial: core.TextValidationPartial,
	ResultFailed: core.TextValidationFailed, ResultNotFound: core.TextValidationNotFound,
}

var resendTextID = map[string]core.TextID{
	ResultResent: core.TextResendResent, ResultNoPending: core.TextResendNoPending,
	ResultNotFound: core.TextResendNotFound, ResultLimitReached: core.TextResendLimitReached,
}

// Wording is the texts of a namespace: those of its language, each
// replaced by the namespace's own when its fault profile gives one.
type Wording struct {
	Language string                 // core.LanguageEnglish or core.LanguageChinese
	Own      map[core.TextID]string // the fault profile's texts
}

// WordingOf answers the wording of the fault profile f, whose language is
// language when f names none.
func WordingOf(f core.Faults, language string) Wording {
	if f.Language != "" {
		language = f.Language
	}
	if _, ok := texts[language]; !ok {
		language = core.LanguageEnglish
	}
	return Wording{Language: language, Own: f.Texts}
}

// Text answers the template of the text id.
func (w Wording) Text(id core.TextID) string {
	if t, ok := w.Own[id]; ok {
		return t
	}
	return texts[w.Language][id]
}

// Validation answers MIIT's message for a validation's result word.
func (w Wording) Validation(result string) string { return w.Text(validationTextID[result]) }

// Resend answers MIIT's message for a resend's result word.
func (w Wording) Resend(result string) string { return w.Text(resendTextID[result]) }

// Code is the body of MIIT's verification code message.
func (w Wording) Code(code string, window time.Duration) string {
	return core.Fill(w.Text(core.TextSMSCode), core.PlaceholderCode, code, core.PlaceholderWindow, w.Span(window))
}

// Notice is the body of the provider's message to each required person
// when an order is submitted: MIIT's code will come from sender.
func (w Wording) Notice(filingID, sender string, window time.Duration) string {
	return core.Fill(w.Text(core.TextSMSNotice), core.PlaceholderOrder, filingID, core.PlaceholderSender, sender,
		core.PlaceholderWindow, w.Span(window))
}

// Span writes a window length in the wording's language.
func (w Wording) Span(d time.Duration) string {
	if w.Language == core.LanguageChinese {
		return SpanZh(d)
	}
	return Span(d)
}

// CodeText is the body of MIIT's verification code message in English.
func CodeText(code string, window time.Duration) string {
	return Wording{Language: core.LanguageEnglish}.Code(code, window)
}

// NoticeText is the body of the provider's message to each required person
// when an order is submitted, in English.
func NoticeText(filingID, miitSender string, window time.Duration) string {
	return Wording{Language: core.LanguageEnglish}.Notice(filingID, miitSender, window)
}

// SpanZh writes a window length as Chinese readers read it: "24小时",
// "90分钟".
func SpanZh(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%d小时", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d分钟", d/time.Minute)
	}
	return d.String()
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
