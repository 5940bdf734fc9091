package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
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
			return "", core.Invalid("%s: missing; give a mainland mobile number such as \"13800000001\"", field)
		}
		return "", core.Invalid("%s: %q is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)", field, s)
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
	SpamFilter    bool       // files MIIT's messages as spam
	Service       string     // active or suspended (overdue payment)
	Reachable     bool       // false: the number is unavailable
	Delay         core.Delay // the phone's own delay, on top of the network's
	InboxLimit    int        // the inbox holds at most this many messages (0: no limit); more are refused
	BlockSenders  []string   // the security app files messages from these senders as spam
	BlockKeywords []string   // … and messages whose body holds one of these
	DuplicateRate float64    // share of messages to this phone delivered twice
}

// profileJSON is the wire form of a Profile.
type profileJSON struct {
	SpamFilter    bool           `json:"spam_filter"`
	Service       string         `json:"service"`
	Reachable     bool           `json:"reachable"`
	Delay         core.DelayJSON `json:"delay"`
	InboxLimit    int            `json:"inbox_limit"`
	BlockSenders  []string       `json:"block_senders"`
	BlockKeywords []string       `json:"block_keywords"`
	DuplicateRate float64        `json:"duplicate_rate"`
}

// DefaultProfile is the profile of a phone nobody has set.
func DefaultProfile() Profile {
	return Profile{Service: ServiceActive, Reachable: true, Delay: core.Fixed(0),
		BlockSenders: []string{}, BlockKeywords: []string{}}
}

// MarshalJSON writes the profile in its wire form.
func (p Profile) MarshalJSON() ([]byte, error) {
	w := profileJSON{SpamFilter: p.SpamFilter, Service: p.Service, Reachable: p.Reachable, Delay: p.Delay.JSON(),
		InboxLimit: p.InboxLimit, BlockSenders: p.BlockSenders, BlockKeywords: p.BlockKeywords, DuplicateRate: p.DuplicateRate}
	if w.BlockSenders == nil {
		w.BlockSenders = []string{}
	}
	if w.BlockKeywords == nil {
		w.BlockKeywords = []string{}
	}
	return json.Marshal(w)
}

// Limits of a profile.
const (
	MaxBlockEntries = 100
	MaxKeywordLen   = 100
)

// ParseProfile reads a whole profile from JSON: what it omits takes its
// start value, and its delay is read against the start value, fixed 0s
// (core.ReadDelay); anything wrong is an *Error naming the field.
func ParseProfile(body []byte) (Profile, error) {
	w := profileJSON{Service: ServiceActive, Reachable: true, Delay: core.Fixed(0).JSON()}
	body, delay, err := core.ReadDelay(body, "delay", core.Fixed(0))
	if err != nil {
		return Profile{}, err
	}
	if err := core.DecodeProfileBytes(body, &w); err != nil {
		return Profile{}, err
	}
	if delay != nil {
		w.Delay = *delay
	}
	if err := nullEntries(body); err != nil {
		return Profile{}, err
	}
	p := Profile{SpamFilter: w.SpamFilter, Service: w.Service, Reachable: w.Reachable, InboxLimit: w.InboxLimit,
		BlockSenders: w.BlockSenders, BlockKeywords: w.BlockKeywords, DuplicateRate: w.DuplicateRate}
	if p.Service != ServiceActive && p.Service != ServiceSuspended {
		return Profile{}, core.Invalid("service: must be %q or %q, got %q", ServiceActive, ServiceSuspended, p.Service)
	}
	d, err := w.Delay.Parse("delay")
	if err != nil {
		return Profile{}, err
	}
	p.Delay = d
	if p.InboxLimit < 0 {
		return Profile{}, core.Invalid("inbox_limit: must be 0 (no limit) or more, got %d", p.InboxLimit)
	}
	if math.IsNaN(p.DuplicateRate) || p.DuplicateRate < 0 || p.DuplicateRate > 1 {
		return Profile{}, core.Invalid("duplicate_rate: must be a rate from 0 to 1, got %v", p.DuplicateRate)
	}
	if len(p.BlockSenders) > MaxBlockEntries || len(p.BlockKeywords) > MaxBlockEntries {
		return Profile{}, core.Invalid("block_senders, block_keywords: at most %d entries each", MaxBlockEntries)
	}
	for _, s := range p.BlockSenders {
		if err := ValidateSender("block_senders", s); err != nil {
			return Profile{}, err
		}
	}
	for _, k := range p.BlockKeywords {
		if k == "" || utf8.RuneCountInString(k) > MaxKeywordLen {
			return Profile{}, core.Invalid("block_keywords: each keyword must be 1 to %d characters, got %q", MaxKeywordLen, k)
		}
	}
	if p.BlockSenders == nil {
		p.BlockSenders = []string{}
	}
	if p.BlockKeywords == nil {
		p.BlockKeywords = []string{}
	}
	return p, nil
}

// folderKey is the key of a phone's folder, FolderInbox or FolderBlocked.
func (g *Gateway) folderKey(phone, folder string) string {
	if folder == FolderBlocked {
		return g.ks.PhoneBlocked(phone)
	}
	return g.ks.PhoneInbox(phone)
}

// Profile reads a phone's profile: the one set for it, else its magic
// number's (when the fault profile has magic numbers on), else the default.
func (g *Gateway) Profile(ctx context.Context, phone string) (Profile, error) {
	p := g.rdb.Pipeline()
	pc := p.Get(ctx, g.ks.PhoneProfile(phone))
	fc := g.faults.GetCmd(ctx, p)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Profile{}, fmt.Errorf("read profile of %s: %w", phone, err)
	}
	f, err := g.faults.Of(fc)
	if err != nil {
		return Profile{}, err
	}
	return profileOf(phone, pc, f.MagicNumbers)
}

func profileOf(phone string, cmd *redis.StringCmd, magic bool) (Profile, error) {
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		if m, ok := MagicProfile(phone); ok && magic {
			return m, nil
		}
		return DefaultProfile(), nil
	}
	if err != nil {
		return Profile{}, fmt.Errorf("read profile of %s: %w", phone, err)
	}
	prof, err := ParseProfile(b)
	if err != nil {
		return Profile{}, fmt.Errorf("stored profile of %s: %w", phone, err)
	}
	return prof, nil
}

// SetProfile replaces a phone's profile.
func (g *Gateway) SetProfile(ctx context.Context, phone string, p Profile) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = g.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.Set(ctx, g.ks.PhoneProfile(phone), b, g.state.Limits().NamespaceTTL)
		g.knowPhone(ctx, tx, phone)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store profile of %s: %w", phone, err)
	}
	st := g.phones.get(phone)
	st.raw = string(b)
	g.phones.set(phone, st)
	return nil
}

// nullEntries refuses a null among the entries of block_senders or
// block_keywords, which a profile's decoding reads as "": a null there is
// no start value, and "" is not what the client sent.
func nullEntries(body []byte) error {
	var lists struct {
		BlockSenders  []*json.RawMessage `json:"block_senders"`
		BlockKeywords []*json.RawMessage `json:"block_keywords"`
	}
	if json.Unmarshal(body, &lists) != nil {
		return nil // the profile's decoding names what is wrong
	}
	for _, l := range []struct {
		field   string
		entries []*json.RawMessage
	}{{"block_senders", lists.BlockSenders}, {"block_keywords", lists.BlockKeywords}} {
		for i, e := range l.entries {
			if e == nil || string(*e) == "null" {
				return core.Invalid("%s[%d]: null; give a string, or leave the entry out", l.field, i)
			}
		}
	}
	return nil
}
