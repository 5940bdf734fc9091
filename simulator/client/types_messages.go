package client

import (
	"regexp"
	"time"
)

// Message is one SMS and what became of it. A message as a phone's
// endpoints show it (Messages, Next, Watch) has no Status, Reason or Trail:
// Message reads those.
type Message struct {
	ID          string     `json:"id"`
	Phone       string     `json:"phone"`
	Sender      string     `json:"sender"`
	Body        string     `json:"body"`
	Code        string     `json:"code,omitempty"`   // the six-digit code in the body (CodeIn), if any
	Status      string     `json:"status"`           // MessageQueued, MessageDelivered, MessageBlocked or MessageFailed
	Reason      string     `json:"reason,omitempty"` // why it failed: ReasonDropped, …
	Folder      string     `json:"folder,omitempty"` // FolderInbox or FolderBlocked, once delivered
	SentAt      time.Time  `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	DuplicateOf string     `json:"duplicate_of,omitempty"` // the message this one is a second copy of
	Trail       []Decision `json:"trail"`                  // why it went where it went, when it did
}

// States of a message.
const (
	MessageQueued    = "queued"
	MessageDelivered = "delivered"
	MessageBlocked   = "blocked"
	MessageFailed    = "failed"
)

// Folders of a phone.
const (
	FolderInbox   = "inbox"
	FolderBlocked = "blocked" // what the phone's spam filter kept out
	// Not folders of the phone: what never reached one, as Messages lists it.
	FolderFailed     = "failed"     // the messages to the phone that failed
	FolderTravelling = "travelling" // the messages to the phone still on their way
)

// Reasons a delivery failed.
const (
	ReasonSuspended   = "suspended"   // the phone's service is suspended
	ReasonUnreachable = "unreachable" // the phone is not reachable
	ReasonDropped     = "dropped"     // the network lost it
	ReasonOutage      = "outage"      // a carrier outage refused it
	ReasonThrottled   = "throttled"   // over a throttle that refuses
	ReasonInboxFull   = "inbox_full"  // the phone's inbox is at its limit
	ReasonScripted    = "scripted"    // the phone's fault script failed it
)

// A Decision is one thing that happened to a message on its way — a delay
// drawn, an outage that held it, a spam filter — so that a test can
// explain every message.
type Decision struct {
	At     time.Time `json:"at"`   // simulated time
	Step   string    `json:"step"` // StepSent, StepDelay, …
	Detail string    `json:"detail"`
}

// Steps of a message's trail.
const (
	StepSent       = "sent"
	StepDelay      = "delay"
	StepPhoneDelay = "phone_delay"
	StepReorder    = "reorder"
	StepThrottle   = "throttle"
	StepScript     = "script"
	StepDuplicate  = "duplicate"
	StepOutage     = "outage"
	StepFailed     = "failed"
	StepBlocked    = "blocked"
	StepDelivered  = "delivered"
)

var sixDigits = regexp.MustCompile(`(^|[^0-9A-Za-z_])([0-9]{6})([^0-9A-Za-z_]|$)`)

// CodeIn finds a six-digit code in body as the server does for a message's
// Code: the first run of exactly six digits that stands as a word of its
// own (not inside an id such as f_123456ab). Empty when there is none.
func CodeIn(body string) string {
	m := sixDigits.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[2]
}

var miitLong = regexp.MustCompile(`^106[0-9]{10}12381$`)

// CarrierSenders are the numbers each carrier's users get MIIT's code
// message from, when the fault profile's CodeSender is CodeSenderCarrier.
var CarrierSenders = map[string]string{
	"china_telecom": "106598051001",
	"china_unicom":  "10655113",
	"china_mobile":  "106575000130",
}

// IsMIITSender tells whether sender is one of MIIT's numbers: 12381, 106
// followed by ten digits and 12381, or a carrier's sender of MIIT's
// messages (CarrierSenders).
func IsMIITSender(sender string) bool {
	if sender == "12381" || miitLong.MatchString(sender) {
		return true
	}
	for _, s := range CarrierSenders {
		if s == sender {
			return true
		}
	}
	return false
}
