package client

import "time"

// Webhook is a registered webhook: where the server posts, which kinds of
// events, and the key that signs the posts.
type Webhook struct {
	ID        string    `json:"id"`         // "wh_" and 16 hex digits
	URL       string    `json:"url"`        // where the posts go
	Events    []string  `json:"events"`     // the kinds of events it receives (KindSMSDelivered, …)
	Secret    string    `json:"secret"`     // the HMAC key of the signatures (VerifyWebhook)
	CreatedAt time.Time `json:"created_at"` // real time of the registration
}

// DefaultWebhookEvents answers the kinds a webhook registered without
// events receives: what a sender of verification codes acts on.
func DefaultWebhookEvents() []string {
	return []string{KindSMSDelivered, KindSMSBlocked, KindSMSFailed, KindValidation, KindFilingStatus}
}

// WebhookDelivery is one attempt to post an event to a webhook, as its
// delivery log keeps it.
type WebhookDelivery struct {
	ID            string     `json:"id"` // the delivery id: one per event and webhook, the same in every attempt
	HookID        string     `json:"hook_id"`
	EventID       string     `json:"event_id"`
	Kind          string     `json:"kind"`
	Attempt       int        `json:"attempt"`               // 1-based
	Status        string     `json:"status"`                // DeliveryDelivered, DeliveryRetrying or DeliveryFailed
	StatusCode    int        `json:"status_code,omitempty"` // the target's HTTP status, when it answered
	Error         string     `json:"error,omitempty"`       // why the attempt failed: "status 500", a connection error
	At            time.Time  `json:"at"`                    // real time of the attempt
	DurationMS    int64      `json:"duration_ms"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"` // real time of the next attempt, when one is scheduled
}

// Statuses of a webhook delivery attempt.
const (
	DeliveryDelivered = "delivered" // the target answered 2xx
	DeliveryRetrying  = "retrying"  // it failed; another attempt is scheduled
	DeliveryFailed    = "failed"    // it failed, and it was the last attempt
)

// WebhookPayload is the body of a webhook's post: the event exactly as the
// event log shows it.
type WebhookPayload struct {
	ID      string `json:"id"` // the delivery id, the same in every attempt: drop a repeat
	HookID  string `json:"hook_id"`
	Attempt int    `json:"attempt"` // 1-based
	Event   Event  `json:"event"`
}

// Headers of a webhook's post.
const (
	WebhookEventHeader     = "X-Smsim-Event"     // the event's kind
	WebhookDeliveryHeader  = "X-Smsim-Delivery"  // the delivery id, the same in every attempt
	WebhookTimestampHeader = "X-Smsim-Timestamp" // unix seconds of the attempt
	WebhookSignatureHeader = "X-Smsim-Signature" // "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>"
)
