package core

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core/redisstore"
)

// ScanKeys hands every key of rdb that matches pattern (SCAN MATCH) to
// each, in batches of at most batch keys: on every master of a cluster.
// On a cluster, the keys of a pattern that is a plain prefix holding a
// hash tag and a * after it (a namespace's, <prefix>:{<ns>}:*) all live in
// the tag's slot: they are read from that slot alone (slotKeys), whatever
// the other keys of the cluster — or, from a slot too full to read at
// once, by a SCAN of its master alone.
func ScanKeys(ctx context.Context, rdb redis.UniversalClient, pattern string, batch int, each func(ctx context.Context, c redis.Cmdable, keys []string) error) error {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		if prefix, tag, ok := taggedPrefix(pattern); ok {
			node, keys, read, err := slotKeys(ctx, c, tag, prefix)
			var reply redis.Error
			switch {
			case err == nil && read:
				return inBatches(ctx, node, keys, batch, each)
			case err == nil:
				return scanServer(ctx, node, pattern, batch, each) // a slot too full to read at once
			case !errors.As(err, &reply):
				return err
			}
			// a store that refuses the CLUSTER commands (a managed one may): every master's keys are looked through
		}
	}
	return redisstore.ForEachMaster(ctx, rdb, func(ctx context.Context, c *redis.Client) error {
		return scanServer(ctx, c, pattern, batch, each)
	})
}

// scanServer hands every key of one server that matches pattern to each,
// in batches of at most batch keys (SCAN MATCH).
func scanServer(ctx context.Context, c *redis.Client, pattern string, batch int, each func(ctx context.Context, c redis.Cmdable, keys []string) error) error {
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

// inBatches hands keys to each, at most batch at a time.
func inBatches(ctx context.Context, c redis.Cmdable, keys []string, batch int, each func(ctx context.Context, c redis.Cmdable, keys []string) error) error {
	for len(keys) > 0 {
		n := min(batch, len(keys))
		if err := each(ctx, c, keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// taggedPrefix answers the prefix a pattern matches keys by — its
// characters before a final *, none of them a wildcard — and the hash
// tag the prefix holds ({ns}: the first {, and a } after it with
// something between), as a cluster hashes keys by it.
func taggedPrefix(pattern string) (prefix, tag string, ok bool) {
	prefix, ok = strings.CutSuffix(pattern, "*")
	if !ok || strings.ContainsAny(prefix, GlobChars) {
		return "", "", false
	}
	open := strings.IndexByte(prefix, '{')
	if open < 0 {
		return "", "", false
	}
	end := strings.IndexByte(prefix[open+1:], '}')
	if end <= 0 {
		return "", "", false
	}
	return prefix, prefix[open : open+end+2], true
}

// slotReadMost is how many keys, at most, a slot may hold to be read at
// once: Redis answers CLUSTER GETKEYSINSLOT of 100,000 keys in about 6 ms,
// every other command of that master waiting meanwhile. A slot that holds
// more is looked through as a SCAN does, a little at a time, on its master
// alone. A variable for the tests.
var slotReadMost = 100_000

// slotKeys answers a client of the master that holds the slot of the hash
// tag tag and, when the slot holds at most slotReadMost keys (read), the
// keys of the slot that start with prefix: all the keys of the slot (CLUSTER
// GETKEYSINSLOT, asked for more than CLUSTER COUNTKEYSINSLOT counted, and
// again for twice as many while the answer fills what was asked: keys come
// meanwhile), those of prefix kept. A namespace's keys share their slot with
// only the keys of the namespaces whose tags hash alike, about one in
// 16,384. Like a SCAN of every master, it may miss a key that moves between
// masters while the cluster is resharded.
func slotKeys(ctx context.Context, c *redis.ClusterClient, tag, prefix string) (node *redis.Client, keys []string, read bool, err error) {
	if node, err = c.MasterForKey(ctx, tag); err != nil {
		return nil, nil, false, err
	}
	slot, err := node.ClusterKeySlot(ctx, tag).Result()
	if err != nil {
		return nil, nil, false, err
	}
	n, err := node.ClusterCountKeysInSlot(ctx, int(slot)).Result()
	if err != nil || n > int64(slotReadMost) {
		return node, nil, false, err
	}
	var all []string
	for want := int(n) + 64; ; want *= 2 {
		if all, err = node.ClusterGetKeysInSlot(ctx, int(slot), want).Result(); err != nil {
			return nil, nil, false, err
		}
		if len(all) < want {
			break
		}
	}
	keys = all[:0]
	for _, k := range all {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	return node, keys, true, nil
}
