package client

// ValidateRequest is what a person enters on MIIT's validation page.
type ValidateRequest struct {
	Code             string `json:"code"`
	Phone            string `json:"phone"`
	CertificateLast6 string `json:"certificate_last6"` // Last6 of the certificate number
}

// ValidationResult is MIIT's answer to a validation. Rejected is true on
// the failure that rejected the order.
type ValidationResult struct {
	Result   string `json:"result"`  // ResultComplete, ResultPartial, ResultFailed or ResultNotFound
	Message  string `json:"message"` // MIIT's text: TextComplete, …
	Rejected bool   `json:"rejected"`
}

// ResendRequest is what a person enters on MIIT's resend page.
type ResendRequest struct {
	Phone            string `json:"phone"`
	CertificateLast6 string `json:"certificate_last6"`
}

// ResendResult is MIIT's answer to a resend request.
type ResendResult struct {
	Result  string `json:"result"`  // ResultResent, ResultNoPending, ResultNotFound or ResultLimitReached
	Message string `json:"message"` // MIIT's text: TextResent, …
}

// Result words of MIIT's answers.
const (
	ResultComplete     = "complete"      // the last required person validated: the order goes to review
	ResultPartial      = "partial"       // validated; others have yet to
	ResultFailed       = "failed"        // a wrong code
	ResultNotFound     = "not_found"     // no pending validation (or resend) for this phone and certificate
	ResultResent       = "resent"        // the code was texted again
	ResultNoPending    = "no_pending"    // nothing to resend
	ResultLimitReached = "limit_reached" // no resends left
)

// MIIT's answers to a validation, byte for byte as its system shows them.
const (
	TextComplete         = "Dear ICP user: Your text message validation is complete. This request will be submitted to the communications administration for review."
	TextPartial          = "Dear ICP user: Your text message validation is complete. Please wait for other personnel to complete their text message validation."
	TextFailed           = "Dear ICP user: Your text message validation failed. Please try again."
	TextValidateNotFound = "Dear ICP user: The record cannot be found in the validation database or the validation is already complete."
)

// MIIT's answers to a resend request. TextLimitReached is the simulator's:
// MIIT's guide gives no text for it.
const (
	TextResent         = "Dear ICP user: Your text message verification code has been resent successfully. Please check your mobile phone and complete the text message validation as soon as possible."
	TextNoPending      = "Dear ICP user: You have no pending ICP filing applications that require text message validation. You do not need to resend the text message."
	TextResendNotFound = "Dear ICP user: The record cannot be found in the validation database."
	TextLimitReached   = "Dear ICP user: The maximum number of resend attempts has been reached."
)

// MIIT's answers in Chinese (the namespace's Language LanguageChinese).
// TextZhComplete and TextZhValidateNotFound are as Chinese guides quote
// MIIT's page; the rest of them are the simulator's (its miit/README.md).
const (
	TextZhComplete         = "您的短信核验已全部完成,该请求将提交管局审核"
	TextZhPartial          = "您的短信核验已完成,请等待其他核验人进行短信核验"
	TextZhFailed           = "您的短信核验未通过,请重新核验"
	TextZhValidateNotFound = "该条验证库里找不到记录或已完成验证"
	TextZhResent           = "验证码已重新发送成功,请查看手机并尽快完成短信核验"
	TextZhNoPending        = "您没有需要进行短信核验的备案申请,无需重新发送短信"
	TextZhResendNotFound   = "该条验证库里找不到记录"
	TextZhLimitReached     = "重新发送验证码的次数已达上限"
)
