package client

import (
	"encoding/json"
)

// Service states of a phone's line.
const (
	ServiceActive    = "active"
	ServiceSuspended = "suspended" // overdue payment: messages to it fail
)

// PhoneProfile is a phone's own faults. Start from DefaultPhoneProfile and
// change what the test needs.
type PhoneProfile struct {
	SpamFilter    bool     // files MIIT's messages as spam
	Service       string   // ServiceActive or ServiceSuspended
	Reachable     bool     // false: the number is unavailable
	Delay         Delay    // the phone's own delay, on top of the network's
	InboxLimit    int      // the inbox holds at most this many messages (0: no limit); more are refused
	BlockSenders  []string // the security app files messages from these senders as spam
	BlockKeywords []string // … and messages whose body holds one of these
	DuplicateRate float64  // share of messages to this phone delivered twice
}

// DefaultPhoneProfile is the profile of a phone nobody has set (and that
// is no magic number).
func DefaultPhoneProfile() PhoneProfile {
	return PhoneProfile{Service: ServiceActive, Reachable: true, Delay: Fixed(0),
		BlockSenders: []string{}, BlockKeywords: []string{}}
}

// phoneProfileJSON is the wire form of a PhoneProfile.
type phoneProfileJSON struct {
	SpamFilter    bool     `json:"spam_filter"`
	Service       string   `json:"service"`
	Reachable     bool     `json:"reachable"`
	Delay         Delay    `json:"delay"`
	InboxLimit    int      `json:"inbox_limit"`
	BlockSenders  []string `json:"block_senders"`
	BlockKeywords []string `json:"block_keywords"`
	DuplicateRate float64  `json:"duplicate_rate"`
}

// MarshalJSON writes the profile in its wire form; the block lists are
// arrays even when empty.
func (p PhoneProfile) MarshalJSON() ([]byte, error) {
	w := phoneProfileJSON(p)
	if w.BlockSenders == nil {
		w.BlockSenders = []string{}
	}
	if w.BlockKeywords == nil {
		w.BlockKeywords = []string{}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a profile in its wire form; what it omits takes its
// start value (DefaultPhoneProfile).
func (p *PhoneProfile) UnmarshalJSON(b []byte) error {
	w := phoneProfileJSON(DefaultPhoneProfile())
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = PhoneProfile(w)
	if p.BlockSenders == nil {
		p.BlockSenders = []string{}
	}
	if p.BlockKeywords == nil {
		p.BlockKeywords = []string{}
	}
	return nil
}

// PhoneSummary is a phone as the listing of phones shows it: its profile
// and how many messages each folder holds.
type PhoneSummary struct {
	Phone   string       `json:"phone"`
	Profile PhoneProfile `json:"profile"`
	Inbox   int64        `json:"inbox"`
	Blocked int64        `json:"blocked"`
}

// Script is a phone's fault script: the steps its next messages work
// through, in order; after the last, messages are treated as usual.
type Script struct {
	Steps []Step `json:"steps,omitempty"` // none: the script is cleared
}

// Step is one step of a phone's fault script: Count messages in a row (0:
// one) get Action.
type Step struct {
	Action string `json:"action"`       // ActionDeliver, ActionFail, …
	Count  int    `json:"count"`        //
	By     string `json:"by,omitempty"` // with ActionDelay: a Go duration string, such as "40m"
}

// Actions of a fault script's step: what happens to the next message.
const (
	ActionDeliver   = "deliver"   // as usual
	ActionFail      = "fail"      // the delivery fails (ReasonScripted)
	ActionBlock     = "block"     // the phone files it as spam
	ActionDelay     = "delay"     // held By longer than usual
	ActionDuplicate = "duplicate" // delivered twice
)
