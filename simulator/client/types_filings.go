package client

import "time"

// Filing types: what an order asks of MIIT.
const (
	TypeFirstFiling    = "first_filing"    // first filing
	TypeAddService     = "add_service"     // add a new service
	TypeAddProvider    = "add_provider"    // add the provider as a service provider
	TypeModify         = "modify"          // modify filing information
	TypeCancel         = "cancel"          // cancel a filing
	TypeRemoveProvider = "remove_provider" // remove the provider from the service provider list
)

// Roles of the people who validate.
const (
	EntityLeader = "entity_leader"
	WebsiteAdmin = "website_admin"
)

// Statuses of an order. MIIT's view starts at FilingUnknown, the
// provider's at FilingSubmitted; the provider learns of MIIT's outcomes
// after the result sync lag.
const (
	FilingUnknown           = "unknown" // not synced yet: MIIT knows nothing of it
	FilingSubmitted         = "submitted"
	FilingPendingValidation = "pending_validation"
	FilingUnderReview       = "under_review"
	FilingApproved          = "approved"
	FilingReturned          = "returned"
	FilingRejected          = "rejected"
	FilingCanceled          = "canceled"
)

// Person is someone named in an order.
type Person struct {
	Name              string `json:"name"`
	Phone             string `json:"phone"`              // a mainland mobile number
	CertificateNumber string `json:"certificate_number"` // 6 to 32 letters and digits
}

// SubmitRequest is a filing order as the customer submits it: the people
// its type and variant need (Required).
type SubmitRequest struct {
	Type         string  `json:"type"`              // TypeFirstFiling, …
	Variant      string  `json:"variant,omitempty"` // such as "website"; none for add_provider and remove_provider
	EntityLeader *Person `json:"entity_leader,omitempty"`
	WebsiteAdmin *Person `json:"website_admin,omitempty"`
}

// NumberChange is a new mobile number for a required person of a
// cancellation order (ChangeNumbers).
type NumberChange struct {
	Phone string `json:"phone"`
}

// ProviderView is an order as the provider's filing system shows it:
// MIIT's outcomes reach it after the result sync lag.
type ProviderView struct {
	ID          string           `json:"id"`
	Type        string           `json:"type"`
	Variant     string           `json:"variant,omitempty"`
	Status      string           `json:"status"`                // FilingSubmitted, …
	CanceledBy  string           `json:"canceled_by,omitempty"` // with FilingCanceled: "customer" or "expiry"
	Required    []string         `json:"required"`              // the roles that must validate
	SubmittedAt time.Time        `json:"submitted_at"`
	Personnel   []ProviderPerson `json:"personnel"`
}

// ProviderPerson is a required person in the provider's view.
type ProviderPerson struct {
	Role      string `json:"role"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Validated bool   `json:"validated"`
}

// MIITView is an order as MIIT's validation database holds it, without
// lag. It never shows the codes.
type MIITView struct {
	ID          string       `json:"id"`
	Type        string       `json:"type"`
	Variant     string       `json:"variant,omitempty"`
	Status      string       `json:"status"`                // FilingUnknown, …
	CanceledBy  string       `json:"canceled_by,omitempty"` // "customer" or "expiry"
	CodesSentAt *time.Time   `json:"codes_sent_at,omitempty"`
	Deadline    *time.Time   `json:"deadline,omitempty"` // the end of the validation window
	Personnel   []MIITPerson `json:"personnel"`          // empty before the codes are sent
}

// MIITPerson is a required person in MIIT's view. People who share a
// mobile number share their counts.
type MIITPerson struct {
	Role      string `json:"role"`
	Phone     string `json:"phone"`
	Validated bool   `json:"validated"`
	Failures  int    `json:"failures"` // consecutive failed validations
	Resends   int    `json:"resends"`
}

var (
	both       = []string{EntityLeader, WebsiteAdmin}
	leaderOnly = []string{EntityLeader}
	adminOnly  = []string{WebsiteAdmin}
)

// personnel is who must validate, by filing type and variant (MIIT's
// reference table). A type without variants has the single variant "".
var personnel = map[string]map[string][]string{
	TypeFirstFiling:    {"website": both, "website_and_app": leaderOnly, "app": leaderOnly},
	TypeAddService:     {"website": both, "website_and_app": leaderOnly, "app": leaderOnly},
	TypeAddProvider:    {"": both},
	TypeModify:         {"entity": leaderOnly, "service": adminOnly, "entity_and_service": both},
	TypeCancel:         {"entity": leaderOnly, "website": adminOnly, "app": adminOnly},
	TypeRemoveProvider: {"": nil},
}

// Required answers the roles that must validate a filing of type typ and
// variant, in the order entity leader, website administrator (none for
// remove_provider); false when the type or the variant is not one the
// server takes (it answers which).
func Required(typ, variant string) ([]string, bool) {
	roles, ok := personnel[typ][variant]
	if !ok {
		return nil, false
	}
	return append([]string{}, roles...), true
}
