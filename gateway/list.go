package gateway

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

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
// message, delivered one or given a profile within the retention — sorted
// by number, those whose number holds q, a page of limit from offset; and
// how many there are.
func (g *Gateway) Phones(ctx context.Context, q string, limit, offset int) ([]PhoneSummary, int, error) {
	p := g.rdb.Pipeline()
	fc := g.faults.GetCmd(ctx, p)
	known := p.ZRangeWithScores(ctx, g.ks.Phones(), 0, -1)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("list phones: %w", err)
	}
	f, err := g.faults.Of(fc)
	if err != nil {
		return nil, 0, err
	}
	// a number not written to within the retention has its keys expired;
	// a script that records a new number takes it out of the set, once
	// every 64 numbers (the prelude's know_phone)
	since := math.Inf(-1)
	if retain := g.state.Limits().BoundsOf(f).Retain; retain > 0 {
		since = float64(time.Now().UnixMilli() - retain)
	}
	var match []string
	for _, z := range known.Val() {
		if p, _ := z.Member.(string); z.Score >= since && strings.Contains(p, q) {
			match = append(match, p)
		}
	}
	sort.Strings(match)
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
	p = g.rdb.Pipeline()
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
	for i, phone := range match {
		prof, err := profileOf(phone, cs[i].prof, f.MagicNumbers)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, PhoneSummary{Phone: phone, Profile: prof, Inbox: cs[i].inbox.Val(), Blocked: cs[i].blocked.Val()})
	}
	return out, total, nil
}

// knowPhone queues on p the record that phone was written to now, in the
// sorted set of the numbers the namespace knows (the prelude's know_phone
// does the same in a script).
func (g *Gateway) knowPhone(ctx context.Context, p redis.Pipeliner, phone string) {
	p.ZAdd(ctx, g.ks.Phones(), redis.Z{Score: float64(time.Now().UnixMilli()), Member: phone})
}
