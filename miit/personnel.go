package miit

import (
	"sort"
	"strings"

	"smsim/simulator/core"
)

// Roles of the people who validate.
const (
	EntityLeader = "entity_leader"
	WebsiteAdmin = "website_admin"
)

// Filing types.
const (
	TypeFirstFiling    = "first_filing"
	TypeAddService     = "add_service"
	TypeAddProvider    = "add_provider"
	TypeModify         = "modify"
	TypeCancel         = "cancel"
	TypeRemoveProvider = "remove_provider"
)

var (
	both       = []string{EntityLeader, WebsiteAdmin}
	leaderOnly = []string{EntityLeader}
	adminOnly  = []string{WebsiteAdmin}
)

// personnel is who must validate, by filing type and variant (the FAQ's
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
// variant, in the order entity leader, website administrator.
func Required(typ, variant string) ([]string, error) {
	variants, ok := personnel[typ]
	if !ok {
		return nil, core.Invalid("type: must be one of %s, got %q", strings.Join(keys(personnel), ", "), typ)
	}
	roles, ok := variants[variant]
	if !ok {
		if _, none := variants[""]; none {
			return nil, core.Invalid("variant: type %s takes no variant, got %q", typ, variant)
		}
		if variant == "" {
			return nil, core.Invalid("variant: missing; type %s takes one of %s", typ, strings.Join(keys(variants), ", "))
		}
		return nil, core.Invalid("variant: type %s takes one of %s, got %q", typ, strings.Join(keys(variants), ", "), variant)
	}
	return append([]string{}, roles...), nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
