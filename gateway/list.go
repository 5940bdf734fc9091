package gateway

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// PhoneSummary is a phone as a listing shows it: its profile and how many
// messages each folder holds.
type PhoneSummary struct {
	Phone   string  `json:"phone"`
	Profile Profile `json:"profile"`
	Inbox   int64   `json:"inbox"`
	Blocked int64   `json:"blocked"`
}

// Phones lists the phones the simulator knows — those that were sent a
// message or given a profile — sorted by number, those whose number holds
// q, a page of limit from offset; and how many there are.
func (g *Gateway) Phones(ctx context.Context, q string, limit, offset int) ([]PhoneSummary, int, error) {
	all, err := g.rdb.SMembers(ctx, g.ks.Phones()).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("list phones: %w", err)
	}
	sort.Strings(all)
	var match []string
	for _, p := range all {
		if strings.Contains(p, q) {
			match = append(match, p)
		}
	}
	total := len(match)
	if offset > len(match) {
		offset = len(match)
	}
	match = match[offset:]
	if len(match) > limit {
		match = match[:limit]
	}
	out := make([]PhoneSummary, 0, len(match))
	if len(match) == 0 {
		return out, total, nil
	}
	p := g.rdb.Pipeline()
	fc := g.faults.GetCmd(ctx, p)
	type cmds struct {
		prof           *redis.StringCmd
		inbox, blocked *redis.IntCmd
	}
	cs := make([]cmds, len(match))
	for i, phone := range match {
		cs[i] = cmds{p.Get(ctx, g.ks.PhoneProfile(phone)), p.ZCard(ctx, g.folderKey(phone, FolderInbox)), p.ZCard(ctx, g.folderKey(phone, FolderBlocked))}
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("list phones: %w", err)
	}
	f, err := g.faults.Of(fc)
	if err != nil {
		return nil, 0, err
	}
	for i, phone := range match {
		prof, err := profileOf(phone, cs[i].prof, f.MagicNumbers)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, PhoneSummary{Phone: phone, Profile: prof, Inbox: cs[i].inbox.Val(), Blocked: cs[i].blocked.Val()})
	}
	return out, total, nil
}
