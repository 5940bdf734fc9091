package core

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Languages of MIIT's answers and of the code and notice messages
// (Faults.Language).
const (
	LanguageEnglish = "en" // the English translation of MIIT's pages, the default
	LanguageChinese = "zh" // the Chinese of the real pages and messages
)

// Languages lists the languages of the texts.
func Languages() []string { return []string{LanguageEnglish, LanguageChinese} }

// CodeSenderCarrier, as Faults.CodeSender, lets the carrier of each phone
// pick the sender of MIIT's messages (CarrierSender).
const CodeSenderCarrier = "carrier"

// TextID names one text a namespace may replace (Faults.Texts).
type TextID = string

// The texts: MIIT's answers to validations and resends, the code message
// and the provider's notice.
const (
	TextValidationComplete TextID = "validation.complete"
	TextValidationPartial  TextID = "validation.partial"
	TextValidationFailed   TextID = "validation.failed"
	TextValidationNotFound TextID = "validation.not_found"
	TextResendResent       TextID = "resend.resent"
	TextResendNoPending    TextID = "resend.no_pending"
	TextResendNotFound     TextID = "resend.not_found"
	TextResendLimitReached TextID = "resend.limit_reached"
	TextSMSCode            TextID = "sms.code"
	TextSMSNotice          TextID = "sms.notice"
)

// Placeholders of the texts' templates.
const (
	PlaceholderCode   = "{code}"   // the six-digit code
	PlaceholderWindow = "{window}" // the validation window, in the text's language ("24 hours", "24小时")
	PlaceholderOrder  = "{order}"  // the order's id
	PlaceholderSender = "{sender}" // the number MIIT's code message comes from
)

// textDef is what a text's template may and must hold.
type textDef struct {
	allowed  []string
	required []string
}

var textDefs = map[TextID]textDef{
	TextValidationComplete: {}, TextValidationPartial: {}, TextValidationFailed: {}, TextValidationNotFound: {},
	TextResendResent: {}, TextResendNoPending: {}, TextResendNotFound: {}, TextResendLimitReached: {},
	TextSMSCode:   {allowed: []string{PlaceholderCode, PlaceholderWindow}, required: []string{PlaceholderCode}},
	TextSMSNotice: {allowed: []string{PlaceholderOrder, PlaceholderSender, PlaceholderWindow}},
}

// TextIDs lists the ids of the texts, sorted.
func TextIDs() []TextID {
	out := make([]TextID, 0, len(textDefs))
	for id := range textDefs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// TextPlaceholders answers the placeholders the text id may hold, and
// those it must.
func TextPlaceholders(id TextID) (allowed, required []string) {
	d := textDefs[id]
	return slices.Clone(d.allowed), slices.Clone(d.required)
}

var placeholderPattern = regexp.MustCompile(`\{[A-Za-z_]*\}`)

// maxTextLen bounds a replaced text, in characters (an SMS of several
// parts), as the document's maxLength counts them.
const maxTextLen = 1024

// checkText checks the template s of the text id: a known id, at most
// maxTextLen characters, its required placeholders present and no other.
func checkText(id TextID, s string) error {
	d, ok := textDefs[id]
	if !ok {
		return Invalid("texts: %q is not a text id; give one of %s", id, strings.Join(TextIDs(), ", "))
	}
	if s == "" {
		return Invalid("texts.%s: empty; give the text, or null for the language's own", id)
	}
	if utf8.RuneCountInString(s) > maxTextLen {
		return Invalid("texts.%s: longer than %d characters", id, maxTextLen)
	}
	for _, p := range placeholderPattern.FindAllString(s, -1) {
		if !slices.Contains(d.allowed, p) {
			if len(d.allowed) == 0 {
				return Invalid("texts.%s: unknown placeholder %s; this text takes none", id, p)
			}
			return Invalid("texts.%s: unknown placeholder %s; this text takes %s", id, p, strings.Join(d.allowed, ", "))
		}
	}
	var missing []string
	for _, p := range d.required {
		if !strings.Contains(s, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return Invalid("texts.%s: missing placeholder %s", id, strings.Join(missing, ", "))
	}
	return nil
}

var codeSenderPattern = regexp.MustCompile(`^(12381|106[0-9]{10}12381)$`)

// wording reads the fields of the profile that choose its texts: the
// language ("": the server's), the replaced texts and the sender of MIIT's
// messages ("": the server's).
func (p *parser) wording(language string, texts map[string]string, codeSender string) (string, map[string]string, string) {
	if language != "" && !slices.Contains(Languages(), language) {
		p.fail("language: must be %q or %q, got %q", LanguageEnglish, LanguageChinese, language)
	}
	out := make(map[string]string, len(texts))
	for _, id := range sortedKeys(texts) {
		if p.err == nil {
			if err := checkText(id, texts[id]); err != nil {
				p.err = err
			}
		}
		out[id] = texts[id]
	}
	if codeSender != "" && codeSender != CodeSenderCarrier && !codeSenderPattern.MatchString(codeSender) && !isCarrierSender(codeSender) {
		p.fail("code_sender: must be %q, 12381, 106 followed by ten digits and 12381, or a carrier's sender (%s); got %q",
			CodeSenderCarrier, strings.Join(carrierSenderList(), ", "), codeSender)
	}
	return language, out, codeSender
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Text answers the template of the text id a namespace replaced, and
// whether it did.
func (f Faults) Text(id TextID) (string, bool) {
	s, ok := f.Texts[id]
	return s, ok
}

// Fill writes the values of placeholders into template: vals holds
// placeholder, value pairs. It reads the template once, left to right, as
// strings.Replacer does — at each place the first placeholder of vals that
// is there, no value read again — but builds nothing to do so: every code
// message is filled, on the hot path of a sync. A placeholder is never
// empty.
func Fill(template string, vals ...string) string {
	if len(vals)%2 != 0 {
		panic(fmt.Sprintf("core.Fill: %d values, want pairs", len(vals)))
	}
	var b strings.Builder
	start := 0
	for i := 0; i < len(template); i++ {
		for k := 0; k < len(vals); k += 2 {
			if p := vals[k]; p != "" && template[i] == p[0] && strings.HasPrefix(template[i:], p) {
				if b.Len() == 0 {
					b.Grow(len(template) + 32)
				}
				b.WriteString(template[start:i])
				b.WriteString(vals[k+1])
				i += len(vals[k]) - 1
				start = i + 1
				break
			}
		}
	}
	if start == 0 {
		return template
	}
	b.WriteString(template[start:])
	return b.String()
}
