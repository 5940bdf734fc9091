package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// TestEveryScriptLoadsAsALibrary: on a Redis that has functions, every
// script of the program goes as a library of them
// (core.LoadLibraries): none lacks a library form, and Redis compiles each
// (a function of Redis's Lua has at most 60 upvalues, a chunk 200 locals).
// The libraries are those of the scripts this program made: the server's
// import every package that has scripts.
func TestEveryScriptLoadsAsALibrary(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("the embedded store has no functions: its scripts go by EVALSHA")
	}
	rdb := testkit.StartRedis(t).Client(t)
	ctx := context.Background()
	n, err := core.LoadLibraries(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Fatalf("loaded %d libraries, want one for each of the program's scripts, more than 40", n)
	}
	libs, err := rdb.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: "smsim_*"}).Result()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, l := range libs {
		if strings.HasPrefix(l.Name, "smsim_") {
			found++
		}
	}
	if found < n {
		t.Fatalf("Redis holds %d of smsim's libraries, want at least the %d loaded", found, n)
	}
}

// core.PruneLibraries deletes the libraries of smsim's scripts that this
// program did not make (another build's) and that were loaded last more
// than core.LibrariesKept ago, or never noted; not one loaded lately, nor
// any of its own.
func TestPruneLibrariesDeletesOnlyOtherBuildsLongUnused(t *testing.T) {
	if !testkit.RealRedis() {
		t.Skip("the embedded store has no functions")
	}
	rdb := testkit.StartRedis(t).Client(t)
	ctx := context.Background()
	n, err := core.LoadLibraries(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	suffix := strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(testkit.NewPrefix(t, "x")))
	old, lately, unnoted := "smsim_old"+suffix, "smsim_lately"+suffix, "smsim_unnoted"+suffix
	for _, name := range []string{old, lately, unnoted} {
		code := "#!lua name=" + name + "\nredis.register_function('" + name + "', function() return 1 end)\n"
		if err := testkit.LoadLibrary(ctx, rdb, code); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	rdb.ZAdd(ctx, core.LibrariesKey,
		redis.Z{Score: float64(now.Add(-core.LibrariesKept - time.Minute).UnixMilli()), Member: old},
		redis.Z{Score: float64(now.Add(-core.LibrariesKept + time.Hour).UnixMilli()), Member: lately})
	if _, err := core.PruneLibraries(ctx, rdb); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{old: false, lately: true, unnoted: false} {
		err := rdb.FCall(ctx, name, nil).Err()
		if kept := err == nil; kept != want {
			t.Errorf("FCALL of %s after the prune answered %v; want it kept: %v", name, err, want)
		}
	}
	if err := rdb.FunctionDelete(ctx, lately).Err(); err != nil {
		t.Fatal(err)
	}
	if again, err := core.LoadLibraries(ctx, rdb); err != nil || again != n {
		t.Fatalf("LoadLibraries after the prune: %d, %v; want %d", again, err, n)
	}
}
