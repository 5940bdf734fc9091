package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Event is one entry of a namespace's event log: what happened, at which
// simulated time. Its Data is the kind's own JSON object, as the server's
// OpenAPI document describes it for each kind.
type Event struct {
	ID        string          `json:"id"` // increasing; ask for the events after one to catch up
	At        time.Time       `json:"at"` // simulated time
	Kind      string          `json:"kind"`
	Namespace string          `json:"ns"`
	Data      json.RawMessage `json:"data"`
}

// Kinds of events.
const (
	KindFilingSubmitted = "filing.submitted" // a customer submitted an order
	KindFilingStatus    = "filing.status"    // an order's status changed, in MIIT's view or the provider's
	KindSMSSent         = "sms.sent"         // a message was handed to the gateway
	KindSMSDelivered    = "sms.delivered"    // … reached a phone's inbox
	KindSMSBlocked      = "sms.blocked"      // … landed in a phone's blocked folder
	KindSMSFailed       = "sms.failed"       // … never arrived
	KindValidation      = "validation"       // MIIT answered a validation
	KindResend          = "resend"           // MIIT answered a resend request
	KindClock           = "clock"            // the clock was set or advanced
	KindFaults          = "faults"           // the fault profile changed
	KindPhone           = "phone.profile"    // a phone's profile changed
	KindPhoneCleared    = "phone.cleared"    // a phone's folders were emptied
	KindReset           = "reset"            // the namespace was reset
)

// Payload decodes the event's Data into the type of its kind:
//
//	filing.submitted                         ProviderView
//	filing.status                            FilingStatusEvent
//	sms.sent                                 SMSSentEvent
//	sms.delivered, sms.blocked, sms.failed   SMSOutcomeEvent
//	validation                               ValidationEvent
//	resend                                   ResendEvent
//	clock                                    ClockState
//	faults                                   Faults
//	phone.profile                            PhoneProfileEvent
//	phone.cleared                            PhoneClearedEvent
//	reset                                    ResetEvent
//
// A kind it does not know (a newer server's) is an error wrapping
// ErrUnknownKind: ignore it.
//
//	p, err := e.Payload()
//	if f, ok := p.(client.SMSOutcomeEvent); ok && f.Status == client.MessageFailed { … f.Reason … }
func (e Event) Payload() (any, error) {
	switch e.Kind {
	case KindFilingSubmitted:
		return decodePayload[ProviderView](e)
	case KindFilingStatus:
		return decodePayload[FilingStatusEvent](e)
	case KindSMSSent:
		return decodePayload[SMSSentEvent](e)
	case KindSMSDelivered, KindSMSBlocked, KindSMSFailed:
		return decodePayload[SMSOutcomeEvent](e)
	case KindValidation:
		return decodePayload[ValidationEvent](e)
	case KindResend:
		return decodePayload[ResendEvent](e)
	case KindClock:
		return decodePayload[ClockState](e)
	case KindFaults:
		return decodePayload[Faults](e)
	case KindPhone:
		return decodePayload[PhoneProfileEvent](e)
	case KindPhoneCleared:
		return decodePayload[PhoneClearedEvent](e)
	case KindReset:
		return decodePayload[ResetEvent](e)
	}
	return nil, fmt.Errorf("smsim: event %s: %w %q", e.ID, ErrUnknownKind, e.Kind)
}

// ErrUnknownKind is the error of Payload for a kind of event the client
// does not know.
var ErrUnknownKind = errors.New("unknown kind of event")

func decodePayload[T any](e Event) (any, error) {
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return nil, fmt.Errorf("smsim: event %s (%s): %w", e.ID, e.Kind, err)
	}
	return v, nil
}

// FilingStatusEvent is the data of a filing.status event: an order's
// status, or its validated people, changed in one of its two views.
type FilingStatusEvent struct {
	ID        string `json:"id"`
	View      string `json:"view"`      // ViewMIIT or ViewProvider
	Status    string `json:"status"`    // in that view: FilingPendingValidation, …
	Validated string `json:"validated"` // the roles validated so far, comma-separated ("" for none)
}

// Whose view a filing.status event is of.
const (
	ViewMIIT     = "miit"
	ViewProvider = "provider"
)

// SMSSentEvent is the data of an sms.sent event: a message was handed to
// the gateway.
type SMSSentEvent struct {
	ID          string `json:"id"`
	Phone       string `json:"phone"`
	Sender      string `json:"sender"`
	Body        string `json:"body"`
	Code        string `json:"code"`   // "" when the body has none
	Status      string `json:"status"` // MessageQueued
	SentAt      Millis `json:"sent_at_ms"`
	Due         Millis `json:"due_ms"`       // when the gateway means to deliver it, as drawn at sending
	DuplicateOf string `json:"duplicate_of"` // on the second copy of a duplicated message, the first's id
}

// SMSOutcomeEvent is the data of an sms.delivered, sms.blocked or
// sms.failed event: what became of a message, with its whole trail.
type SMSOutcomeEvent struct {
	ID          string     `json:"id"`
	Phone       string     `json:"phone"`
	Sender      string     `json:"sender"`
	Body        string     `json:"body"`
	Code        string     `json:"code"`   // "" when the body has none
	Status      string     `json:"status"` // MessageDelivered, MessageBlocked or MessageFailed
	Folder      string     `json:"folder"` // FolderInbox, FolderBlocked, or "" when it failed
	Reason      string     `json:"reason"` // why it failed (ReasonSuspended, …); "" unless it did
	SentAt      Millis     `json:"sent_at_ms"`
	DeliveredAt Millis     `json:"delivered_at_ms"` // zero when it failed
	Seq         string     `json:"seq"`             // its place in the phone's folder; "" when it failed
	Trail       []Decision `json:"trail"`
}

// ValidationEvent is the data of a validation event: MIIT answered a
// validation.
type ValidationEvent struct {
	Phone    string `json:"phone"`
	Result   string `json:"result"` // ResultComplete, …
	Rejected bool   `json:"rejected"`
}

// ResendEvent is the data of a resend event: MIIT answered a resend
// request.
type ResendEvent struct {
	Phone  string `json:"phone"`
	Result string `json:"result"` // ResultResent, …
}

// PhoneProfileEvent is the data of a phone.profile event: a phone's
// profile changed.
type PhoneProfileEvent struct {
	Phone   string       `json:"phone"`
	Profile PhoneProfile `json:"profile"`
}

// PhoneClearedEvent is the data of a phone.cleared event: a phone's
// folders were emptied (DELETE /phones/v1/{phone}/messages).
type PhoneClearedEvent struct {
	Phone string `json:"phone"`
}

// ResetEvent is the data of a reset event: the namespace was reset.
type ResetEvent struct{}

// Millis is a simulated time as the sms.* events carry it: a string of
// Unix milliseconds, "" for none (the zero Time).
type Millis struct{ time.Time }

// UnmarshalJSON reads a string (or number) of Unix milliseconds; "" is the
// zero time.
func (m *Millis) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" || s == "null" {
		m.Time = time.Time{}
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not a time in Unix milliseconds", b)
	}
	m.Time = time.UnixMilli(n).UTC()
	return nil
}

// MarshalJSON writes the time as the server does: a string of Unix
// milliseconds, "" for the zero time.
func (m Millis) MarshalJSON() ([]byte, error) {
	if m.IsZero() {
		return []byte(`""`), nil
	}
	return []byte(strconv.Quote(strconv.FormatInt(m.UnixMilli(), 10))), nil
}
