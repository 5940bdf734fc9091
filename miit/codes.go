package miit

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strconv"

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
	Now    int64       `json:"now"`   // ms
	Codes  []string    `json:"codes"` // each with its key in KEYS, in order
}

// retimeBatch is how many codes a call of retime_codes.lua sets.
const retimeBatch = 500

// RetimeCodes sets afresh how long the key of each live code lives — until
// the clock reaches its order's deadline, in real time at the clock's
// scale, kept while the clock is paused — after the clock's scale or pause
// changed, or the running clock was advanced. It reads the live codes from
// their sorted set (core.Keyspace.CodesByDeadline), those whose deadline
// is still to come, and sets them in batches: a round trip for the set and
// one a batch, however large the database. What a code is worth is decided
// by the simulated clock whatever its key's lifetime; the lifetime only
// keeps the store from holding dead codes.
//
// A namespace of a store written before the codes were listed is listed
// when a process opens it (core.UpgradeStore); one this process took up
// without opening it — from the registry, made by another process, or
// asleep with jobs to carry out — is listed here, the first time
// (core.IndexCodes), so that none of its live codes is left out.
func (s *Service) RetimeCodes(ctx context.Context) error {
	snap, err := s.state.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("set the lifetime of the codes: %w", err)
	}
	now := snap.Now().Now.UnixMilli()
	codes, listed, err := s.liveCodes(ctx, now)
	if err == nil && !listed {
		if err = core.IndexCodes(ctx, s.rdb, s.ks); err == nil {
			codes, _, err = s.liveCodes(ctx, now)
		}
	}
	if err != nil {
		return fmt.Errorf("set the lifetime of the codes: read them: %w", err)
	}
	for batch := range slices.Chunk(codes, retimeBatch) {
		err := s.withSnapshot(ctx, func(snap core.Snapshot) error {
			keys := make([]string, 0, 3+len(batch))
			keys = append(keys, s.ks.Clock(), s.ks.Faults(), s.ks.CodesByDeadline())
			for _, c := range batch {
				keys = append(keys, s.ks.Code(c))
			}
			return retimeCodesScript.Run(ctx, s.rdb, keys,
				retimeCodesArgs{Expect: snap.Expect, Bounds: snap.Bounds(), Now: snap.Now().Now.UnixMilli(), Codes: batch}).Err()
		})
		if err != nil {
			return fmt.Errorf("set the lifetime of the codes: %w", err)
		}
	}
	return nil
}

// liveCodes answers the codes listed live whose deadline is after now
// (ms), and whether the namespace's live codes are all listed: noted so
// (core.CodesIndexed), or a namespace with no sequence numbers, which has
// none. One round trip.
func (s *Service) liveCodes(ctx context.Context, now int64) (codes []string, listed bool, err error) {
	var indexed *redis.BoolCmd
	var seq *redis.IntCmd
	var zr *redis.StringSliceCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		indexed = p.HExists(ctx, s.ks.Seq(), core.CodesIndexed)
		seq = p.Exists(ctx, s.ks.Seq())
		zr = p.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.ks.CodesByDeadline(), ByScore: true,
			Start: "(" + strconv.FormatInt(now, 10), Stop: "+inf"})
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return zr.Val(), indexed.Val() || seq.Val() == 0, nil
}
