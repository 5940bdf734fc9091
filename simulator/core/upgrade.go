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
)

// UpgradeStore brings the keys of keyspace ks written by an earlier version
// of smsim to this one's schema: today, the count of orders by status moves
// from fields of seq to filings:by_status. It changes nothing in a store
// this version wrote, so a process runs it whenever it makes a namespace
// (the first write to it from the process).
func UpgradeStore(ctx context.Context, rdb redis.UniversalClient, ks Keyspace) error {
	if err := upgradeScript.Run(ctx, rdb, []string{ks.Seq(), ks.FilingsByStatus()}, struct{}{}).Err(); err != nil {
		return fmt.Errorf("upgrade the keys of namespace %s: %w", ks.Namespace, err)
	}
	return nil
}
