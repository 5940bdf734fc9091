package miit

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

var (
	//go:embed retime_codes.lua
	retimeCodesLua    string
	retimeCodesScript = core.NewScript[retimeCodesArgs](retimeCodesLua)
)

// retimeCodesArgs are the arguments of retime_codes.lua.
type retimeCodesArgs struct {
	Expect core.Expect `json:"expect"`
	Bounds core.Bounds `json:"bounds"`
	Now    int64       `json:"now"` // ms
}

// RetimeCodes sets afresh how long the key of each live code lives — until
// the clock reaches its order's deadline, in real time at the clock's
// scale, kept while the clock is paused — after the clock's scale or pause
// changed, or the running clock was advanced: a pass over the namespace's code keys (SCAN), in batches. What a
// code is worth is decided by the simulated clock whatever its key's
// lifetime; the lifetime only keeps the store from holding dead codes.
func (s *Service) RetimeCodes(ctx context.Context) error {
	err := core.ScanKeys(ctx, s.rdb, s.ks.Code("*"), 500, func(ctx context.Context, _ redis.Cmdable, codes []string) error {
		return s.withSnapshot(ctx, func(snap core.Snapshot) error {
			keys := append([]string{s.ks.Clock(), s.ks.Faults()}, codes...)
			return retimeCodesScript.Run(ctx, s.rdb, keys,
				retimeCodesArgs{Expect: snap.Expect, Bounds: snap.Bounds(), Now: snap.Now().Now.UnixMilli()}).Err()
		})
	})
	if err != nil {
		return fmt.Errorf("set the lifetime of the codes: %w", err)
	}
	return nil
}
