package gateway

import (
	"regexp"
	"strconv"
	"time"

	"smsim/simulator/core"
)

// Message states.
const (
	StatusQueued    = "queued"
	StatusDelivered = "delivered"
	StatusBlocked   = "blocked"
	StatusFailed    = "failed"
)

// Folders of a phone.
const (
	FolderInbox   = "inbox"
	FolderBlocked = "blocked"
)

// Reasons a delivery failed.
const (
	ReasonSuspended   = "suspended"
	ReasonUnreachable = "unreachable"
	ReasonDropped     = "dropped"
	ReasonOutage      = "outage"     // a carrier outage refused it
	ReasonThrottled   = "throttled"  // over a throttle that refuses
	ReasonInboxFull   = "inbox_full" // the phone's inbox is at its limit
	ReasonScripted    = "scripted"   // the phone's fault script failed it
)

// Message is one SMS and what became of it.
type Message struct {
	ID          string     `json:"id"`
	Phone       string     `json:"phone"`
	Sender      string     `json:"sender"`
	Body        string     `json:"body"`
	Code        string     `json:"code,omitempty"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason,omitempty"`
	Folder      string     `json:"folder,omitempty"`
	SentAt      time.Time  `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	DuplicateOf string     `json:"duplicate_of,omitempty"` // the message this one is a second copy of
	Trail       []Decision `json:"trail"`                  // why it went where it went, when it did

	Seq int64 `json:"-"` // delivery order in the namespace: a later delivery has a greater one
}

// CodeIn finds a six-digit code in body: the first run of exactly six
// digits that stands as a word of its own (not inside an id such as
// f_123456ab) — the first match of (^|[^0-9A-Za-z_])([0-9]{6})([^0-9A-Za-z_]|$),
// found without a regular expression, as every message planned reads it.
func CodeIn(body string) string {
	for i := 0; i < len(body); {
		if !isDigit(body[i]) {
			i++
			continue
		}
		j := i
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if j-i == 6 && (i == 0 || !isWordByte(body[i-1])) && (j == len(body) || !isWordByte(body[j])) {
			return body[i:j]
		}
		i = j
	}
	return ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isWordByte tells whether c is one of [0-9A-Za-z_]; a byte of a UTF-8
// sequence is not.
func isWordByte(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

var miitLong = regexp.MustCompile(`^106[0-9]{10}12381$`)

// IsMIITSender tells whether sender is one of MIIT's numbers: 12381, 106
// followed by ten digits and 12381, or a carrier's sender of MIIT's
// messages (core.CarrierSenders: 106598051001, 10655113, 106575000130).
func IsMIITSender(sender string) bool {
	return sender == "12381" || miitLong.MatchString(sender) || core.IsCarrierSender(sender)
}

func messageOf(v map[string]string) (Message, bool) {
	if v["id"] == "" {
		return Message{}, false
	}
	m := Message{
		ID: v["id"], Phone: v["phone"], Sender: v["sender"], Body: v["body"], Code: v["code"],
		Status: v["status"], Reason: v["reason"], Folder: v["folder"],
		SentAt: msTime(v["sent_at"]), DuplicateOf: v["duplicate_of"], Trail: trailOf(v["trail"]),
	}
	if m.Trail == nil {
		m.Trail = []Decision{}
	}
	if v["delivered_at"] != "" {
		t := msTime(v["delivered_at"])
		m.DeliveredAt = &t
	}
	m.Seq, _ = strconv.ParseInt(v["seq"], 10, 64)
	return m, true
}

func msTime(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.UnixMilli(n).UTC()
}

// PhoneMessage is a message as a phone shows it: what the phones' API
// answers and their sockets send.
type PhoneMessage struct {
	ID          string     `json:"id"`
	Phone       string     `json:"phone"`
	Sender      string     `json:"sender"`
	Body        string     `json:"body"`
	Code        string     `json:"code,omitempty"`
	Folder      string     `json:"folder"`
	SentAt      time.Time  `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

// Phoned is the message as its phone shows it.
func (m Message) Phoned() PhoneMessage {
	return PhoneMessage{ID: m.ID, Phone: m.Phone, Sender: m.Sender, Body: m.Body, Code: m.Code,
		Folder: m.Folder, SentAt: m.SentAt, DeliveredAt: m.DeliveredAt}
}
