package testkit

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// ScriptCall answers the SHA-1 of the script that cmd calls, and whether
// it calls one: EVALSHA's, EVAL's text's, or that of a library of smsim's
// functions that FCALL calls (core's scripts go as libraries named
// "smsim_" and the script's SHA-1 on a Redis that has functions).
func ScriptCall(cmd redis.Cmder) (string, bool) {
	a := cmd.Args()
	if len(a) < 2 {
		return "", false
	}
	name := fmt.Sprint(a[1])
	switch strings.ToLower(cmd.Name()) {
	case "evalsha":
		return name, true
	case "eval":
		sum := sha1.Sum([]byte(name))
		return hex.EncodeToString(sum[:]), true
	case "fcall":
		return strings.TrimPrefix(name, "smsim_"), true
	}
	return "", false
}

// ScriptCommand is the command by which smsim calls its scripts on the
// tests' store: FCALL on a real Redis (7.0 on, as CI runs), EVALSHA on the
// embedded store, which has no functions. Metrics name it in lower case.
func ScriptCommand() string {
	if RealRedis() {
		return "fcall"
	}
	return "evalsha"
}

// DeleteLibrariesAtEnd deletes, at the test's end, the libraries of
// Redis's functions that names answers then (core.Script.Libraries), from
// a real Redis, on each master of a cluster: a test that makes a script
// of a text of its own (its key prefix in a comment) would leave a library
// behind at each run, and a store's libraries are its server's, not a key
// prefix's.
func DeleteLibrariesAtEnd(t testing.TB, rdb redis.UniversalClient, names func() []string) {
	t.Helper()
	if !RealRedis() {
		return
	}
	t.Cleanup(func() {
		ctx := context.Background()
		del := func(ctx context.Context, c redis.Cmdable) error {
			for _, n := range names() {
				if err := c.FunctionDelete(ctx, n).Err(); err != nil && !redis.HasErrorPrefix(err, "Library not found") {
					return err
				}
			}
			return nil
		}
		if err := OnEveryMaster(ctx, rdb, del); err != nil {
			t.Errorf("delete the test's libraries of functions: %v", err)
		}
	})
}

// OnEveryMaster calls f with rdb, or with each master of a Redis Cluster:
// a store's libraries of functions are each server's own.
func OnEveryMaster(ctx context.Context, rdb redis.UniversalClient, f func(context.Context, redis.Cmdable) error) error {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return f(ctx, c) })
	}
	return f(ctx, rdb)
}

// LoadLibrary loads a library of functions (FUNCTION LOAD REPLACE) into
// rdb's store, on each master of a cluster.
func LoadLibrary(ctx context.Context, rdb redis.UniversalClient, code string) error {
	return OnEveryMaster(ctx, rdb, func(ctx context.Context, c redis.Cmdable) error {
		return c.FunctionLoadReplace(ctx, code).Err()
	})
}
