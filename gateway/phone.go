package gateway

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"

	"smsim/simulator"
)

var mobile = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// NormalizePhone reads a mainland mobile number: 11 digits matching
// ^1[3-9][0-9]{9}$, with an optional leading +86 or 86. field names the
// number in errors.
func NormalizePhone(field, s string) (string, error) {
	p := s
	switch {
	case strings.HasPrefix(p, "+86"):
		p = p[3:]
	case strings.HasPrefix(p, "86") && len(p) == 13:
		p = p[2:]
	}
	if !mobile.MatchString(p) {
		if s == "" {
			return "", simulator.Invalid("%s: missing; give a mainland mobile number such as \"13800000001\"", field)
		}
		return "", simulator.Invalid("%s: %q is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)", field, s)
	}
	return p, nil
}

// Service states of a phone's line.
const (
	ServiceActive    = "active"
	ServiceSuspended = "suspended"
)

// Profile is a phone's own faults.
type Profile struct {
	SpamFilter bool   `json:"spam_filter"` // files MIIT's messages as spam
	Service    string `json:"service"`     // active or suspended (overdue payment)
	Reachable  bool   `json:"reachable"`   // false: the number is unavailable
}

// DefaultProfile is the profile of a phone nobody has set.
func DefaultProfile() Profile { return Profile{Service: ServiceActive, Reachable: true} }

// Validate checks a profile read from a request.
func (p Profile) Validate() error {
	if p.Service != ServiceActive && p.Service != ServiceSuspended {
		return simulator.Invalid("service: must be %q or %q, got %q", ServiceActive, ServiceSuspended, p.Service)
	}
	return nil
}

func (g *Gateway) profileKey(phone string) string { return g.ks.Key("phone", phone, "profile") }

func (g *Gateway) folderKey(phone, folder string) string { return g.ks.Key("phone", phone, folder) }

// Profile reads a phone's profile.
func (g *Gateway) Profile(ctx context.Context, phone string) (Profile, error) {
	v, err := g.rdb.HGetAll(ctx, g.profileKey(phone)).Result()
	if err != nil {
		return Profile{}, fmt.Errorf("read profile of %s: %w", phone, err)
	}
	return profileOf(v), nil
}

func profileOf(v map[string]string) Profile {
	p := DefaultProfile()
	if len(v) == 0 {
		return p
	}
	p.SpamFilter = v["spam_filter"] == "1"
	p.Service = v["service"]
	p.Reachable = v["reachable"] == "1"
	return p
}

// SetProfile replaces a phone's profile.
func (g *Gateway) SetProfile(ctx context.Context, phone string, p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	_, err := g.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.HSet(ctx, g.profileKey(phone), "spam_filter", b01(p.SpamFilter), "service", p.Service, "reachable", b01(p.Reachable))
		tx.SAdd(ctx, g.ks.Key("phones"), phone)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store profile of %s: %w", phone, err)
	}
	return nil
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
