package core

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed upgrade.lua
	upgradeLua    string
	upgradeScript = NewScript[struct{}](upgradeLua)

	//go:embed upgrade_codes.lua
	upgradeCodesLua    string
	upgradeCodesScript = NewScript[upgradeCodesArgs](upgradeCodesLua)
)

type upgradeCodesArgs struct {
	Bounds Bounds   `json:"bounds"`
	Codes  []string `json:"codes"` // the members of the set, each with its key in KEYS
}

// UpgradeStore brings the keys of keyspace ks written by an earlier version
// of smsim to this one's schema: the count of orders by status moves from
// fields of seq to filings:by_status, and the live codes from one set to a
// key each (code:<code>), bounded by b, and the numbers it knows from a set
// to a sorted set by when each was last written to. It changes nothing in a store this
// version wrote, so a process runs it whenever it makes a namespace (the
// first write to it from the process): one round trip, two with codes to
// move.
func UpgradeStore(ctx context.Context, rdb redis.UniversalClient, ks Keyspace, b Bounds) error {
	legacy := ks.LegacyCodes()
	codes, err := upgradeScript.Run(ctx, rdb, []string{ks.Seq(), ks.FilingsByStatus(), legacy, ks.Phones()}, struct{}{}).StringSlice()
	if err != nil {
		return fmt.Errorf("upgrade the keys of namespace %s: %w", ks.Namespace, err)
	}
	if len(codes) == 0 {
		return nil
	}
	keys := []string{legacy}
	for _, c := range codes {
		keys = append(keys, ks.Code(c))
	}
	if err := upgradeCodesScript.Run(ctx, rdb, keys, upgradeCodesArgs{Bounds: b, Codes: codes}).Err(); err != nil {
		return fmt.Errorf("upgrade the codes of namespace %s: %w", ks.Namespace, err)
	}
	return nil
}
