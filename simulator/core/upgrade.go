package core

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed upgrade.lua
	upgradeLua    string
	upgradeScript = NewScript[struct{}](upgradeLua)

	//go:embed upgrade_codes.lua
	upgradeCodesLua    string
	upgradeCodesScript = NewScript[upgradeCodesArgs](upgradeCodesLua)

	//go:embed index_codes.lua
	indexCodesLua    string
	indexCodesScript = NewScript[indexCodesArgs](indexCodesLua)
)

type upgradeCodesArgs struct {
	Bounds Bounds   `json:"bounds"`
	Codes  []string `json:"codes"` // the members of the set, each with its key in KEYS
}

type indexCodesArgs struct {
	Codes []string `json:"codes"` // each with its key in KEYS, in order
}

// UpgradeStore brings the keys of keyspace ks written by an earlier version
// of smsim to this one's schema: the count of orders by status moves from
// fields of seq to filings:by_status; the live codes from one set to a key
// each (code:<code>), bounded by b; the numbers it knows from a set to a
// sorted set by when each was last written to; and the live codes, each
// with a key, are listed in codes:by_deadline. It changes nothing in a
// store this version wrote, so a process runs it whenever it makes a
// namespace (the first write to it from the process): one round trip, two
// with codes to move. Listing the codes of a store written before they
// were listed reads the whole database (SCAN), once: the store notes it
// done (seq's field codes_indexed), and a new namespace has nothing to
// list.
func UpgradeStore(ctx context.Context, rdb redis.UniversalClient, ks Keyspace, b Bounds) error {
	legacy := ks.LegacyCodes()
	out, err := upgradeScript.Run(ctx, rdb, []string{ks.Seq(), ks.FilingsByStatus(), legacy, ks.Phones(), ks.CodesByDeadline()}, struct{}{}).StringSlice()
	if err != nil {
		return fmt.Errorf("upgrade the keys of namespace %s: %w", ks.Namespace, err)
	}
	if len(out) == 0 {
		return fmt.Errorf("upgrade the keys of namespace %s: no answer", ks.Namespace)
	}
	toIndex, codes := out[0] == "1", out[1:]
	if len(codes) > 0 {
		keys := []string{legacy, ks.CodesByDeadline()}
		for _, c := range codes {
			keys = append(keys, ks.Code(c))
		}
		if err := upgradeCodesScript.Run(ctx, rdb, keys, upgradeCodesArgs{Bounds: b, Codes: codes}).Err(); err != nil {
			return fmt.Errorf("upgrade the codes of namespace %s: %w", ks.Namespace, err)
		}
	}
	if toIndex {
		if err := IndexCodes(ctx, rdb, ks); err != nil {
			return fmt.Errorf("upgrade the codes of namespace %s: %w", ks.Namespace, err)
		}
	}
	return nil
}

// CodesIndexed is the field of seq that notes the live codes of a
// namespace listed in codes:by_deadline: those of a store written before
// they were listed (IndexCodes), or none, in a namespace made since.
const CodesIndexed = "codes_indexed"

// IndexCodes lists the live codes of ks, each of which has a key, in
// codes:by_deadline, reading the whole database (SCAN, on every master of
// a cluster), then notes it done (CodesIndexed). UpgradeStore runs it
// when a process opens a namespace of a store written before; one a
// process takes up without opening it (another process's) is listed when
// its codes are first retimed (miit.Service.RetimeCodes).
func IndexCodes(ctx context.Context, rdb redis.UniversalClient, ks Keyspace) error {
	prefix := ks.Code("")
	err := ScanKeys(ctx, rdb, ks.Code("*"), 500, func(ctx context.Context, _ redis.Cmdable, keys []string) error {
		args := indexCodesArgs{Codes: make([]string, len(keys))}
		for i, k := range keys {
			args.Codes[i] = strings.TrimPrefix(k, prefix)
		}
		return indexCodesScript.Run(ctx, rdb, append([]string{ks.CodesByDeadline()}, keys...), args).Err()
	})
	if err != nil {
		return fmt.Errorf("list the live codes: %w", err)
	}
	if err := rdb.HSet(ctx, ks.Seq(), CodesIndexed, "1").Err(); err != nil {
		return fmt.Errorf("note the live codes listed: %w", err)
	}
	return nil
}
