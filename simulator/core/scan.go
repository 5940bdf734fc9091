package core

import (
	"context"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core/redisstore"
)

// ScanKeys hands every key of rdb that matches pattern (SCAN MATCH) to
// each, in batches of at most batch keys: on every master of a cluster.
func ScanKeys(ctx context.Context, rdb redis.UniversalClient, pattern string, batch int, each func(ctx context.Context, c redis.Cmdable, keys []string) error) error {
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == batch {
				if err := each(ctx, c, keys); err != nil {
					return err
				}
				keys = keys[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(keys) > 0 {
			return each(ctx, c, keys)
		}
		return nil
	}
	return redisstore.ForEachMaster(ctx, rdb, scan)
}
