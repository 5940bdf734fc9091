package client

import (
	"encoding/json"
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
	KindReset           = "reset"            // the namespace was reset
)
